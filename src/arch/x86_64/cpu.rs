//! Unprivileged CPU instructions the kernel uses at CPL 3.

/// Reads the time-stamp counter.
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` has no side effects; CR4.TSD is never set, so it works at CPL 3.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Spin-loop hint.
#[inline(always)]
pub fn pause() {
    core::hint::spin_loop();
}
