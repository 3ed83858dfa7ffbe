//! Every core's boot (later idle), interrupt and fault stacks, between guard pages: the first
//! core allocates them for all cores before the loader starts the others, moves its own
//! interrupt and fault stacks there at once and its idle loop when boot is done.
//!
//! The first core boots on static stacks in the image; those get no guard pages, because
//! unmapping a page inside the image would split its 2 MiB mapping, and on PVM hosts every
//! 4 KiB page of it would then cost a shadow-paging fault (an exit) at first touch.

use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, Ordering};

use alloc::vec::Vec;

use super::fault::FaultFrame;
use super::gdt::TSS;
use super::percore::block_of;
use crate::config::{
    BOOT_STACK_SIZE, FAULT_STACK_SIZE, HYPERCALL_AREA_SIZE, IST_STACK_SIZE, LARGE_PAGE_SIZE, PAGE_SIZE,
};
use crate::errno::{Result, ENOMEM};

/// A core's stacks from the bottom up: size and name. Each has an unmapped guard
/// page below it, and the last one a guard page above it too.
const CORE_STACKS: [(usize, &str); 5] = [
    (BOOT_STACK_SIZE, "boot"),
    (IST_STACK_SIZE, "exception"),
    (IST_STACK_SIZE, "NMI/double-fault"),
    (IST_STACK_SIZE, "interrupt"),
    (FAULT_STACK_SIZE, "fault-report"),
];

/// Bytes of one core's stacks with their six guard pages.
const CORE_BLOCK: usize = {
    let mut bytes = PAGE_SIZE;
    let mut i = 0;
    while i < CORE_STACKS.len() {
        bytes += CORE_STACKS[i].0 + PAGE_SIZE;
        i += 1;
    }
    bytes
};

/// Where the cores' stack blocks start (core 0's), and how many there are.
static BLOCKS_BASE: AtomicU64 = AtomicU64::new(0);
static BLOCKS: AtomicU64 = AtomicU64::new(0);

/// Offsets of the guard pages in a core's block, with the stack each guard belongs to.
fn block_guards() -> [(usize, &'static str); 6] {
    let mut guards = [(0, ""); 6];
    let mut at = 0;
    for (i, (size, name)) in CORE_STACKS.iter().enumerate() {
        guards[i] = (at, name);
        at += PAGE_SIZE + size;
    }
    guards[5] = (at, CORE_STACKS[4].1);
    guards
}

/// Allocates the stacks of cores `0..cores` with their guard pages and hands them out; the
/// first core's interrupt and fault stacks take effect at once, its boot stack with
/// [`continue_on_boot_stack`]. Runs on the first core before any other core starts.
pub fn prepare_stacks(cores: usize) -> Result<()> {
    let bytes = ((cores * CORE_BLOCK) as u64).next_multiple_of(LARGE_PAGE_SIZE as u64);
    let base = crate::mm::alloc_frames(bytes, LARGE_PAGE_SIZE as u64)?;
    let guards = block_guards();
    let holes: Vec<u64> = (0..cores as u64)
        .flat_map(|k| guards.iter().map(move |(off, _)| base + k * CORE_BLOCK as u64 + *off as u64))
        .collect();
    crate::arch::punch_guard_pages(&holes, &mut crate::mm::alloc_table)?;
    BLOCKS_BASE.store(base, Ordering::Relaxed);
    BLOCKS.store(cores as u64, Ordering::Relaxed);
    for id in 0..cores {
        prepare_core(id, base + (id * CORE_BLOCK) as u64)?;
    }
    Ok(())
}

/// Which core stack's guard page `addr` lies in: `(core, stack name)`.
pub fn core_stack_guard(addr: u64) -> Option<(usize, &'static str)> {
    let offset = addr.checked_sub(BLOCKS_BASE.load(Ordering::Relaxed))?;
    let core = (offset / CORE_BLOCK as u64) as usize;
    if core >= BLOCKS.load(Ordering::Relaxed) as usize {
        return None;
    }
    let within = (offset % CORE_BLOCK as u64) as usize;
    block_guards().iter().find(|(off, _)| (*off..*off + PAGE_SIZE).contains(&within)).map(|(_, name)| (core, *name))
}

extern "C" {
    fn hermit_call_on_stack(top: u64, entry: extern "C" fn() -> !) -> !;
}

global_asm!(
    r#"
    .section .text.hermit_call_on_stack, "ax", @progbits
hermit_call_on_stack:
    mov rsp, rdi
    xor ebp, ebp
    call rsi
    ud2
"#
);

/// Continues the first core in `entry` (its idle loop) on the boot stack [`prepare_stacks`]
/// gave it; the static boot stack is abandoned.
pub fn continue_on_boot_stack(entry: extern "C" fn() -> !) -> ! {
    let top = block_of(0).boot_stack_top.load(Ordering::Relaxed);
    // SAFETY: `top` is the 16-byte-aligned top of core 0's fresh, mapped boot stack, which
    // nothing else uses; `entry` never returns, so nothing on the old stack is needed again.
    unsafe { hermit_call_on_stack(top, entry) }
}

/// Records core `id`'s boot, interrupt and fault stacks (laid out from `block` as
/// [`CORE_STACKS`]), and for the other cores their fault frame and hypercall area.
fn prepare_core(id: usize, block: u64) -> Result<()> {
    // Each stack's top is the guard page of the next one up.
    let guards = block_guards();
    let top = |i: usize| block + guards[i + 1].0 as u64;
    let [boot_top, ist1, ist2, ist3, fault_top] = [top(0), top(1), top(2), top(3), top(4)];
    // SAFETY: core `id` has not started, or is this core (0), whose exception and interrupt
    // entries read the IST pointers only when they happen; each is one 8-byte store inside
    // a cache line, so an entry sees the old stack or the new one, both valid and unused.
    unsafe {
        let tss = core::ptr::addr_of_mut!(TSS[id].0);
        core::ptr::addr_of_mut!((*tss).ist1).write_unaligned(ist1);
        core::ptr::addr_of_mut!((*tss).ist2).write_unaligned(ist2);
        core::ptr::addr_of_mut!((*tss).ist3).write_unaligned(ist3);
    }
    let block = block_of(id);
    block.boot_stack_top.store(boot_top, Ordering::Relaxed);
    block.fault_stack_top.store(fault_top, Ordering::Relaxed);
    if id == 0 {
        return Ok(());
    }
    let frame = alloc::boxed::Box::leak(alloc::boxed::Box::new(FaultFrame::zeroed())) as *mut FaultFrame as u64;
    let layout = core::alloc::Layout::from_size_align(HYPERCALL_AREA_SIZE, 64).map_err(|_| ENOMEM)?;
    // SAFETY: a non-zero-sized layout; the area is owned by core `id` for the rest of the run.
    // It comes from the kernel heap below the image, so its address fits the 32-bit port value.
    let area = unsafe { alloc::alloc::alloc_zeroed(layout) };
    if area.is_null() {
        return Err(ENOMEM);
    }
    block.fault_frame.store(frame, Ordering::Relaxed);
    block.hypercall_area.store(area as u64, Ordering::Relaxed);
    Ok(())
}
