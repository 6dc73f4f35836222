//! The token response parser (RFC 6749 §5.1/§5.2) on arbitrary status, content type,
//! `Retry-After` and body. Besides "never panics": a success is a usable header value with a
//! bounded lifetime; an error message is one line, bounded, and never contains the secret.
#![no_main]

use std::time::Duration;

use cctoken::fuzzing::{MAX_LIFETIME, retry_after, token_response};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "Fz-s3cret-v4lue";
const STATUSES: [u16; 20] =
    [200, 201, 204, 299, 300, 302, 400, 401, 403, 404, 408, 425, 429, 500, 502, 503, 599, 100, 0, 999];
const CONTENT_TYPES: [Option<&str>; 8] = [
    None,
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("application/x-www-form-urlencoded"),
    Some(" APPLICATION/X-WWW-FORM-URLENCODED;charset=UTF-8"),
    Some("text/html"),
    Some("text/plain"),
    Some(""),
];

fuzz_target!(|data: &[u8]| {
    let [s, ct, flags, rest @ ..] = data else { return };
    let status = STATUSES.get(usize::from(*s)).copied().unwrap_or(u16::from(*s) + 100);
    let content_type = CONTENT_TYPES[usize::from(*ct) % CONTENT_TYPES.len()];
    // Bit 0: a Retry-After header follows (length byte, then that many bytes); bit 1: a scope was requested.
    let (header, body) = match rest {
        [n, tail @ ..] if flags & 1 == 1 => tail.split_at(usize::from(*n).min(tail.len())),
        _ => (&[][..], rest),
    };
    // ureq hands over only headers that are visible ASCII (`HeaderValue::to_str`).
    let header = std::str::from_utf8(header).ok().filter(|_| flags & 1 == 1);
    let scope = (flags & 2 == 2).then_some("read write");

    if let Some(h) = header {
        let _ = retry_after(h);
    }
    match token_response(status, content_type, header, body, scope, Duration::from_secs(300), &[SECRET]) {
        Ok(t) => {
            assert!((200..300).contains(&status), "success on HTTP {status}");
            for v in [&t.access_token, &t.token_type] {
                assert!(!v.is_empty() && !v.chars().any(|c| c.is_control() || c == ' '), "unusable header value");
            }
            assert!(t.lifetime.is_none_or(|d| d <= MAX_LIFETIME), "lifetime {:?} over the cap", t.lifetime);
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains(SECRET), "secret in error message");
            assert!(!msg.contains(['\n', '\r']), "error message spans lines");
            assert!(msg.chars().count() <= 1024, "error message of {} chars", msg.chars().count());
            let _ = (e.is_retryable(), e.retry_after(), e.http_status(), format!("{e:?}"));
        }
    }
});
