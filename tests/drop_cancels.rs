//! Dropping the last handle of a client ends its work (issue 8, defect 10): no cctoken thread of
//! that client runs after the drop returns, a request in flight is cut off, and a retry that
//! was sleeping is never sent. One test in this binary, so the thread census below sees no
//! other test's threads.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{DevServer, client};
use serde_json::json;

/// Names of this process's threads that cctoken started.
fn cctoken_threads() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .map(|dir| {
            dir.filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .map(|name| name.trim().to_string())
                .filter(|name| name.starts_with("cctoken-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Drops `c`, asserting it returned within a generous bound and left no cctoken thread.
fn drop_and_check(c: cctoken::Client, what: &str) {
    let started = Instant::now();
    drop(c);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(8), "{what}: drop waited {took:?}");
    if cfg!(target_os = "linux") {
        assert_eq!(cctoken_threads(), Vec::<String>::new(), "{what}: threads left after drop");
    }
}

#[test]
fn dropping_the_last_handle_ends_every_fetch() {
    // 1. A retry sleeping in a fetch that an impatient caller left behind.
    let server = DevServer::start();
    server.fault(json!({"status": 503, "retry_after": "4"}));
    let c = client(&server, |b| b.call_timeout(Duration::from_secs(30)));
    let e = c.token_timeout(Duration::from_millis(300)).unwrap_err();
    assert!(matches!(e, cctoken::Error::Transport { kind: cctoken::TransportKind::Timeout, .. }), "{e}");
    assert_eq!(server.token_requests(), 1);
    drop_and_check(c, "sleeping retry");
    thread::sleep(Duration::from_secs(5));
    assert_eq!(server.token_requests(), 1, "the retry was never sent");

    // 2. A request in flight at a server that holds it: the connection is closed by the drop.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let (seen, closed) = mpsc::channel();
    let holder = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = [0u8; 4096];
        let mut got = Vec::new();
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        seen.send(()).unwrap();
        // Never answer: wait for the client to close (EOF) or give up.
        let eof = loop {
            match conn.read(&mut buf) {
                Ok(0) => break true,
                Ok(_) => continue,
                Err(_) => break false,
            }
        };
        seen.send(()).unwrap();
        eof
    });
    let c = cctoken::Client::builder()
        .token_url(&url)
        .client_id("held")
        .client_secret("held-secret")
        .allow_insecure_http(true)
        .request_timeout(Duration::from_secs(60))
        .call_timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    assert!(c.token_timeout(Duration::from_millis(300)).is_err());
    closed.recv_timeout(Duration::from_secs(10)).expect("the request reached the server");
    drop_and_check(c, "request in flight");
    closed.recv_timeout(Duration::from_secs(10)).expect("the server saw the connection end");
    assert!(holder.join().unwrap(), "the connection was closed by the client, not timed out");

    // 3. The background refresher.
    let c = client(&server, |b| b.background_refresh(true));
    c.token().unwrap();
    drop_and_check(c, "background refresher");
}
