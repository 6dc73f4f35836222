//! The `cctoken token` command line, run as a user runs it, against the dev server.

mod common;

use std::fs;
use std::process::{Command, Output};

use common::{CLIENT_ID, DevServer, SECRET, assert_no_secrets};

fn cctoken(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cctoken")).args(args).output().expect("run cctoken")
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
