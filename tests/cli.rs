//! The `cctoken token` command line, run as a user runs it, against the dev server.

mod common;
#[path = "interop/harness.rs"]
mod harness;

use std::fs;
use std::process::{Command, Output};

use common::{CLIENT_ID, DevServer, SECRET, assert_no_secrets};
use serde_json::Value;

fn cctoken(args: &[&str]) -> Output {
    cctoken_env(args, &[])
}

/// Runs the CLI with the proxy and trust-store variables of the test's environment removed
/// (they would change what is tested), then `env` added. Every run asks the server: the shared
/// token cache is off (tests/store_file.rs tests it).
fn cctoken_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cctoken"));
    for var in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY"] {
        cmd.env_remove(var);
    }
    cmd.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR").env_remove("CCTOKEN_REDIS_URL");
    // A cache directory of its own per run.
    static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let cache = std::env::temp_dir().join(format!("cctoken-cli-cache-{}-{n}", std::process::id()));
    let out = cmd.env("XDG_CACHE_HOME", &cache).args(args).envs(env.iter().copied()).output().expect("run cctoken");
    let _ = fs::remove_dir_all(&cache);
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp_file(name: &str, contents: &[u8]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("cctoken-cli-{}-{name}", std::process::id()));
    fs::write(&path, contents).unwrap();
    path
}

#[test]
fn prints_an_authorization_header_that_the_resource_accepts() {
    let server = DevServer::start();
    let secret = temp_file("secret", SECRET.as_bytes());
    let url = server.token_url();
    let out = cctoken(&[
        "token",
        "--token-url",
        &url,
        "--client-id",
        CLIENT_ID,
        "--client-secret-file",
        secret.to_str().unwrap(),
        "--scope",
        "read",
        "--format",
        "header",
    ]);
    fs::remove_file(&secret).unwrap();
    assert!(out.status.success(), "exit {:?}", out.status);
    let line = String::from_utf8(out.stdout).unwrap();
    let header = line.trim().strip_prefix("Authorization: ").expect("an Authorization header line");
    assert_eq!(server.resource_status(header), 200);
}

#[test]
fn failures_exit_1_without_the_secret_and_usage_errors_exit_2() {
    let server = DevServer::start();
    let wrong = format!("{SECRET}-wrong");
    let secret = temp_file("wrong", wrong.as_bytes());
    let url = server.token_url();
    let out = cctoken(&[
        "token",
        "--token-url",
        &url,
        "--client-id",
        CLIENT_ID,
        "--client-secret-file",
        secret.to_str().unwrap(),
    ]);
    fs::remove_file(&secret).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("invalid_client"), "{stderr}");
    assert_no_secrets(&stderr, &[]);
    assert!(out.stdout.is_empty());

    assert_eq!(cctoken(&["token", "--nonsense", "x"]).status.code(), Some(2));
    assert_eq!(cctoken(&[]).status.code(), Some(2));
}

#[test]
fn tls_client_auth_with_certificate_files() {
    let dir = std::env::temp_dir().join(format!("cctoken-cli-tls-{}", std::process::id()));
    let server = DevServer::with_tls(&dir, &["--client", "cli-mtls", "--auth", "tls"]);
    let file = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let url = server.token_url();
    let out = cctoken(&[
        "token",
        "--token-url",
        &url,
        "--client-id",
        "cli-mtls",
        "--auth-method",
        "tls_client_auth",
        "--client-cert-file",
        &file("cli-mtls.pem"),
        "--client-key-file",
        &file("cli-mtls-key.pem"),
        "--ca-file",
        &file("ca.pem"),
        "--format",
        "json",
    ]);
    let _ = fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(server.introspect(json["access_token"].as_str().unwrap())["client_id"], "cli-mtls");
}

#[test]
fn help_prints_usage_on_stdout_and_exits_0() {
    for args in [&["token", "--help"][..], &["--help"], &["help"], &["-h"], &["token", "--client-id", "x", "-h"]] {
        let out = cctoken(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let stdout = text(&out.stdout);
        assert!(stdout.starts_with("usage: cctoken token"), "{args:?}: {stdout}");
        for documented in ["Exit status:", "--trust-store", "--proxy", "--retry-attempts", "--dpop-key-file"] {
            assert!(stdout.contains(documented), "--help documents {documented}");
        }
        assert!(out.stderr.is_empty(), "{args:?}: {}", text(&out.stderr));
    }
}

/// Every way of calling the command wrongly exits 2 before anything is sent.
#[test]
fn every_usage_error_exits_2_and_sends_nothing() {
    let server = DevServer::start();
    let url = server.token_url();
    let secret = temp_file("usage-secret", SECRET.as_bytes());
    let secret = secret.to_str().unwrap();
    let fifo = std::env::temp_dir().join(format!("cctoken-cli-fifo-{}", std::process::id()));
    let _ = fs::remove_file(&fifo);
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0, "mkfifo");
    let base = ["token", "--token-url", url.as_str(), "--client-id", CLIENT_ID];
    let with = |extra: &[&str]| -> Vec<String> { base.iter().chain(extra).map(|s| s.to_string()).collect() };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![], "expected the `token` subcommand"),
        (vec!["frobnicate".into()], "unknown command"),
        (with(&["--client-secret-file", secret, "--nonsense", "x"]), "unknown option `--nonsense`"),
        (with(&["--client-secret-env", "CCTOKEN_CLI_TEST_UNSET_VARIABLE"]), "CCTOKEN_CLI_TEST_UNSET_VARIABLE"),
        (with(&["--client-secret-file", "/nonexistent/cctoken-secret"]), "/nonexistent/cctoken-secret"),
        (with(&["--client-secret-file", secret, "--scope"]), "--scope needs a value"),
        (with(&["--client-secret-file", secret, "--timeout-ms", "soon"]), "--timeout-ms takes"),
        (with(&["--client-secret-file", secret, "--retry-attempts", "0"]), "--retry-attempts takes"),
        (with(&["--client-secret-file", secret, "--format", "xml"]), "unknown format"),
        (with(&["--client-secret-file", secret, "--trust-store", "mozilla"]), "trust_store"),
        (with(&["--client-secret-file", secret, "--trust-store", "root_ca_only"]), "root_ca_pem"),
        (with(&["--client-secret-file", secret, "--client-cert-file", secret]), "go together"),
        (with(&["--client-secret-file", secret, "--signing-alg", "XS999"]), "signing_alg"),
        (with(&["--client-secret-file", secret, "--proxy", "http://127.0.0.1:1"]), "in clear"),
        (with(&["--client-secret-file", secret, "--dpop=yes"]), "takes no value"),
        (with(&[]), "client_secret"),
        // Files must be regular: /dev/zero never ends, a FIFO blocks, a directory is no file.
        (with(&["--client-secret-file", secret, "--ca-file", "/dev/zero"]), "not a regular file"),
        (with(&["--client-secret-file", fifo.to_str().unwrap()]), "not a regular file"),
        (with(&["--client-secret-file", "/tmp"]), "not a regular file"),
        (
            vec!["token".into(), "--token-url".into(), url.clone(), "--client-secret-file".into(), secret.into()],
            "client_id",
        ),
    ];
    for (args, expected) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = cctoken(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: expected {expected:?} in {stderr}");
        assert!(stderr.contains("cctoken token --help"), "{args:?}: points at --help: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert_no_secrets(&stderr, &[]);
    }
    let _ = fs::remove_file(&fifo);
    assert_eq!(server.token_requests(), 0, "no usage error sent a request");
}

#[test]
fn unknown_ca_fails_with_exit_1_and_a_ca_file_hint() {
    let dir = std::env::temp_dir().join(format!("cctoken-cli-ca-{}", std::process::id()));
    let server = DevServer::with_tls(&dir, &["--client", CLIENT_ID, "--secret", SECRET]);
    let secret = temp_file("ca-secret", SECRET.as_bytes());
    let url = server.token_url();
    let out = cctoken(&[
        "token",
        "--token-url",
        &url,
        "--client-id",
        CLIENT_ID,
        "--client-secret-file",
        secret.to_str().unwrap(),
    ]);
    let _ = fs::remove_dir_all(&dir);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("hint:") && stderr.contains("--ca-file"), "{stderr}");
    assert_no_secrets(&stderr, &[]);
}

/// "timeout" alone does not say what to change: the hint names the timeout and the attempts.
#[test]
fn timeouts_name_the_timeout_and_the_attempts() {
    let server = DevServer::start();
    let secret = temp_file("timeout-secret", SECRET.as_bytes());
    let url = server.token_url();
    let run = |extra: &[&str]| {
        let mut args = vec!["token", "--token-url", &url, "--client-id", CLIENT_ID];
        args.extend(["--client-secret-file", secret.to_str().unwrap()]);
        args.extend(extra);
        cctoken(&args)
    };
    server.fault(serde_json::json!({"latency_ms": 2000, "count": 0}));
    let out = run(&["--request-timeout-ms", "300", "--retry-attempts", "2", "--connect-timeout-ms", "2000"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--request-timeout-ms (300 ms)"), "{stderr}");
    assert!(stderr.contains("after 2 attempts"), "{stderr}");
    assert_eq!(server.token_requests(), 2, "--retry-attempts 2 made two requests");

    let out = run(&["--timeout-ms", "500", "--retry-attempts", "1"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--timeout-ms (500 ms)") && stderr.contains("after 1 attempt "), "{stderr}");
}

#[test]
fn connection_refused_exits_1_with_a_hint() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/token");
    let out = cctoken_env(
        &["token", "--token-url", &url, "--client-id", "x", "--client-secret-env", "CCTOKEN_CLI_SECRET"],
        &[("CCTOKEN_CLI_SECRET", "s")],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("hint: could not connect"), "{stderr}");
}

/// `--allow-insecure-http` reaches the library: an http:// endpoint through a proxy is a usage
/// error without it, and is tried (here: the proxy port is closed) with it.
#[test]
fn allow_insecure_http_is_passed_on() {
    let server = DevServer::start();
    let url = server.token_url();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let proxy = format!("http://127.0.0.1:{closed}");
    let args = ["token", "--token-url", &url, "--client-id", CLIENT_ID, "--client-secret-env", "S", "--proxy", &proxy];
    let env = [("S", SECRET)];
    assert_eq!(cctoken_env(&args, &env).status.code(), Some(2));
    let mut insecure = args.to_vec();
    insecure.push("--allow-insecure-http");
    let out = cctoken_env(&insecure, &env);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(server.token_requests(), 0);
}

/// The CA from SSL_CERT_FILE / SSL_CERT_DIR is trusted with no --ca-file; `bundled` ignores
/// them; `root_ca_only` trusts nothing but --ca-file; an unreadable SSL_CERT_FILE is a usage error.
#[test]
fn trust_store_options_and_ssl_cert_variables() {
    let dir = std::env::temp_dir().join(format!("cctoken-cli-trust-{}", std::process::id()));
    let server = DevServer::with_tls(&dir, &["--client", CLIENT_ID, "--secret", SECRET]);
    let other_dir = std::env::temp_dir().join(format!("cctoken-cli-trust-other-{}", std::process::id()));
    let other = DevServer::with_tls(&other_dir, &[]);
    let cert_dir = dir.join("certdir");
    fs::create_dir_all(&cert_dir).unwrap();
    fs::copy(dir.join("ca.pem"), cert_dir.join("ca.pem")).unwrap();
    let (ca, other_ca) = (dir.join("ca.pem"), other_dir.join("ca.pem"));
    let (ca, other_ca) = (ca.to_str().unwrap(), other_ca.to_str().unwrap());
    let url = server.token_url();
    let run = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["token", "--token-url", &url, "--client-id", CLIENT_ID, "--client-secret-env", "S"];
        args.extend(extra);
        let mut env = env.to_vec();
        env.push(("S", SECRET));
        cctoken_env(&args, &env)
    };
    let ok = |out: Output| {
        assert!(out.status.success(), "{}", text(&out.stderr));
        let token = text(&out.stdout);
        assert_eq!(server.introspect(token.trim())["active"], true);
    };
    ok(run(&[], &[("SSL_CERT_FILE", ca)]));
    ok(run(&[], &[("SSL_CERT_DIR", cert_dir.to_str().unwrap())]));
    ok(run(&["--trust-store", "root_ca_only", "--ca-file", ca], &[]));

    let failed = |out: Output, code: i32, expected: &str| {
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{stderr}");
        assert!(stderr.contains(expected), "expected {expected:?} in {stderr}");
    };
    failed(run(&["--trust-store", "bundled"], &[("SSL_CERT_FILE", ca)]), 1, "--ca-file");
    // The system store (via SSL_CERT_FILE) would vouch for the server: root_ca_only must not use it.
    failed(run(&["--trust-store", "root_ca_only", "--ca-file", other_ca], &[("SSL_CERT_FILE", ca)]), 1, "TLS");
    failed(run(&[], &[("SSL_CERT_FILE", "/nonexistent/ca-bundle.pem")]), 2, "SSL_CERT_FILE=/nonexistent/ca-bundle.pem");
    drop(other);
    let _ = fs::remove_dir_all(&dir);
    let _ = fs::remove_dir_all(&other_dir);
    assert_eq!(server.token_requests(), 3);
}

/// private_key_jwt with a JWK file and an explicit algorithm, against oidc-provider.
#[test]
fn private_key_jwt_with_jwk_and_pem_files_and_signing_alg() {
    let srv = harness::server();
    let ca = temp_file("interop-ca.pem", srv.ca_pem().as_bytes());
    let ca = ca.to_str().unwrap();
    for (name, form) in [("pkjwt-ps256", "jwk"), ("pkjwt-es256", "pem")] {
        let key = match form {
            "jwk" => temp_file(&format!("{name}.jwk"), srv.client(name)["private_key_jwk"].to_string().as_bytes()),
            _ => temp_file(&format!("{name}.pem"), srv.field(name, "private_key_pem").as_bytes()),
        };
        let key_flag = if form == "jwk" { "--private-key-jwk-file" } else { "--private-key-file" };
        let out = cctoken(&[
            "token",
            "--token-url",
            srv.token_endpoint(),
            "--client-id",
            srv.field(name, "client_id"),
            key_flag,
            key.to_str().unwrap(),
            "--signing-alg",
            srv.field(name, "alg"),
            "--assertion-lifetime-ms",
            "30000",
            "--key-id",
            srv.field(name, "kid"),
            "--ca-file",
            ca,
            "--scope",
            "read",
            "--format",
            "json",
        ]);
        fs::remove_file(&key).unwrap();
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        let info = srv.introspect(json["access_token"].as_str().unwrap());
        assert_eq!(info["client_id"], srv.field(name, "client_id"), "{info}");
        assert_eq!(json["dpop"], false);
    }
}

/// `--dpop` without a key file warns that the key is gone; with one, the token is bound to it.
#[test]
fn dpop_output_is_explicit_and_an_ephemeral_key_is_warned_about() {
    let srv = harness::server();
    let ca = temp_file("interop-ca-dpop.pem", srv.ca_pem().as_bytes());
    let dpop_key = temp_file("dpop-key.pem", srv.field("pkjwt-es256", "private_key_pem").as_bytes());
    let run = |extra: &[&str]| {
        let mut args = vec!["token", "--token-url", srv.token_endpoint(), "--client-id"];
        args.extend([srv.field("basic", "client_id"), "--client-secret-env", "S", "--ca-file", ca.to_str().unwrap()]);
        args.extend(["--scope", "read", "--format", "json", "--dpop"]);
        args.extend(extra);
        cctoken_env(&args, &[("S", srv.field("basic", "client_secret"))])
    };

    let out = run(&[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("warning") && stderr.contains("--dpop-key-file") && stderr.contains("gone"), "{stderr}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&json["token_type"], &json["dpop"], &json["dpop_key"]),
        (&"DPoP".into(), &true.into(), &"discarded".into())
    );

    let out = run(&["--dpop-key-file", dpop_key.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "no warning with a key file: {}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["dpop_key"], "file");
    let info = srv.introspect(json["access_token"].as_str().unwrap());
    assert_eq!(info["cnf"]["jkt"], json["dpop_jkt"], "bound to the key in the file: {info}");

    let out = run(&["--dpop-key-file", dpop_key.to_str().unwrap(), "--format", "header"]);
    assert!(text(&out.stdout).starts_with("Authorization: DPoP "), "{}", text(&out.stdout));
    fs::remove_file(&dpop_key).unwrap();
}
