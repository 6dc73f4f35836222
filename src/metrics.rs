//! Counters kept by a client. Relaxed atomics: each counter is independent, and a snapshot is
//! a set of recent values, not a consistent cut.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// A point-in-time copy of a client's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Calls answered from the cache without waiting.
    pub hits: u64,
    /// Calls that found no usable token and had to fetch or wait for a fetch.
    pub misses: u64,
    /// Token requests started (one per fetch, retries not counted).
    pub fetches: u64,
    /// Fetches that ended in an error (after retries).
    pub fetch_failures: u64,
    /// Extra HTTP attempts made by the retry policy.
    pub retries: u64,
    /// Calls that waited for a fetch another caller had already started.
    pub coalesced_waiters: u64,
    /// Calls answered with the still-valid token while a refresh had failed.
    pub stale_served: u64,
    /// Duration of the last completed fetch, retries included.
    pub last_fetch_latency: Duration,
    /// Credential failures that started a cool-down.
    pub cooldowns: u64,
    /// Calls answered with the cool-down's error, without a request.
    pub cooldown_rejections: u64,
    /// Outcome of every HTTP attempt (retries included), by error class.
    pub requests: RequestOutcomes,
    /// Duration of fetches (retries included), in fixed buckets.
    pub fetch_latency: Histogram,
    /// Time until the cached token expires; `None` with no token cached.
    pub token_expires_in: Option<Duration>,
    /// Local misses answered by the shared store (no token request).
    pub store_hits: u64,
    /// Local misses that found no usable entry in the shared store.
    pub store_misses: u64,
    /// Shared store failures (unreachable, slow, unwritable, corrupt entry); each fell back to
    /// fetching directly.
    pub store_errors: u64,
    /// Fetches that found another process holding the store's lease and waited for its entry.
    pub store_lease_waits: u64,
}

/// Token request attempts by outcome: `success` or the error class of the failure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestOutcomes {
    pub success: u64,
    pub connect: u64,
    pub timeout: u64,
    pub tls: u64,
    pub io: u64,
    pub http: u64,
    pub oauth: u64,
    pub invalid_response: u64,
    pub config: u64,
}

impl RequestOutcomes {
    /// `(outcome label, count)` in a fixed order.
    pub fn iter(&self) -> [(&'static str, u64); OUTCOMES.len()] {
        let v = [
            self.success,
            self.connect,
            self.timeout,
            self.tls,
            self.io,
            self.http,
            self.oauth,
            self.invalid_response,
            self.config,
        ];
        std::array::from_fn(|i| (OUTCOMES[i], v[i]))
    }
}

const OUTCOMES: [&str; 9] =
    ["success", "connect", "timeout", "tls", "io", "http", "oauth", "invalid_response", "config"];

/// Upper bounds of the fetch-latency buckets, in seconds (Prometheus `le`; `+Inf` follows).
pub const FETCH_LATENCY_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// A latency histogram with [`FETCH_LATENCY_BUCKETS`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Histogram {
    /// Observations at or under each bound (not cumulative: bucket `i` holds those above bound
    /// `i - 1`); observations above the last bound are only in `count`.
    pub buckets: [u64; FETCH_LATENCY_BUCKETS.len()],
    pub count: u64,
    pub sum: Duration,
}

/// A counter bumped on every cache hit by every thread: striped over cache lines so that
/// threads on different cores do not fight over one line (the hit path must scale).
#[derive(Debug, Default)]
pub(crate) struct StripedCounter([Padded; 16]);

#[derive(Debug, Default)]
#[repr(align(128))] // two lines: adjacent-line prefetch would otherwise pair stripes up
struct Padded(AtomicU64);

impl StripedCounter {
    pub fn bump(&self) {
        thread_local! {
            static STRIPE: usize = {
                static NEXT: AtomicU64 = AtomicU64::new(0);
                NEXT.fetch_add(1, Relaxed) as usize % 16
            };
        }
        let i = STRIPE.with(|s| *s);
        self.0[i].0.fetch_add(1, Relaxed);
    }

    pub fn sum(&self) -> u64 {
        self.0.iter().map(|p| p.0.load(Relaxed)).sum()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub hits: StripedCounter,
    pub misses: AtomicU64,
    pub fetches: AtomicU64,
    pub fetch_failures: AtomicU64,
    pub retries: AtomicU64,
    pub coalesced_waiters: AtomicU64,
    pub stale_served: AtomicU64,
    pub last_fetch_latency_us: AtomicU64,
    pub cooldowns: AtomicU64,
    pub cooldown_rejections: AtomicU64,
    outcomes: [AtomicU64; OUTCOMES.len()],
    latency_buckets: [AtomicU64; FETCH_LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    pub store_hits: AtomicU64,
    pub store_misses: AtomicU64,
    pub store_errors: AtomicU64,
    pub store_lease_waits: AtomicU64,
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// Counts one HTTP attempt under `outcome` (`success` or an error class).
    pub fn record_outcome(&self, outcome: &str) {
        if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
            self.outcomes[i].fetch_add(1, Relaxed);
        }
    }

    /// Records the duration of one fetch (retries included).
    pub fn observe_fetch(&self, took: Duration) {
        let secs = took.as_secs_f64();
        if let Some(i) = FETCH_LATENCY_BUCKETS.iter().position(|le| secs <= *le) {
            self.latency_buckets[i].fetch_add(1, Relaxed);
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_us.fetch_add(took.as_micros().min(u64::MAX as u128) as u64, Relaxed);
    }

    pub fn snapshot(&self) -> Metrics {
        let o = |i: usize| self.outcomes[i].load(Relaxed);
        Metrics {
            hits: self.hits.sum(),
            misses: self.misses.load(Relaxed),
            fetches: self.fetches.load(Relaxed),
            fetch_failures: self.fetch_failures.load(Relaxed),
            retries: self.retries.load(Relaxed),
            coalesced_waiters: self.coalesced_waiters.load(Relaxed),
            stale_served: self.stale_served.load(Relaxed),
            last_fetch_latency: Duration::from_micros(self.last_fetch_latency_us.load(Relaxed)),
            cooldowns: self.cooldowns.load(Relaxed),
            cooldown_rejections: self.cooldown_rejections.load(Relaxed),
            requests: RequestOutcomes {
                success: o(0),
                connect: o(1),
                timeout: o(2),
                tls: o(3),
                io: o(4),
                http: o(5),
                oauth: o(6),
                invalid_response: o(7),
                config: o(8),
            },
            fetch_latency: Histogram {
                buckets: std::array::from_fn(|i| self.latency_buckets[i].load(Relaxed)),
                count: self.latency_count.load(Relaxed),
                sum: Duration::from_micros(self.latency_sum_us.load(Relaxed)),
            },
            token_expires_in: None,
            store_hits: self.store_hits.load(Relaxed),
            store_misses: self.store_misses.load(Relaxed),
            store_errors: self.store_errors.load(Relaxed),
            store_lease_waits: self.store_lease_waits.load(Relaxed),
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition format (version 0.0.4) of these metrics, every sample
    /// labelled with `client_id`. `extra_hits` adds hits a binding answered from its own copy
    /// of the token.
    pub fn prometheus_text(&self, client_id: &str, extra_hits: u64) -> String {
        use std::fmt::Write as _;
        let id = escape_label(client_id);
        let mut out = String::with_capacity(4096);
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name}{{client_id=\"{id}\"}} {value}");
        };
        counter("cctoken_cache_hits_total", "Calls answered from the cached token.", self.hits + extra_hits);
        counter("cctoken_cache_misses_total", "Calls that had to fetch or wait for a fetch.", self.misses);
        counter("cctoken_fetches_total", "Token fetches started (retries not counted).", self.fetches);
        counter("cctoken_fetch_failures_total", "Fetches that ended in an error after retries.", self.fetch_failures);
        counter("cctoken_retries_total", "Extra HTTP attempts made by the retry policy.", self.retries);
        counter(
            "cctoken_coalesced_waiters_total",
            "Calls that waited for a fetch already in flight.",
            self.coalesced_waiters,
        );
        counter(
            "cctoken_stale_served_total",
            "Calls answered with the still-valid token while refreshes failed.",
            self.stale_served,
        );
        counter("cctoken_cooldowns_total", "Credential failures that started a cool-down.", self.cooldowns);
        counter(
            "cctoken_cooldown_rejections_total",
            "Calls answered with the cool-down's error without a request.",
            self.cooldown_rejections,
        );
        counter("cctoken_store_hits_total", "Local misses answered by the shared store.", self.store_hits);
        counter("cctoken_store_misses_total", "Local misses with no usable shared-store entry.", self.store_misses);
        counter("cctoken_store_errors_total", "Shared store failures (each fell back to fetching).", self.store_errors);
        counter(
            "cctoken_store_lease_waits_total",
            "Fetches that waited for another process holding the store lease.",
            self.store_lease_waits,
        );
        let _ = writeln!(
            out,
            "# HELP cctoken_token_requests_total Token request attempts by outcome (success or error class).\n\
             # TYPE cctoken_token_requests_total counter"
        );
        for (outcome, n) in self.requests.iter() {
            let _ = writeln!(out, "cctoken_token_requests_total{{client_id=\"{id}\",outcome=\"{outcome}\"}} {n}");
        }
        let h = &self.fetch_latency;
        let _ = writeln!(
            out,
            "# HELP cctoken_fetch_duration_seconds Duration of token fetches, retries included.\n\
             # TYPE cctoken_fetch_duration_seconds histogram"
        );
        let mut cumulative = 0;
        for (le, n) in FETCH_LATENCY_BUCKETS.iter().zip(h.buckets) {
            cumulative += n;
            let _ =
                writeln!(out, "cctoken_fetch_duration_seconds_bucket{{client_id=\"{id}\",le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(out, "cctoken_fetch_duration_seconds_bucket{{client_id=\"{id}\",le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(out, "cctoken_fetch_duration_seconds_sum{{client_id=\"{id}\"}} {}", h.sum.as_secs_f64());
        let _ = writeln!(out, "cctoken_fetch_duration_seconds_count{{client_id=\"{id}\"}} {}", h.count);
        let mut gauge = |name: &str, help: &str, value: f64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{client_id=\"{id}\"}} {value}");
        };
        gauge(
            "cctoken_last_fetch_duration_seconds",
            "Duration of the last completed fetch.",
            self.last_fetch_latency.as_secs_f64(),
        );
        gauge(
            "cctoken_token_expires_in_seconds",
            "Time until the cached token expires (0 with no token cached).",
            self.token_expires_in.map_or(0.0, |d| d.as_secs_f64()),
        );
        gauge(
            "cctoken_token_cached",
            "1 when a token is cached, else 0.",
            f64::from(u8::from(self.token_expires_in.is_some())),
        );
        out
    }
}

/// Escapes a Prometheus label value (backslash, double quote, newline).
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
