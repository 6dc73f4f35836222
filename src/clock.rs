//! A cheap clock for the cache's hit path.
//!
//! A precise read (`Instant::now`, `CLOCK_MONOTONIC`) costs ~25 ns on a virtual machine, half
//! of a whole cache hit. On Linux the hit path first reads `CLOCK_MONOTONIC_COARSE`: the same
//! clock as of the last timer tick, a few ns to read, never ahead of the precise time and
//! behind it by a tick or two (4 ms ticks lagged up to 7 ms on our 2-core VM). The cache
//! trusts it only when the refresh point is more than [`COARSE_MARGIN_NS`] away; closer to
//! it, and for every decision past a hit, it reads the precise clock.
//!
//! Times are nanoseconds on one timebase; [`ns_of`] converts an `Instant` onto it.

use std::time::Instant;

/// How far ahead of a deadline the coarse clock is trusted: far more than its lag.
pub(crate) const COARSE_MARGIN_NS: u64 = 1_000_000_000;

/// Now, as of the last timer tick (no later than the precise time).
#[inline]
pub(crate) fn coarse_ns() -> u64 {
    imp::coarse_ns()
}

/// `at` on the timebase of [`coarse_ns`], rounded down (a deadline comes no later).
pub(crate) fn ns_of(at: Instant) -> u64 {
    // Precise time first, then the Instant: `base` is no later than `now`.
    let base = imp::precise_ns();
    let now = Instant::now();
    match at.checked_duration_since(now) {
        Some(ahead) => base.saturating_add(ahead.as_nanos().min(u64::MAX as u128) as u64),
        None => base.saturating_sub(now.duration_since(at).as_nanos().min(u64::MAX as u128) as u64),
    }
}

#[cfg(target_os = "linux")]
mod imp {
    fn read(clock: libc::clockid_t) -> u64 {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid out-pointer; both clocks exist on every Linux since 2.6.32.
        let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime failed");
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }

    pub fn precise_ns() -> u64 {
        read(libc::CLOCK_MONOTONIC)
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

    pub fn precise_ns() -> u64 {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed().as_nanos().min(u64::MAX as u128) as u64
    }

    #[inline]
    pub fn coarse_ns() -> u64 {
        precise_ns()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_coarse_clock_is_never_ahead_and_lags_less_than_the_margin() {
        let end = Instant::now() + Duration::from_millis(200);
        while Instant::now() < end {
            let precise = ns_of(Instant::now());
            let coarse = coarse_ns();
            let after = imp::precise_ns();
            assert!(coarse <= after, "the coarse clock ran ahead");
            assert!(coarse + COARSE_MARGIN_NS > precise, "the coarse clock lagged by a second");
        }
    }

    #[test]
    fn deadlines_convert_no_later_than_they_are() {
        let soon = Instant::now() + Duration::from_millis(50);
        let ns = ns_of(soon);
        std::thread::sleep(Duration::from_millis(60));
        assert!(imp::precise_ns() > ns);
    }
}
