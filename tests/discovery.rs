//! Discovery (RFC 8414, falling back to OpenID Connect Discovery) against the dev server's
//! metadata documents, switched on and off through its settings. Discovery against a real
//! server (oidc-provider) is in tests/interop.rs; the mTLS alias in tests/tls.rs.

mod common;

use cctoken::{Client, Error};
use common::{CLIENT_ID, DevServer, SECRET};
use serde_json::json;

fn issuer(server: &DevServer) -> String {
    server.token_url().trim_end_matches("/token").to_string()
}

fn discovering(issuer: &str) -> Client {
    Client::builder().issuer(issuer).client_id(CLIENT_ID).client_secret(SECRET).build().expect("valid config")
}

fn metadata_requests(server: &DevServer) -> u64 {
    server.stats()["metadata_requests"].as_u64().unwrap()
}

#[test]
fn rfc8414_metadata_is_fetched_once_and_cached() {
    let server = DevServer::start();
    server.settings(json!({"metadata": "oauth"}));
    let c = discovering(&issuer(&server));
    let token = c.token().expect("token via RFC 8414 metadata");
    assert_eq!(metadata_requests(&server), 1);
    // No auth method configured: one the metadata lists that a secret allows.
    assert_eq!(server.last_request()["auth_method"], "basic");
    c.invalidate(&token);
    c.token().expect("second token");
    assert_eq!(server.token_requests(), 2);
    assert_eq!(metadata_requests(&server), 1, "the metadata is cached");
}

#[test]
fn falls_back_to_openid_configuration() {
    let server = DevServer::start();
    server.settings(json!({"metadata": "openid"}));
    discovering(&issuer(&server)).token().expect("token via OpenID Connect Discovery");
    assert_eq!(metadata_requests(&server), 2, "RFC 8414 first (404), then OpenID");
    assert_eq!(server.token_requests(), 1);
}

#[test]
fn no_metadata_is_a_clear_error_and_no_token_request() {
    let server = DevServer::start();
    server.settings(json!({"metadata": "none"}));
    let e = discovering(&issuer(&server)).token().unwrap_err();
    let text = e.to_string();
    assert!(text.contains("metadata"), "{text}");
    common::assert_no_secrets(&text, &[]);
    assert_eq!(server.token_requests(), 0);
}

#[test]
fn metadata_naming_another_issuer_is_refused() {
    let server = DevServer::start();
    server.settings(json!({"metadata_issuer": "http://127.0.0.1:1"}));
    let e = discovering(&issuer(&server)).token().unwrap_err();
    assert!(matches!(e, Error::InvalidResponse(_)), "{e}");
    assert!(e.to_string().contains("differs from the configured issuer"), "{e}");
    assert_eq!(server.token_requests(), 0, "no credentials sent to an endpoint of unverified metadata");
}
