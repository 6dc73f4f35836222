//! The token cache: lock-free hits, single-flight fetches, refresh-ahead, stale-if-error and a
//! cool-down after permanent failures.
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
//! The hit path is one atomic load (`ArcSwapOption`), a coarse clock read and one relaxed load
//! (see `clock`): it never touches a lock that a fetch holds. Fetches hold no lock across the network either: the `flight`
//! mutex only guards who starts a fetch; waiters block on the flight's own condvar.

//!
//! Lifetimes, refresh points, pauses and cool-downs count on `clock::BootTime` (suspended time
//! counts); call deadlines, which bound how long a caller waits, are `Instant`s.
//!
//! When the last `Client` goes, [`Cache::close`] cancels the fetch in flight and
//! [`Cache::join`] waits for the threads the cache started: none outlives the client.
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::{ArcSwapOption, Guard};
use parking_lot::{Condvar, Mutex};
use rand::TryRngCore as _;
use thread_local::ThreadLocal;

use crate::clock::{self, BootTime, Fast, FastDeadline};
use crate::config::RefreshPolicy;
use crate::metrics::Counters;
use crate::token::TokenInner;
use crate::{Error, Token};

/// Where tokens come from. `fetch` is called by at most one thread per cache at a time.
pub(crate) trait Source: Send + Sync + 'static {
    fn fetch(&self, deadline: Instant, counters: &Counters) -> Result<Token, Error>;

    /// Changes whenever the configuration that decides a fetch's outcome changes (a rotated
    /// secret, a rewritten secret file): a cool-down from an older configuration ends.
    fn config_stamp(&self) -> u64 {
        0
    }

    /// Ends the fetch in progress as soon as possible and refuses further ones.
    fn cancel(&self) {}
}

/// A uniformly random number in [0, 1) from the operating system. Jitter exists to spread
/// clients apart; a user-space generator seeded once would give pre-fork workers (gunicorn,
/// multiprocessing) the same sequence and so the same refresh and retry times.
pub(crate) fn os_random_unit() -> f64 {
    let bits = rand::rngs::OsRng.try_next_u64().unwrap_or_else(|_| {
        // No OS randomness (should not happen on a supported OS): at least tell processes apart.
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        (t.as_nanos() as u64) ^ (u64::from(std::process::id()) << 32)
    });
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// The cached token and when to refresh it, on the boot clock and, for the hit path, as a
/// [`FastDeadline`].
struct Entry {
    token: Token,
    refresh_at: BootTime,
    expires_at: BootTime,
    fast: FastDeadline,
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

/// After a permanent failure: the error to repeat, until when, and under which configuration.
struct Cooldown {
    until: BootTime,
    error: Error,
    config_stamp: u64,
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
    /// After a permanent failure: the error repeated to callers instead of a new request.
    cooldown: Mutex<Option<Cooldown>>,
    /// After a failed (or single-use) refresh-ahead: no new attempt before this time.
    refresh_paused_until: Mutex<Option<BootTime>>,
    /// Set when the last client handle went: no more fetches.
    closed: AtomicBool,
    /// Fetch threads this cache started, joined by `join`.
    threads: Mutex<Vec<JoinHandle<()>>>,
    pub counters: Counters,
}

/// `now + d` for a call deadline; a duration too large for `Instant` means "no limit", which
/// for a token call is a day.
pub(crate) fn deadline_after(now: Instant, d: Duration) -> Instant {
    let day = Duration::from_secs(86_400);
    now.checked_add(d.min(day)).or_else(|| now.checked_add(day)).unwrap_or(now)
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
            closed: AtomicBool::new(false),
            threads: Mutex::new(Vec::new()),
            counters: Counters::default(),
        }
    }

    /// A valid token: from the cache, or from a fetch (this caller's or one already in flight).
    /// The caller waits at most `timeout`; the fetch itself is bounded by `call_timeout` and
    /// outlives an impatient caller, so other callers waiting for it are not cut short.
    pub fn get(self: &Arc<Self>, timeout: Duration) -> Result<Token, Error> {
        let current = self.current.load();
        if let Some(entry) = &*current {
            // Far from the refresh point, the cheap clock decides (see `clock`).
            match entry.fast.check() {
                Fast::Ahead => return Ok(self.hit(entry)),
                Fast::Stale => self.renew_fast_path(&current, entry),
                Fast::Near => {}
            }
            let now = BootTime::now();
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

    /// Renews the fast path's trust (every `clock::RECHECK_NS`), and after a suspend converts
    /// the entry's deadline again so that hits take the fast path once more.
    #[cold]
    fn renew_fast_path(&self, current: &Guard<Option<Arc<Entry>>>, entry: &Entry) {
        clock::try_recheck();
        if entry.fast.epoch() != clock::epoch() {
            let rebuilt = Entry {
                token: entry.token.clone(),
                refresh_at: entry.refresh_at,
                expires_at: entry.expires_at,
                fast: clock::fast_deadline(entry.refresh_at),
            };
            self.current.compare_and_swap(current, Some(Arc::new(rebuilt)));
        }
    }

    /// The cached token, as this thread's own copy. Handing out the one shared `Arc` would have
    /// every hit on every thread write its reference count: one cache line bouncing between
    /// cores, and hit throughput falling as threads are added. The copy (made once per token
    /// and thread, same serial) keeps hits on different threads independent; it shares the
    /// response itself (`Issued`), so it costs one `Arc` clone however large the response was.
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

    /// Ends a failure cool-down and a refresh pause (the credentials changed).
    pub fn clear_cooldown(&self) {
        *self.cooldown.lock() = None;
        *self.refresh_paused_until.lock() = None;
    }

    /// Time until the cached token enters its refresh window (for the background refresher).
    pub fn next_refresh_in(&self) -> Option<Duration> {
        self.current.load().as_ref().map(|e| e.refresh_at.remaining())
    }

    /// Refreshes now if the cached token is inside its refresh window (background refresher).
    pub fn refresh_if_due(self: &Arc<Self>) {
        let now = BootTime::now();
        let due = self.current.load().as_ref().is_some_and(|e| now >= e.refresh_at);
        if due && !self.refresh_paused(now) {
            if let Some(flight) = self.claim_flight() {
                let _ = self.run(&flight, deadline_after(Instant::now(), self.call_timeout));
            }
        }
    }

    /// Refuses further fetches and cancels the one in flight (its waiters get an error).
    /// Called when the last client handle goes.
    pub fn close(&self) {
        {
            let _spawning = self.threads.lock();
            self.closed.store(true, Ordering::SeqCst);
        }
        self.source.cancel();
    }

    /// Waits for every fetch thread this cache started. After `close`, they end promptly.
    pub fn join(&self) {
        let handles = std::mem::take(&mut *self.threads.lock());
        for handle in handles {
            let _ = handle.join();
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    fn fetch_or_wait(self: &Arc<Self>, now: Instant, timeout: Duration) -> Result<Token, Error> {
        let my_deadline = deadline_after(now, timeout);
        let fetch_deadline = deadline_after(now, self.call_timeout);
        let cooldown = self.cooldown.lock().as_ref().map(|c| (c.until, c.error.clone(), c.config_stamp));
        if let Some((until, err, stamp)) = cooldown {
            if BootTime::now() < until && self.source.config_stamp() == stamp {
                return Err(err);
            }
        }
        let (flight, leader) = {
            let mut slot = self.flight.lock();
            // A fetch may have finished between our miss and taking the lock.
            if let Some(entry) = &*self.current.load() {
                if BootTime::now() < entry.expires_at {
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
        let deadline = deadline_after(Instant::now(), self.call_timeout);
        self.spawn_run(&flight, deadline, deadline);
    }

    /// Runs `flight` on its own thread, which `join` waits for. Without a thread to be had,
    /// runs it inline, bounded by `inline_deadline`, rather than leave the flight unfinished.
    fn spawn_run(self: &Arc<Self>, flight: &Arc<Flight>, deadline: Instant, inline_deadline: Instant) {
        let mut threads = self.threads.lock();
        threads.retain(|t| !t.is_finished());
        if !self.is_closed() {
            let (cache, mine) = (Arc::clone(self), Arc::clone(flight));
            let spawned = std::thread::Builder::new().name("cctoken-fetch".into()).spawn(move || {
                let _ = cache.run(&mine, deadline);
            });
            if let Ok(handle) = spawned {
                threads.push(handle);
                return;
            }
        }
        drop(threads);
        let _ = self.run(flight, inline_deadline);
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

    fn refresh_paused(&self, now: BootTime) -> bool {
        self.refresh_paused_until.lock().is_some_and(|until| now < until)
    }

    /// Performs the fetch for `flight`, publishes the result to the cache and to every waiter.
    fn run(self: &Arc<Self>, flight: &Arc<Flight>, deadline: Instant) -> Result<Token, Error> {
        // Whatever happens, waiters get an answer and the slot is freed.
        let mut guard = FlightGuard { cache: Arc::downgrade(self), flight: Arc::clone(flight), result: None };
        let started = Instant::now();
        // The configuration this fetch runs with: a cool-down lasts while it is unchanged.
        let config_stamp = self.source.config_stamp();
        let result = if self.is_closed() {
            Err(closed_error())
        } else {
            Counters::bump(&self.counters.fetches);
            // A panicking fetch (a bug, or a hostile answer we failed to anticipate) is a failed
            // fetch: callers get an error, not a panic, and the bookkeeping below still runs.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.source.fetch(deadline, &self.counters)))
                .unwrap_or_else(|_| Err(fetch_panicked()))
        };
        self.counters
            .last_fetch_latency_us
            .store(started.elapsed().as_micros().min(u64::MAX as u128) as u64, std::sync::atomic::Ordering::Relaxed);
        match &result {
            Ok(token) => match self.entry_for(token) {
                Some(entry) => {
                    self.current.store(Some(Arc::new(entry)));
                    *self.cooldown.lock() = None;
                    *self.refresh_paused_until.lock() = None;
                }
                // A single-use token goes to this fetch's callers only. If a valid token is
                // cached (refresh-ahead), keep serving it, and pause refreshing as after a
                // failure: otherwise every call in the window would fetch another one.
                None => {
                    *self.cooldown.lock() = None;
                    self.pause_refresh(Duration::ZERO);
                }
            },
            Err(err) => self.record_failure(err, config_stamp),
        }
        guard.result = Some(result.clone());
        drop(guard);
        result
    }

    /// Failure bookkeeping: a permanent error is repeated to callers for `failure_cooldown`
    /// (unless the configuration changes); a still-valid token stays cached (stale-if-error)
    /// and refreshing pauses.
    fn record_failure(&self, err: &Error, config_stamp: u64) {
        Counters::bump(&self.counters.fetch_failures);
        let mut cooldown = Duration::ZERO;
        if err.cools_down() && !self.failure_cooldown.is_zero() {
            cooldown = self.failure_cooldown;
            let until = BootTime::now().saturating_add(cooldown);
            *self.cooldown.lock() = Some(Cooldown { until, error: err.clone(), config_stamp });
        }
        self.pause_refresh(cooldown);
    }

    /// If a still-valid token is cached, pauses refresh attempts for a quarter of its remaining
    /// life (1 s to 30 s), or for `at_least`, so a broken endpoint is not asked on every call.
    fn pause_refresh(&self, at_least: Duration) {
        let now = BootTime::now();
        if let Some(entry) = &*self.current.load() {
            if now < entry.expires_at {
                let left = entry.expires_at.saturating_duration_since(now);
                let pause = (left / 4).clamp(Duration::from_secs(1), Duration::from_secs(30)).max(at_least);
                *self.refresh_paused_until.lock() = Some(now.saturating_add(pause));
            }
        }
    }

    /// Cache entry for a fresh token; `None` for a single-use token.
    fn entry_for(&self, token: &Token) -> Option<Entry> {
        let expires_at = token.0.expires_at?;
        let lifetime = expires_at.remaining();
        let p = self.refresh;
        let window = lifetime.mul_f64(p.ratio).max(p.min_window).min(lifetime / 2);
        let jitter = window.mul_f64(p.jitter * os_random_unit());
        let refresh_at = expires_at.saturating_sub(window).saturating_add(jitter);
        // Bindings keep a copy of the token and read this to know when to come back to the core.
        let _ = token.0.refresh_at.set(refresh_at);
        Some(Entry { token: token.clone(), refresh_at, expires_at, fast: clock::fast_deadline(refresh_at) })
    }
}

fn closed_error() -> Error {
    Error::Transport {
        kind: crate::TransportKind::Io,
        message: "the client was dropped; no more token requests".into(),
    }
}

fn fetch_panicked() -> Error {
    Error::InvalidResponse("internal error: the token fetch panicked".into())
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
        let result = self.result.take().unwrap_or_else(|| {
            // Only if the bookkeeping itself panicked (the fetch's panics are caught in `run`).
            if let Some(cache) = self.cache.upgrade() {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    cache.record_failure(&fetch_panicked(), cache.source.config_stamp())
                }));
            }
            Err(fetch_panicked())
        });
        *self.flight.result.lock() = Some(result);
        self.flight.done.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    /// A token source without a server, for bookkeeping that needs no HTTP: it panics, or it
    /// issues tokens of a given lifetime.
    struct Scripted {
        panic: AtomicBool,
        lifetime: Duration,
        calls: AtomicU64,
    }

    impl Source for Scripted {
        fn fetch(&self, _deadline: Instant, _counters: &Counters) -> Result<Token, Error> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.panic.load(Ordering::SeqCst) {
                panic!("scripted panic");
            }
            let parsed = crate::response::Parsed {
                access_token: crate::token::NulText::new("t").unwrap(),
                token_type: crate::token::NulText::new("Bearer").unwrap(),
                scope: None,
                lifetime: crate::response::Lifetime::For(self.lifetime),
                extras: Default::default(),
            };
            Ok(Token::issued(parsed, BootTime::now()))
        }
    }

    fn cache(source: &Arc<Scripted>) -> Arc<Cache> {
        let policy = RefreshPolicy { ratio: 0.5, min_window: Duration::from_millis(10), jitter: 0.0 };
        let source = Arc::clone(source) as Arc<dyn Source>;
        Arc::new(Cache::new(source, policy, Duration::from_secs(60), Duration::from_secs(5)))
    }

    fn scripted(lifetime: Duration) -> Arc<Scripted> {
        Arc::new(Scripted { panic: AtomicBool::new(false), lifetime, calls: AtomicU64::new(0) })
    }

    #[test]
    fn a_panicking_fetch_is_an_error_and_cools_down() {
        let _serial = clock::test_hook::serial();
        let source = scripted(Duration::from_secs(3600));
        source.panic.store(true, Ordering::SeqCst);
        let c = cache(&source);
        for _ in 0..10 {
            let e = c.get(Duration::from_secs(5)).expect_err("an error, not a panic");
            assert!(e.to_string().contains("panicked"), "{e}");
        }
        assert_eq!(source.calls.load(Ordering::SeqCst), 1, "cooled down after the panic");
        assert_eq!(c.counters.snapshot().fetch_failures, 1);
    }

    #[test]
    fn a_panicking_refresh_pauses_refreshing() {
        let _serial = clock::test_hook::serial();
        let source = scripted(Duration::from_secs(4));
        let c = cache(&source);
        let first = c.get(Duration::from_secs(5)).unwrap();
        // Into the refresh window (the last 2 s), then every fetch panics.
        std::thread::sleep(Duration::from_millis(2100));
        source.panic.store(true, Ordering::SeqCst);
        for _ in 0..30 {
            assert_eq!(c.get(Duration::from_secs(5)).unwrap().0.serial, first.0.serial, "the valid token");
            std::thread::sleep(Duration::from_millis(10));
        }
        let end = Instant::now() + Duration::from_secs(3);
        while c.counters.snapshot().fetch_failures == 0 && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(source.calls.load(Ordering::SeqCst), 2, "one refresh attempt, then a pause");
        c.close();
        c.join();
    }

    #[test]
    fn a_simulated_suspend_expires_the_cached_token() {
        let _serial = clock::test_hook::serial();
        let source = scripted(Duration::from_secs(600));
        let c = cache(&source);
        let first = c.get(Duration::from_secs(5)).unwrap();
        assert_eq!(c.get(Duration::from_secs(5)).unwrap().0.serial, first.0.serial, "cached");
        assert!(!first.is_expired());
        // The machine sleeps for an hour: monotonic time stands still, the token's life ran out.
        clock::test_hook::suspend(Duration::from_secs(3600));
        assert!(first.is_expired(), "expiry counts suspended time");
        assert_eq!(first.expires_in(), Duration::ZERO);
        // The fast path's trust in its offset runs out within RECHECK_NS; then a new token.
        std::thread::sleep(Duration::from_nanos(clock::RECHECK_NS) + Duration::from_millis(50));
        let next = c.get(Duration::from_secs(5)).unwrap();
        assert_ne!(next.0.serial, first.0.serial, "the expired token is not served after resume");
        assert_eq!(source.calls.load(Ordering::SeqCst), 2);
        // And the new token is served from the fast path again.
        for _ in 0..3 {
            assert_eq!(c.get(Duration::from_secs(5)).unwrap().0.serial, next.0.serial);
        }
        let entry = c.current.load();
        assert_eq!(entry.as_ref().unwrap().fast.epoch(), clock::epoch(), "converted in the new epoch");
        assert_eq!(entry.as_ref().unwrap().fast.check(), Fast::Ahead);
    }

    /// Forks; the child sends one jitter draw back through a pipe. The parent draws too.
    #[cfg(unix)]
    #[test]
    fn forked_processes_draw_different_jitter() {
        // Make sure any per-thread generator state exists before the fork, as in a pre-fork
        // server whose master already fetched a token.
        let _ = os_random_unit();
        let _ = rand::Rng::random::<u64>(&mut rand::rng());
        let mut fds = [0; 2];
        // SAFETY: plain libc calls; the child only draws a number, writes it and exits.
        unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
            let pid = libc::fork();
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                let x = os_random_unit().to_bits().to_ne_bytes();
                libc::write(fds[1], x.as_ptr().cast(), x.len());
                libc::_exit(0);
            }
            let mine = os_random_unit();
            let mut buf = [0u8; 8];
            let n = libc::read(fds[0], buf.as_mut_ptr().cast(), buf.len());
            let mut status = 0;
            libc::waitpid(pid, &mut status, 0);
            libc::close(fds[0]);
            libc::close(fds[1]);
            assert_eq!(n, 8, "the child wrote its draw");
            let child = f64::from_bits(u64::from_ne_bytes(buf));
            assert!((0.0..1.0).contains(&child) && (0.0..1.0).contains(&mine));
            assert_ne!(child, mine, "parent and child drew the same jitter");
        }
    }
}
