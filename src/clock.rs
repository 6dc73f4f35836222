//! The clocks of the token cache.
//!
//! **Lifetimes count on [`BootTime`]**: `CLOCK_BOOTTIME` on Linux, which keeps counting while
//! the machine is suspended (a laptop lid, a paused VM), as the server's clock does. `Instant`
//! (`CLOCK_MONOTONIC`) stops during suspend, so a token past its real expiry would be served
//! after resume. Elsewhere `BootTime` is the monotonic clock (on macOS it stops in sleep too).
//!
//! **The hit path reads a cheaper clock.** A precise read costs ~25 ns on a virtual machine,
//! half a cache hit; `CLOCK_BOOTTIME` costs the same as `CLOCK_MONOTONIC` through the vDSO
//! (measured on the 2-core CI VM, loaded: MONOTONIC 53 ns, BOOTTIME 54 ns, MONOTONIC_COARSE
//! 17 ns per read), and it has no coarse variant. So a hit reads `CLOCK_MONOTONIC_COARSE` (the
//! monotonic clock as of the last timer tick: never ahead, a tick or two behind) and compares
//! it with the refresh point converted onto the monotonic timebase, a [`FastDeadline`]. The
//! conversion uses the process-wide offset BOOTTIME − MONOTONIC, which changes only when the
//! machine was suspended. A suspend cannot be seen on the monotonic clock, so the fast check is
//! trusted only for [`RECHECK_NS`] of monotonic time after the last check of the offset: the
//! first hit after that re-reads both precise clocks ([`recheck`]). A changed offset starts a
//! new epoch, and deadlines converted in an older epoch fail the fast check until rebuilt.
//! Hence after a resume an expired token is served for at most `RECHECK_NS` of awake time.
//!
//! The check window and the epoch share one atomic ([`FAST`]), so the hit path adds one relaxed
//! load to what it did before (one coarse read and a compare).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// How far ahead of a deadline the coarse clock is trusted: far more than its lag.
pub(crate) const COARSE_MARGIN_NS: u64 = 1_000_000_000;

/// How long (monotonic ns) a check of the suspend offset is trusted by the fast path.
pub(crate) const RECHECK_NS: u64 = 100_000_000;

/// Low bits of [`FAST`] that hold the epoch; the rest is the coarse-monotonic time until which
/// the fast path is trusted, rounded down to a multiple of 65.536 µs.
const EPOCH_MASK: u64 = 0xffff;

/// Process-wide: (trusted-until & !EPOCH_MASK) | epoch. Zero until the first check.
static FAST: AtomicU64 = AtomicU64::new(0);

/// Slow path only: the last measured BOOTTIME − MONOTONIC offset and its epoch.
static OFFSET: parking_lot::Mutex<(u64, u64)> = parking_lot::Mutex::new((0, 0));

/// A suspend shorter than this is not worth a new epoch (clock reads are not simultaneous).
const OFFSET_TOLERANCE_NS: u64 = 1_000_000;

/// A point in time on the clock token lifetimes count on (see the module doc), in ns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct BootTime(u64);

impl BootTime {
    /// Now, precisely.
    pub fn now() -> BootTime {
        BootTime(imp::boot_ns().saturating_add(test_hook::skew()))
    }

    /// `self + d`, saturating (a server's absurd lifetime must not overflow).
    pub fn saturating_add(self, d: Duration) -> BootTime {
        BootTime(self.0.saturating_add(d.as_nanos().min(u64::MAX as u128) as u64))
    }

    /// `self - d`, saturating at the clock's origin.
    pub fn saturating_sub(self, d: Duration) -> BootTime {
        BootTime(self.0.saturating_sub(d.as_nanos().min(u64::MAX as u128) as u64))
    }

    /// Time from `earlier` to `self`; zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: BootTime) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// Time left until `self` (zero once passed).
    pub fn remaining(self) -> Duration {
        self.saturating_duration_since(BootTime::now())
    }
}

/// A deadline on the coarse monotonic timebase, valid in one suspend epoch (see module doc).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FastDeadline {
    mono_ns: u64,
    epoch: u64,
}

/// What the cheap clock says about a [`FastDeadline`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fast {
    /// Still ahead, by more than the coarse clock's margin.
    Ahead,
    /// Close to it or passed: ask the precise clock.
    Near,
    /// The fast path's trust ran out (no [`recheck`] for `RECHECK_NS`) or the deadline was
    /// converted before a suspend: recheck, then ask the precise clock.
    Stale,
}

impl FastDeadline {
    /// The hit path's check: one coarse clock read, one relaxed load, three compares.
    #[inline]
    pub fn check(&self) -> Fast {
        let now = imp::coarse_ns();
        let fast = FAST.load(Relaxed);
        if now >= fast || fast & EPOCH_MASK != self.epoch {
            Fast::Stale
        } else if now.saturating_add(COARSE_MARGIN_NS) < self.mono_ns {
            Fast::Ahead
        } else {
            Fast::Near
        }
    }
}

/// `at` converted for the fast path, in the current epoch. Rechecks the offset first.
pub(crate) fn fast_deadline(at: BootTime) -> FastDeadline {
    let (offset, epoch) = recheck();
    FastDeadline { mono_ns: at.0.saturating_sub(offset), epoch }
}

/// Measures BOOTTIME − MONOTONIC, starts a new epoch if it changed (a suspend), and trusts the
/// fast path for another [`RECHECK_NS`]. Returns the offset and the epoch.
pub(crate) fn recheck() -> (u64, u64) {
    update(&mut OFFSET.lock())
}

/// [`recheck`] for the hit path: if another thread is rechecking right now, leaves it to that
/// thread rather than wait for a lock (the caller reads the precise clock either way).
pub(crate) fn try_recheck() {
    if let Some(mut state) = OFFSET.try_lock() {
        update(&mut state);
    }
}

/// Measures under the lock, so that a measurement from before a suspend cannot be stored
/// after one from after it.
fn update(state: &mut (u64, u64)) -> (u64, u64) {
    // Take the tightest of a few measurements: a preemption between the reads inflates one.
    let mut best: Option<(u64, u64, u64)> = None; // (gap, offset, mono)
    for _ in 0..3 {
        let before = imp::mono_ns();
        let boot = imp::boot_ns().saturating_add(test_hook::skew());
        let after = imp::mono_ns();
        let gap = after.saturating_sub(before);
        if best.is_none_or(|(g, _, _)| gap < g) {
            best = Some((gap, boot.saturating_sub(after), after));
        }
        if gap < 50_000 {
            break;
        }
    }
    let (_, offset, mono) = best.expect("measured at least once");
    let first = FAST.load(Relaxed) == 0;
    if first || offset.abs_diff(state.0) > OFFSET_TOLERANCE_NS {
        let epoch = if first { state.1 } else { (state.1 + 1) & EPOCH_MASK };
        *state = (offset, epoch);
    }
    let until = mono.saturating_add(RECHECK_NS) & !EPOCH_MASK;
    FAST.store(until | state.1, Relaxed);
    *state
}

/// The current epoch (for telling whether a [`FastDeadline`] must be rebuilt).
pub(crate) fn epoch() -> u64 {
    FAST.load(Relaxed) & EPOCH_MASK
}

impl FastDeadline {
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
}

/// Tests simulate a suspend by moving BOOTTIME ahead of MONOTONIC (process-wide).
#[cfg(test)]
pub(crate) mod test_hook {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    static SKEW_NS: AtomicU64 = AtomicU64::new(0);

    pub fn skew() -> u64 {
        SKEW_NS.load(Relaxed)
    }

    /// Tests that depend on the clock state (or change it) hold this, so a simulated suspend
    /// does not land in the middle of another test.
    pub fn serial() -> parking_lot::MutexGuard<'static, ()> {
        static SERIAL: parking_lot::Mutex<()> = parking_lot::Mutex::new(());
        SERIAL.lock()
    }

    /// As if the machine had been suspended for `d` just now.
    pub fn suspend(d: std::time::Duration) {
        SKEW_NS.fetch_add(d.as_nanos() as u64, Relaxed);
    }
}

#[cfg(not(test))]
mod test_hook {
    #[inline]
    pub fn skew() -> u64 {
        0
    }
}

#[cfg(target_os = "linux")]
mod imp {
    fn read(clock: libc::clockid_t) -> u64 {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid out-pointer; these clocks exist on every Linux since 2.6.39.
        let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime failed");
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }

    pub fn mono_ns() -> u64 {
        read(libc::CLOCK_MONOTONIC)
    }

    pub fn boot_ns() -> u64 {
        read(libc::CLOCK_BOOTTIME)
    }

    #[inline]
    pub fn coarse_ns() -> u64 {
        read(libc::CLOCK_MONOTONIC_COARSE)
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::sync::OnceLock;
    use std::time::Instant;

    pub fn mono_ns() -> u64 {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        // Offset by a second so that no deadline in the first second saturates at zero.
        ORIGIN.get_or_init(Instant::now).elapsed().as_nanos().min(u64::MAX as u128) as u64 + 1_000_000_000
    }

    pub fn boot_ns() -> u64 {
        mono_ns()
    }

    #[inline]
    pub fn coarse_ns() -> u64 {
        mono_ns()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn the_coarse_clock_is_never_ahead_and_lags_less_than_the_margin() {
        let end = Instant::now() + Duration::from_millis(200);
        while Instant::now() < end {
            let precise = imp::mono_ns();
            let coarse = imp::coarse_ns();
            let after = imp::mono_ns();
            assert!(coarse <= after, "the coarse clock ran ahead");
            assert!(coarse + COARSE_MARGIN_NS > precise, "the coarse clock lagged by a second");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn boot_time_is_clock_boottime() {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        let before = imp::boot_ns();
        // SAFETY: valid out-pointer.
        assert_eq!(unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) }, 0);
        let after = BootTime::now().0 - test_hook::skew();
        let direct = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
        assert!(before <= direct && direct <= after, "{before} <= {direct} <= {after}");
        // BOOTTIME counts time in suspend on top of MONOTONIC: never behind it.
        assert!(imp::boot_ns() >= imp::mono_ns() - 1_000_000);
    }

    #[test]
    fn fast_deadlines_hold_far_ahead_and_fail_close_to_the_deadline() {
        let _serial = test_hook::serial();
        let far = fast_deadline(BootTime::now().saturating_add(Duration::from_secs(60)));
        assert!((far.check() == Fast::Ahead));
        let near = fast_deadline(BootTime::now().saturating_add(Duration::from_millis(500)));
        assert!(!(near.check() == Fast::Ahead), "within the coarse margin the precise clock decides");
    }

    #[test]
    fn the_fast_check_expires_without_a_recheck() {
        let _serial = test_hook::serial();
        let far = fast_deadline(BootTime::now().saturating_add(Duration::from_secs(60)));
        std::thread::sleep(Duration::from_nanos(RECHECK_NS) + Duration::from_millis(20));
        // Unless another thread rechecked meanwhile (the state is process-wide), it went stale.
        if !(far.check() == Fast::Ahead) {
            assert_eq!(far.check(), Fast::Stale);
        }
        recheck();
        assert!((far.check() == Fast::Ahead), "a recheck renews trust");
    }
}
