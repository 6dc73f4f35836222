//! Cache bookkeeping under hostile or broken token endpoints (issue 8): overflowing
//! `Retry-After`, permanent errors, single-use tokens, large responses. Assertions are on
//! request counts, error classes and which token callers got; time bounds only say "did not hang".

mod common;

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use cctoken::{Client, RefreshPolicy};
use common::{DevServer, client};
use serde_json::json;

/// Retry-After values a server may send that do not fit an `Instant` (or barely do).
const HUGE_RETRY_AFTERS: [&str; 3] = ["18446744073709551615", "9223372036854775808", "Fri, 31 Dec 9999 23:59:59 GMT"];

fn short_lived_server() -> DevServer {
    DevServer::with_args(&["--client", common::CLIENT_ID, "--secret", common::SECRET, "--lifetime", "4"])
}

/// A client whose tokens enter the refresh window after half their life, without jitter.
fn refreshing_client(server: &DevServer) -> Client {
    client(server, |b| {
        b.refresh_policy(RefreshPolicy { ratio: 0.5, min_window: Duration::from_millis(100), jitter: 0.0 })
            .call_timeout(Duration::from_secs(3))
    })
}

#[test]
fn an_overflowing_retry_after_is_an_error_not_a_panic() {
    let server = DevServer::start();
    for value in HUGE_RETRY_AFTERS {
        server.fault(json!({"status": 503, "retry_after": value}));
        let c = client(&server, |b| b.call_timeout(Duration::from_secs(3)).failure_cooldown(Duration::ZERO));
        let started = Instant::now();
        let err = c.token().expect_err("503");
        assert_eq!(err.http_status(), Some(503), "{value}: {err}");
        assert!(err.is_retryable(), "a 503 stays transient");
        // Waiting out the server's delay would pass the deadline: give up at once.
        assert!(started.elapsed() < Duration::from_secs(20), "{value}: bounded by the call timeout");
        assert_eq!(c.metrics().retries, 0, "{value}: no retry that could not finish in time");
        server.reset();
    }
}

#[test]
fn an_overflowing_retry_after_in_the_refresh_window_pauses_refreshing() {
    let server = short_lived_server();
    let c = refreshing_client(&server);
    let first = c.token().unwrap();
    // Enter the refresh window (the last 2 s of 4); every refresh now gets the hostile answer.
    thread::sleep(Duration::from_millis(2100));
    server.fault(json!({"status": 503, "retry_after": HUGE_RETRY_AFTERS[0], "count": 0}));
    for _ in 0..30 {
        let t = c.token().expect("the still-valid token is served");
        assert!(t.access_token() == first.access_token(), "the cached token");
        thread::sleep(Duration::from_millis(10));
    }
    // The refresh pause (at least 1 s) covers all 30 calls: one refresh request, not one per call.
    assert!(
        common::wait_for(Duration::from_secs(3), || c.metrics().fetch_failures >= 1),
        "the refresh was tried and failed"
    );
    assert_eq!(server.token_requests(), 2, "initial fetch + one refresh attempt");
    assert!(c.metrics().stale_served >= 1);
}

#[test]
fn every_permanent_error_is_cooled_down_then_retried() {
    let faults = [
        json!({"status": 404, "count": 0}),
        json!({"status": 400, "error": "invalid_request", "count": 0}),
        json!({"status": 400, "error": "unsupported_grant_type", "count": 0}),
        json!({"status": 400, "body": "html", "count": 0}),
        json!({"status": 200, "body": "malformed", "count": 0}),
    ];
    let server = DevServer::start();
    for fault in faults {
        server.reset();
        server.fault(fault.clone());
        let c = client(&server, |b| b.failure_cooldown(Duration::from_millis(1500)));
        let first = c.token().expect_err("permanent error");
        assert!(!first.is_retryable(), "{fault}: {first}");
        for _ in 0..19 {
            let again = c.token().expect_err("the same error, repeated");
            assert_eq!(again.to_string(), first.to_string(), "{fault}");
        }
        assert_eq!(server.token_requests(), 1, "{fault}: 20 calls, 1 request within the cool-down");
        thread::sleep(Duration::from_millis(1600));
        server.reset(); // the endpoint is fixed
        c.token().expect("after the cool-down, a new request");
        assert_eq!(server.token_requests(), 1, "{fault}: one request after the cool-down");
    }
}

#[test]
fn a_configuration_change_ends_the_cool_down() {
    let server = DevServer::start();
    server.fault(json!({"status": 400, "error": "invalid_request", "count": 0}));
    let c = client(&server, |b| b.failure_cooldown(Duration::from_secs(600)));
    assert!(c.token().is_err());
    assert!(c.token().is_err());
    assert_eq!(server.token_requests(), 1);
    server.reset();
    c.set_client_secret(cctoken::Secret::new(common::SECRET)).unwrap();
    c.token().expect("a new secret deserves a try at once");
}

#[test]
fn a_changed_secret_file_ends_the_cool_down() {
    let server = DevServer::with_args(&["--client", "rot", "--secret", "second"]);
    let dir = std::env::temp_dir().join(format!("cctoken-cooldown-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("secret");
    std::fs::write(&path, "first\n").unwrap();
    let c = cctoken::Client::builder()
        .token_url(server.token_url())
        .client_id("rot")
        .client_secret_file(&path, true)
        .failure_cooldown(Duration::from_secs(600))
        .build()
        .unwrap();
    assert!(c.token().is_err(), "the server only knows the rotated secret");
    assert!(c.token().is_err(), "cooled down");
    assert_eq!(server.token_requests(), 1);
    std::fs::write(&path, "second\n").unwrap();
    c.token().expect("the rotated file ends the cool-down");
    assert_eq!(server.token_requests(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_single_use_token_in_the_refresh_window_pauses_refreshing() {
    let server = short_lived_server();
    let c = refreshing_client(&server);
    let first = c.token().unwrap();
    thread::sleep(Duration::from_millis(2100));
    // Every refresh now brings a single-use token (expires_in 0).
    server.fault(json!({"expires_in": 0, "count": 0}));
    for _ in 0..20 {
        let t = c.token().expect("the still-valid token is served");
        assert!(t.access_token() == first.access_token(), "the cached token, not a single-use one");
        thread::sleep(Duration::from_millis(20));
    }
    assert!(common::wait_for(Duration::from_secs(2), || server.in_flight() == 0));
    assert_eq!(server.token_requests(), 2, "initial fetch + one refresh, then a pause");
}

#[test]
fn a_large_response_is_shared_by_every_threads_copy() {
    let server = DevServer::start();
    // About 900 KiB of extra fields, under the 1 MiB response limit.
    let big: serde_json::Map<String, serde_json::Value> =
        (0..900).map(|i| (format!("x{i:04}"), json!("y".repeat(1000)))).collect();
    server.fault(json!({"extra": big}));
    let c = client(&server, |b| b);
    let mine = c.token().unwrap();
    assert_eq!(mine.extras().len(), 900);
    let barrier = Arc::new(Barrier::new(32));
    let handles: Vec<_> = (0..32)
        .map(|_| {
            let (c, barrier) = (c.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                let t = c.token().unwrap();
                let again = c.token().unwrap();
                (t.extras() as *const _ as usize, again.extras() as *const _ as usize, t.extras().len())
            })
        })
        .collect();
    for h in handles {
        let (a, b, len) = h.join().unwrap();
        assert_eq!(len, 900);
        assert_eq!(a, b);
        assert_eq!(a, mine.extras() as *const _ as usize, "one map for every thread, not a copy per thread");
    }
    assert_eq!(server.token_requests(), 1);
}

#[test]
fn absurd_configured_durations_overflow_no_deadline() {
    let server = DevServer::start();
    let c = client(&server, |b| {
        b.connect_timeout(Duration::MAX)
            .request_timeout(Duration::MAX)
            .call_timeout(Duration::MAX)
            .failure_cooldown(Duration::MAX)
            .refresh_policy(RefreshPolicy { ratio: 0.5, min_window: Duration::MAX, jitter: 1.0 })
    });
    let t = c.token().expect("a token");
    assert!(!t.is_expired());
    assert!(t.expires_at().is_some());
    assert!(c.token_timeout(Duration::MAX).is_ok());
    server.fault(json!({"status": 400, "error": "invalid_request"}));
    c.invalidate(&t);
    let e = c.token_timeout(Duration::MAX).expect_err("invalid_request");
    assert_eq!(e.oauth().map(|o| o.error.as_str()), Some("invalid_request"));
    // Cooled down "forever": the same error, no request.
    assert_eq!(c.token().unwrap_err().to_string(), e.to_string());
    assert_eq!(server.token_requests(), 2);
}
