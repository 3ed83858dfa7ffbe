//! Secondary cores: the first core gives each its stacks before the loader starts it.

use core::sync::atomic::Ordering;

use super::fault::FaultFrame;
use super::gdt::TSS;
use super::percore::block_of;
use crate::config::{BOOT_STACK_SIZE, FAULT_STACK_SIZE, HYPERCALL_AREA_SIZE, IST_STACK_SIZE, PAGE_SIZE};
use crate::errno::{Result, ENOMEM};

/// Allocates and records core `id`'s boot, interrupt and fault stacks, fault frame and
/// hypercall area. Runs on the first core before `cpu_online` lets core `id` start.
pub fn prepare_secondary(id: usize) -> Result<()> {
    let stacks = (BOOT_STACK_SIZE + 3 * IST_STACK_SIZE + FAULT_STACK_SIZE) as u64;
    let base = crate::mm::alloc_frames(stacks, PAGE_SIZE as u64)?;
    let boot_top = base + BOOT_STACK_SIZE as u64;
    let ist1 = boot_top + IST_STACK_SIZE as u64;
    let ist2 = ist1 + IST_STACK_SIZE as u64;
    let ist3 = ist2 + IST_STACK_SIZE as u64;
    let fault_top = ist3 + FAULT_STACK_SIZE as u64;
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
