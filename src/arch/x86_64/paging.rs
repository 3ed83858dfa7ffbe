//! Changes to the identity mapping, made from CPL 3 (all page tables are user-accessible).
//!
//! The boot tables map the first GiB. [`identity_map_ram`] adds one page directory per
//! further GiB; each is filled before it is linked, so a shadow-paging host sees a single
//! write to a live table, and it only turns non-present entries present, which needs no TLB
//! flush. [`punch_guard_pages`] unmaps 4 KiB pages below stacks, which removes translations
//! a core may have cached (even speculatively): it is followed by a (lazy) TLB shootdown.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::errno::{Result, EINVAL};
use crate::mm::pagetable::{self, ENTRIES, LARGE, PRESENT};

extern "C" {
    static boot_pml4: u8;
}

const GIB: u64 = 1 << 30;

/// The boot PDPT (image + 0x2000).
fn pdpt() -> *mut u64 {
    // The PDPT follows the PML4 (entry.rs).
    (core::ptr::addr_of!(boot_pml4) as u64 + 0x1000) as *mut u64
}

/// Maps guest RAM `[1 GiB, ram_end)` with 2 MiB pages; `alloc` returns zeroed 4 KiB frames.
/// Returns the end of the mapped RAM (clamped to the 512 GiB one PDPT covers).
pub fn identity_map_ram(ram_end: u64, alloc: &mut dyn FnMut() -> Result<u64>) -> Result<u64> {
    let end = ram_end.min(512 * GIB);
    let mut gib = 1;
    while gib * GIB < end {
        let pd = alloc()? as *mut u64;
        for i in 0..ENTRIES as u64 {
            let addr = gib * GIB + i * 0x20_0000;
            if addr >= end {
                break;
            }
            // SAFETY: `pd` is a fresh, exclusively owned 4 KiB frame of identity-mapped RAM.
            unsafe { pd.add(i as usize).write_volatile(pagetable::large(addr)) };
        }
        // SAFETY: the PDPT is the live boot table in the image; slot `gib` is empty, so
        // filling it cannot change a translation that is in use.
        unsafe { pdpt().add(gib as usize).write_volatile(pagetable::table(pd as u64)) };
        gib += 1;
    }
    Ok(end)
}

/// Maps the 2 MiB page of device registers at `addr` (below 4 GiB, above the RAM the boot
/// tables map) uncached, creating its page directory if the RAM does not reach there.
pub fn map_device(addr: u64, alloc: &mut dyn FnMut() -> Result<u64>) -> Result<()> {
    let gib = pagetable::pdpt_index(addr);
    if gib == 0 || gib >= 4 {
        return Err(EINVAL);
    }
    // SAFETY: reading the live boot PDPT entry.
    let pdpte = unsafe { pdpt().add(gib).read_volatile() };
    let pd = if pdpte & PRESENT == 0 {
        let pd = alloc()?;
        // SAFETY: the slot is empty, so linking a fresh zeroed directory changes no
        // translation in use.
        unsafe { pdpt().add(gib).write_volatile(pagetable::table(pd)) };
        pd as *mut u64
    } else {
        (pdpte & pagetable::ADDR_MASK) as *mut u64
    };
    // SAFETY: `pd` is a live page directory; the entry covers the device hole, which holds
    // no RAM and which nothing has accessed yet.
    unsafe { pd.add(pagetable::pd_index(addr)).write_volatile(pagetable::large(addr & !0x1f_ffff) | UNCACHED) };
    Ok(())
}

/// Page-level cache disable and write-through (PCD | PWT): uncached device memory.
const UNCACHED: u64 = 0x18;

/// Unmaps the 4 KiB pages at `holes` (page aligned), splitting each 2 MiB page they lie in
/// into 4 KiB pages if needed.
///
/// The caller guarantees that nothing uses the 2 MiB pages around the holes yet (fresh stack
/// memory): a split page costs a shadow-paging fault per 4 KiB page at first touch on PVM
/// hosts, so pages in use (the image's) are never split. Every core then drops its cached
/// translations of the changed entries.
pub fn punch_guard_pages(holes: &[u64], alloc: &mut dyn FnMut() -> Result<u64>) -> Result<()> {
    if holes.iter().any(|h| !h.is_multiple_of(0x1000)) {
        return Err(EINVAL);
    }
    for (i, hole) in holes.iter().enumerate() {
        let base = hole & !0x1f_ffff;
        if !holes[..i].iter().any(|h| h & !0x1f_ffff == base) {
            punch_in_large_page(base, holes, alloc)?;
        }
    }
    Ok(())
}

/// [`punch_guard_pages`] for those of `holes` that lie in the 2 MiB page at `base`.
fn punch_in_large_page(base: u64, holes: &[u64], alloc: &mut dyn FnMut() -> Result<u64>) -> Result<()> {
    // SAFETY: reading the live PDPT entry for the region.
    let pdpte = unsafe { pdpt().add(pagetable::pdpt_index(base)).read_volatile() };
    if pdpte & PRESENT == 0 || pdpte & LARGE != 0 {
        return Err(EINVAL);
    }
    let pd = (pdpte & pagetable::ADDR_MASK) as *mut u64;
    // SAFETY: `pd` is a live page directory (present, not a 1 GiB leaf).
    let pde_slot = unsafe { pd.add(pagetable::pd_index(base)) };
    // SAFETY: reading the entry.
    let pde = unsafe { pde_slot.read_volatile() };
    if pde & PRESENT == 0 {
        return Err(EINVAL);
    }
    if pde & LARGE == 0 {
        let pt = (pde & pagetable::ADDR_MASK) as *mut u64;
        for hole in holes.iter().filter(|h| *h & !0x1f_ffff == base) {
            // SAFETY: `pt` is a live page table, its entries are 8-byte aligned and only
            // changed atomically (by the processor setting accessed/dirty, or here); clearing
            // the entry of a page nothing uses.
            let old = unsafe { AtomicU64::from_ptr(pt.add(pagetable::pt_index(*hole))) }.swap(0, Ordering::SeqCst);
            forget_if_cached(old, *hole);
        }
        return Ok(());
    }
    let pt = alloc()? as *mut u64;
    for (i, entry) in pagetable::split_large(base, holes).iter().enumerate() {
        // SAFETY: `pt` is a fresh, exclusively owned frame.
        unsafe { pt.add(i).write_volatile(*entry) };
    }
    // SAFETY: as above for the PD entry; replacing a 2 MiB leaf by a table with the same
    // frames and flags, except for holes that nothing uses.
    let old = unsafe { AtomicU64::from_ptr(pde_slot) }.swap(pagetable::table(pt as u64), Ordering::SeqCst);
    forget_if_cached(old, base);
    Ok(())
}

/// Shoots down the translation of `addr` that the replaced leaf entry `old` gave, unless
/// its accessed bit shows that no core can have cached it: a processor sets the bit before
/// it caches a translation, even speculatively, and the swap that replaced the entry read
/// the bit atomically with the change. Fresh stack memory is mostly never touched yet, which
/// spares a trip through the trampoline per split page (tens of microseconds at boot).
fn forget_if_cached(old: u64, addr: u64) {
    if old & pagetable::ACCESSED != 0 {
        super::tlb::changed(addr);
    }
}
