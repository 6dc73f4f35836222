//! Events and metrics across one scenario against the dev server: success, a failing refresh
//! with retries while the cached token is served, recovery, a credential failure with its
//! cool-down, and a secret rotation. Every event (from the sink and from `tracing`, JSON) is
//! searched for the secret and the tokens.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use cctoken::{Event, EventKind, Level, RefreshPolicy};
use common::{CLIENT_ID, DevServer, SECRET, assert_no_secrets, client};
use serde_json::json;

/// Everything the `tracing` JSON formatter writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn scenario_events_carry_fields_and_no_secrets() {
    let traced = Captured::default();
    let writer = traced.clone();
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_current_span(true)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the only subscriber of this test binary");

    let server = DevServer::start();
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink = Arc::clone(&events);
    let count = |kind: EventKind| events.lock().unwrap().iter().filter(|e| e.kind == kind).count();
    let c = client(&server, |b| {
        b.refresh_policy(RefreshPolicy { ratio: 0.5, min_window: Duration::ZERO, jitter: 0.0 })
            .on_event(move |e| sink.lock().unwrap().push(e.clone()))
    });
    let mut tokens = Vec::new();

    // 1. Success: a 3 s token, refreshed from 1.5 s on.
    server.fault(json!({"expires_in": 3}));
    let first = c.token().expect("first token");
    tokens.push(first.access_token().to_string());

    // 2. The refresh fails three times (503 + Retry-After); the cached token is served.
    server.fault(json!({"status": 503, "error": "temporarily_unavailable", "retry_after": "0", "count": 3}));
    assert!(common::wait_for(Duration::from_secs(5), || first.expires_in() < Duration::from_millis(1400)));
    let served = c.token().expect("the still-valid token");
    assert_eq!(served.access_token(), first.access_token(), "served the cached token while refreshing");
    assert!(common::wait_for(Duration::from_secs(10), || count(EventKind::StaleServed) == 1), "stale-served event");

    // 3. Recovery: the next refresh (after the pause) or fetch (after expiry) succeeds.
    assert!(common::wait_for(Duration::from_secs(10), || {
        if let Ok(t) = c.token() {
            tokens.push(t.access_token().to_string());
        }
        count(EventKind::TokenRequestSucceeded) == 2
    }));

    // 4. A credential failure: cool-down, and the next call fails fast.
    let current = c.token().expect("token");
    server.fault(json!({"status": 401, "error": "invalid_client"}));
    c.invalidate(&current);
    assert!(c.token().is_err());
    assert!(c.token().is_err(), "cool-down answers without a request");

    // 5. Rotation ends the cool-down; the next call succeeds.
    c.set_client_secret(cctoken::Secret::new(SECRET)).expect("rotate");
    tokens.push(c.token().expect("token after rotation").access_token().to_string());

    let m = c.metrics();
    let text = c.metrics_text();
    drop(c);

    let events = events.lock().unwrap().clone();
    let all = events.iter().map(|e| format!("{e:?} {}", e.to_json())).collect::<Vec<_>>().join("\n");
    let traced = String::from_utf8(traced.0.lock().unwrap().clone()).unwrap();
    let token_refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    assert_no_secrets(&all, &token_refs);
    assert_no_secrets(&traced, &token_refs);
    assert_no_secrets(&text, &token_refs);

    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    eprintln!("events: {kinds:?}");
    for kind in [
        "token_request.succeeded",
        "token_request.failed",
        "refresh.started",
        "refresh.failed_stale_served",
        "cooldown.entered",
        "cooldown.ended",
        "secret.rotated",
    ] {
        assert!(kinds.contains(&kind), "missing {kind}");
    }
    let endpoint = server.token_url();
    for e in &events {
        assert_eq!(e.fields.client_id.as_deref(), Some(CLIENT_ID));
        assert_eq!(e.fields.token_endpoint.as_deref(), Some(endpoint.as_str()));
    }
    let failed: Vec<&Event> = events.iter().filter(|e| e.kind == EventKind::TokenRequestFailed).collect();
    let retried = failed.iter().find(|e| e.fields.attempt == Some(1) && e.fields.http_status == Some(503)).unwrap();
    assert_eq!(retried.level, Level::Warn);
    assert_eq!(retried.fields.will_retry, Some(true));
    assert_eq!(retried.fields.oauth_error.as_deref(), Some("temporarily_unavailable"));
    assert_eq!(retried.fields.error_class, Some("oauth"));
    assert_eq!(retried.fields.retry_after_ms, Some(0));
    assert!(retried.fields.retry_in_ms.is_some() && retried.fields.scopes.as_deref() == Some("read"));
    assert!(retried.message.contains("attempt 1 of 3, retrying in"), "{}", retried.message);
    let last = failed.iter().find(|e| e.fields.attempt == Some(3)).expect("third attempt");
    assert_eq!((last.level, last.fields.will_retry), (Level::Error, Some(false)));
    let stale = events.iter().find(|e| e.kind == EventKind::StaleServed).unwrap();
    assert!(stale.fields.time_left_ms.is_some_and(|ms| ms > 0 && ms < 3000));
    let cool = events.iter().find(|e| e.kind == EventKind::CooldownEntered).unwrap();
    assert_eq!((cool.level, cool.fields.oauth_error.as_deref()), (Level::Error, Some("invalid_client")));
    let ended = events.iter().find(|e| e.kind == EventKind::CooldownEnded).unwrap();
    assert_eq!(ended.fields.reason, Some("secret_rotated"));

    // tracing got the same events, inside the token request span with its fields.
    assert!(traced.contains(r#""kind":"refresh.failed_stale_served""#));
    assert!(traced.contains(r#""name":"cctoken.token_request""#), "span in the JSON output");
    assert!(traced.contains(r#""oauth_error":"invalid_client""#));

    // Metrics: attempts by outcome, cool-downs, the histogram, the exposition.
    assert_eq!(m.requests.oauth, 4, "three 503s and one invalid_client");
    assert!(m.requests.success >= 3);
    assert_eq!((m.cooldowns, m.cooldown_rejections), (1, 1));
    assert_eq!(m.fetch_latency.count, m.fetches);
    assert!(m.token_expires_in.is_some());
    assert!(text.contains(&format!("cctoken_token_requests_total{{client_id=\"{CLIENT_ID}\",outcome=\"oauth\"}} 4")));
    assert!(text.contains("# TYPE cctoken_fetch_duration_seconds histogram"));
    assert!(text.contains(&format!("cctoken_cooldowns_total{{client_id=\"{CLIENT_ID}\"}} 1")));
}

#[test]
fn sink_is_never_called_after_the_client_is_dropped() {
    let server = DevServer::start();
    let calls = Arc::new(Mutex::new(0u32));
    let counter = Arc::clone(&calls);
    // A slow refresh is in flight on a fetch thread when the client goes away.
    let c = client(&server, |b| {
        b.refresh_policy(RefreshPolicy { ratio: 0.9, min_window: Duration::ZERO, jitter: 0.0 }).on_event(move |_| {
            *counter.lock().unwrap() += 1;
        })
    });
    server.fault(json!({"expires_in": 2}));
    c.token().expect("token");
    server.fault(json!({"latency_ms": 500}));
    thread::sleep(Duration::from_millis(1100));
    c.token().expect("cached token; starts the refresh");
    drop(c);
    let after_drop = *calls.lock().unwrap();
    thread::sleep(Duration::from_millis(800)); // the refresh finishes meanwhile
    assert_eq!(*calls.lock().unwrap(), after_drop, "no sink call after the client was dropped");
}
