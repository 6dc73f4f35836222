//! End-to-end tests: start the real binary and talk HTTP to it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use ureq::Agent;
use ureq::http::Response;

/// A secret with every character that form-encoding changes, plus `:`.
const SECRET: &str = "p+/=%:! x";

/// A running dev server, killed on drop.
struct DevServer {
    child: Child,
    url: String,
    agent: Agent,
}

impl DevServer {
    fn start(args: &[&str]) -> DevServer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cctoken-dev-server"))
            .args(["--addr", "127.0.0.1:0", "--exit-on-stdin-eof", "--quiet"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start cctoken-dev-server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read first line");
        let url = line.trim().strip_prefix("cctoken-dev-server listening on ").expect("listening line").to_string();
        let agent = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        DevServer { child, url, agent }
    }

    fn with_client() -> DevServer {
        DevServer::start(&["--client", "svc", "--secret", SECRET, "--scopes", "read,write", "--lifetime", "60"])
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    fn token_post(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self.agent.post(self.url("/token")).send_form(form.iter().copied()).expect("POST /token");
        json(response)
    }

    /// A /token request with client_secret_basic, encoding id and secret as RFC 6749 section 2.3.1 says.
    fn token_basic(&self, id: &str, secret: &str, form: &[(&str, &str)]) -> Response<ureq::Body> {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let credentials = STANDARD.encode(format!("{}:{}", encode(id), encode(secret)));
        self.agent
            .post(self.url("/token"))
            .header("Authorization", format!("Basic {credentials}"))
            .send_form(form.iter().copied())
            .expect("POST /token")
    }

    fn get(&self, path: &str) -> (u16, Value) {
        json(self.agent.get(self.url(path)).call().expect("GET"))
    }

    fn post_json(&self, path: &str, body: &str) -> (u16, Value) {
        json(self.agent.post(self.url(path)).header("Content-Type", "application/json").send(body).expect("POST"))
    }

    fn resource(&self, token: &str) -> Response<ureq::Body> {
        self.agent.get(self.url("/resource")).header("Authorization", format!("Bearer {token}")).call().expect("GET")
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json(mut response: Response<ureq::Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

const GRANT: (&str, &str) = ("grant_type", "client_credentials");

#[test]
fn issues_tokens_with_basic_and_post() {
    let server = DevServer::with_client();

    let (status, body) = json(server.token_basic("svc", SECRET, &[GRANT, ("scope", "read")]));
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].as_str().unwrap().starts_with("dev-"));
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 60);
    assert_eq!(body["scope"], "read");

    let (_, last) = server.get("/_dev/last-token-request");
    assert_eq!(last["auth_method"], "basic");
    assert_eq!(last["client_id"], "svc");
    assert_eq!(last["basic_form_ok"], true);
    assert_eq!(last["basic_raw_ok"], false);
    assert_eq!(last["params"]["scope"], serde_json::json!(["read"]));

    let (status, body) = server.token_post(&[GRANT, ("client_id", "svc"), ("client_secret", SECRET)]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "read write", "no scope requested: all allowed scopes");

    let (_, last) = server.get("/_dev/last-token-request");
    assert_eq!(last["auth_method"], "post");
    assert_eq!(last["params"]["client_secret"], "[present]");
    assert!(!last.to_string().contains(SECRET));
}

#[test]
fn rejects_bad_clients_and_scopes() {
    let server = DevServer::with_client();

    let response = server.token_basic("svc", "wrong", &[GRANT]);
    assert_eq!(response.headers()["www-authenticate"], r#"Basic realm="cctoken-dev-server""#);
    let (status, body) = json(response);
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));

    // The raw (not form-encoded) secret fails under the default strict decoding, passes under "raw".
    let raw = STANDARD.encode(format!("svc:{SECRET}"));
    let send_raw =
        || server.agent.post(server.url("/token")).header("Authorization", format!("Basic {raw}")).send_form([GRANT]);
    assert_eq!(send_raw().unwrap().status(), 401);
    assert_eq!(server.post_json("/_dev/settings", r#"{"basic_decoding": "raw"}"#).0, 200);
    assert_eq!(send_raw().unwrap().status(), 200);

    let (status, body) =
        server.token_post(&[GRANT, ("client_id", "svc"), ("client_secret", SECRET), ("scope", "admin")]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")));

    let (status, body) =
        server.token_post(&[("grant_type", "password"), ("client_id", "svc"), ("client_secret", SECRET)]);
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_grant_type")));
}

#[test]
fn resource_accepts_only_live_issued_tokens() {
    let server = DevServer::with_client();
    let (_, body) = server.token_post(&[GRANT, ("client_id", "svc"), ("client_secret", SECRET)]);
    let token = body["access_token"].as_str().unwrap().to_string();

    let (status, body) = json(server.resource(&token));
    assert_eq!((status, body["client_id"].as_str()), (200, Some("svc")));

    let response = server.resource("dev-forged");
    assert_eq!(response.status(), 401);
    assert!(response.headers()["www-authenticate"].to_str().unwrap().contains(r#"error="invalid_token""#));

    let response = server.agent.get(server.url("/resource")).call().unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="cctoken-dev-server""#);

    let (_, body) = server.post_json("/_dev/revoke", "");
    assert_eq!(body["revoked"], 1);
    assert_eq!(server.resource(&token).status(), 401);
    assert_eq!(server.get("/_dev/stats").1["resource_requests"], 4);
}

#[test]
fn faults_apply_count_times_in_order() {
    let server = DevServer::with_client();
    let creds = [GRANT, ("client_id", "svc"), ("client_secret", SECRET)];

    let fault = r#"{"status": 503, "error": "temporarily_unavailable", "retry_after": "1", "count": 2}"#;
    assert_eq!(server.post_json("/_dev/fault", fault), (200, serde_json::json!({"queued": 1})));
    assert_eq!(server.post_json("/_dev/fault", r#"{"expires_in": "7"}"#).1["queued"], 2);
    assert_eq!(server.post_json("/_dev/fault", r#"{"stauts": 500}"#).0, 400, "unknown fields are rejected");

    for _ in 0..2 {
        let response = server.agent.post(server.url("/token")).send_form(creds).unwrap();
        assert_eq!(response.headers()["retry-after"], "1");
        let (status, body) = json(response);
        assert_eq!((status, body["error"].as_str()), (503, Some("temporarily_unavailable")));
    }
    let (status, body) = server.token_post(&creds);
    assert_eq!((status, &body["expires_in"]), (200, &Value::from("7")));
    let (status, body) = server.token_post(&creds);
    assert_eq!((status, &body["expires_in"]), (200, &Value::from(60)));

    let (_, stats) = server.get("/_dev/stats");
    assert_eq!(stats["token_requests"], 4);
    assert_eq!(stats["token_successes"], 2);
    assert_eq!(stats["token_in_flight"], 0);
}

#[test]
fn close_mid_body_fails_fast() {
    let server = DevServer::with_client();
    server.post_json("/_dev/fault", r#"{"body": "close_mid_body"}"#);
    let started = Instant::now();
    let result = server
        .agent
        .post(server.url("/token"))
        .send_form([GRANT, ("client_id", "svc"), ("client_secret", SECRET)])
        .and_then(|mut response| response.body_mut().read_to_string());
    assert!(result.is_err(), "a body cut short must be an error: {result:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "the client waited for its timeout");
}

#[test]
fn slow_token_requests_do_not_block_control_endpoints() {
    let server = DevServer::with_client();
    // Long enough that 64 threads get going on a loaded 2-core machine before the first answers.
    server.post_json("/_dev/fault", r#"{"latency_ms": 4000, "count": 0}"#);
    let started = Instant::now();
    thread::scope(|scope| {
        let requests: Vec<_> = (0..64)
            .map(|_| scope.spawn(|| server.token_post(&[GRANT, ("client_id", "svc"), ("client_secret", SECRET)]).0))
            .collect();
        // All 64 are in flight at once, and /_dev answers meanwhile.
        let mut in_flight = 0;
        while in_flight < 64 && started.elapsed() < Duration::from_millis(3900) {
            in_flight = server.get("/_dev/stats").1["token_in_flight"].as_u64().unwrap();
        }
        assert_eq!(in_flight, 64);
        assert!(requests.into_iter().all(|r| r.join().unwrap() == 200));
    });
    // Serialized requests would take at least two latencies.
    assert!(started.elapsed() < Duration::from_secs(8), "requests were serialized: {:?}", started.elapsed());
}
