//! Per-core data, reached through the GS base that the CPL-0 entry sets.
//!
//! Core `i`'s block is at `percore_start + i * 128`, inside the `.percore` area the linker
//! script reserves for 512 cores (`libhermit-abi.md` §6.2). The CPL-0 trampolines address
//! fields with `gs:[offset]`; Rust code goes through [`percore`].

use core::mem::size_of;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::config::MAX_CORES;

extern "C" {
    static percore_start: u8;
    static percore_end: u8;
}

/// log2 of the distance between two cores' blocks.
pub const PERCORE_SHIFT: u32 = 7;

/// The per-core block. The CPL-0 trampolines use the fields up to `hypercall_area` by offset.
#[repr(C, align(64))]
pub struct PerCore {
    /// Address of this block (so that `gs:[0]` yields a pointer).
    pub self_ptr: AtomicU64,
    /// This core's number.
    pub core_id: AtomicU32,
    /// Non-zero while this core reports a fault; a second fault then ends the guest.
    pub in_fault: AtomicU32,
    /// The running task (`*mut Task`).
    pub current_task: AtomicU64,
    /// Scratch slot of the CPL-0 trampolines.
    pub scratch: AtomicU64,
    /// Where the trampolines save the registers of a faulting context.
    pub fault_frame: AtomicU64,
    /// Stack pointer for the CPL-3 fault reporter.
    pub fault_stack_top: AtomicU64,
    /// Initial stack of a secondary core at CPL 3.
    pub boot_stack_top: AtomicU64,
    /// Hypercall argument area of this core (below 4 GiB, see `drivers::hypercall`).
    pub hypercall_area: AtomicU64,
    /// Number of unexpected interrupts seen (diagnostics).
    pub spurious: AtomicU64,
    /// Non-zero while kernel code on this core must not be preempted.
    pub preempt_count: AtomicU32,
    /// Set by the interrupt trampoline when it could not preempt; checked when the count
    /// drops to zero.
    pub preempt_pending: AtomicU32,
    /// Set by whoever gives this core work; the `hlt` trampoline does not halt while set.
    pub wake_pending: AtomicU32,
    /// Non-zero once this core's local APIC is in x2APIC mode.
    pub apic_ready: AtomicU32,
    /// This core's scheduler (`*const scheduler::CoreSched`).
    pub sched: AtomicU64,
    /// Interrupts this core took (timer and IPIs, not spurious ones); counted by the
    /// trampoline, reported at exit in the kernel log.
    pub interrupts: AtomicU64,
    /// The TLB generation this core has flushed up to (`tlb.rs`).
    pub tlb_generation: AtomicU64,
    /// Set by the trampoline when the NIC's receive interrupt (vector 0x2B) arrived;
    /// cleared by the scheduler, which then wakes the network's waiters.
    pub net_irq: AtomicU32,
    reserved: [u32; 1],
}

const _: () = assert!(size_of::<PerCore>() == 1 << PERCORE_SHIFT);

/// The block of core `id`.
///
/// # Panics
/// If `id` is not below [`MAX_CORES`] or the linker script reserved too little room.
pub fn block_of(id: usize) -> &'static PerCore {
    assert!(id < MAX_CORES);
    let (start, end) = (core::ptr::addr_of!(percore_start) as usize, core::ptr::addr_of!(percore_end) as usize);
    assert!(end - start >= MAX_CORES << PERCORE_SHIFT, "linker script reserves too little .percore");
    let ptr = (start + (id << PERCORE_SHIFT)) as *const PerCore;
    // SAFETY: the area is inside the image, aligned to 64 (linker script) and zero-initialised
    // by the loader, which is a valid `PerCore` (all fields are atomics or integers).
    unsafe { &*ptr }
}

/// Initialises core `id`'s block before the core uses it.
pub fn init_block(id: usize) -> &'static PerCore {
    let block = block_of(id);
    block.self_ptr.store(block as *const PerCore as u64, Ordering::Relaxed);
    block.core_id.store(id as u32, Ordering::Relaxed);
    block
}

/// This core's block.
#[inline(always)]
pub fn percore() -> &'static PerCore {
    let ptr: *const PerCore;
    // SAFETY: `gs:[0]` holds `self_ptr`, written by `init_block` before the core's first use;
    // the GS base is set by the CPL-0 entry and never changed.
    unsafe {
        core::arch::asm!("mov {}, gs:[0]", out(reg) ptr, options(nostack, readonly, preserves_flags, pure));
        &*ptr
    }
}

/// This core's number.
#[inline(always)]
pub fn core_id() -> u32 {
    percore().core_id.load(Ordering::Relaxed)
}

/// The running task of this core, as stored by [`set_current_task`].
#[inline(always)]
pub fn current_task() -> u64 {
    percore().current_task.load(Ordering::Relaxed)
}

/// Records the running task of this core.
#[inline(always)]
pub fn set_current_task(task: u64) {
    percore().current_task.store(task, Ordering::Relaxed);
}

/// Forbids preemption of this core until the matching [`preempt_enable`].
#[inline(always)]
pub fn preempt_disable() {
    // SAFETY: one non-locked add to this core's own counter: atomic with respect to the
    // interrupts of this core, which are the only other readers. The add writes the flags:
    // declaring `preserves_flags` let the compiler keep a comparison's result in them across
    // it, and a branch then went by the add's flags instead (a datagram socket's `FIONREAD`,
    // whose type was compared before its lock was taken, answered as a stream's).
    unsafe {
        core::arch::asm!(
            "add dword ptr gs:[{off}], 1",
            off = const core::mem::offset_of!(PerCore, preempt_count),
            options(nostack)
        )
    };
}

/// Allows preemption again; runs a preemption that arrived meanwhile.
#[inline(always)]
pub fn preempt_enable() {
    if preempt_enable_deferred() {
        crate::scheduler::preempted();
    }
}

/// Allows preemption again without running a preemption that arrived meanwhile: true if
/// one is due now (the count reached 0 and an interrupt asked for it), for the caller to run.
#[inline(always)]
pub fn preempt_enable_deferred() -> bool {
    let zero: u8;
    // SAFETY: as in `preempt_disable`.
    unsafe {
        core::arch::asm!(
            "sub dword ptr gs:[{off}], 1",
            "setz {zero}",
            off = const core::mem::offset_of!(PerCore, preempt_count),
            zero = out(reg_byte) zero,
            options(nostack)
        )
    };
    zero != 0 && percore().preempt_pending.load(Ordering::Relaxed) != 0
}
