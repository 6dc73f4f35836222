//! Shared server state: configured clients, issued tokens, the fault queue, settings, counters.
//!
//! Every piece has its own lock, and no lock is held while a request sleeps or writes, so the
//! /_dev endpoints answer while /token requests are slow.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::fault::Fault;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Basic,
    Post,
    None,
    Any,
    /// RFC 8705 tls_client_auth: a certificate issued by the generated CA for this client.
    Tls,
    /// RFC 8705 self_signed_tls_client_auth: the self-signed certificate generated for it.
    SelfSignedTls,
}

impl AuthMethod {
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::Basic => "basic",
            AuthMethod::Post => "post",
            AuthMethod::None => "none",
            AuthMethod::Any => "any",
            AuthMethod::Tls => "tls",
            AuthMethod::SelfSignedTls => "self_signed",
        }
    }
}

/// The client certificate a TLS connection presented.
#[derive(Debug, Clone)]
pub struct PeerCert {
    /// base64url SHA-256 of the DER certificate (`x5t#S256`).
    pub sha256: String,
    /// Whether it chains to the generated CA.
    pub chains_to_ca: bool,
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub id: String,
    /// `None` for a public client (auth none).
    pub secret: Option<String>,
    /// Scopes the client may request; empty means any.
    pub scopes: Vec<String>,
    pub lifetime: u64,
    pub auth: AuthMethod,
}

/// How the Basic credentials are decoded (RFC 6749 section 2.3.1 says form-decode them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BasicDecoding {
    #[default]
    Form,
    Raw,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub basic_decoding: BasicDecoding,
    /// Which well-known metadata documents exist (tests of discovery's fallback).
    #[serde(default)]
    pub metadata: MetadataDocuments,
    /// An `issuer` for the metadata to claim instead of this server's base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_issuer: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetadataDocuments {
    /// Both `/.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`.
    #[default]
    Both,
    /// Only the RFC 8414 one.
    Oauth,
    /// Only the OpenID Connect Discovery one.
    Openid,
    None,
}

/// A token this server issued.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub client_id: String,
    pub scope: Option<String>,
    pub audience: Vec<String>,
    pub resources: Vec<String>,
    /// Monotonic expiry; `None` when the lifetime does not fit in an `Instant` (never expires).
    pub expires_at: Option<Instant>,
    /// Wall-clock expiry for /introspect's `exp`.
    pub exp_unix: Option<u64>,
    pub revoked: bool,
    /// RFC 8705 certificate binding (`cnf.x5t#S256`) of a token issued over mTLS.
    pub cert_sha256: Option<String>,
}

impl IssuedToken {
    pub fn is_active(&self, now: Instant) -> bool {
        !self.revoked && self.expires_at.is_none_or(|at| now < at)
    }
}

/// Expiry of a token issued now with `lifetime` seconds (`None` = already expired).
pub fn expiry(lifetime: Option<u64>) -> (Option<Instant>, Option<u64>) {
    let now = Instant::now();
    match lifetime {
        Some(secs) if secs > 0 => {
            let monotonic = now.checked_add(Duration::from_secs(secs));
            let unix = unix_now().checked_add(secs);
            (monotonic, monotonic.and(unix))
        }
        _ => (Some(now), Some(unix_now())),
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// What /_dev/last-token-request shows. Never holds a secret or an Authorization value.
#[derive(Debug, Clone, Serialize)]
pub struct LastTokenRequest {
    pub auth_method: Option<&'static str>,
    pub client_id: Option<String>,
    pub params: Map<String, Value>,
    pub headers: LastHeaders,
    pub basic_raw_ok: bool,
    pub basic_form_ok: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct LastHeaders {
    pub accept: Option<String>,
    #[serde(rename = "user-agent")]
    pub user_agent: Option<String>,
    #[serde(rename = "content-type")]
    pub content_type: Option<String>,
}

#[derive(Debug, Default)]
pub struct Stats {
    pub token_requests: AtomicU64,
    pub token_in_flight: AtomicU64,
    pub token_successes: AtomicU64,
    /// /token requests that came to the RFC 8705 mTLS alias (`/mtls/token`).
    pub mtls_alias_requests: AtomicU64,
    /// Requests for either well-known metadata document.
    pub metadata_requests: AtomicU64,
    pub resource_requests: AtomicU64,
    pub redirect_target_hits: AtomicU64,
    /// 0 or 1; an atomic so it sits with the other counters.
    pub redirect_target_saw_credentials: AtomicU64,
}

impl Stats {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::SeqCst);
    }

    pub fn snapshot(&self) -> Value {
        let get = |c: &AtomicU64| c.load(Ordering::SeqCst);
        serde_json::json!({
            "token_requests": get(&self.token_requests),
            "token_in_flight": get(&self.token_in_flight),
            "token_successes": get(&self.token_successes),
            "mtls_alias_requests": get(&self.mtls_alias_requests),
            "metadata_requests": get(&self.metadata_requests),
            "resource_requests": get(&self.resource_requests),
            "redirect_target_hits": get(&self.redirect_target_hits),
            "redirect_target_saw_credentials": get(&self.redirect_target_saw_credentials) != 0,
        })
    }

    /// Zeroes the counters. `token_in_flight` is a gauge of requests still running, so it stays.
    fn reset(&self) {
        for counter in [
            &self.token_requests,
            &self.token_successes,
            &self.mtls_alias_requests,
            &self.metadata_requests,
            &self.resource_requests,
            &self.redirect_target_hits,
            &self.redirect_target_saw_credentials,
        ] {
            counter.store(0, Ordering::SeqCst);
        }
    }
}

/// Counts a /token request as in flight until dropped (after its response is written).
pub struct InFlight<'a>(&'a Stats);

impl<'a> InFlight<'a> {
    pub fn start(stats: &'a Stats) -> Self {
        Stats::bump(&stats.token_requests);
        Stats::bump(&stats.token_in_flight);
        InFlight(stats)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.token_in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Old tokens are pruned once the map grows past this, so a long benchmark cannot exhaust memory.
const PRUNE_ABOVE: usize = 100_000;

pub struct State {
    clients: HashMap<String, ClientConfig>,
    /// The address the server listens on.
    pub addr: SocketAddr,
    /// `http://host:port` of this server, for absolute redirect URLs.
    pub base_url: String,
    pub stats: Stats,
    tokens: Mutex<HashMap<String, IssuedToken>>,
    faults: Mutex<VecDeque<Fault>>,
    settings: Mutex<Settings>,
    last_token_request: Mutex<Option<LastTokenRequest>>,
    /// HTTPS mode: client certificate per relay connection (keyed by its local port).
    peer_certs: Mutex<HashMap<u16, Option<PeerCert>>>,
    /// HTTPS mode: the certificate generated for each certificate-authenticated client.
    pub client_cert_sha256: HashMap<String, String>,
    pub quiet: bool,
    /// `--providers-dir`: the Entra, federation and Google stand-ins.
    pub providers: Option<crate::providers::Providers>,
}

/// Removes a relay connection's certificate when the connection ends.
pub struct PeerRegistration<'a> {
    state: &'a State,
    port: u16,
}

impl Drop for PeerRegistration<'_> {
    fn drop(&mut self) {
        lock(&self.state.peer_certs).remove(&self.port);
    }
}

/// A panic in one request thread must not take the whole server down with poisoned locks.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    /// `addr` is where the HTTP server listens; `public` where clients connect (the TLS front
    /// in HTTPS mode, else the same address).
    pub fn new(clients: Vec<ClientConfig>, addr: SocketAddr, public: SocketAddr, scheme: &str, quiet: bool) -> Self {
        // When listening on all interfaces, loopback is the address that surely reaches us.
        let reachable = match public.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), public.port()),
            IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), public.port()),
            _ => public,
        };
        State {
            clients: clients.into_iter().map(|c| (c.id.clone(), c)).collect(),
            addr,
            base_url: format!("{scheme}://{reachable}"),
            stats: Stats::default(),
            tokens: Mutex::default(),
            faults: Mutex::default(),
            settings: Mutex::default(),
            last_token_request: Mutex::default(),
            peer_certs: Mutex::default(),
            client_cert_sha256: HashMap::new(),
            quiet,
            providers: None,
        }
    }

    pub fn is_https(&self) -> bool {
        self.base_url.starts_with("https:")
    }

    /// Records the certificate (if any) of the TLS connection relayed from local port `port`.
    pub fn register_peer_cert(&self, port: u16, cert: Option<PeerCert>) -> PeerRegistration<'_> {
        lock(&self.peer_certs).insert(port, cert);
        PeerRegistration { state: self, port }
    }

    /// The client certificate behind a request: `None` for plain HTTP or no certificate.
    pub fn peer_cert(&self, remote: Option<&SocketAddr>) -> Option<PeerCert> {
        let port = remote.filter(|a| a.ip().is_loopback())?.port();
        lock(&self.peer_certs).get(&port).cloned().flatten()
    }

    pub fn client(&self, id: &str) -> Option<&ClientConfig> {
        self.clients.get(id)
    }

    pub fn register_token(&self, token: String, issued: IssuedToken) {
        let mut tokens = lock(&self.tokens);
        if tokens.len() >= PRUNE_ABOVE {
            let now = Instant::now();
            tokens.retain(|_, t| t.is_active(now));
        }
        tokens.insert(token, issued);
    }

    pub fn token(&self, token: &str) -> Option<IssuedToken> {
        lock(&self.tokens).get(token).cloned()
    }

    /// Revokes every issued token; returns how many were not revoked yet.
    pub fn revoke_all(&self) -> usize {
        let mut revoked = 0;
        for token in lock(&self.tokens).values_mut().filter(|t| !t.revoked) {
            token.revoked = true;
            revoked += 1;
        }
        revoked
    }

    pub fn push_fault(&self, fault: Fault) -> usize {
        let mut faults = lock(&self.faults);
        faults.push_back(fault);
        faults.len()
    }

    pub fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    /// Takes the fault for one /token request: the front of the queue, popped once its count is used up.
    pub fn take_fault(&self) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let front = faults.front_mut()?;
        let fault = front.clone();
        match front.count {
            0 => {} // applies until cleared
            1 => {
                faults.pop_front();
            }
            _ => front.count -= 1,
        }
        Some(fault)
    }

    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    pub fn set_settings(&self, settings: Settings) {
        *lock(&self.settings) = settings;
    }

    pub fn set_last_token_request(&self, record: LastTokenRequest) {
        *lock(&self.last_token_request) = Some(record);
    }

    pub fn last_token_request(&self) -> Option<LastTokenRequest> {
        lock(&self.last_token_request).clone()
    }

    /// Clears faults, counters, settings and the last-request record (and the stand-ins' counters
    /// and last assertion); issued tokens stay valid.
    pub fn reset(&self) {
        self.clear_faults();
        self.stats.reset();
        self.set_settings(Settings::default());
        *lock(&self.last_token_request) = None;
        if let Some(providers) = &self.providers {
            providers.reset();
        }
    }
}
