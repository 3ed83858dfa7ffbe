//! Creation of a task's TLS block from the image's TLS template (linker symbols).

use alloc::alloc::{alloc_zeroed, dealloc};
use core::alloc::Layout;

use crate::errno::{Result, ENOMEM};
use crate::mm::tls::{tls_layout, CANARY_OFFSET};

extern "C" {
    static tls_start: u8;
    static tdata_end: u8;
    static tls_end: u8;
    /// Absolute symbol whose address is the TLS segment's alignment.
    static __tls_align: u8;
}

/// A task's TLS block: `.tdata` copied, `.tbss` zeroed, TCB above.
pub struct TlsBlock {
    base: *mut u8,
    layout: Layout,
    tp: u64,
}

// SAFETY: the block is plain memory owned by one task.
unsafe impl Send for TlsBlock {}
// SAFETY: only the owning task uses the block through FS; the struct itself is immutable.
unsafe impl Sync for TlsBlock {}

impl TlsBlock {
    /// Allocates and initialises a block for a new task.
    pub fn new() -> Result<Self> {
        let start = core::ptr::addr_of!(tls_start) as u64;
        let tdata = core::ptr::addr_of!(tdata_end) as u64;
        let end = core::ptr::addr_of!(tls_end) as u64;
        let align = core::ptr::addr_of!(__tls_align) as u64;
        let shape = tls_layout(end - start, align);
        let layout = Layout::from_size_align(shape.size as usize, shape.align as usize).map_err(|_| ENOMEM)?;
        // SAFETY: the layout has a non-zero size (it always includes the TCB).
        let base = unsafe { alloc_zeroed(layout) };
        if base.is_null() {
            return Err(ENOMEM);
        }
        let tp = base as u64 + shape.tp;
        let data = tp - (shape.tp - shape.data);
        // SAFETY: `[tls_start, tdata_end)` is the initialised TLS template in the image and
        // `data..tp` is inside the fresh block; the ranges do not overlap.
        unsafe {
            core::ptr::copy_nonoverlapping(start as *const u8, data as *mut u8, (tdata - start) as usize);
            (tp as *mut u64).write(tp);
            ((tp + CANARY_OFFSET) as *mut u64).write(crate::arch::rdtsc().rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15);
        }
        Ok(Self { base, layout, tp })
    }

    /// The value for the FS base.
    pub fn thread_pointer(&self) -> u64 {
        self.tp
    }
}

impl Drop for TlsBlock {
    fn drop(&mut self) {
        // SAFETY: `base` was allocated with `layout` in `new`.
        unsafe { dealloc(self.base, self.layout) };
    }
}
