//! The local APIC in x2APIC mode: timer (TSC deadline), inter-processor interrupts, EOI.
//!
//! Every core enables its APIC at boot, so that a peer can always interrupt it; this
//! project's loader has usually done that already ([`hermit_interface::apic`]). A core that
//! runs one task and never sleeps still takes no interrupts at all.

use core::sync::atomic::Ordering;

use super::msr;
use super::percore::{block_of, percore};

use hermit_interface::apic::{APIC_BASE_X2APIC_ENABLED, LVT_TIMER, SVR};
pub use hermit_interface::apic::{SPURIOUS_VECTOR, WAKEUP_VECTOR};
use hermit_interface::header::FEATURE_APIC_PREPARED;

/// Puts this core's local APIC into x2APIC mode with the timer in TSC-deadline mode, unless
/// the loader already did (four trampoline trips saved per core).
pub fn enable() {
    let block = percore();
    if block.apic_ready.load(Ordering::Relaxed) != 0 {
        return;
    }
    if !crate::drivers::hypercall::has_feature(FEATURE_APIC_PREPARED) {
        let base = msr::read(msr::APIC_BASE);
        // SAFETY: enabling x2APIC (bits 10 and 11) from the enabled xAPIC state, software-enabling
        // the APIC with our spurious vector, and unmasking the timer in TSC-deadline mode.
        unsafe {
            msr::write(msr::APIC_BASE, base | APIC_BASE_X2APIC_ENABLED);
            msr::write(msr::X2APIC_SVR, SVR);
            msr::write(msr::X2APIC_LVT_TIMER, LVT_TIMER);
        }
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
