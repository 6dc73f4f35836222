//! Small helpers over tiny_http: reading bodies, building replies, sending them.

use std::io::{Cursor, Read, Write};
use std::net::SocketAddr;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::json;
use tiny_http::{Header, Request, Response};

use crate::conn;

/// Request bodies larger than this get a 413; nothing legitimate here comes close.
const MAX_BODY: u64 = 1024 * 1024;

pub type Reply = Response<Cursor<Vec<u8>>>;

/// What a handler wants sent back.
pub enum Outcome {
    Reply(Reply),
    /// Send a 200 head announcing more body than `partial`, then drop the connection.
    CloseMidBody {
        partial: Vec<u8>,
        announced_length: usize,
    },
}

impl From<Reply> for Outcome {
    fn from(reply: Reply) -> Self {
        Outcome::Reply(reply)
    }
}

/// Builds a header from parts known to be valid (constants, or values checked on the way in).
/// Invalid parts are a bug in this server, so they are dropped rather than answered with a panic.
pub fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

pub fn with_header(reply: Reply, name: &str, value: &str) -> Reply {
    match header(name, value) {
        Some(h) => reply.with_header(h),
        None => reply,
    }
}

/// The value of a request header (names compare case-insensitively).
pub fn request_header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers().iter().find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
}

/// The request path without its query string.
pub fn path(request: &Request) -> &str {
    let url = request.url();
    url.split_once('?').map_or(url, |(path, _)| path)
}

pub fn read_body(request: &mut Request) -> Result<Vec<u8>, Reply> {
    let mut body = Vec::new();
    request
        .as_reader()
        .take(MAX_BODY + 1)
        .read_to_end(&mut body)
        .map_err(|_| json(400, &json!({"error": "invalid_request", "error_description": "unreadable body"})))?;
    if body.len() as u64 > MAX_BODY {
        return Err(json(413, &json!({"error": "invalid_request", "error_description": "body too large"})));
    }
    Ok(body)
}

/// Decodes an `application/x-www-form-urlencoded` body into its fields, in order.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

pub fn raw(status: u16, content_type: Option<&str>, body: Vec<u8>) -> Reply {
    let reply = Response::from_data(body).with_status_code(status);
    match content_type {
        Some(ct) => with_header(reply, "Content-Type", ct),
        None => reply,
    }
}

pub fn json(status: u16, body: &impl Serialize) -> Reply {
    // Serializing our own in-memory values cannot fail; an empty body would show if it ever did.
    raw(status, Some("application/json"), serde_json::to_vec(body).unwrap_or_default())
}

/// An RFC 6749 section 5.2 error answer.
pub fn oauth_error(status: u16, error: &str, description: &str) -> Reply {
    no_store(json(status, &json!({"error": error, "error_description": description})))
}

/// Token endpoint answers must not be cached (RFC 6749 section 5.1).
pub fn no_store(reply: Reply) -> Reply {
    with_header(with_header(reply, "Cache-Control", "no-store"), "Pragma", "no-cache")
}

/// Sends the outcome and returns the status for the log line.
pub fn send(request: Request, outcome: Outcome, server_addr: SocketAddr) -> u16 {
    match outcome {
        Outcome::Reply(reply) => {
            let status = reply.status_code().0;
            // A client that went away is its own business; nothing to do about it here.
            let _ = request.respond(reply);
            status
        }
        Outcome::CloseMidBody { partial, announced_length } => {
            let peer = request.remote_addr().copied();
            // tiny_http cannot send a Content-Length that disagrees with the body, so write the
            // response by hand on the raw stream.
            let head = format!(
                "HTTP/1.1 200 OK\r\nDate: {}\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n\
                 Content-Length: {announced_length}\r\nConnection: close\r\n\r\n",
                httpdate::fmt_http_date(SystemTime::now()),
            );
            let mut writer = request.into_writer();
            let _ = writer
                .write_all(head.as_bytes())
                .and_then(|()| writer.write_all(&partial))
                .and_then(|()| writer.flush());
            drop(writer);
            if let Some(peer) = peer {
                conn::shutdown(server_addr.port(), peer);
            }
            200
        }
    }
}
