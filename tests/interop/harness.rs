//! Runs `tests/interop/server.mjs` (oidc-provider) for the Rust interop tests: spawns it, reads
//! its one JSON line (bounded wait), and talks to its introspection and stats endpoints. See
//! `tests/interop/README.md` for the protocol.
//!
//! The server is killed when an [`InteropServer`] drops. The shared instance of [`server`] lives
//! in a static, which is never dropped: it dies when the test process exits, because the server
//! exits when its stdin closes.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;

/// How long the server may take to print its JSON line (key generation, openssl, node start).
/// Generous: node can take tens of seconds on a loaded 2-core CI machine.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
/// A start slower than this is reported on stderr (with how long it took).
const SLOW_START: Duration = Duration::from_secs(5);
/// Most of the server's stderr kept for failure messages.
const STDERR_KEEP: usize = 64 * 1024;

pub struct InteropServer {
    child: Mutex<Child>,
    /// The JSON line the server printed.
    pub info: Value,
    agent: ureq::Agent,
    stderr: Arc<Mutex<String>>,
}

/// The server shared by every test in this process, started on first use.
pub fn server() -> &'static InteropServer {
    static SERVER: OnceLock<InteropServer> = OnceLock::new();
    SERVER.get_or_init(InteropServer::start)
}

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("interop")
}

impl InteropServer {
    /// Starts `node tests/interop/server.mjs`. Panics with instructions when oidc-provider is not
    /// installed or Node.js is missing: the interop suite is never skipped silently.
    pub fn start() -> InteropServer {
        let dir = interop_dir();
        let installed = dir.join("node_modules").join("oidc-provider").join("package.json");
        assert!(
            installed.is_file(),
            "oidc-provider is not installed for the interop tests ({} is missing): \
             run `npm ci --prefix tests/interop` (or `make interop-deps`) from the repository root",
            installed.display()
        );
        let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
        let started = std::time::Instant::now();
        let mut child = Command::new(&node)
            .arg(dir.join("server.mjs"))
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run `{node}` (Node.js 20 or later is needed for the interop tests): {e}")
            });

        // Drain stderr for the whole run (a full pipe would block the server); keep its start for
        // failure messages, and echo it with CCTOKEN_INTEROP_LOG=1.
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let keep = Arc::clone(&stderr);
            let mut pipe = BufReader::new(child.stderr.take().expect("stderr piped"));
            let echo = std::env::var_os("CCTOKEN_INTEROP_LOG").is_some();
            std::thread::spawn(move || {
                let mut line = String::new();
                while pipe.read_line(&mut line).is_ok_and(|n| n > 0) {
                    if echo {
                        eprint!("[interop server] {line}");
                    }
                    let mut kept = keep.lock().unwrap_or_else(|p| p.into_inner());
                    if kept.len() + line.len() <= STDERR_KEEP {
                        kept.push_str(&line);
                    }
                    line.clear();
                }
            });
        }

        // The first line that looks like JSON is the description; the rest of stdout is drained.
        let (tx, rx) = mpsc::channel();
        {
            let mut out = BufReader::new(child.stdout.take().expect("stdout piped"));
            std::thread::spawn(move || {
                let mut line = String::new();
                let mut sent = false;
                loop {
                    line.clear();
                    match out.read_line(&mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) if !sent && line.trim_start().starts_with('{') => {
                            let _ = tx.send(line.clone());
                            sent = true;
                        }
                        Ok(_) => {}
                    }
                }
                let _ = out.read_to_end(&mut Vec::new());
            });
        }
        let line = match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(line) => {
                if started.elapsed() > SLOW_START {
                    eprintln!("note: the interop server took {:.1?} to start", started.elapsed());
                }
                line
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100)); // let the stderr thread catch up
                let log = stderr.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let why = match e {
                    mpsc::RecvTimeoutError::Timeout => format!("printed nothing within {STARTUP_TIMEOUT:?}"),
                    mpsc::RecvTimeoutError::Disconnected => "exited without printing its JSON line".to_string(),
                };
                panic!("interop server (node tests/interop/server.mjs) {why}; its stderr:\n{log}");
            }
        };
        let info: Value = serde_json::from_str(&line).expect("the interop server's first line is JSON");

        let agent = crate::common::control_agent(Some(ca_pem(&info).as_bytes()));
        InteropServer { child: Mutex::new(child), info, agent, stderr }
    }

    pub fn issuer(&self) -> &str {
        self.text("issuer")
    }

    pub fn token_endpoint(&self) -> &str {
        self.text("token_endpoint")
    }

    pub fn ca_pem(&self) -> &str {
        ca_pem(&self.info)
    }

    /// A registered client's description (`client_id`, credentials, ...).
    pub fn client(&self, name: &str) -> &Value {
        let c = &self.info["clients"][name];
        assert!(c.is_object(), "the interop server has no client `{name}`");
        c
    }

    /// A field of a client's description.
    pub fn field(&self, name: &str, field: &str) -> &str {
        self.client(name)[field].as_str().unwrap_or_else(|| panic!("client `{name}` has no `{field}`"))
    }

    /// A resource server's `resource` indicator and `audience`.
    pub fn resource(&self, name: &str) -> (&str, &str) {
        let r = &self.info["resources"][name];
        (r["resource"].as_str().expect("resource"), r["audience"].as_str().expect("audience"))
    }

    /// A builder aimed at the token endpoint, trusting the server's CA, with quick retries;
    /// credentials are the caller's to add.
    pub fn builder(&self, name: &str) -> cctoken::ClientBuilder {
        cctoken::Client::builder()
            .token_url(self.token_endpoint())
            .client_id(self.field(name, "client_id"))
            .root_ca_pem(self.ca_pem().as_bytes().to_vec())
            .call_timeout(Duration::from_secs(15))
            .retry_policy(cctoken::RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(20),
                max_delay: Duration::from_millis(100),
            })
    }

    /// [`InteropServer::builder`] plus the client's secret.
    pub fn secret_builder(&self, name: &str) -> cctoken::ClientBuilder {
        self.builder(name).client_secret(cctoken::Secret::new(self.field(name, "client_secret")))
    }

    /// RFC 7662 introspection, authenticated as the `introspector` client. Returns the status
    /// and the JSON body.
    pub fn introspect_raw(&self, token: &str) -> (u16, Value) {
        let id = self.field("introspector", "client_id");
        let secret = self.field("introspector", "client_secret");
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(id), enc(secret)));
        let mut resp = self
            .agent
            .post(self.text("introspection_endpoint"))
            .header("Authorization", format!("Basic {basic}"))
            .header("Accept", "application/json")
            .send_form([("token", token)])
            .expect("POST introspection endpoint");
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_vec().expect("introspection body");
        (status, serde_json::from_slice(&body).expect("introspection answer is JSON"))
    }

    pub fn introspect(&self, token: &str) -> Value {
        let (status, body) = self.introspect_raw(token);
        assert_eq!(status, 200, "introspection: {body}");
        body
    }

    /// `{"token_requests": {client_id: n}, "token_errors": {client_id: {error: n}}}`.
    pub fn stats(&self) -> Value {
        let mut resp = self.agent.get(self.text("stats_endpoint")).call().expect("GET stats");
        assert_eq!(resp.status().as_u16(), 200);
        serde_json::from_slice(&resp.body_mut().read_to_vec().expect("stats body")).expect("stats JSON")
    }

    /// Successful token requests by `client_id` so far.
    pub fn token_requests(&self, client_id: &str) -> u64 {
        self.stats()["token_requests"][client_id].as_u64().unwrap_or(0)
    }

    /// Token requests by `client_id` that failed with `error` so far.
    pub fn token_errors(&self, client_id: &str, error: &str) -> u64 {
        self.stats()["token_errors"][client_id][error].as_u64().unwrap_or(0)
    }

    /// What the server has logged so far (for assertion messages).
    pub fn log(&self) -> String {
        self.stderr.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn text(&self, key: &str) -> &str {
        self.info[key].as_str().unwrap_or_else(|| panic!("the interop server's JSON line has no `{key}`"))
    }
}

fn ca_pem(info: &Value) -> &str {
    info["ca_pem"].as_str().expect("the interop server's JSON line has `ca_pem`")
}

impl Drop for InteropServer {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}
