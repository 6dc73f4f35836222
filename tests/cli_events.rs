//! `cctoken token --verbose` and `--log-format json`: a failed-then-recovered request on
//! stderr, human and JSON, with neither the secret nor the token.

mod common;

use std::fs;
use std::process::Command;

use common::{CLIENT_ID, DevServer, SECRET, assert_no_secrets};
use serde_json::json;

fn run(server: &DevServer, log_flags: &[&str]) -> (String, String) {
    static RUN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let secret = std::env::temp_dir().join(format!("cctoken-cli-events-{}-{n}", std::process::id()));
    fs::write(&secret, SECRET).unwrap();
    server.fault(json!({"status": 503, "error": "temporarily_unavailable", "retry_after": "0"}));
    let url = server.token_url();
    let mut args = vec!["token", "--token-url", &url, "--client-id", CLIENT_ID, "--scope", "read"];
    args.extend(["--client-secret-file", secret.to_str().unwrap()]);
    args.extend(log_flags);
    let out = Command::new(env!("CARGO_BIN_EXE_cctoken")).args(&args).output().expect("run cctoken");
    fs::remove_file(&secret).unwrap();
    assert!(out.status.success(), "exit {:?}", out.status);
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_no_secrets(&stderr, &[&token]);
    (stderr, token)
}

#[test]
fn verbose_prints_the_failed_and_the_recovered_attempt() {
    let server = DevServer::start();
    let (stderr, _) = run(&server, &["--verbose"]);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines[0].starts_with("cctoken: WARN  token_request.failed: token request failed: temporarily_unavailable"));
    assert!(lines[0].contains("attempt 1 of 3, retrying in"));
    assert!(lines[1].starts_with("cctoken: INFO  token_request.succeeded: token request succeeded: HTTP 200"));
    assert!(lines[1].contains(&format!("for client {CLIENT_ID}, attempt 2 of 3")));

    let quiet = run(&server, &[]).0;
    assert!(quiet.is_empty(), "no events without --verbose");
}

#[test]
fn log_format_json_prints_one_object_per_event() {
    let server = DevServer::start();
    let (stderr, _) = run(&server, &["--log-format", "json"]);
    let events: Vec<serde_json::Value> = stderr.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(events.len(), 2, "{stderr}");
    assert_eq!(events[0]["kind"], "token_request.failed");
    assert_eq!(events[0]["level"], "warn");
    assert_eq!(events[0]["fields"]["http_status"], 503);
    assert_eq!(events[0]["fields"]["will_retry"], true);
    assert_eq!(events[1]["kind"], "token_request.succeeded");
    assert!(events[1]["time_unix_ms"].as_u64().is_some_and(|t| t > 1_700_000_000_000));
    let bad = Command::new(env!("CARGO_BIN_EXE_cctoken")).args(["token", "--log-format", "xml"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
