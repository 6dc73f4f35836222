//! Configuration validation, and the promise that secrets and tokens never show up in
//! `Debug`, `Display` or error messages.

mod common;

use std::time::Duration;

use cctoken::{AuthMethod, Client, Error, RefreshPolicy, Secret};
use common::{DevServer, SECRET, assert_no_secrets, client};
use serde_json::json;

fn build(f: impl FnOnce(cctoken::ClientBuilder) -> cctoken::ClientBuilder) -> Result<Client, Error> {
    f(Client::builder().token_url("https://as.example.com/token").client_id("id").client_secret("s")).build()
}

fn field_of(r: Result<Client, Error>) -> &'static str {
    match r {
        Err(Error::Config { field, .. }) => field,
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn https_required_except_on_loopback() {
    assert!(build(|b| b).is_ok());
    for ok in [
        "http://127.0.0.1:8080/t",
        "http://127.5.6.7/t",
        "http://[::1]:9/t",
        "http://localhost/t",
        "http://LOCALHOST/t",
    ] {
        assert!(build(|b| b.token_url(ok)).is_ok(), "{ok}");
    }
    for bad in ["http://as.example.com/token", "http://10.0.0.1/token", "http://localhost.evil.com/t"] {
        assert_eq!(field_of(build(|b| b.token_url(bad))), "token_url", "{bad}");
    }
    assert!(build(|b| b.token_url("http://as.example.com/token").allow_insecure_http(true)).is_ok());
    assert_eq!(field_of(build(|b| b.token_url("ftp://x/y"))), "token_url");
    assert_eq!(field_of(build(|b| b.token_url("https://u:p@x/y"))), "token_url");
    assert_eq!(field_of(build(|b| b.token_url("not a url"))), "token_url");
}

#[test]
fn each_bad_option_is_named() {
    assert_eq!(field_of(Client::builder().client_id("x").client_secret("s").build()), "token_url");
    assert_eq!(field_of(Client::builder().token_url("https://x/t").client_secret("s").build()), "client_id");
    assert_eq!(field_of(Client::builder().token_url("https://x/t").client_id("x").build()), "client_secret");
    assert_eq!(field_of(build(|b| b.auth_method(AuthMethod::None))), "client_secret");
    assert_eq!(field_of(build(|b| b.client_id("a:b").auth_method(AuthMethod::ClientSecretBasicRaw))), "client_id");
    assert_eq!(field_of(build(|b| b.scopes(["two words"]))), "scopes");
    assert_eq!(field_of(build(|b| b.scopes(["quote\""]))), "scopes");
    assert_eq!(field_of(build(|b| b.resource("relative/path"))), "resource");
    assert_eq!(field_of(build(|b| b.resource("https://x/#frag"))), "resource");
    for reserved in ["grant_type", "client_id", "client_secret", "scope"] {
        assert_eq!(field_of(build(|b| b.extra_param(reserved, "x"))), "extra_params", "{reserved}");
    }
    assert_eq!(field_of(build(|b| b.call_timeout(Duration::ZERO))), "call_timeout");
    // Duration::MAX would overflow the assertion's `exp`; a long-lived assertion is replayable.
    assert_eq!(field_of(build(|b| b.assertion_lifetime(Duration::MAX))), "assertion_lifetime");
    assert_eq!(field_of(build(|b| b.assertion_lifetime(Duration::from_secs(3601)))), "assertion_lifetime");
    assert!(build(|b| b.assertion_lifetime(Duration::from_secs(3600))).is_ok());
    assert_eq!(
        field_of(build(|b| b.refresh_policy(RefreshPolicy { ratio: 1.5, ..Default::default() }))),
        "refresh_policy"
    );
    assert_eq!(field_of(build(|b| b.root_ca_pem(b"not pem".to_vec()))), "root_ca_pem");
    assert_eq!("client_secret_post".parse::<AuthMethod>().unwrap(), AuthMethod::ClientSecretPost);
    assert!("magic".parse::<AuthMethod>().is_err());
}

#[test]
fn cache_key_ignores_scope_order_but_not_anything_that_changes_the_token() {
    let key = |f: fn(cctoken::ClientBuilder) -> cctoken::ClientBuilder| build(f).unwrap().cache_key().to_string();
    let base = key(|b| b.scopes(["a", "b"]));
    assert_eq!(base, key(|b| b.scopes(["b", "a"])));
    let variants = [
        key(|b| b.scopes(["a"])),
        key(|b| b.scopes(["a", "b"]).client_id("other")),
        key(|b| b.scopes(["a", "b"]).token_url("https://other/token")),
        key(|b| b.scopes(["a", "b"]).auth_method(AuthMethod::ClientSecretPost)),
        key(|b| b.scopes(["a", "b"]).audience("x")),
        key(|b| b.scopes(["a", "b"]).resource("https://r/")),
        key(|b| b.scopes(["a", "b"]).extra_param("k", "v")),
    ];
    for v in &variants {
        assert_ne!(&base, v);
    }
    // The secret is no part of it (tests/hardening.rs): a rotated secret keeps the key.
    assert_eq!(base, key(|b| b.scopes(["a", "b"]).client_secret("other")));
    assert!(!base.contains('s') || base.len() == 64, "a hex digest");
}

#[test]
fn secret_type_never_prints() {
    let s = Secret::new(SECRET);
    assert_eq!(format!("{s:?}"), "[redacted]");
    assert_eq!(format!("{s}"), "[redacted]");
    let b = Client::builder().token_url("https://x/t").client_id("id").client_secret(s);
    assert_no_secrets(&format!("{b:?}"), &[]);
    assert_no_secrets(&format!("{:?}", b.build().unwrap()), &[]);
    // SAFETY: no other thread of this test binary reads or writes this variable.
    unsafe { std::env::set_var("CCTOKEN_TEST_SECRET_ENV", SECRET) };
    assert!(Secret::from_env("CCTOKEN_TEST_SECRET_ENV").unwrap().expose() == SECRET, "the secret read back");
    let e = Secret::from_env("CCTOKEN_TEST_SECRET_UNSET").unwrap_err();
    assert!(e.to_string().contains("CCTOKEN_TEST_SECRET_UNSET"));
}

/// Produces every error the dev server can provoke while the server echoes what it can, and
/// checks no message, `Debug` or `Display` contains the secret or any issued token.
#[test]
fn no_error_or_debug_output_contains_secrets_or_tokens() {
    let server = DevServer::start();
    let c = client(&server, |b| b.retry_policy(cctoken::RetryPolicy { max_attempts: 1, ..Default::default() }));
    let token = c.token().unwrap();
    let issued = token.access_token().to_string();
    let mut texts = vec![format!("{token:?}"), format!("{c:?}"), format!("{:?}", c.metrics())];

    let faults = [
        json!({"body": "malformed"}),
        json!({"body": "truncated"}),
        json!({"body": "oversized"}),
        json!({"body": "html", "status": 502}),
        json!({"body": "empty"}),
        json!({"body": "close_mid_body"}),
        json!({"status": 503, "retry_after": "1"}),
        json!({"status": 401}),
        json!({"status": 400, "error": "invalid_request", "error_description": format!("bad secret {SECRET}")}),
        json!({"error": "invalid_grant", "error_description": format!("echo {SECRET}")}),
        json!({"redirect": true}),
    ];
    for fault in faults {
        server.fault(fault.clone());
        // A fresh client per fault, so the cached token does not hide the fault.
        let fresh = client(&server, |b| b.retry_policy(cctoken::RetryPolicy { max_attempts: 1, ..Default::default() }));
        let e = fresh.token().expect_err(&fault.to_string());
        texts.extend([e.to_string(), format!("{e:?}")]);
    }
    let wrong = client(&server, |b| b.client_secret(Secret::new(format!("{SECRET}-wrong"))));
    let e = wrong.token().unwrap_err();
    texts.extend([e.to_string(), format!("{e:?}")]);
    assert!(texts.len() > 20, "errors were produced: {}", texts.len());
    for t in &texts {
        assert_no_secrets(t, &[&issued]);
    }
}
