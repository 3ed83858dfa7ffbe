//! The local APIC in x2APIC mode: timer (TSC deadline), inter-processor interrupts, EOI.
//!
//! A core enables its APIC the first time it needs to be woken or interrupted; a core that
//! runs one task and never sleeps never touches it, so it takes no interrupts at all.

use core::sync::atomic::Ordering;

use super::msr;
use super::percore::{block_of, percore};

/// Vector of the wake-up / reschedule IPI (the original's 121).
pub const WAKEUP_VECTOR: u8 = 121;
/// Vector of the APIC timer (the original's 123).
pub const TIMER_VECTOR: u8 = 123;
/// Spurious-interrupt vector.
pub const SPURIOUS_VECTOR: u8 = 127;

/// Puts this core's local APIC into x2APIC mode with the timer in TSC-deadline mode.
pub fn enable() {
    let block = percore();
    if block.apic_ready.load(Ordering::Relaxed) != 0 {
        return;
    }
    let base = msr::read(msr::APIC_BASE);
    // SAFETY: enabling x2APIC (bits 10 and 11) from the enabled xAPIC state, software-enabling
    // the APIC with our spurious vector, and unmasking the timer in TSC-deadline mode.
    unsafe {
        msr::write(msr::APIC_BASE, base | (1 << 10) | (1 << 11));
        msr::write(msr::X2APIC_SVR, 0x100 | u64::from(SPURIOUS_VECTOR));
        msr::write(msr::X2APIC_LVT_TIMER, u64::from(TIMER_VECTOR) | (2 << 17));
    }
    block.apic_ready.store(1, Ordering::Release);
}

/// Arms this core's timer to fire at TSC value `deadline` (0 disarms it).
pub fn set_deadline(deadline: u64) {
    enable();
    // SAFETY: writing the TSC deadline only schedules (or cancels) the timer interrupt.
    unsafe { msr::write(msr::TSC_DEADLINE, deadline) };
}

/// Sends the wake-up IPI to core `id` (x2APIC id = vCPU id under KVM).
pub fn wake(id: u32) {
    enable();
    let target = block_of(id as usize);
    if target.apic_ready.load(Ordering::Acquire) == 0 {
        // The target has not enabled its APIC, so it is not halted: it polls its queue.
        return;
    }
    send_ipi(id, WAKEUP_VECTOR);
}

/// Sends a fixed interrupt with `vector` to core `id`, whose APIC must be up.
pub fn send_ipi(id: u32, vector: u8) {
    // SAFETY: a fixed-delivery IPI with one of our vectors to an existing core.
    unsafe { msr::write(msr::X2APIC_ICR, (u64::from(id) << 32) | u64::from(vector)) };
}
