//! Shared pieces of the Rust benchmarks: the dev server's address and controls, the clients
//! under test (cctoken and the `oauth2` crate), and small statistics helpers.
//!
//! `benches/run.py` starts the dev server and passes it in the environment:
//! `CCTOKEN_BENCH_TOKEN_URL`, `CCTOKEN_BENCH_CLIENT_ID`, `CCTOKEN_BENCH_CLIENT_SECRET`.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, EndpointNotSet, EndpointSet, Scope, TokenResponse, TokenUrl};

pub use serde_json::{Value, json};

/// Where the dev server is and which client to present.
#[derive(Clone, Debug)]
pub struct Server {
    pub token_url: String,
    pub base: String,
    pub client_id: String,
    pub client_secret: String,
}

impl Server {
    pub fn from_env() -> Server {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run the benchmarks with `make bench`"))
        };
        let token_url = var("CCTOKEN_BENCH_TOKEN_URL");
        let base = token_url.trim_end_matches("/token").to_string();
        Server {
            token_url,
            base,
            client_id: var("CCTOKEN_BENCH_CLIENT_ID"),
            client_secret: var("CCTOKEN_BENCH_CLIENT_SECRET"),
        }
    }

    /// Token requests the server has answered so far (`/_dev/stats`).
    pub fn token_requests(&self) -> u64 {
        let body = ureq::get(format!("{}/_dev/stats", self.base))
            .call()
            .and_then(|mut r| r.body_mut().read_to_string())
            .expect("GET /_dev/stats");
        let stats: Value = serde_json::from_str(&body).expect("stats JSON");
        stats["token_requests"].as_u64().expect("token_requests in /_dev/stats")
    }

    /// Queues a fault for coming /token requests (`count: 0` keeps it until `clear_faults`).
    pub fn fault(&self, fault: Value) {
        ureq::post(format!("{}/_dev/fault", self.base))
            .header("content-type", "application/json")
            .send(fault.to_string())
            .expect("POST /_dev/fault");
    }

    pub fn clear_faults(&self) {
        ureq::delete(format!("{}/_dev/fault", self.base)).call().expect("DELETE /_dev/fault");
    }

    /// A cctoken client with the library's defaults (no background refresher).
    pub fn cctoken(&self) -> cctoken::Client {
        cctoken::Client::builder()
            .token_url(&self.token_url)
            .client_id(&self.client_id)
            .client_secret(self.client_secret.as_str())
            .scopes(["read"])
            .build()
            .expect("cctoken client")
    }

    /// The `oauth2` crate's client, set up as its documentation shows (ureq agent, no redirects).
    pub fn oauth2(&self, margin: Duration) -> Oauth2Cached {
        let client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.client_secret.clone()))
            .set_token_uri(TokenUrl::new(self.token_url.clone()).expect("token URL"));
        let http = oauth2::ureq::builder().redirects(0).build();
        Oauth2Cached { client, http, margin, current: RwLock::new(None) }
    }
}

type Oauth2Client = BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The `oauth2` crate has no token cache: its documentation stops at
/// `exchange_client_credentials().request(&http)`. Applications keep the token themselves; this
/// is the usual correct way to do it — an `RwLock` read for hits, the write lock held across
/// the fetch (so concurrent misses make one request), and a safety margin before `expires_in`.
pub struct Oauth2Cached {
    client: Oauth2Client,
    http: oauth2::ureq::Agent,
    margin: Duration,
    current: RwLock<Option<(Arc<str>, Instant)>>,
}

impl Oauth2Cached {
    pub fn token(&self) -> Arc<str> {
        if let Some((token, until)) = &*self.current.read().unwrap()
            && Instant::now() < *until
        {
            return Arc::clone(token);
        }
        let mut current = self.current.write().unwrap();
        if let Some((token, until)) = &*current
            && Instant::now() < *until
        {
            return Arc::clone(token);
        }
        let (token, until) = self.fetch();
        *current = Some((Arc::clone(&token), until));
        token
    }

    /// One token request, bypassing the application cache (the cold-fetch scenario).
    pub fn fetch(&self) -> (Arc<str>, Instant) {
        let started = Instant::now();
        let response = self
            .client
            .exchange_client_credentials()
            .add_scope(Scope::new("read".into()))
            .request(&self.http)
            .expect("oauth2 token request");
        let lifetime = response.expires_in().unwrap_or(Duration::from_secs(300));
        let token: Arc<str> = response.access_token().secret().as_str().into();
        (token, started + lifetime.saturating_sub(self.margin))
    }
}

/// Median, 99th percentile and maximum of `values` (sorted in place).
pub fn summary(values: &mut [f64]) -> (f64, f64, f64) {
    assert!(!values.is_empty(), "no samples");
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99), values[values.len() - 1])
}

/// One result line for `benches/run.py` (JSON on stdout).
#[allow(clippy::too_many_arguments)]
pub fn emit(
    scenario: &str,
    case: &str,
    group: &str,
    library: &str,
    is_ref: bool,
    unit: &str,
    samples: &mut [f64],
    note: &str,
) {
    let (median, p99, max) = summary(samples);
    let line = json!({
        "scenario": scenario, "case": case, "group": group, "library": library, "ref": is_ref,
        "unit": unit, "median": median, "p99": p99, "max": max, "n": samples.len(), "note": note,
    });
    println!("{line}");
}
