//! Cache behaviour under concurrency, against the dev server. Assertions are on request counts
//! and on which token each caller got, never on how fast anything ran.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use cctoken::{Client, RefreshPolicy};
use common::{DevServer, client};
use serde_json::json;

/// Runs `f` on `n` threads released at once; returns their results in thread order.
fn together<T: Send + 'static>(n: usize, f: impl Fn() -> T + Send + Sync + 'static) -> Vec<T> {
    let f = Arc::new(f);
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (f, barrier) = (Arc::clone(&f), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                f()
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().expect("thread panicked")).collect()
}

#[test]
fn cold_cache_64_threads_one_request() {
    let server = DevServer::start();
    // The server is slow, so all 64 callers pile up behind one request.
    server.fault(json!({"latency_ms": 300}));
    let c = client(&server, |b| b);
    let c2 = c.clone();
    let tokens = together(64, move || c2.token().expect("token").access_token().to_string());
    assert!(tokens.iter().all(|t| t == &tokens[0]), "every caller got the same token");
    assert_eq!(server.token_requests(), 1);
    let m = c.metrics();
    assert_eq!((m.fetches, m.misses), (1, 64));
    assert_eq!(m.coalesced_waiters, 63);
    eprintln!("cold stampede: 64 callers -> {} request(s), {} coalesced", server.token_requests(), m.coalesced_waiters);
}

#[test]
fn cold_cache_error_reaches_every_waiter_from_one_request() {
    let server = DevServer::start();
    server.fault(json!({"latency_ms": 300, "status": 400, "error": "invalid_request"}));
    let c = client(&server, |b| b);
    let errors = together(16, move || c.token().unwrap_err().oauth().map(|o| o.error.clone()));
    assert!(errors.iter().all(|e| e.as_deref() == Some("invalid_request")));
    assert_eq!(server.token_requests(), 1);
}

/// A client whose tokens enter the refresh window after 1 s of their 3 s life, without jitter.
fn refreshing_client(server: &DevServer) -> Client {
    client(server, |b| {
        b.refresh_policy(RefreshPolicy { ratio: 0.5, min_window: Duration::from_millis(100), jitter: 0.0 })
    })
}

#[test]
fn refresh_ahead_serves_the_old_token_while_the_refresh_is_in_flight() {
    let server = DevServer::with_args(&["--client", common::CLIENT_ID, "--secret", common::SECRET, "--lifetime", "4"]);
    let c = refreshing_client(&server);
    let first = c.token().unwrap().access_token().to_string();
    // Enter the refresh window (the last 2 s of 4), then make the refresh take 2 s.
    thread::sleep(Duration::from_millis(2100));
    server.fault(json!({"latency_ms": 2000}));
    let c2 = c.clone();
    let got = together(64, move || c2.token().expect("valid token during refresh").access_token().to_string());
    // The refresh request is still in flight at the server when every caller has its answer.
    assert_eq!(server.in_flight(), 1, "one refresh request in flight while callers were served");
    assert!(got.iter().all(|t| t == &first), "every caller in the window got the old, still-valid token");
    assert!(common::wait_for(Duration::from_secs(5), || server.in_flight() == 0));
    assert!(
        common::wait_for(Duration::from_secs(1), || c.token().unwrap().access_token() != first),
        "refreshed token installed"
    );
    assert_eq!(server.token_requests(), 2, "initial fetch + exactly one refresh for 64 callers");
}

#[test]
fn short_lived_token_is_refreshed_before_expiry_and_never_served_expired() {
    let server = DevServer::with_args(&["--client", common::CLIENT_ID, "--secret", common::SECRET, "--lifetime", "2"]);
    let c = client(&server, |b| b); // default policy: window capped at half of 2 s
    let mut seen = Vec::new();
    let end = Instant::now() + Duration::from_millis(4500);
    while Instant::now() < end {
        let t = c.token().unwrap();
        assert!(!t.is_expired(), "an expired token was served");
        assert_eq!(server.resource_status(&t.authorization_header()), 200, "the server still accepts it");
        if seen.last() != Some(&t.access_token().to_string()) {
            seen.push(t.access_token().to_string());
        }
        thread::sleep(Duration::from_millis(50));
    }
    assert!(seen.len() >= 3, "refreshed at least twice in 4.5 s: {} distinct tokens", seen.len());
    assert_eq!(c.metrics().misses, 1, "only the very first call had to wait");
}

#[test]
fn failed_refresh_keeps_the_valid_token_then_errors_once_expired() {
    let server = DevServer::with_args(&["--client", common::CLIENT_ID, "--secret", common::SECRET, "--lifetime", "2"]);
    let c = refreshing_client(&server);
    let first = c.token().unwrap();
    server.fault(json!({"status": 503, "count": 0}));
    // Inside the window, the refresh fails but callers still get the valid token.
    thread::sleep(Duration::from_millis(1200));
    for _ in 0..20 {
        let t = c.token().expect("stale-if-error");
        assert!(t.access_token() == first.access_token(), "same token");
        thread::sleep(Duration::from_millis(20));
    }
    assert!(common::wait_for(Duration::from_secs(2), || c.metrics().fetch_failures >= 1), "the refresh was attempted");
    assert!(c.metrics().stale_served >= 1);
    // After expiry: an error, never the expired token.
    thread::sleep(first.expires_in() + Duration::from_millis(50));
    let e = c.token().unwrap_err();
    assert_eq!(e.http_status(), Some(503));
}

#[test]
fn invalidate_after_401_fetches_a_new_token_once() {
    let server = DevServer::start();
    let c = client(&server, |b| b);
    let old = c.token().unwrap();
    server.revoke_all();
    assert_eq!(server.resource_status(&old.authorization_header()), 401);
    // Many callers report the same rejected token: one new fetch.
    for _ in 0..10 {
        c.invalidate(&old);
    }
    let new = c.token().unwrap();
    assert!(new.access_token() != old.access_token(), "a different token");
    assert_eq!(server.resource_status(&new.authorization_header()), 200);
    c.invalidate(&old); // stale report: the new token stays
    assert!(c.token().unwrap().access_token() == new.access_token(), "same token");
    assert_eq!(server.token_requests(), 2);
}

#[test]
fn secret_rotation_on_a_live_client() {
    let server = DevServer::with_args(&[
        "--client",
        common::CLIENT_ID,
        "--secret",
        common::SECRET,
        "--client",
        "rot",
        "--secret",
        "new-secret",
    ]);
    let c = cctoken::Client::builder()
        .token_url(server.token_url())
        .client_id("rot")
        .client_secret("old-secret")
        .failure_cooldown(Duration::ZERO)
        .build()
        .unwrap();
    assert!(c.token().is_err());
    c.set_client_secret(cctoken::Secret::new("new-secret")).unwrap();
    let t = c.token().expect("the new secret is used by the next fetch");
    c.set_client_secret(cctoken::Secret::new("old-secret")).unwrap();
    assert!(c.token().unwrap().access_token() == t.access_token(), "the cached token stays");
}

#[test]
fn secret_file_is_reread_at_each_fetch() {
    let server = DevServer::with_args(&["--client", "rot", "--secret", "second"]);
    let dir = std::env::temp_dir().join(format!("cctoken-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("secret");
    std::fs::write(&path, "first\n").unwrap();
    let c = cctoken::Client::builder()
        .token_url(server.token_url())
        .client_id("rot")
        .client_secret_file(&path, true)
        .failure_cooldown(Duration::ZERO)
        .build()
        .unwrap();
    assert!(c.token().is_err(), "the server only knows the rotated secret");
    std::fs::write(&path, "second\n").unwrap();
    c.token().expect("the rotated file is picked up");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn background_refresher_keeps_the_token_fresh_without_callers() {
    let server = DevServer::with_args(&["--client", common::CLIENT_ID, "--secret", common::SECRET, "--lifetime", "2"]);
    let c = client(&server, |b| b.background_refresh(true));
    let first = c.token().unwrap();
    assert!(common::wait_for(Duration::from_secs(3), || server.token_requests() >= 2), "refreshed with nobody asking");
    // The server counts the request before the refresher has stored the answer; until then
    // callers get the first token (still valid), and cannot start a fetch of their own.
    assert!(
        common::wait_for(Duration::from_secs(2), || c.token().unwrap().access_token() != first.access_token()),
        "the refreshed token is served"
    );
    let m = c.metrics();
    assert_eq!((m.misses, m.fetch_failures), (1, 0), "no caller ever waited for a fetch");
    drop(c);
    // The refresher ends with its client: no more requests.
    thread::sleep(Duration::from_millis(200));
    let after_drop = server.token_requests();
    thread::sleep(Duration::from_millis(2500));
    assert_eq!(server.token_requests(), after_drop);
}

#[test]
fn waiters_honour_their_own_timeout() {
    let server = DevServer::start();
    server.fault(json!({"latency_ms": 1500}));
    let c = client(&server, |b| b);
    let leader = {
        let c = c.clone();
        thread::spawn(move || c.token())
    };
    assert!(common::wait_for(Duration::from_secs(2), || server.in_flight() == 1));
    let e = c.token_timeout(Duration::from_millis(100)).unwrap_err();
    assert!(matches!(e, cctoken::Error::Transport { kind: cctoken::TransportKind::Timeout, .. }), "{e}");
    leader.join().unwrap().expect("the leader still gets its token");
}

#[test]
fn an_impatient_leader_does_not_cut_the_fetch_short_for_its_waiters() {
    let server = DevServer::start();
    server.fault(json!({"latency_ms": 800}));
    let c = client(&server, |b| b.call_timeout(Duration::from_secs(10)));
    // The first caller starts the fetch but gives up after 100 ms ...
    let leader = {
        let c = c.clone();
        thread::spawn(move || c.token_timeout(Duration::from_millis(100)))
    };
    assert!(common::wait_for(Duration::from_secs(2), || server.in_flight() == 1));
    // ... while a patient caller joins the same request and gets its token.
    let patient = c.token().expect("the request outlives the caller that started it");
    let e = leader.join().unwrap().unwrap_err();
    assert!(matches!(e, cctoken::Error::Transport { kind: cctoken::TransportKind::Timeout, .. }), "{e}");
    assert_eq!(server.token_requests(), 1);
    // The token came from that one request and is cached now.
    assert!(c.token().unwrap().access_token() == patient.access_token(), "same token");
    assert_eq!(c.metrics().fetches, 1);
}

#[test]
fn each_thread_gets_the_same_token_and_any_copy_invalidates_it() {
    let server = DevServer::start();
    let c = client(&server, |b| b);
    let mine = c.token().unwrap();
    let theirs = {
        let c = c.clone();
        thread::spawn(move || (c.token().unwrap(), c.token().unwrap())).join().unwrap()
    };
    assert!(theirs.0.access_token() == mine.access_token() && theirs.1.access_token() == mine.access_token());
    assert_eq!(server.token_requests(), 1);
    // A copy handed out on another thread is the same token for `invalidate`.
    c.invalidate(&theirs.1);
    let next = c.token().unwrap();
    assert!(next.access_token() != mine.access_token(), "a new token after invalidate");
    assert_eq!(server.token_requests(), 2);
    // The old copy, now stale, invalidates nothing.
    c.invalidate(&theirs.0);
    assert!(c.token().unwrap().access_token() == next.access_token(), "still the new token");
    assert_eq!(server.token_requests(), 2);
}
