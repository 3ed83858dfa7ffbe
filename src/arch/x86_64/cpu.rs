//! Unprivileged CPU instructions the kernel uses at CPL 3, including its one `cpuid` wrapper.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

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

/// CPU features hidden from the kernel (`hermit_interface::cpu::HIDE_*`), set once at boot.
static HIDDEN: AtomicU64 = AtomicU64::new(0);
/// CPUID.1:ECX after hiding, cached at boot (`cpuid` traps to the host: ~20 µs on PVM).
static LEAF1_ECX: AtomicU32 = AtomicU32::new(0);

/// Records the features the loader hides (before the first [`cpuid`]).
pub fn set_hidden(mask: u64) {
    HIDDEN.store(mask, Ordering::Relaxed);
}

/// CPUID leaf `leaf`, sub-leaf `sub`, as `[eax, ebx, ecx, edx]`, without the hidden features.
/// The kernel's only `cpuid` at CPL 3; on PVM each one is an exit to the host.
pub fn cpuid(leaf: u32, sub: u32) -> [u32; 4] {
    let r = core::arch::x86_64::__cpuid_count(leaf, sub);
    let regs = hermit_interface::cpu::hide(HIDDEN.load(Ordering::Relaxed), leaf, sub, [r.eax, r.ebx, r.ecx, r.edx]);
    if leaf == 1 {
        LEAF1_ECX.store(regs[2], Ordering::Relaxed);
    }
    regs
}

/// CPUID.1:ECX as the last [`cpuid`] of leaf 1 returned it (the boot check reads it first).
pub fn leaf1_ecx() -> u32 {
    LEAF1_ECX.load(Ordering::Relaxed)
}

/// XCR0 in force (`xgetbv(0)`): native at CPL 3, and on PVM hosts the host's value. Only
/// meaningful when CPUID.1:ECX.OSXSAVE is set.
pub fn xcr0() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: `xgetbv` with ECX = 0 only reads XCR0; the caller checked CPUID.1:ECX.OSXSAVE,
    // so it does not fault.
    unsafe {
        core::arch::asm!("xgetbv", in("ecx") 0, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
    };
    u64::from(lo) | (u64::from(hi) << 32)
}
