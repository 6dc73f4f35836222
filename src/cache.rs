//! The token cache: lock-free hits, single-flight fetches, refresh-ahead, stale-if-error and a
//! cool-down after credential failures.
//!
//! States of one cache, by time since the current token was requested:
//!
//! ```text
//!   fresh ──refresh_at──▶ refresh window ──expires_at──▶ expired
//!   hit: return it        hit: return it, and the        miss: fetch, or wait for the
//!                         first caller starts one        fetch already in flight
//!                         background refresh
//! ```
//!
//! The hit path is one atomic load (`ArcSwapOption`) and a clock read: it never touches a
//! lock that a fetch holds. Fetches hold no lock across the network either: the `flight`
//! mutex only guards who starts a fetch; waiters block on the flight's own condvar.

use std::cell::RefCell;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use parking_lot::{Condvar, Mutex};
use rand::Rng as _;
use thread_local::ThreadLocal;

use crate::clock;
use crate::config::RefreshPolicy;
use crate::metrics::Counters;
use crate::token::TokenInner;
use crate::{Error, Token};

/// Where tokens come from. Called by at most one thread per cache at a time.
pub(crate) trait Source: Send + Sync + 'static {
    fn fetch(&self, deadline: Instant, counters: &Counters) -> Result<Token, Error>;
}

/// The cached token and when to refresh it, as `Instant`s and, for the hit path, as
/// [`clock`] nanoseconds.
struct Entry {
    token: Token,
    refresh_at: Instant,
    expires_at: Instant,
    refresh_ns: u64,
}

/// One fetch in progress; every caller that needs its result waits here.
struct Flight {
    result: Mutex<Option<Result<Token, Error>>>,
    done: Condvar,
}

impl Flight {
    fn wait(&self, deadline: Instant) -> Result<Token, Error> {
        let mut result = self.result.lock();
        while result.is_none() {
            if self.done.wait_until(&mut result, deadline).timed_out() && result.is_none() {
                return Err(Error::timeout("call timeout passed while waiting for the token request in flight"));
            }
        }
        result.clone().unwrap_or_else(|| Err(Error::timeout("token request ended without a result")))
    }
}

pub(crate) struct Cache {
    source: Arc<dyn Source>,
    refresh: RefreshPolicy,
    failure_cooldown: Duration,
    /// Fetch deadline for refreshes nobody waits for.
    call_timeout: Duration,
    current: ArcSwapOption<Entry>,
    flight: Mutex<Option<Arc<Flight>>>,
    /// Each thread's copy of the cached token (see `hit`); freed with the cache.
    local: ThreadLocal<RefCell<Option<Token>>>,
    /// After a credential failure: until when, and the error to repeat.
    cooldown: Mutex<Option<(Instant, Error)>>,
    /// After a failed refresh-ahead: no new attempt before this instant.
    refresh_paused_until: Mutex<Option<Instant>>,
    pub counters: Counters,
    /// Where cache decisions are reported (set by the client after `new`).
    pub events: crate::events::Events,
}

impl Cache {
    pub fn new(
        source: Arc<dyn Source>,
        refresh: RefreshPolicy,
        failure_cooldown: Duration,
        call_timeout: Duration,
    ) -> Self {
        Cache {
            source,
            refresh,
            failure_cooldown,
            call_timeout,
            current: ArcSwapOption::empty(),
            flight: Mutex::new(None),
            local: ThreadLocal::new(),
            cooldown: Mutex::new(None),
            refresh_paused_until: Mutex::new(None),
            counters: Counters::default(),
            events: crate::events::Events::default(),
        }
    }

    /// A valid token: from the cache, or from a fetch (this caller's or one already in flight).
    /// The caller waits at most `timeout`; the fetch itself is bounded by `call_timeout` and
    /// outlives an impatient caller, so other callers waiting for it are not cut short.
    pub fn get(self: &Arc<Self>, timeout: Duration) -> Result<Token, Error> {
        if let Some(entry) = &*self.current.load() {
            // Far from the refresh point, the cheap clock decides (see `clock`).
            if clock::coarse_ns() + clock::COARSE_MARGIN_NS < entry.refresh_ns {
                return Ok(self.hit(entry));
            }
            let now = Instant::now();
            if now < entry.refresh_at {
                return Ok(self.hit(entry));
            }
            if now < entry.expires_at {
                // Refresh window: the token is still good, so nobody waits for the refresh.
                if self.refresh_paused(now) {
                    Counters::bump(&self.counters.stale_served);
                } else {
                    self.start_background_refresh();
                }
                return Ok(self.hit(entry));
            }
        }
        Counters::bump(&self.counters.misses);
        self.fetch_or_wait(Instant::now(), timeout)
    }

    /// The cached token, as this thread's own copy. Handing out the one shared `Arc` would have
    /// every hit on every thread write its reference count: one cache line bouncing between
    /// cores, and hit throughput falling as threads are added. The copy (made once per token
    /// and thread, same serial) keeps hits on different threads independent.
    fn hit(&self, entry: &Entry) -> Token {
        self.counters.hits.bump();
        let mut slot = self.local.get_or(|| RefCell::new(None)).borrow_mut();
        match &*slot {
            Some(copy) if copy.0.serial == entry.token.0.serial => copy.clone(),
            _ => {
                let copy = Token(Arc::new(TokenInner::clone(&entry.token.0)));
                *slot = Some(copy.clone());
                copy
            }
        }
    }

    /// Drops `token` if it is still the cached one (after a resource server rejected it).
    pub fn invalidate(&self, token: &Token) {
        let current = self.current.load();
        if let Some(entry) = &*current {
            if entry.token.0.serial == token.0.serial {
                self.current.compare_and_swap(&current, None);
            }
        }
    }

    /// Ends a failure cool-down (the credentials changed).
    pub fn clear_cooldown(&self) {
        if self.cooldown.lock().take().is_some() {
            self.events.cooldown_ended("secret_rotated");
        }
    }

    /// Time until the cached token expires (for metrics); `None` with nothing cached.
    pub fn expires_in(&self) -> Option<Duration> {
        self.current.load().as_ref().map(|e| e.expires_at.saturating_duration_since(Instant::now()))
    }

    /// When the cached token enters its refresh window (for the background refresher).
    pub fn next_refresh(&self) -> Option<Instant> {
        self.current.load().as_ref().map(|e| e.refresh_at)
    }

    /// Refreshes now if the cached token is inside its refresh window (background refresher).
    pub fn refresh_if_due(self: &Arc<Self>) {
        let now = Instant::now();
        let due = self.current.load().as_ref().is_some_and(|e| now >= e.refresh_at);
        if due && !self.refresh_paused(now) {
            if let Some(flight) = self.claim_flight() {
                let _ = self.run(&flight, now + self.call_timeout);
            }
        }
    }

    fn fetch_or_wait(self: &Arc<Self>, now: Instant, timeout: Duration) -> Result<Token, Error> {
        // An absurd timeout would overflow `Instant`; a day is "no limit" for a token call.
        let my_deadline = now + timeout.min(Duration::from_secs(86_400));
        let fetch_deadline = now + self.call_timeout;
        if let Some((until, err)) = &*self.cooldown.lock() {
            if Instant::now() < *until {
                Counters::bump(&self.counters.cooldown_rejections);
                return Err(err.clone());
            }
        }
        let (flight, leader) = {
            let mut slot = self.flight.lock();
            // A fetch may have finished between our miss and taking the lock.
            if let Some(entry) = &*self.current.load() {
                if Instant::now() < entry.expires_at {
                    return Ok(entry.token.clone());
                }
            }
            match &*slot {
                Some(f) => (Arc::clone(f), false),
                None => {
                    let f = Arc::new(Flight { result: Mutex::new(None), done: Condvar::new() });
                    *slot = Some(Arc::clone(&f));
                    (f, true)
                }
            }
        };
        if leader {
            if my_deadline >= fetch_deadline {
                return self.run(&flight, fetch_deadline);
            }
            // This caller may give up before the fetch is done; the fetch goes on without it,
            // for the waiters behind it and the next call.
            self.spawn_run(&flight, fetch_deadline, my_deadline);
        } else {
            Counters::bump(&self.counters.coalesced_waiters);
        }
        flight.wait(my_deadline)
    }

    /// Starts a refresh on its own thread unless one is in flight. Called by whichever caller
    /// first finds the token inside its refresh window.
    fn start_background_refresh(self: &Arc<Self>) {
        let Some(flight) = self.claim_flight() else {
            return;
        };
        let deadline = Instant::now() + self.call_timeout;
        self.spawn_run(&flight, deadline, deadline);
    }

    /// Runs `flight` on its own thread. Without a thread to be had, runs it inline, bounded
    /// by `inline_deadline`, rather than leave the flight unfinished.
    fn spawn_run(self: &Arc<Self>, flight: &Arc<Flight>, deadline: Instant, inline_deadline: Instant) {
        let (cache, mine) = (Arc::clone(self), Arc::clone(flight));
        let spawned = std::thread::Builder::new().name("cctoken-fetch".into()).spawn(move || {
            let _ = cache.run(&mine, deadline);
        });
        if spawned.is_err() {
            let _ = self.run(flight, inline_deadline);
        }
    }

    /// Registers a new flight if none is running.
    fn claim_flight(&self) -> Option<Arc<Flight>> {
        let mut slot = self.flight.try_lock()?;
        if slot.is_some() {
            return None;
        }
        let f = Arc::new(Flight { result: Mutex::new(None), done: Condvar::new() });
        *slot = Some(Arc::clone(&f));
        Some(f)
    }

    fn refresh_paused(&self, now: Instant) -> bool {
        self.refresh_paused_until.lock().is_some_and(|until| now < until)
    }

    /// Performs the fetch for `flight`, publishes the result to the cache and to every waiter.
    fn run(self: &Arc<Self>, flight: &Arc<Flight>, deadline: Instant) -> Result<Token, Error> {
        // If the source panics, waiters still get an answer and the slot is freed.
        self.events.fetch_starting(self.current.load().as_ref().map(|e| e.expires_at));
        // Declared before the guard, so dropped after it: sinks run once waiters have the result.
        let _deliver_after = crate::events::Deferred::begin();
        let mut guard = FlightGuard { cache: Arc::downgrade(self), flight: Arc::clone(flight), result: None };
        let started = Instant::now();
        Counters::bump(&self.counters.fetches);
        let result = self.source.fetch(deadline, &self.counters);
        self.counters
            .last_fetch_latency_us
            .store(started.elapsed().as_micros().min(u64::MAX as u128) as u64, std::sync::atomic::Ordering::Relaxed);
        match &result {
            Ok(token) => {
                match self.entry_for(token) {
                    Some(entry) => self.current.store(Some(Arc::new(entry))),
                    None => self.events.single_use_token(),
                }
                if self.cooldown.lock().take().is_some() {
                    self.events.cooldown_ended("token_received");
                }
                *self.refresh_paused_until.lock() = None;
            }
            Err(err) => {
                Counters::bump(&self.counters.fetch_failures);
                let now = Instant::now();
                if err.is_credential_failure() && !self.failure_cooldown.is_zero() {
                    *self.cooldown.lock() = Some((now + self.failure_cooldown, err.clone()));
                    Counters::bump(&self.counters.cooldowns);
                    self.events.cooldown_entered(err, self.failure_cooldown);
                }
                // A still-valid token stays cached (stale-if-error); pause refresh attempts
                // for a quarter of its remaining life (1 s to 30 s) so a broken endpoint
                // is not asked on every call.
                if let Some(entry) = &*self.current.load() {
                    if now < entry.expires_at {
                        let pause =
                            ((entry.expires_at - now) / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
                        *self.refresh_paused_until.lock() = Some(now + pause);
                        self.events.stale_served(err, entry.expires_at - now, pause);
                    }
                }
            }
        }
        guard.result = Some(result.clone());
        drop(guard);
        result
    }

    /// Cache entry for a fresh token; `None` for a single-use token.
    fn entry_for(&self, token: &Token) -> Option<Entry> {
        let expires_at = token.expires_at()?;
        let now = Instant::now();
        let lifetime = expires_at.saturating_duration_since(now);
        let p = self.refresh;
        let window = lifetime.mul_f64(p.ratio).max(p.min_window).min(lifetime / 2);
        let jitter = window.mul_f64(p.jitter * rand::rng().random::<f64>());
        let refresh_at = expires_at - window + jitter;
        // Bindings keep a copy of the token and read this to know when to come back to the core.
        let _ = token.0.refresh_at.set(refresh_at);
        Some(Entry { token: token.clone(), refresh_at, expires_at, refresh_ns: clock::ns_of(refresh_at) })
    }
}

/// Ends a flight whatever happens: clears the slot, then wakes every waiter with the result
/// (or with an error if the fetch panicked).
struct FlightGuard {
    cache: Weak<Cache>,
    flight: Arc<Flight>,
    result: Option<Result<Token, Error>>,
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        if let Some(cache) = self.cache.upgrade() {
            cache.flight.lock().take();
        }
        let result = self
            .result
            .take()
            .unwrap_or_else(|| Err(Error::InvalidResponse("internal error: the token fetch panicked".into())));
        *self.flight.result.lock() = Some(result);
        self.flight.done.notify_all();
    }
}
