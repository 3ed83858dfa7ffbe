//! TLB shootdown: after a present translation changes, every core drops it.
//!
//! `invlpg` is privileged: at CPL 3 it raises #GP and the trampoline performs it for the
//! interrupted code. Other cores get the shootdown IPI, whose trampoline invalidates the
//! published address and acknowledges the generation in its per-core block; the initiator
//! waits for every core whose local APIC is up (all cores enable theirs at boot).

use core::sync::atomic::{AtomicU64, Ordering};

use super::apic;
use super::percore::{block_of, core_id};
use crate::config::MAX_CORES;
use crate::synch::SpinLock;

/// The address being invalidated (read by the IPI trampoline).
pub(super) static HERMIT_TLB_ADDRESS: AtomicU64 = AtomicU64::new(0);
/// Generation of the current shootdown (read by the IPI trampoline, which stores it into
/// its core's `tlb_generation` once done).
pub(super) static HERMIT_TLB_GENERATION: AtomicU64 = AtomicU64::new(0);

/// One shootdown at a time.
static SHOOTDOWN: SpinLock<()> = SpinLock::new(());

/// Invalidates this core's translation of `addr`.
fn invalidate_local(addr: u64) {
    // SAFETY: `invlpg` only drops cached translations; at CPL 3 the trampoline performs it.
    unsafe { core::arch::asm!("invlpg [rax]", in("rax") addr, options(nostack, preserves_flags)) };
}

/// Makes every core drop its translation of `addr` (any page size), after its page-table
/// entry changed.
pub fn shootdown(addr: u64) {
    let cores = super::header().possible_cpus.clamp(1, MAX_CORES as u32);
    let _one = SHOOTDOWN.lock();
    HERMIT_TLB_ADDRESS.store(addr, Ordering::Relaxed);
    let generation = HERMIT_TLB_GENERATION.fetch_add(1, Ordering::Release) + 1;
    invalidate_local(addr);
    let me = core_id();
    let others = || (0..cores).filter(move |&id| id != me);
    let targets = |id: &u32| block_of(*id as usize).apic_ready.load(Ordering::Acquire) != 0;
    for id in others().filter(targets) {
        apic::send_ipi(id, apic::TLB_VECTOR);
    }
    for id in others().filter(targets) {
        while block_of(id as usize).tlb_generation.load(Ordering::Acquire) < generation {
            core::hint::spin_loop();
        }
    }
}
