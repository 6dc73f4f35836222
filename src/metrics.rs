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
    pub store_hits: AtomicU64,
    pub store_misses: AtomicU64,
    pub store_errors: AtomicU64,
    pub store_lease_waits: AtomicU64,
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub fn snapshot(&self) -> Metrics {
        Metrics {
            hits: self.hits.sum(),
            misses: self.misses.load(Relaxed),
            fetches: self.fetches.load(Relaxed),
            fetch_failures: self.fetch_failures.load(Relaxed),
            retries: self.retries.load(Relaxed),
            coalesced_waiters: self.coalesced_waiters.load(Relaxed),
            stale_served: self.stale_served.load(Relaxed),
            last_fetch_latency: Duration::from_micros(self.last_fetch_latency_us.load(Relaxed)),
            store_hits: self.store_hits.load(Relaxed),
            store_misses: self.store_misses.load(Relaxed),
            store_errors: self.store_errors.load(Relaxed),
            store_lease_waits: self.store_lease_waits.load(Relaxed),
        }
    }
}
