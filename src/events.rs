//! The event stream: what a client did that an operator may want to see. Token request attempts
//! and their outcomes (the audit trail), refresh / stale-if-error / cool-down decisions, secret
//! rotation, discovery, and risky configuration.
//!
//! Every event goes to `tracing` (target `cctoken`, inside a `cctoken.token_request` span while
//! a token request runs) and, when the configuration has one, to its event sink
//! ([`crate::ClientBuilder::on_event`], the C callback). Rules that keep this safe:
//!
//! - Fields are built from configuration values that are not secret (client id, token endpoint
//!   origin and path, scopes...) and from the server's OAuth `error` code (already redacted by
//!   `response`); never from request bodies, headers, tokens, keys or other server text.
//! - Nothing here runs on the cache-hit path: events come from fetches, refresh decisions and
//!   configuration, never from a hit.
//! - Sinks are called with no cctoken lock held and never inside a token request that other
//!   callers wait for: events raised during a fetch are delivered once the fetch has published
//!   its result (see [`Deferred`]), so a sink may call back into the client.
//! - [`Events::close`] (when the client is dropped) waits for sink calls in progress and stops
//!   every later one, so a C callback's `user_data` can be freed right after `cct_client_free`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::Error;
use crate::config::{AuthMethod, Config, Endpoint};
use crate::error::TransportKind;
use crate::metrics::Counters;
use crate::response::Parsed;

/// How much an event matters. Request outcomes are `Info`, failures `Warn` (will be retried or
/// a stale token is served) or `Error` (the caller gets an error), internal decisions `Debug`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

/// What happened. [`EventKind::as_str`] gives the stable name used by every binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// One token request attempt got a token (`token_request.succeeded`).
    TokenRequestSucceeded,
    /// One token request attempt failed; `will_retry` says whether another follows
    /// (`token_request.failed`).
    TokenRequestFailed,
    /// A fetch started while the cached token is still valid (`refresh.started`).
    RefreshAheadStarted,
    /// A refresh failed and the still-valid cached token keeps being served
    /// (`refresh.failed_stale_served`), once per failing window.
    StaleServed,
    /// A permanent failure (e.g. `invalid_client`) started a cool-down (`cooldown.entered`).
    CooldownEntered,
    /// A cool-down ended: a request succeeded or the secret changed (`cooldown.ended`).
    CooldownEnded,
    /// The client secret was replaced on the live client (`secret.rotated`).
    SecretRotated,
    /// The secret file, or the federated assertion file, was read again before a request
    /// (`secret.file_reread`).
    SecretFileReread,
    /// Authorization server metadata was fetched (`discovery.fetched`).
    DiscoveryFetched,
    /// A token without expiry arrived: used once, not cached (`token.single_use`).
    SingleUseToken,
    /// `allow_insecure_http` is on (`config.insecure_http`).
    InsecureHttpAllowed,
    /// Token requests go through a proxy taken from the environment (`config.proxy_from_env`).
    ProxyFromEnvironment,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::TokenRequestSucceeded => "token_request.succeeded",
            EventKind::TokenRequestFailed => "token_request.failed",
            EventKind::RefreshAheadStarted => "refresh.started",
            EventKind::StaleServed => "refresh.failed_stale_served",
            EventKind::CooldownEntered => "cooldown.entered",
            EventKind::CooldownEnded => "cooldown.ended",
            EventKind::SecretRotated => "secret.rotated",
            EventKind::SecretFileReread => "secret.file_reread",
            EventKind::DiscoveryFetched => "discovery.fetched",
            EventKind::SingleUseToken => "token.single_use",
            EventKind::InsecureHttpAllowed => "config.insecure_http",
            EventKind::ProxyFromEnvironment => "config.proxy_from_env",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The structured fields of an event; each is present only where it means something.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fields {
    pub client_id: Option<String>,
    /// Token endpoint origin and path (no query), or the issuer before discovery.
    pub token_endpoint: Option<String>,
    pub auth_method: Option<&'static str>,
    /// Requested scopes, space-separated.
    pub scopes: Option<String>,
    pub audience: Option<String>,
    /// Requested RFC 8707 resources, space-separated.
    pub resources: Option<String>,
    /// 1 for the first request of a fetch.
    pub attempt: Option<u32>,
    pub max_attempts: Option<u32>,
    pub http_status: Option<u16>,
    /// The server's OAuth `error` code.
    pub oauth_error: Option<String>,
    /// `connect`, `timeout`, `tls`, `io`, `http`, `oauth`, `invalid_response` or `config`.
    pub error_class: Option<&'static str>,
    /// Duration of this attempt (request events) or of the whole fetch.
    pub duration_ms: Option<u64>,
    pub will_retry: Option<bool>,
    /// Delay before the next attempt (backoff, or the server's `Retry-After` when longer).
    pub retry_in_ms: Option<u64>,
    /// The server's `Retry-After`.
    pub retry_after_ms: Option<u64>,
    /// Lifetime of the token just received.
    pub expires_in_s: Option<u64>,
    /// Time left on the still-valid cached token.
    pub time_left_ms: Option<u64>,
    pub cooldown_ms: Option<u64>,
    /// Why a state ended (cool-down).
    pub reason: Option<&'static str>,
    /// Secret file path.
    pub path: Option<String>,
    pub issuer: Option<String>,
    /// Proxy origin (`scheme://host:port`, never its credentials).
    pub proxy: Option<String>,
}

/// A typed field value, for bindings that keep types (JSON, slog, `logging` extras).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue<'a> {
    Str(&'a str),
    U64(u64),
    Bool(bool),
}

impl fmt::Display for FieldValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Str(s) => f.write_str(s),
            FieldValue::U64(n) => write!(f, "{n}"),
            FieldValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl Fields {
    /// The present fields, in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, FieldValue<'_>)> {
        use FieldValue::{Bool, Str, U64};

        fn s<'a>(name: &'static str, v: &'a Option<String>) -> Option<(&'static str, FieldValue<'a>)> {
            v.as_deref().map(|v| (name, FieldValue::Str(v)))
        }
        let n = |name, v: Option<u64>| v.map(|v| (name, U64(v)));
        [
            s("client_id", &self.client_id),
            s("token_endpoint", &self.token_endpoint),
            self.auth_method.map(|v| ("auth_method", Str(v))),
            s("scopes", &self.scopes),
            s("audience", &self.audience),
            s("resources", &self.resources),
            n("attempt", self.attempt.map(u64::from)),
            n("max_attempts", self.max_attempts.map(u64::from)),
            n("http_status", self.http_status.map(u64::from)),
            s("oauth_error", &self.oauth_error),
            self.error_class.map(|v| ("error_class", Str(v))),
            n("duration_ms", self.duration_ms),
            self.will_retry.map(|v| ("will_retry", Bool(v))),
            n("retry_in_ms", self.retry_in_ms),
            n("retry_after_ms", self.retry_after_ms),
            n("expires_in_s", self.expires_in_s),
            n("time_left_ms", self.time_left_ms),
            n("cooldown_ms", self.cooldown_ms),
            self.reason.map(|v| ("reason", Str(v))),
            s("path", &self.path),
            s("issuer", &self.issuer),
            s("proxy", &self.proxy),
        ]
        .into_iter()
        .flatten()
    }
}

/// One event. Holds no secret and no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub level: Level,
    /// One line for humans, built from the fields.
    pub message: String,
    pub fields: Fields,
    /// When it happened. Sinks may be called a little later (after the token request that
    /// raised it has ended), so loggers should stamp records with this time.
    pub time: std::time::SystemTime,
}

impl Event {
    /// [`Event::time`] in milliseconds since the Unix epoch.
    pub fn unix_ms(&self) -> u64 {
        self.time.duration_since(std::time::UNIX_EPOCH).map_or(0, ms)
    }

    /// `{"time_unix_ms", "kind", "level", "message", "fields": {...}}`, typed field values.
    pub fn to_json(&self) -> serde_json::Value {
        let fields: serde_json::Map<String, serde_json::Value> = self
            .fields
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    FieldValue::Str(s) => s.into(),
                    FieldValue::U64(n) => n.into(),
                    FieldValue::Bool(b) => b.into(),
                };
                (k.to_string(), v)
            })
            .collect();
        serde_json::json!({
            "time_unix_ms": self.unix_ms(),
            "kind": self.kind.as_str(),
            "level": self.level.as_str(),
            "message": self.message,
            "fields": fields,
        })
    }
}

/// A receiver of events (see [`crate::ClientBuilder::on_event`]).
#[derive(Clone)]
pub(crate) struct Sink(pub Arc<dyn Fn(&Event) + Send + Sync>);

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventSink")
    }
}

/// The `error_class` of an error (also the `outcome` label of the request counters).
pub(crate) fn error_class(e: &Error) -> &'static str {
    match e {
        Error::Config { .. } => "config",
        Error::Transport { kind: TransportKind::Connect, .. } => "connect",
        Error::Transport { kind: TransportKind::Timeout, .. } => "timeout",
        Error::Transport { kind: TransportKind::Tls, .. } => "tls",
        Error::Transport { kind: TransportKind::Io, .. } => "io",
        Error::Http { .. } => "http",
        Error::OAuth(_) => "oauth",
        Error::InvalidResponse(_) => "invalid_response",
    }
}

/// Origin and path of a URL: no query, no fragment, no credentials.
fn origin_path(u: &url::Url) -> String {
    format!("{}{}", u.origin().ascii_serialization(), u.path())
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn ms(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

/// The event context of one client: who it is, where it asks, and where events go.
#[derive(Clone)]
pub(crate) struct Events(Arc<Shared>);

struct Shared {
    sink: Option<Sink>,
    gate: Gate,
    client_id: String,
    endpoint: String,
    auth_method: &'static str,
    scopes: Option<String>,
    audience: Option<String>,
    resources: Option<String>,
    /// Token endpoint and method learnt by discovery.
    discovered: OnceLock<(String, &'static str)>,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events").field("sink", &self.0.sink.is_some()).finish_non_exhaustive()
    }
}

impl Default for Events {
    fn default() -> Self {
        Events(Arc::new(Shared {
            sink: None,
            gate: Gate::default(),
            client_id: String::new(),
            endpoint: String::new(),
            auth_method: "auto",
            scopes: None,
            audience: None,
            resources: None,
            discovered: OnceLock::new(),
        }))
    }
}

impl Events {
    pub fn new(cfg: &Config, sink: Option<Sink>) -> Events {
        let endpoint = match &cfg.endpoint {
            Endpoint::TokenUrl(u) | Endpoint::Issuer(u) => origin_path(u),
        };
        let joined = |v: &[String]| (!v.is_empty()).then(|| v.join(" "));
        Events(Arc::new(Shared {
            sink,
            gate: Gate::default(),
            client_id: cfg.client_id.clone(),
            endpoint,
            auth_method: cfg.auth_method.map_or("auto", AuthMethod::as_str),
            scopes: joined(&cfg.scopes),
            audience: cfg.audience.clone(),
            resources: joined(&cfg.resources),
            discovered: OnceLock::new(),
        }))
    }

    /// Stops sink calls: waits for those in progress (except one this thread is inside), and
    /// no sink call starts afterwards. Called when the client is dropped.
    pub fn close(&self) {
        self.0.gate.close();
    }

    /// Client id, endpoint and auth method: the fields every event carries.
    fn base(&self) -> Fields {
        let s = &*self.0;
        let (endpoint, method) = match s.discovered.get() {
            Some((e, m)) => (e.clone(), *m),
            None => (s.endpoint.clone(), s.auth_method),
        };
        Fields {
            client_id: Some(s.client_id.clone()),
            token_endpoint: Some(endpoint),
            auth_method: Some(method),
            ..Fields::default()
        }
    }

    /// [`Events::base`] plus what the request asks for.
    fn request_fields(&self) -> Fields {
        let s = &*self.0;
        Fields { scopes: s.scopes.clone(), audience: s.audience.clone(), resources: s.resources.clone(), ..self.base() }
    }

    fn emit(&self, kind: EventKind, level: Level, message: String, fields: Fields) {
        let event = Event { kind, level, message, fields, time: std::time::SystemTime::now() };
        to_tracing(&event);
        if self.0.sink.is_some() {
            deliver(Arc::clone(&self.0), event);
        }
    }

    /// Starts the audit of one fetch: a `cctoken.token_request` span, entered until the
    /// returned value is dropped, and one event per attempt.
    pub fn request<'a>(&'a self, counters: &'a Counters, max_attempts: u32) -> Audit<'a> {
        let f = self.request_fields();
        let span = tracing::info_span!(
            target: "cctoken",
            "cctoken.token_request",
            client_id = f.client_id.as_deref(),
            token_endpoint = f.token_endpoint.as_deref(),
            auth_method = f.auth_method,
            scopes = f.scopes.as_deref(),
            audience = f.audience.as_deref(),
            resources = f.resources.as_deref(),
            max_attempts,
            attempts = tracing::field::Empty,
            outcome = tracing::field::Empty,
            http_status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let now = Instant::now();
        Audit { events: self, counters, max_attempts, span: span.entered(), started: now, attempt_started: now.into() }
    }

    /// A fetch is starting; when a still-valid token is cached (`time_left` of it), it is a
    /// refresh ahead of expiry.
    pub fn fetch_starting(&self, cached_time_left: Option<Duration>) {
        let Some(left) = cached_time_left.filter(|d| !d.is_zero()) else {
            return;
        };
        let message = format!("refreshing ahead of expiry; the cached token expires in {}", secs(left));
        let fields = Fields { time_left_ms: Some(ms(left)), ..self.base() };
        self.emit(EventKind::RefreshAheadStarted, Level::Debug, message, fields);
    }

    /// A refresh failed while the cached token is valid for `left`; no new attempt for `pause`.
    pub fn stale_served(&self, err: &Error, left: Duration, pause: Duration) {
        let message = format!(
            "refresh failed ({}); serving the cached token, which expires in {}; next attempt in {}",
            short_error(err),
            secs(left),
            secs(pause)
        );
        let fields = Fields {
            time_left_ms: Some(ms(left)),
            retry_in_ms: Some(ms(pause)),
            error_class: Some(error_class(err)),
            oauth_error: err.oauth().map(|o| o.error.clone()),
            http_status: err.http_status(),
            ..self.base()
        };
        self.emit(EventKind::StaleServed, Level::Warn, message, fields);
    }

    pub fn cooldown_entered(&self, err: &Error, cooldown: Duration) {
        let message = format!(
            "permanent failure ({}): calls fail fast with this error for {} or until the secret changes",
            short_error(err),
            secs(cooldown)
        );
        let fields = Fields {
            cooldown_ms: Some(ms(cooldown)),
            error_class: Some(error_class(err)),
            oauth_error: err.oauth().map(|o| o.error.clone()),
            http_status: err.http_status(),
            ..self.base()
        };
        self.emit(EventKind::CooldownEntered, Level::Error, message, fields);
    }

    /// `reason`: `token_received` or `secret_rotated`.
    pub fn cooldown_ended(&self, reason: &'static str) {
        let message = format!("cool-down ended ({})", reason.replace('_', " "));
        self.emit(EventKind::CooldownEnded, Level::Info, message, Fields { reason: Some(reason), ..self.base() });
    }

    pub fn secret_rotated(&self) {
        let message = "client secret replaced; the next token request uses it".to_string();
        self.emit(EventKind::SecretRotated, Level::Info, message, self.base());
    }

    /// `what` says which credential file: "secret file" or "assertion file".
    pub fn secret_file_reread(&self, what: &str, path: &std::path::Path) {
        let path = path.display().to_string();
        let message = format!("{what} {path} read again before the token request");
        self.emit(EventKind::SecretFileReread, Level::Debug, message, Fields { path: Some(path), ..self.base() });
    }

    pub fn discovered(&self, issuer: &url::Url, token_url: &url::Url, method: AuthMethod) {
        let endpoint = origin_path(token_url);
        let _ = self.0.discovered.set((endpoint.clone(), method.as_str()));
        let message =
            format!("discovered token endpoint {endpoint} (auth method {}) from issuer {}", method.as_str(), issuer);
        let fields = Fields { issuer: Some(issuer.to_string()), ..self.base() };
        self.emit(EventKind::DiscoveryFetched, Level::Info, message, fields);
    }

    pub fn single_use_token(&self) {
        let message = "the token has no expiry: it is used for this call only and not cached".to_string();
        self.emit(EventKind::SingleUseToken, Level::Info, message, self.base());
    }

    /// Risky settings, reported once when the client is built.
    pub fn configured(&self, cfg: &Config, env_proxy: Option<String>) {
        if cfg.allow_insecure_http {
            let message = "allow_insecure_http is on: plain http:// token endpoints are accepted on any host \
                           (credentials and tokens travel unencrypted); for test networks only"
                .to_string();
            self.emit(EventKind::InsecureHttpAllowed, Level::Warn, message, self.base());
        }
        if let Some(proxy) = env_proxy {
            let message = format!("token requests go through proxy {proxy}, taken from the environment");
            self.emit(
                EventKind::ProxyFromEnvironment,
                Level::Info,
                message,
                Fields { proxy: Some(proxy), ..self.base() },
            );
        }
    }
}

/// "invalid_client (HTTP 401)", "connect error", ...: the error in a few words, no server text.
fn short_error(err: &Error) -> String {
    match (err.oauth(), err.http_status()) {
        (Some(o), _) => format!("{} (HTTP {})", o.error, o.http_status),
        (None, Some(status)) => format!("HTTP {status}"),
        (None, None) => format!("{} error", error_class(err)),
    }
}

/// The audit of one fetch (see [`Events::request`]): records each attempt's outcome as an
/// event, in the request counters and, at the end, in the latency histogram and the span.
pub(crate) struct Audit<'a> {
    events: &'a Events,
    counters: &'a Counters,
    max_attempts: u32,
    span: tracing::span::EnteredSpan,
    started: Instant,
    attempt_started: std::cell::Cell<Instant>,
}

impl Audit<'_> {
    pub fn succeeded(&self, attempt: u32, parsed: &Parsed) {
        let took = self.attempt_started.get().elapsed();
        self.counters.record_outcome("success");
        self.finish(attempt, "success", Some(200));
        let expires_in = match parsed.lifetime {
            crate::response::Lifetime::For(d) => Some(d.as_secs()),
            crate::response::Lifetime::SingleUse => None,
        };
        let endpoint = self.events.base().token_endpoint.unwrap_or_default();
        let lifetime = expires_in.map_or_else(|| "no expiry".into(), |s| format!("expires in {s} s"));
        let message = format!(
            "token request succeeded: HTTP 200 from {endpoint} for client {}, attempt {attempt} of {} ({} ms), {lifetime}",
            self.events.0.client_id,
            self.max_attempts,
            took.as_millis()
        );
        let fields = Fields {
            attempt: Some(attempt),
            max_attempts: Some(self.max_attempts),
            http_status: Some(200),
            duration_ms: Some(ms(took)),
            expires_in_s: expires_in,
            ..self.events.request_fields()
        };
        self.events.emit(EventKind::TokenRequestSucceeded, Level::Info, message, fields);
    }

    /// `retry_in`: the delay before the next attempt, `None` when this was the last one.
    pub fn failed(&self, attempt: u32, err: &Error, retry_in: Option<Duration>) {
        // The next attempt starts after the backoff delay.
        let now = Instant::now();
        let next_start = now.checked_add(retry_in.unwrap_or_default()).unwrap_or(now);
        let took = self.attempt_started.replace(next_start).elapsed();
        let class = error_class(err);
        self.counters.record_outcome(class);
        if retry_in.is_none() {
            self.finish(attempt, class, err.http_status());
        }
        let endpoint = self.events.base().token_endpoint.unwrap_or_default();
        let next = match retry_in {
            Some(d) => format!("retrying in {}", secs(d)),
            None if err.is_retryable() && attempt < self.max_attempts => "giving up: the call deadline is near".into(),
            None => "not retrying".into(),
        };
        let message = format!(
            "token request failed: {} from {endpoint} for client {}, attempt {attempt} of {}, {next}",
            short_error(err),
            self.events.0.client_id,
            self.max_attempts
        );
        let fields = Fields {
            attempt: Some(attempt),
            max_attempts: Some(self.max_attempts),
            http_status: err.http_status(),
            oauth_error: err.oauth().map(|o| o.error.clone()),
            error_class: Some(class),
            duration_ms: Some(ms(took)),
            will_retry: Some(retry_in.is_some()),
            retry_in_ms: retry_in.map(ms),
            retry_after_ms: err.retry_after().map(ms),
            ..self.events.request_fields()
        };
        let level = if retry_in.is_some() { Level::Warn } else { Level::Error };
        self.events.emit(EventKind::TokenRequestFailed, level, message, fields);
    }

    fn finish(&self, attempts: u32, outcome: &str, status: Option<u16>) {
        let took = self.started.elapsed();
        self.counters.observe_fetch(took);
        let span = &self.span;
        span.record("attempts", attempts);
        span.record("outcome", outcome);
        if let Some(status) = status {
            span.record("http_status", status);
        }
        span.record("duration_ms", ms(took));
    }
}

fn to_tracing(e: &Event) {
    let f = &e.fields;
    macro_rules! ev {
        ($lvl:expr) => {
            tracing::event!(
                target: "cctoken",
                $lvl,
                kind = e.kind.as_str(),
                client_id = f.client_id.as_deref(),
                token_endpoint = f.token_endpoint.as_deref(),
                auth_method = f.auth_method,
                scopes = f.scopes.as_deref(),
                audience = f.audience.as_deref(),
                resources = f.resources.as_deref(),
                attempt = f.attempt,
                max_attempts = f.max_attempts,
                http_status = f.http_status,
                oauth_error = f.oauth_error.as_deref(),
                error_class = f.error_class,
                duration_ms = f.duration_ms,
                will_retry = f.will_retry,
                retry_in_ms = f.retry_in_ms,
                retry_after_ms = f.retry_after_ms,
                expires_in_s = f.expires_in_s,
                time_left_ms = f.time_left_ms,
                cooldown_ms = f.cooldown_ms,
                reason = f.reason,
                path = f.path.as_deref(),
                issuer = f.issuer.as_deref(),
                proxy = f.proxy.as_deref(),
                "{}",
                e.message
            )
        };
    }
    match e.level {
        Level::Error => ev!(tracing::Level::ERROR),
        Level::Warn => ev!(tracing::Level::WARN),
        Level::Info => ev!(tracing::Level::INFO),
        Level::Debug => ev!(tracing::Level::DEBUG),
    }
}

// ---- delivery to sinks ----------------------------------------------------------------------

/// Events waiting for a sink call, each with the client it belongs to.
type Queue = VecDeque<(Arc<Shared>, Event)>;

thread_local! {
    /// Events waiting for delivery on this thread. `Some` while a [`Deferred`] scope is open or
    /// a delivery loop runs: events raised meanwhile (also by a sink calling back into a
    /// client) are queued and delivered by the loop, never recursively.
    static PENDING: RefCell<Option<Queue>> = const { RefCell::new(None) };
    /// Gates whose sink this thread is inside (so `close` from a sink does not wait for itself).
    static INSIDE: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

fn deliver(shared: Arc<Shared>, event: Event) {
    let queued = PENDING.with(|p| match &mut *p.borrow_mut() {
        Some(queue) => {
            queue.push_back((Arc::clone(&shared), event.clone()));
            true
        }
        None => false,
    });
    if !queued {
        PENDING.with(|p| *p.borrow_mut() = Some(VecDeque::from([(shared, event)])));
        drain();
    }
}

/// Delivers every queued event of this thread, then ends the queue.
fn drain() {
    loop {
        let next = PENDING.with(|p| p.borrow_mut().as_mut().and_then(VecDeque::pop_front));
        let Some((shared, event)) = next else { break };
        call_sink(&shared, &event);
    }
    PENDING.with(|p| *p.borrow_mut() = None);
}

fn call_sink(shared: &Shared, event: &Event) {
    let Some(sink) = &shared.sink else { return };
    if !shared.gate.enter() {
        return;
    }
    let id = &shared.gate as *const Gate as usize;
    INSIDE.with(|v| v.borrow_mut().push(id));
    // A panicking sink must not take the fetch (or a C caller) down with it.
    let _ = catch_unwind(AssertUnwindSafe(|| (sink.0)(event)));
    INSIDE.with(|v| v.borrow_mut().pop());
    shared.gate.exit();
}

/// Holds back sink calls raised on this thread until dropped: a fetch opens one so that sinks
/// run after it has published its result and released everything waiters need.
pub(crate) struct Deferred(bool);

impl Deferred {
    pub fn begin() -> Deferred {
        Deferred(PENDING.with(|p| {
            let mut p = p.borrow_mut();
            if p.is_some() {
                return false; // an outer scope (or delivery loop) will deliver
            }
            *p = Some(VecDeque::new());
            true
        }))
    }
}

impl Drop for Deferred {
    fn drop(&mut self) {
        if self.0 {
            drain();
        }
    }
}

/// Counts sink calls in progress; once closed, lets none start.
#[derive(Default)]
struct Gate {
    state: Mutex<(bool, usize)>, // (closed, calls in progress)
    idle: Condvar,
}

impl Gate {
    fn enter(&self) -> bool {
        let mut s = self.state.lock();
        if s.0 {
            return false;
        }
        s.1 += 1;
        true
    }

    fn exit(&self) {
        let mut s = self.state.lock();
        s.1 -= 1;
        if s.1 == 0 {
            self.idle.notify_all();
        }
    }

    fn close(&self) {
        let id = self as *const Gate as usize;
        let mine = INSIDE.with(|v| v.borrow().iter().filter(|&&g| g == id).count());
        let mut s = self.state.lock();
        s.0 = true;
        while s.1 > mine {
            self.idle.wait(&mut s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_stable_names() {
        assert_eq!(EventKind::TokenRequestFailed.as_str(), "token_request.failed");
        assert_eq!(EventKind::StaleServed.to_string(), "refresh.failed_stale_served");
    }

    #[test]
    fn fields_iterate_in_order_with_types() {
        let f = Fields { client_id: Some("svc".into()), attempt: Some(2), will_retry: Some(true), ..Fields::default() };
        let got: Vec<_> = f.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(got, ["client_id=svc", "attempt=2", "will_retry=true"]);
        let time = std::time::SystemTime::now();
        let e = Event { kind: EventKind::SecretRotated, level: Level::Info, message: "m".into(), fields: f, time };
        assert_eq!(e.to_json()["fields"]["attempt"], 2);
    }

    #[test]
    fn close_stops_later_calls_and_waits_for_running_ones() {
        let gate = Arc::new(Gate::default());
        assert!(gate.enter());
        let g2 = Arc::clone(&gate);
        let closer = std::thread::spawn(move || g2.close());
        std::thread::sleep(Duration::from_millis(20));
        assert!(!closer.is_finished(), "close waits for the call in progress");
        gate.exit();
        closer.join().unwrap();
        assert!(!gate.enter());
    }
}
