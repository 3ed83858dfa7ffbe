//! Time from the TSC: the boot-relative monotonic clock and the wall clock.
//!
//! The TSC frequency comes from the loader (header `cpu_freq`, or the finer `tsc_khz` of the
//! header extension). The wall clock is the host's `CLOCK_REALTIME` at boot (extension) plus
//! the time since boot; under the original uhyve it counts from boot, as the original did.
//! The program's monotonic clock ([`monotonic_ns`]) likewise continues the host's
//! `CLOCK_MONOTONIC` (from boot without the extension); the kernel's own timers count from
//! boot ([`uptime_ns`]).
#![forbid(unsafe_code)]

#[cfg(not(test))]
pub use runtime::*;

/// A TSC-based clock of known frequency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TscClock {
    khz: u64,
    /// `ns = (cycles * mult) >> 32`.
    mult: u64,
}

impl TscClock {
    /// A clock for a TSC running at `khz` kHz (at least 1).
    pub const fn new(khz: u64) -> Self {
        let khz = if khz == 0 { 1 } else { khz };
        Self { khz, mult: (1_000_000u64 << 32) / khz }
    }

    /// Nanoseconds in `cycles`.
    pub const fn cycles_to_ns(&self, cycles: u64) -> u64 {
        ((cycles as u128 * self.mult as u128) >> 32) as u64
    }

    /// Cycles in `ns` nanoseconds (at most `u64::MAX`).
    pub const fn ns_to_cycles(&self, ns: u64) -> u64 {
        let cycles = ns as u128 * self.khz as u128 / 1_000_000;
        if cycles > u64::MAX as u128 {
            u64::MAX
        } else {
            cycles as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_both_ways() {
        let clock = TscClock::new(2_300_000);
        assert_eq!(clock.ns_to_cycles(1_000_000_000), 2_300_000_000);
        let ns = clock.cycles_to_ns(2_300_000_000);
        assert!((999_999_990..=1_000_000_000).contains(&ns), "{ns}");
        // A year of cycles does not overflow.
        let year = clock.ns_to_cycles(365 * 24 * 3600 * 1_000_000_000);
        let back = clock.cycles_to_ns(year);
        assert!(back.abs_diff(365 * 24 * 3600 * 1_000_000_000) < 1_000_000_000);
        // Beyond 64 bits of cycles: the largest count, not a wrapped one.
        assert_eq!(clock.ns_to_cycles(u64::MAX), u64::MAX);
    }

    #[test]
    fn zero_frequency_is_clamped() {
        assert_eq!(TscClock::new(0), TscClock::new(1));
    }
}

#[cfg(not(test))]
mod runtime {
    use core::sync::atomic::{AtomicU64, Ordering};

    use super::TscClock;

    static KHZ: AtomicU64 = AtomicU64::new(1_000_000);
    static REALTIME_AT_BOOT: AtomicU64 = AtomicU64::new(0);
    static MONOTONIC_AT_BOOT: AtomicU64 = AtomicU64::new(0);

    /// Records the TSC frequency and the host's wall-clock and monotonic times at boot.
    pub fn init(khz: u64, realtime_ns: u64, monotonic_ns: u64) {
        KHZ.store(khz.max(1), Ordering::Relaxed);
        REALTIME_AT_BOOT.store(realtime_ns, Ordering::Relaxed);
        MONOTONIC_AT_BOOT.store(monotonic_ns, Ordering::Relaxed);
    }

    /// The TSC clock.
    pub fn clock() -> TscClock {
        TscClock::new(KHZ.load(Ordering::Relaxed))
    }

    /// TSC cycles since the first instruction of the first core.
    pub fn uptime_cycles() -> u64 {
        crate::arch::rdtsc().wrapping_sub(crate::arch::boot_tsc.load(Ordering::Relaxed))
    }

    /// Nanoseconds since boot.
    pub fn uptime_ns() -> u64 {
        clock().cycles_to_ns(uptime_cycles())
    }

    /// Nanoseconds since the Unix epoch (since boot without the loader extension).
    pub fn realtime_ns() -> u64 {
        REALTIME_AT_BOOT.load(Ordering::Relaxed) + uptime_ns()
    }

    /// The program's `CLOCK_MONOTONIC` in nanoseconds: the host's (since boot without the
    /// loader extension).
    pub fn monotonic_ns() -> u64 {
        MONOTONIC_AT_BOOT.load(Ordering::Relaxed) + uptime_ns()
    }

    /// The TSC deadline `ns` nanoseconds from now (the end of time for a huge `ns`).
    pub fn deadline_after(ns: u64) -> u64 {
        crate::arch::rdtsc().saturating_add(clock().ns_to_cycles(ns))
    }

    /// Busy-waits `ns` nanoseconds at CPL 3.
    pub fn spin_ns(ns: u64) {
        let start = crate::arch::rdtsc();
        let cycles = clock().ns_to_cycles(ns);
        while crate::arch::rdtsc().wrapping_sub(start) < cycles {
            crate::arch::pause();
        }
    }
}
