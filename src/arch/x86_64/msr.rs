//! Model-specific registers. At CPL 3 `rdmsr`/`wrmsr` raise #GP and the CPL-0 trampoline
//! performs them for the MSRs on its allow-list (local APIC, TSC deadline); anything else is
//! reported as a fault.

pub use hermit_interface::apic::{
    MSR_APIC_BASE as APIC_BASE, MSR_X2APIC_LVT_TIMER as X2APIC_LVT_TIMER, MSR_X2APIC_SVR as X2APIC_SVR,
};

/// IA32_TSC_DEADLINE.
pub const TSC_DEADLINE: u32 = 0x6e0;
/// The x2APIC registers, 0x800..=0x8ff (the trampoline compares `msr & !0xff`).
pub const X2APIC_RANGE: u32 = 0x800;
/// x2APIC end-of-interrupt register.
pub const X2APIC_EOI: u32 = 0x80b;
/// x2APIC interrupt command register.
pub const X2APIC_ICR: u32 = 0x830;

/// Reads an MSR.
pub fn read(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: at CPL 3 this traps into the trampoline, which only reads allow-listed MSRs.
    unsafe { core::arch::asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi, options(nomem, nostack)) };
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Writes an MSR.
///
/// # Safety
/// The write must be valid for the register (APIC programming, timer deadline).
pub unsafe fn write(msr: u32, value: u64) {
    // SAFETY: by the caller's contract; at CPL 3 the trampoline performs the write. Not
    // `nomem`: a write to the ICR sends an IPI, which synchronizes with the other core (it
    // must come after the stores that queued its task), and Rust's `nomem` promises none.
    unsafe {
        core::arch::asm!(
            "wrmsr",
            in("ecx") msr,
            in("eax") value as u32,
            in("edx") (value >> 32) as u32,
            options(nostack)
        )
    };
}
