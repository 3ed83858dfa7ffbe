//! Secondary cores: the first core gives each its stacks before the loader starts it; guard
//! pages around every core's boot, interrupt and fault stacks.

use core::sync::atomic::{AtomicU64, Ordering};

use alloc::vec::Vec;

use super::fault::FaultFrame;
use super::gdt::TSS;
use super::percore::block_of;
use crate::config::{
    BOOT_STACK_SIZE, FAULT_STACK_SIZE, HYPERCALL_AREA_SIZE, IST_STACK_SIZE, LARGE_PAGE_SIZE, PAGE_SIZE,
};
use crate::errno::{Result, ENOMEM};

/// A secondary core's stacks from the bottom up: size and name. Each has an unmapped guard
/// page below it, and the last one a guard page above it too.
const CORE_STACKS: [(usize, &str); 5] = [
    (BOOT_STACK_SIZE, "boot"),
    (IST_STACK_SIZE, "exception"),
    (IST_STACK_SIZE, "NMI/double-fault"),
    (IST_STACK_SIZE, "interrupt"),
    (FAULT_STACK_SIZE, "fault-report"),
];

/// Bytes of one secondary core's stacks with their six guard pages.
const CORE_BLOCK: usize = {
    let mut bytes = PAGE_SIZE;
    let mut i = 0;
    while i < CORE_STACKS.len() {
        bytes += CORE_STACKS[i].0 + PAGE_SIZE;
        i += 1;
    }
    bytes
};

/// Where the secondary cores' stack blocks start (core 1's), and how many there are.
static SECONDARY_BASE: AtomicU64 = AtomicU64::new(0);
static SECONDARY_COUNT: AtomicU64 = AtomicU64::new(0);

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

/// Unmaps the guard pads of the first core's static stacks, and allocates the stacks of cores
/// `1..cores` with their guard pages and hands them out. Runs on the first core before any
/// other core starts.
pub fn prepare_stacks(cores: usize) -> Result<()> {
    let statics: Vec<u64> = super::entry::static_guards(super::fault::bsp_fault_stack()).iter().map(|g| g.0).collect();
    crate::arch::punch_guard_pages(&statics, &mut crate::mm::alloc_table)?;
    let count = cores.saturating_sub(1);
    if count == 0 {
        return Ok(());
    }
    let bytes = ((count * CORE_BLOCK) as u64).next_multiple_of(LARGE_PAGE_SIZE as u64);
    let base = crate::mm::alloc_frames(bytes, LARGE_PAGE_SIZE as u64)?;
    let guards = block_guards();
    let holes: Vec<u64> = (0..count as u64)
        .flat_map(|k| guards.iter().map(move |(off, _)| base + k * CORE_BLOCK as u64 + *off as u64))
        .collect();
    crate::arch::punch_guard_pages(&holes, &mut crate::mm::alloc_table)?;
    SECONDARY_BASE.store(base, Ordering::Relaxed);
    SECONDARY_COUNT.store(count as u64, Ordering::Relaxed);
    for id in 1..cores {
        prepare_secondary(id, base + ((id - 1) * CORE_BLOCK) as u64)?;
    }
    Ok(())
}

/// Which core stack's guard page `addr` lies in: `(core, stack name)`.
pub fn core_stack_guard(addr: u64) -> Option<(usize, &'static str)> {
    let page = addr & !(PAGE_SIZE as u64 - 1);
    let statics = super::entry::static_guards(super::fault::bsp_fault_stack());
    if let Some((_, name)) = statics.iter().find(|(g, _)| *g == page) {
        return Some((0, name));
    }
    let base = SECONDARY_BASE.load(Ordering::Relaxed);
    let offset = page.checked_sub(base)?;
    let core = (offset / CORE_BLOCK as u64) as usize;
    if core >= SECONDARY_COUNT.load(Ordering::Relaxed) as usize {
        return None;
    }
    let within = (offset % CORE_BLOCK as u64) as usize;
    block_guards().iter().find(|(off, _)| *off == within).map(|(_, name)| (core + 1, *name))
}

/// Records core `id`'s boot, interrupt and fault stacks (laid out from `block` as
/// [`CORE_STACKS`]), fault frame and hypercall area.
fn prepare_secondary(id: usize, block: u64) -> Result<()> {
    let mut tops = [0u64; 5];
    let mut at = block;
    for (top, (size, _)) in tops.iter_mut().zip(CORE_STACKS) {
        at += (PAGE_SIZE + size) as u64;
        *top = at;
    }
    let [boot_top, ist1, ist2, ist3, fault_top] = tops;
    let frame = alloc::boxed::Box::leak(alloc::boxed::Box::new(FaultFrame::zeroed())) as *mut FaultFrame as u64;
    let layout = core::alloc::Layout::from_size_align(HYPERCALL_AREA_SIZE, 64).map_err(|_| ENOMEM)?;
    // SAFETY: a non-zero-sized layout; the area is owned by core `id` for the rest of the run.
    // It comes from the kernel heap below the image, so its address fits the 32-bit port value.
    let area = unsafe { alloc::alloc::alloc_zeroed(layout) };
    if area.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: core `id` has not started, so nothing else touches its TSS.
    unsafe {
        let tss = core::ptr::addr_of_mut!(TSS[id].0);
        core::ptr::addr_of_mut!((*tss).ist1).write_unaligned(ist1);
        core::ptr::addr_of_mut!((*tss).ist2).write_unaligned(ist2);
        core::ptr::addr_of_mut!((*tss).ist3).write_unaligned(ist3);
    }
    let block = block_of(id);
    block.boot_stack_top.store(boot_top, Ordering::Relaxed);
    block.fault_stack_top.store(fault_top, Ordering::Relaxed);
    block.fault_frame.store(frame, Ordering::Relaxed);
    block.hypercall_area.store(area as u64, Ordering::Relaxed);
    Ok(())
}
