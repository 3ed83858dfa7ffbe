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

/// Sets the FS base (the thread pointer of the running task).
///
/// # Safety
/// `value` must point to a valid TLS block of the running task: compiled code reads
/// thread-local variables relative to it.
#[inline(always)]
pub unsafe fn write_fs_base(value: u64) {
    // SAFETY: the caller guarantees the new thread pointer is valid.
    unsafe { core::arch::asm!("wrfsbase {}", in(reg) value, options(nostack, preserves_flags)) };
}
