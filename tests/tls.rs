//! HTTPS and mutual TLS against the dev server's `--tls-dir` mode: a CA generated at test time,
//! a server certificate for 127.0.0.1 only, and client certificates for RFC 8705
//! `tls_client_auth` (CA-issued) and `self_signed_tls_client_auth`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use cctoken::{AuthMethod, Client, Error, TransportKind, TrustStore};
use common::{DevServer, assert_no_secrets};

/// A fresh directory for one server's certificates, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let dir = std::env::temp_dir().join(format!("cctoken-tls-{name}-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn start(dir: &Path) -> DevServer {
    DevServer::with_tls(
        dir,
        &[
            "--client",
            "svc",
            "--secret",
            "tls-test-secret",
            "--client",
            "mtls",
            "--auth",
            "tls",
            "--client",
            "selfsigned",
            "--auth",
            "self_signed",
        ],
    )
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn secret_client(server: &DevServer, url: &str, ca: Option<Vec<u8>>) -> Client {
    let mut b = Client::builder().token_url(url).client_id("svc").client_secret("tls-test-secret");
    if let Some(ca) = ca {
        b = b.root_ca_pem(ca);
    }
    let _ = server;
    b.build().expect("valid config")
}

fn tls_error(r: Result<cctoken::Token, Error>) -> String {
    match r {
        Err(e @ Error::Transport { kind: TransportKind::Tls, .. }) => {
            assert!(!e.is_retryable(), "a TLS failure is not retried");
            e.to_string()
        }
        Err(other) => panic!("expected a TLS error, got {other}"),
        Ok(_) => panic!("expected a TLS error, got a token"),
    }
}

#[test]
fn https_with_the_test_ca() {
    let dir = TempDir::new("ok");
    let server = start(&dir.0);
    assert!(server.base.starts_with("https://127.0.0.1:"));
    let client = secret_client(&server, &server.token_url(), Some(read(&dir.0, "ca.pem")));
    let token = client.token().expect("token over HTTPS");
    assert_eq!(server.introspect(token.access_token())["active"], true);
    assert_eq!(server.resource_status(&token.authorization_header()), 200);
}

#[test]
fn unknown_ca_is_a_tls_error() {
    let dir = TempDir::new("ca");
    let server = start(&dir.0);
    // The system store (the default): the generated CA is not in it.
    let message = tls_error(secret_client(&server, &server.token_url(), None).token());
    assert!(message.to_lowercase().contains("tls"), "{message}");
    assert_no_secrets(&message, &[]);
    assert_eq!(server.token_requests(), 0, "nothing reached the token endpoint");
}

#[test]
fn host_name_mismatch_is_a_tls_error() {
    let dir = TempDir::new("host");
    let server = start(&dir.0);
    // The certificate names 127.0.0.1 only; `localhost` reaches the same socket.
    let url = server.token_url().replace("127.0.0.1", "localhost");
    let message = tls_error(secret_client(&server, &url, Some(read(&dir.0, "ca.pem"))).token());
    assert!(message.to_lowercase().contains("tls"), "{message}");
}

#[test]
fn tls_client_auth_with_a_ca_issued_certificate() {
    let dir = TempDir::new("mtls");
    let server = start(&dir.0);
    let client = Client::builder()
        .token_url(server.token_url())
        .client_id("mtls")
        .auth_method(AuthMethod::TlsClientAuth)
        .client_certificate_pem(read(&dir.0, "mtls.pem"), read(&dir.0, "mtls-key.pem"))
        .root_ca_pem(read(&dir.0, "ca.pem"))
        .build()
        .expect("valid config");
    let token = client.token().expect("token with tls_client_auth");
    let info = server.introspect(token.access_token());
    assert_eq!(info["active"], true);
    assert_eq!(info["client_id"], "mtls");
    // RFC 8705 §3: the token is bound to the certificate that authenticated.
    assert!(info["cnf"]["x5t#S256"].as_str().is_some_and(|t| t.len() == 43), "{info}");
    let last = server.last_request();
    assert_eq!(last["auth_method"], "none", "no secret and no Authorization header: {last}");
}

#[test]
fn self_signed_tls_client_auth() {
    let dir = TempDir::new("selfsigned");
    let server = start(&dir.0);
    let client = Client::builder()
        .token_url(server.token_url())
        .client_id("selfsigned")
        .auth_method(AuthMethod::SelfSignedTlsClientAuth)
        .client_certificate_pem(read(&dir.0, "selfsigned.pem"), read(&dir.0, "selfsigned-key.pem"))
        .root_ca_pem(read(&dir.0, "ca.pem"))
        .build()
        .expect("valid config");
    let token = client.token().expect("token with self_signed_tls_client_auth");
    assert_eq!(server.introspect(token.access_token())["client_id"], "selfsigned");
}

#[test]
fn wrong_client_certificate_is_invalid_client() {
    let dir = TempDir::new("wrongcert");
    let server = start(&dir.0);
    // The self-signed client's certificate presented for the CA-issued client.
    let client = Client::builder()
        .token_url(server.token_url())
        .client_id("mtls")
        .auth_method(AuthMethod::TlsClientAuth)
        .client_certificate_pem(read(&dir.0, "selfsigned.pem"), read(&dir.0, "selfsigned-key.pem"))
        .root_ca_pem(read(&dir.0, "ca.pem"))
        .build()
        .expect("valid config");
    match client.token() {
        Err(Error::OAuth(e)) => assert_eq!(e.error, "invalid_client"),
        other => panic!("expected invalid_client, got {:?}", other.map(|_| "a token")),
    }
}

/// Discovery (RFC 8414) against the dev server: a certificate client goes to the metadata's
/// `mtls_endpoint_aliases.token_endpoint` (RFC 8705 §5), a secret client to `token_endpoint`.
#[test]
fn discovery_uses_the_mtls_alias_for_certificate_clients_only() {
    let dir = TempDir::new("alias");
    let server = start(&dir.0);
    let issuer = server.token_url().trim_end_matches("/token").to_string();
    let ca = read(&dir.0, "ca.pem");

    let secret = Client::builder()
        .issuer(issuer.as_str())
        .client_id("svc")
        .client_secret("tls-test-secret")
        .root_ca_pem(ca.clone())
        .build()
        .expect("valid config");
    secret.token().expect("token via discovery, secret");
    assert_eq!(server.stats()["mtls_alias_requests"], 0, "a secret client uses token_endpoint");
    assert_eq!(server.token_requests(), 1);

    // No auth method given: discovery picks tls_client_auth for a CA-issued certificate.
    let mtls = Client::builder()
        .issuer(issuer.as_str())
        .client_id("mtls")
        .client_certificate_pem(read(&dir.0, "mtls.pem"), read(&dir.0, "mtls-key.pem"))
        .root_ca_pem(ca)
        .build()
        .expect("valid config");
    let token = mtls.token().expect("token via discovery, certificate");
    assert_eq!(server.stats()["mtls_alias_requests"], 1, "the certificate client used the mTLS alias");
    assert_eq!(server.token_requests(), 2);
    assert_eq!(server.introspect(token.access_token())["client_id"], "mtls");
}

/// `root_ca_only`: the given CA alone. The right one works; another CA (a second server's) is a
/// TLS error, and no CA at all is a configuration error.
#[test]
fn root_ca_only_trusts_exactly_the_given_cas() {
    let dir = TempDir::new("only");
    let server = start(&dir.0);
    let other_dir = TempDir::new("only-other");
    let _other = DevServer::with_tls(&other_dir.0, &[]);
    let only = |ca: Option<Vec<u8>>| {
        let mut b = Client::builder()
            .token_url(server.token_url())
            .client_id("svc")
            .client_secret("tls-test-secret")
            .trust_store(TrustStore::RootCaOnly);
        if let Some(ca) = ca {
            b = b.root_ca_pem(ca);
        }
        b.build()
    };
    let token = only(Some(read(&dir.0, "ca.pem"))).unwrap().token().expect("token with root_ca_only");
    assert_eq!(server.introspect(token.access_token())["active"], true);
    let message = tls_error(only(Some(read(&other_dir.0, "ca.pem"))).unwrap().token());
    assert_no_secrets(&message, &[]);
    match only(None) {
        Err(Error::Config { field: "root_ca_pem", .. }) => {}
        other => panic!("expected a root_ca_pem config error, got {:?}", other.map(|_| "a client")),
    }
    assert_eq!(server.token_requests(), 1);
}

/// `bundled` (the compiled-in Mozilla roots) plus an added CA, as before the system store.
#[test]
fn bundled_roots_plus_an_added_ca() {
    let dir = TempDir::new("bundled");
    let server = start(&dir.0);
    let client = |ca: Option<Vec<u8>>| {
        let mut b = Client::builder()
            .token_url(server.token_url())
            .client_id("svc")
            .client_secret("tls-test-secret")
            .trust_store(TrustStore::Bundled);
        if let Some(ca) = ca {
            b = b.root_ca_pem(ca);
        }
        b.build().expect("valid config")
    };
    client(Some(read(&dir.0, "ca.pem"))).token().expect("token with bundled roots plus the test CA");
    tls_error(client(None).token());
}
