//! Starts `cctoken-dev-server` on 127.0.0.1 for a test and drives its control endpoints.
//! The server is killed when the handle drops (also when the test panics), and started with
//! `--exit-on-stdin-eof` so it dies with the test process even after a hard kill.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

pub const CLIENT_ID: &str = "svc-a";
/// Every character RFC 6749 §2.3.1 form-encoding changes, plus a space.
pub const SECRET: &str = "p+/=%:! x-Secret";

/// How long a server may take to print its banner, and from when a start counts as slow.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
pub const SLOW_START: Duration = Duration::from_secs(5);

pub struct DevServer {
    child: Child,
    pub base: String,
    agent: ureq::Agent,
}

/// The dev-server binary: `CCTOKEN_DEV_SERVER`, else the workspace's debug build (built once
/// per test process if missing, so a bare `cargo test` works).
fn binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(p) = std::env::var("CCTOKEN_DEV_SERVER") {
            return PathBuf::from(p);
        }
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root.join("target"));
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--quiet", "-p", "cctoken-dev-server"])
            .current_dir(&root)
            .status()
            .expect("run cargo build -p cctoken-dev-server");
        assert!(status.success(), "building cctoken-dev-server failed");
        target.join("debug").join("cctoken-dev-server")
    })
    .clone()
}

impl DevServer {
    /// The default client (`svc-a`, [`SECRET`], scopes read/write/admin, 3600 s tokens).
    pub fn start() -> DevServer {
        Self::with_args(&[
            "--client",
            CLIENT_ID,
            "--secret",
            SECRET,
            "--scopes",
            "read,write,admin",
            "--lifetime",
            "3600",
        ])
    }

    /// HTTPS mode: the server writes its CA and client certificates to `dir` (see
    /// `cctoken-dev-server --help`, `--tls-dir`); the control endpoints trust that CA.
    pub fn with_tls(dir: &std::path::Path, args: &[&str]) -> DevServer {
        let mut all = vec!["--tls-dir", dir.to_str().expect("UTF-8 temp path")];
        all.extend_from_slice(args);
        Self::with_args(&all)
    }

    pub fn with_args(args: &[&str]) -> DevServer {
        let started = std::time::Instant::now();
        let mut child = Command::new(binary())
            .args(["--addr", "127.0.0.1:0", "--exit-on-stdin-eof"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start cctoken-dev-server");
        // The banner, waited for with a generous bound (a loaded machine is slow, a hung server
        // must not hang the suite); a slow start is reported with how long it took.
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("cctoken-dev-server printed nothing within {STARTUP_TIMEOUT:?}");
            }
        };
        if started.elapsed() > SLOW_START {
            eprintln!("note: cctoken-dev-server took {:.1?} to start", started.elapsed());
        }
        let base = line.trim().rsplit(' ').next().expect("banner ends with the URL").to_string();
        assert!(base.starts_with("http://127.0.0.1:") || base.starts_with("https://127.0.0.1:"), "banner {line:?}");
        let ca = args
            .iter()
            .position(|a| *a == "--tls-dir")
            .map(|i| std::fs::read(PathBuf::from(args[i + 1]).join("ca.pem")).expect("the server wrote ca.pem"));
        DevServer { child, base, agent: control_agent(ca.as_deref()) }
    }

    pub fn token_url(&self) -> String {
        format!("{}/token", self.base)
    }

    pub fn stats(&self) -> Value {
        self.get_json("/_dev/stats")
    }

    pub fn token_requests(&self) -> u64 {
        self.stats()["token_requests"].as_u64().expect("token_requests")
    }

    pub fn in_flight(&self) -> u64 {
        self.stats()["token_in_flight"].as_u64().expect("token_in_flight")
    }

    pub fn last_request(&self) -> Value {
        self.get_json("/_dev/last-token-request")
    }

    /// Queues a fault for the next token request(s); see `cctoken-dev-server --help`.
    pub fn fault(&self, fault: Value) {
        self.post_json("/_dev/fault", &fault);
    }

    pub fn settings(&self, settings: Value) {
        self.post_json("/_dev/settings", &settings);
    }

    pub fn reset(&self) {
        self.post_json("/_dev/reset", &Value::Null);
    }

    pub fn revoke_all(&self) {
        self.post_json("/_dev/revoke", &Value::Null);
    }

    /// Status of `GET /resource` with `Authorization: <header>`.
    pub fn resource_status(&self, authorization: &str) -> u16 {
        let resp = self.agent.get(format!("{}/resource", self.base)).header("Authorization", authorization).call();
        resp.expect("GET /resource").status().as_u16()
    }

    /// Introspects a token at the dev server.
    pub fn introspect(&self, token: &str) -> Value {
        let mut resp =
            self.agent.post(format!("{}/introspect", self.base)).send_form([("token", token)]).expect("introspect");
        serde_json::from_slice(&resp.body_mut().read_to_vec().expect("body")).expect("json")
    }

    fn get_json(&self, path: &str) -> Value {
        let mut resp = self.agent.get(format!("{}{path}", self.base)).call().expect("GET control endpoint");
        assert_eq!(resp.status().as_u16(), 200, "GET {path}");
        serde_json::from_slice(&resp.body_mut().read_to_vec().expect("body")).expect("json")
    }

    fn post_json(&self, path: &str, body: &Value) {
        let body = if body.is_null() { String::new() } else { body.to_string() };
        let resp = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .send(body.as_bytes())
            .expect("POST control endpoint");
        assert_eq!(resp.status().as_u16(), 200, "POST {path} {body}");
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An agent for a test server's own endpoints: trusts only `ca_pem` when given, hands back
/// every status as is, never follows a redirect, gives up after 10 s.
pub fn control_agent(ca_pem: Option<&[u8]>) -> ureq::Agent {
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(pem) = ca_pem {
        let ca = ureq::tls::Certificate::from_pem(pem).expect("CA PEM").to_owned();
        tls = tls.root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![ca])));
    }
    ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// A client for the default dev-server client; `tune` adjusts the builder.
pub fn client(
    server: &DevServer,
    tune: impl FnOnce(cctoken::ClientBuilder) -> cctoken::ClientBuilder,
) -> cctoken::Client {
    let b = cctoken::Client::builder()
        .token_url(server.token_url())
        .client_id(CLIENT_ID)
        .client_secret(cctoken::Secret::new(SECRET))
        .scopes(["read"])
        .retry_policy(cctoken::RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        });
    tune(b).build().expect("valid client config")
}

/// Fails if `text` contains the test secret (or its form-encoded or Basic form) or `token`.
pub fn assert_no_secrets(text: &str, tokens: &[&str]) {
    let encoded: String = form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
    assert!(
        !text.contains(SECRET) && !text.contains(&encoded),
        "the secret leaked into an error or debug string (not printed here)"
    );
    for t in tokens {
        assert!(!text.contains(t), "token leaked into an error or debug string");
    }
}

/// Polls `cond` every 10 ms for at most `limit`; true as soon as it holds.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + limit;
    while std::time::Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}
