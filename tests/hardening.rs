//! What an adversarial review of the core found (issue 8), each a regression test: servers that
//! echo credentials in every encoding, a cache key that revealed the secret, secret files that
//! block or never end, unbounded server text in errors, discovery without a request timeout,
//! a JWK's ignored `kid`, two secret sources silently resolved.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cctoken::{AuthMethod, Client, Error, RetryPolicy, TransportKind};
use common::DevServer;
use serde_json::{Value, json};

const ID: &str = "svc-echo";
/// Tab, quotes, HTML and URL metacharacters, a space and a non-ASCII letter: every encoding a
/// server may apply changes something in it.
const SECRET: &str = "Zq7\t<&\"'+ %é/Wx9k#Lm2";

fn windows(s: &str, len: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.windows(len.min(chars.len())).map(|w| w.iter().collect()).collect()
}

/// Fails (without printing the secret) when `text` holds the secret, a form/percent/JSON
/// encoding of it, or any 4-character piece of it.
fn assert_no_secret_fragment(text: &str, context: &str) {
    let form: String = form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
    let json = serde_json::to_string(SECRET).unwrap();
    assert!(!text.contains(&form) && !text.contains(json.trim_matches('"')), "{context}: an encoded secret leaked");
    for w in windows(SECRET, 4) {
        assert!(!text.contains(&w), "{context}: a 4-character piece of the secret leaked");
    }
}

fn echo_client(server: &DevServer, method: AuthMethod) -> Client {
    Client::builder()
        .token_url(server.token_url())
        .client_id(ID)
        .client_secret(SECRET)
        .auth_method(method)
        .failure_cooldown(Duration::ZERO)
        .retry_policy(RetryPolicy { max_attempts: 1, ..Default::default() })
        .build()
        .expect("valid config")
}

fn texts(e: &Error) -> String {
    let mut all = format!("{e}\n{e:?}");
    if let Some(o) = e.oauth() {
        all.push_str(&format!("\n{}\n{:?}\n{:?}", o.error, o.description, o.uri));
    }
    all
}

/// A server that quotes what it received, verbatim, HTML-escaped and wrapped, `\u`-escaped in
/// JSON, percent-encoded, as a cut or unpadded Basic value, cut in half, inside an OAuth
/// description, or the client assertion: no error text, `Display` or `Debug` may carry the
/// secret, a 4-character piece of it, or 8 characters of the Basic value or assertion signature.
#[test]
fn echoing_server_never_gets_a_credential_into_an_error() {
    let server = DevServer::with_args(&["--client", ID, "--secret", SECRET]);
    let kinds = [
        "verbatim",
        "html",
        "json_escaped",
        "percent",
        "basic_unpadded",
        "basic_truncated",
        "secret_truncated",
        "oauth",
        "assertion",
    ];
    let methods = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretBasicRaw,
        AuthMethod::ClientSecretPost,
        AuthMethod::ClientSecretJwt,
    ];
    for method in methods {
        let c = echo_client(&server, method);
        for kind in kinds {
            for status in [400, 200, 502] {
                server.fault(json!({"echo": kind, "status": status}));
                let e = c.token().expect_err("an echo is never a token");
                let context = format!("{method:?} echo {kind} status {status}");
                let all = texts(&e);
                assert_no_secret_fragment(&all, &context);
                let sent = server.last_request();
                if let Some(assertion) = sent["params"]["client_assertion"][0].as_str() {
                    let signature = assertion.rsplit('.').next().unwrap();
                    for w in windows(signature, 8) {
                        assert!(!all.contains(&w), "{context}: a piece of the assertion's signature leaked");
                    }
                }
                let pair = match method {
                    AuthMethod::ClientSecretBasic => {
                        let form = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                        Some(format!("{}:{}", form(ID), form(SECRET)))
                    }
                    AuthMethod::ClientSecretBasicRaw => Some(format!("{ID}:{SECRET}")),
                    _ => None,
                };
                if let Some(pair) = pair {
                    let b64 = STANDARD.encode(pair);
                    // From the base64 group that holds the `:` on: secret bytes.
                    for w in windows(&b64[(ID.len() / 3) * 4..], 8) {
                        assert!(!all.contains(&w), "{context}: a piece of the Basic value leaked");
                    }
                }
                // What is kept is still useful: the status and, for OAuth, the error code.
                if kind == "oauth" {
                    assert_eq!(e.oauth().map(|o| o.error.as_str()), Some("invalid_client"), "{context}");
                }
            }
        }
    }
}

/// A weak secret (3 characters) is kept out as well, though it is too short to be told apart
/// from ordinary words: the server's text is withheld or redacted.
#[test]
fn a_very_short_secret_does_not_leak_either() {
    let server = DevServer::with_args(&["--client", ID, "--secret", "q7Z"]);
    let c = Client::builder()
        .token_url(server.token_url())
        .client_id(ID)
        .client_secret("q7Z")
        .auth_method(AuthMethod::ClientSecretPost)
        .retry_policy(RetryPolicy { max_attempts: 1, ..Default::default() })
        .build()
        .unwrap();
    for kind in ["verbatim", "html", "json_escaped", "percent", "oauth"] {
        server.fault(json!({"echo": kind}));
        let all = texts(&c.token().unwrap_err());
        assert!(!all.contains("q7Z"), "echo {kind}: the short secret leaked");
    }
}

/// Server text that quotes nothing secret is still bounded and on one line.
#[test]
fn server_text_is_bounded_and_on_one_line() {
    let server = DevServer::with_args(&["--client", ID, "--secret", SECRET]);
    let c = echo_client(&server, AuthMethod::ClientSecretBasic);
    let long = format!("line one\r\nFORGED: log line {}", "y".repeat(100_000));
    server.fault(json!({"status": 400, "error": "invalid_request", "error_description": long}));
    let e = c.token().unwrap_err();
    let msg = e.to_string();
    assert!(msg.len() < 600, "{} bytes", msg.len());
    assert!(!msg.contains('\n') && !msg.contains('\r'), "{msg}");
    assert!(msg.contains("line one\\r\\nFORGED"), "{msg}");
    // An unknown error code is server text as well.
    server.fault(json!({"status": 400, "error": format!("odd\n{}", "z".repeat(100_000))}));
    let msg = c.token().unwrap_err().to_string();
    assert!(msg.len() < 600 && !msg.contains('\n'), "{} bytes", msg.len());
}

fn assertion_header(server: &DevServer) -> Value {
    let sent = server.last_request();
    let assertion = sent["params"]["client_assertion"][0].as_str().expect("an assertion was sent").to_string();
    let header = assertion.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

/// RFC 8037 A.1's Ed25519 key, with a `kid`.
const JWK_WITH_KID: &str = r#"{"kty":"OKP","crv":"Ed25519","kid":"ed-1",
    "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

#[test]
fn a_jwks_own_kid_names_the_key_unless_key_id_is_given() {
    let server = DevServer::start();
    let jwt_client = |tune: fn(cctoken::ClientBuilder) -> cctoken::ClientBuilder| {
        let b = Client::builder()
            .token_url(server.token_url())
            .client_id("svc-a")
            .private_key_jwk(JWK_WITH_KID)
            .retry_policy(RetryPolicy { max_attempts: 1, ..Default::default() });
        tune(b).build().unwrap()
    };
    // The dev server does not accept JWT assertions: only what was sent matters here.
    let _ = jwt_client(|b| b).token();
    assert_eq!(assertion_header(&server)["kid"], "ed-1");
    assert_eq!(assertion_header(&server)["alg"], "EdDSA");
    let _ = jwt_client(|b| b.key_id("explicit")).token();
    assert_eq!(assertion_header(&server)["kid"], "explicit");
}

fn builder() -> cctoken::ClientBuilder {
    Client::builder().token_url("https://as.example.com/token").client_id("svc")
}

/// The key is a function of public configuration only: equal for two secrets (so it holds
/// nothing a dictionary could test against), unchanged by rotation, stable across builds.
#[test]
fn cache_key_reveals_nothing_about_the_secret() {
    let a = builder().client_secret("correct horse").build().unwrap();
    let b = builder().client_secret("battery staple").build().unwrap();
    assert_eq!(a.cache_key(), b.cache_key());
    assert_eq!(a.cache_key(), builder().client_secret("correct horse").build().unwrap().cache_key());
    a.set_client_secret("rotated".into()).unwrap();
    assert_eq!(a.cache_key(), b.cache_key());
    let dir = tempdir();
    let path = dir.join("secret");
    std::fs::write(&path, "from a file\n").unwrap();
    let from_file = builder().client_secret_file(&path, true).build().unwrap();
    assert_eq!(a.cache_key(), from_file.cache_key(), "where the secret comes from does not select the token");
    // Still different for anything that changes the token.
    assert_ne!(a.cache_key(), builder().client_id("other").client_secret("x").build().unwrap().cache_key());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn secret_and_secret_file_together_are_refused() {
    let dir = tempdir();
    let path = dir.join("secret");
    std::fs::write(&path, "s").unwrap();
    for b in [
        builder().client_secret("s").client_secret_file(&path, false),
        builder().client_secret_file(&path, false).client_secret("s"),
    ] {
        let e = b.build().unwrap_err();
        assert!(matches!(e, Error::Config { field: "client_secret", .. }), "{e}");
        assert!(e.to_string().contains("client_secret_file"), "{e}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

fn tempdir() -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("cctoken-hardening-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Builds with a secret file on another thread, so a build that blocks fails the test instead
/// of hanging it.
fn build_with_secret_file(path: &std::path::Path) -> Result<Client, Error> {
    let (tx, rx) = mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(builder().client_secret_file(path, false).build());
    });
    rx.recv_timeout(Duration::from_secs(20)).expect("reading the secret file blocked")
}

#[test]
fn secret_files_must_be_small_regular_files() {
    let dir = tempdir();
    let fifo = dir.join("fifo");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo");
    let big = dir.join("big");
    std::fs::write(&big, vec![b'a'; 64 * 1024 + 1]).unwrap();
    let just_fits = dir.join("fits");
    std::fs::write(&just_fits, vec![b'a'; 64 * 1024]).unwrap();

    for (path, why) in [
        (std::path::PathBuf::from("/dev/zero"), "not a regular file"),
        (fifo.clone(), "not a regular file"),
        (dir.clone(), "not a regular file"),
        (big.clone(), "larger than 64 KiB"),
        (dir.join("missing"), "cannot open"),
    ] {
        let e = build_with_secret_file(&path).expect_err("refused");
        assert!(matches!(e, Error::Config { field: "client_secret", .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.contains(why) && msg.contains(path.to_str().unwrap()), "{msg}");
    }
    build_with_secret_file(&just_fits).expect("64 KiB is allowed");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A one-connection-at-a-time HTTP server on 127.0.0.1 answering every request with what
/// `reply` makes of its base URL (or, for `None`, reading the request and never answering).
/// Gives up after 30 s.
fn hostile_server(reply: impl FnOnce(&str) -> Option<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let reply = reply(&base);
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(30);
        let mut held = Vec::new();
        while Instant::now() < end {
            let Ok((mut stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            stream.set_nonblocking(false).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            match &reply {
                Some(r) => {
                    let _ = stream.write_all(r.as_bytes());
                }
                None => held.push(stream),
            }
        }
    });
    base
}

fn metadata_reply(meta: &Value) -> String {
    let body = meta.to_string();
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn discovering(issuer: &str) -> Client {
    Client::builder()
        .issuer(issuer)
        .client_id("svc")
        .client_secret("s3cr3t-value")
        .retry_policy(RetryPolicy { max_attempts: 1, ..Default::default() })
        .build()
        .unwrap()
}

#[test]
fn a_foreign_issuer_is_quoted_bounded_on_one_line() {
    let forged = format!("https://evil.example/\r\n2026-01-01 INFO forged log line {}", "x".repeat(500_000));
    let base =
        hostile_server(|_| Some(metadata_reply(&json!({"issuer": forged, "token_endpoint": "http://127.0.0.1:1/t"}))));
    let e = discovering(&base).token().unwrap_err();
    assert!(matches!(e, Error::InvalidResponse(_)), "{e}");
    let msg = e.to_string();
    assert!(msg.len() < 600, "{} bytes", msg.len());
    assert!(!msg.contains('\n') && !msg.contains('\r'), "{msg}");
    assert!(msg.contains("differs from the configured issuer"), "{msg}");
}

#[test]
fn unusable_server_metadata_is_a_server_error_not_a_config_error() {
    // ~790 KB of methods, none of which a secret allows.
    let methods: Vec<String> = (0..30_000).map(|i| format!("private_method_{i:08}")).collect();
    let base = hostile_server(|issuer| {
        Some(metadata_reply(&json!({"issuer": issuer, "token_endpoint": format!("{issuer}/token"),
            "token_endpoint_auth_methods_supported": methods})))
    });
    let e = discovering(&base).token().unwrap_err();
    assert!(matches!(e, Error::InvalidResponse(_)), "{e}");
    assert!(e.to_string().len() < 600, "{} bytes", e.to_string().len());

    // A token endpoint the server names that cannot be used.
    let base = hostile_server(|issuer| {
        let endpoint = format!("ftp://example.com/{}\n", "p".repeat(100_000));
        Some(metadata_reply(&json!({"issuer": issuer, "token_endpoint": endpoint})))
    });
    let e = discovering(&base).token().unwrap_err();
    assert!(matches!(e, Error::InvalidResponse(_)), "{e}");
    assert!(e.to_string().len() < 800 && !e.to_string().contains('\n'), "{} bytes", e.to_string().len());
}

#[test]
fn a_huge_bad_scope_gives_a_short_error() {
    let scope = format!("bad\"{}", "s".repeat(10 * 1024 * 1024));
    let e = builder().client_secret("x").scope(scope).build().unwrap_err();
    assert!(matches!(e, Error::Config { field: "scopes", .. }), "{e}");
    assert!(e.to_string().len() < 600, "{} bytes", e.to_string().len());
    let e = builder().client_secret("x").resource(format!("not a uri\n{}", "r".repeat(100_000))).build().unwrap_err();
    assert!(e.to_string().len() < 600 && !e.to_string().contains('\n'), "{} bytes", e.to_string().len());
}

/// Discovery's GET gets `request_timeout` like a token request, not the whole call's budget.
#[test]
fn discovery_is_bounded_by_the_request_timeout() {
    let base = hostile_server(|_| None);
    let c = Client::builder()
        .issuer(&base)
        .client_id("svc")
        .client_secret("s3cr3t-value")
        .request_timeout(Duration::from_millis(300))
        .call_timeout(Duration::from_secs(25))
        .retry_policy(RetryPolicy { max_attempts: 1, ..Default::default() })
        .build()
        .unwrap();
    let started = Instant::now();
    let e = c.token_timeout(Duration::from_secs(25)).unwrap_err();
    assert!(matches!(e, Error::Transport { kind: TransportKind::Timeout, .. }), "{e}");
    // Far below the 25 s call budget (generous for a loaded machine).
    assert!(started.elapsed() < Duration::from_secs(12), "took {:?}", started.elapsed());
}
