//! The token request on the wire and the parsing policy end to end, against the dev server.

mod common;

use std::time::{Duration, Instant};

use cctoken::{AuthMethod, Error, TransportKind};
use common::{CLIENT_ID, DevServer, SECRET, client};
use serde_json::json;

#[test]
fn basic_auth_form_encodes_id_and_secret() {
    let server = DevServer::start();
    let c = client(&server, |b| b);
    let token = c.token().expect("token with a secret full of reserved characters");
    let last = server.last_request();
    assert_eq!(last["auth_method"], "basic");
    assert_eq!(last["basic_form_ok"], true);
    assert_eq!(last["headers"]["accept"], "application/json");
    assert_eq!(last["params"]["grant_type"], json!(["client_credentials"]));
    assert_eq!(token.token_type(), "Bearer");
    assert_eq!(token.scope(), Some("read"));
    assert_eq!(server.resource_status(&token.authorization_header()), 200);
}

#[test]
fn basic_raw_for_servers_that_do_not_decode() {
    let server = DevServer::start();
    server.settings(json!({"basic_decoding": "raw"}));
    // The strict encoding fails against a raw server: the secret's `+`, `%`, `/` differ...
    let strict = client(&server, |b| b.failure_cooldown(Duration::ZERO));
    let err = strict.token().unwrap_err();
    assert_eq!(err.oauth().map(|o| o.error.as_str()), Some("invalid_client"), "{err}");
    // ...and the raw option works.
    let raw = client(&server, |b| b.auth_method(AuthMethod::ClientSecretBasicRaw));
    raw.token().expect("raw basic");
    assert_eq!(server.last_request()["basic_raw_ok"], true);
}

#[test]
fn client_secret_post_and_none() {
    let server = DevServer::with_args(&[
        "--client",
        CLIENT_ID,
        "--secret",
        SECRET,
        "--auth",
        "post",
        "--client",
        "public-app",
        "--auth",
        "none",
    ]);
    let post = client(&server, |b| b.auth_method(AuthMethod::ClientSecretPost).scopes(Vec::<String>::new()));
    post.token().expect("post");
    let last = server.last_request();
    assert_eq!((last["auth_method"].as_str(), last["client_id"].as_str()), (Some("post"), Some(CLIENT_ID)));
    assert_eq!(last["params"]["client_secret"], "[present]");

    let public = cctoken::Client::builder()
        .token_url(server.token_url())
        .client_id("public-app")
        .auth_method(AuthMethod::None)
        .build()
        .unwrap();
    public.token().expect("none");
    assert_eq!(server.last_request()["auth_method"], "none");
}

#[test]
fn scopes_audience_resources_and_extras_reach_the_server() {
    let server = DevServer::start();
    let c = client(&server, |b| {
        b.scopes(["write", "read"])
            .audience("https://api.example.com")
            .resource("https://api.example.com/a")
            .resource("https://api.example.com/b")
            .extra_param("tenant", "t1")
            .user_agent("cctoken-test/1")
    });
    let token = c.token().unwrap();
    let p = &server.last_request()["params"];
    assert_eq!(p["scope"], json!(["write read"]));
    assert_eq!(p["audience"], json!(["https://api.example.com"]));
    assert_eq!(p["resource"], json!(["https://api.example.com/a", "https://api.example.com/b"]));
    assert_eq!(p["tenant"], json!(["t1"]));
    assert_eq!(server.last_request()["headers"]["user-agent"], "cctoken-test/1");
    let intro = server.introspect(token.access_token());
    assert_eq!(intro["active"], true);
    assert_eq!(intro["client_id"], CLIENT_ID);
}

/// Fetches once with `fault` queued; returns the result.
fn with_fault(fault: serde_json::Value) -> Result<cctoken::Token, Error> {
    let server = DevServer::start();
    server.fault(fault);
    client(&server, |b| b.retry_policy(cctoken::RetryPolicy { max_attempts: 1, ..Default::default() })).token()
}

#[test]
fn lenient_success_shapes() {
    let t = with_fault(json!({"expires_in": "3600"})).unwrap();
    assert!(t.expires_in() > Duration::from_secs(3590));
    let t = with_fault(json!({"expires_in": 120.7})).unwrap();
    assert!(t.expires_in() > Duration::from_secs(110) && t.expires_in() <= Duration::from_secs(121));
    let t = with_fault(json!({"omit_expires_in": true})).unwrap();
    assert!(
        t.expires_in() > Duration::from_secs(290) && t.expires_in() <= Duration::from_secs(300),
        "default lifetime"
    );
    let t = with_fault(json!({"omit_expires_in": true, "access_token_format": "jwt"})).unwrap();
    assert!(t.expires_in() > Duration::from_secs(3500), "JWT exp used: {:?}", t.expires_in());
    let t = with_fault(json!({"token_type": "bearer", "omit_scope": true})).unwrap();
    assert_eq!((t.token_type(), t.scope()), ("Bearer", Some("read")));
    let t = with_fault(json!({"omit_token_type": true, "extra": {"ext_expires_in": 7200}})).unwrap();
    assert_eq!(t.token_type(), "Bearer");
    assert_eq!(t.extras()["ext_expires_in"], 7200);
    let t = with_fault(json!({"body": "form"})).unwrap();
    assert!(!t.access_token().is_empty());
    let t = with_fault(json!({"expires_in": 1e30})).unwrap();
    assert!(t.expires_in() <= Duration::from_secs(366 * 86400), "clamped");
}

#[test]
fn zero_or_negative_lifetime_is_used_once_never_cached() {
    let server = DevServer::start();
    server.fault(json!({"expires_in": 0, "count": 2}));
    let c = client(&server, |b| b);
    let a = c.token().unwrap();
    let b = c.token().unwrap();
    assert!(a.access_token() != b.access_token(), "a different token");
    assert!(a.is_expired());
    assert_eq!(server.token_requests(), 2);
}

#[test]
fn strict_failure_shapes() {
    let kind = |r: Result<cctoken::Token, Error>| r.unwrap_err();
    assert!(matches!(kind(with_fault(json!({"body": "malformed"}))), Error::InvalidResponse(_)));
    assert!(matches!(kind(with_fault(json!({"body": "truncated"}))), Error::InvalidResponse(_)));
    assert!(matches!(kind(with_fault(json!({"body": "empty"}))), Error::InvalidResponse(_)));
    let e = kind(with_fault(json!({"body": "oversized"})));
    assert!(matches!(&e, Error::InvalidResponse(m) if m.contains("1 MiB")), "{e}");
    let e = kind(with_fault(json!({"body": "close_mid_body"})));
    assert!(matches!(e, Error::Transport { .. }), "{e}");
    let e = kind(with_fault(json!({"error": "invalid_scope", "error_description": "nope"})));
    let o = e.oauth().expect("200 with error is an OAuth error");
    assert_eq!((o.error.as_str(), o.http_status, o.description.as_deref()), ("invalid_scope", 200, Some("nope")));
    let e = kind(with_fault(json!({"status": 502, "body": "html"})));
    match &e {
        Error::Http { status: 502, body_snippet, .. } => assert!(body_snippet.contains("<html"), "{body_snippet}"),
        other => panic!("expected an HTTP error, got {other}"),
    }
    assert!(e.is_retryable());
}

#[test]
fn wrong_secret_is_invalid_client_and_cools_down() {
    let server = DevServer::start();
    let c =
        client(&server, |b| b.client_secret(cctoken::Secret::new("wrong")).failure_cooldown(Duration::from_secs(60)));
    let e = c.token().unwrap_err();
    let o = e.oauth().expect("oauth error");
    assert_eq!((o.error.as_str(), o.http_status), ("invalid_client", 401));
    assert!(!e.is_retryable());
    for _ in 0..20 {
        assert_eq!(c.token().unwrap_err().oauth().unwrap().error, "invalid_client");
    }
    assert_eq!(server.token_requests(), 1, "cool-down: one request, not 21");
}

#[test]
fn bare_401_is_a_credential_failure_not_retried() {
    let server = DevServer::start();
    server.fault(json!({"status": 401, "count": 0}));
    let c = client(&server, |b| b);
    let e = c.token().unwrap_err();
    assert!(matches!(e, Error::Http { status: 401, .. }), "{e}");
    assert!(!e.is_retryable());
    assert_eq!(server.token_requests(), 1);
}

#[test]
fn transient_failures_are_retried_with_backoff() {
    let server = DevServer::start();
    server.fault(json!({"status": 503, "count": 2}));
    let c = client(&server, |b| b);
    c.token().expect("third attempt succeeds");
    assert_eq!(server.token_requests(), 3);
    assert_eq!(c.metrics().retries, 2);

    // 429 with an OAuth body is still transient.
    server.fault(json!({"status": 429, "error": "slow_down", "count": 1}));
    let c = client(&server, |b| b.scopes(["write"]));
    c.token().expect("retried after 429");
}

#[test]
fn permanent_4xx_is_not_retried() {
    let server = DevServer::start();
    server.fault(json!({"status": 400, "error": "invalid_request", "count": 0}));
    let c = client(&server, |b| b);
    assert!(c.token().is_err());
    assert_eq!(server.token_requests(), 1);
}

#[test]
fn retry_after_is_honoured() {
    let server = DevServer::start();
    server.fault(json!({"status": 503, "retry_after": "1", "count": 1}));
    let c = client(&server, |b| b);
    let started = Instant::now();
    c.token().expect("second attempt succeeds");
    assert!(started.elapsed() >= Duration::from_secs(1), "waited {:?}", started.elapsed());
    assert_eq!(server.token_requests(), 2);

    // A Retry-After beyond the call deadline: give up at once instead of sleeping past it.
    server.fault(json!({"status": 503, "retry_after": "3600", "count": 1}));
    let c = client(&server, |b| b.scopes(["write"]).call_timeout(Duration::from_secs(5)));
    let e = c.token().unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
}

#[test]
fn slow_server_times_out_within_the_deadline() {
    let server = DevServer::start();
    server.fault(json!({"latency_ms": 5000, "count": 0}));
    let c = client(&server, |b| b.request_timeout(Duration::from_millis(300)).call_timeout(Duration::from_millis(800)));
    let started = Instant::now();
    let e = c.token().unwrap_err();
    let took = started.elapsed();
    assert!(matches!(e, Error::Transport { kind: TransportKind::Timeout, .. }), "{e}");
    // Bounded by the call timeout plus scheduling slack, whatever the retry policy says.
    assert!(took < Duration::from_millis(800 + 700), "took {took:?}");
}

#[test]
fn redirects_are_refused_and_credentials_stay_home() {
    let server = DevServer::start();
    server.fault(json!({"redirect": true}));
    let e = client(&server, |b| b).token().unwrap_err();
    assert!(matches!(e, Error::Http { status: 307, .. }), "{e}");
    let stats = server.stats();
    assert_eq!(stats["redirect_target_hits"], 0);
    assert_eq!(stats["redirect_target_saw_credentials"], false);
}

#[test]
fn connection_refused_is_a_connect_error() {
    // Bind and drop a listener to find a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let c = cctoken::Client::builder()
        .token_url(format!("http://127.0.0.1:{port}/token"))
        .client_id("x")
        .client_secret("y")
        .retry_policy(cctoken::RetryPolicy { max_attempts: 1, ..Default::default() })
        .build()
        .unwrap();
    let e = c.token().unwrap_err();
    assert!(matches!(e, Error::Transport { kind: TransportKind::Connect, .. }), "{e}");
    assert!(e.is_retryable());
}
