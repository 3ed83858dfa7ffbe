//! `malloc` and friends for newlib (configured with `MALLOC_PROVIDED`), on `mm::malloc`.
//!
//! The `_r` variants take newlib's reent pointer, which is always the calling thread's
//! (`__DYNAMIC_REENT__`); errors go to its `errno` like every other error of this module.
//! Prototypes are newlib's `<stdlib.h>` and `<malloc.h>`.

use core::ffi::{c_int, c_void};
use core::fmt::Write;
use core::ptr::{null_mut, NonNull};

use crate::errno::{Errno, EINVAL, ENOMEM};
use crate::libc::set_errno;
use crate::mm::malloc;

/// Page size for `valloc` and `pvalloc`.
const PAGE: usize = crate::config::PAGE_SIZE;

/// The pointer, or null with `errno` set to `errno`.
fn or_errno(block: Option<NonNull<u8>>, errno: Errno) -> *mut c_void {
    match block {
        Some(block) => block.as_ptr().cast(),
        None => {
            set_errno(errno);
            null_mut()
        }
    }
}

/// Allocates `size` bytes aligned to 16; `malloc(0)` returns a unique pointer.
#[no_mangle]
pub extern "C" fn malloc(size: usize) -> *mut c_void {
    or_errno(malloc::allocate(size), ENOMEM)
}

/// Frees a block from any of these functions; null is ignored. A pointer that did not come
/// from them, or a second free, ends the program with status 134 and a message.
///
/// # Safety
/// `ptr` null or a live block.
#[no_mangle]
pub unsafe extern "C" fn free(ptr: *mut c_void) {
    if let Some(block) = NonNull::new(ptr.cast()) {
        // SAFETY: by the caller's contract.
        unsafe { malloc::release(block) };
    }
}

/// Allocates `count * size` zeroed bytes; `ENOMEM` on overflow.
#[no_mangle]
pub extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
    let Some(bytes) = count.checked_mul(size) else { return or_errno(None, ENOMEM) };
    let block = malloc::allocate(bytes);
    if let Some(block) = block {
        // SAFETY: a fresh block of at least `bytes` bytes.
        unsafe { block.as_ptr().write_bytes(0, bytes) };
    }
    or_errno(block, ENOMEM)
}

/// Resizes a block. `realloc(NULL, n)` is `malloc(n)`; `realloc(p, 0)` frees `p` and returns
/// NULL (as glibc). On failure the old block is left alone.
///
/// # Safety
/// `ptr` null or a live block, not used after a successful call.
#[no_mangle]
pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    let Some(block) = NonNull::new(ptr.cast()) else { return malloc(size) };
    if size == 0 {
        // SAFETY: by the caller's contract.
        unsafe { malloc::release(block) };
        return null_mut();
    }
    // SAFETY: by the caller's contract.
    or_errno(unsafe { malloc::reallocate(block, size) }, ENOMEM)
}

/// Allocates `size` bytes aligned to `align`, rounded up to a power of two (as glibc).
#[no_mangle]
pub extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    let Some(align) = align.checked_next_power_of_two() else { return or_errno(None, EINVAL) };
    or_errno(malloc::allocate_aligned(align, size), ENOMEM)
}

/// Stores in `*out` a block of `size` bytes aligned to `align`, a power of two and a
/// multiple of `sizeof(void *)`. 0, `EINVAL` or `ENOMEM` (errno is left alone).
///
/// # Safety
/// `out` must be valid for writes.
#[no_mangle]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> c_int {
    if !align.is_power_of_two() || align < core::mem::size_of::<usize>() || out.is_null() {
        return EINVAL.0;
    }
    match malloc::allocate_aligned(align, size) {
        Some(block) => {
            // SAFETY: by the caller's contract.
            unsafe { out.write(block.as_ptr().cast()) };
            0
        }
        None => ENOMEM.0,
    }
}

/// `memalign(page size, size)`.
#[no_mangle]
pub extern "C" fn valloc(size: usize) -> *mut c_void {
    memalign(PAGE, size)
}

/// `memalign(page size, size rounded up to whole pages)`.
#[no_mangle]
pub extern "C" fn pvalloc(size: usize) -> *mut c_void {
    match size.checked_next_multiple_of(PAGE) {
        Some(size) => memalign(PAGE, size),
        None => or_errno(None, ENOMEM),
    }
}

/// Usable bytes of a block (0 for NULL).
///
/// # Safety
/// `ptr` null or a live block.
#[no_mangle]
pub unsafe extern "C" fn malloc_usable_size(ptr: *mut c_void) -> usize {
    // SAFETY: by the caller's contract.
    NonNull::new(ptr.cast()).map_or(0, |block| unsafe { malloc::usable_size(block) })
}

/// newlib's `struct mallinfo`.
#[repr(C)]
#[allow(non_camel_case_types, reason = "the C name")]
pub struct mallinfo {
    /// Bytes taken from the program break.
    pub arena: usize,
    /// Free chunks (not tracked: 0).
    pub ordblks: usize,
    /// Unused: 0.
    pub smblks: usize,
    /// Memory-mapped regions: 0.
    pub hblks: usize,
    /// Bytes in memory-mapped regions: 0.
    pub hblkhd: usize,
    /// Unused: 0.
    pub usmblks: usize,
    /// Unused: 0.
    pub fsmblks: usize,
    /// Bytes in live blocks.
    pub uordblks: usize,
    /// Bytes taken but not in live blocks.
    pub fordblks: usize,
    /// Releasable bytes (nothing is released: 0).
    pub keepcost: usize,
}

/// Allocation totals.
#[no_mangle]
pub extern "C" fn mallinfo() -> mallinfo {
    let stats = malloc::stats();
    mallinfo {
        arena: stats.system,
        ordblks: 0,
        smblks: 0,
        hblks: 0,
        hblkhd: 0,
        usmblks: 0,
        fsmblks: 0,
        uordblks: stats.in_use,
        fordblks: stats.system.saturating_sub(stats.in_use),
        keepcost: 0,
    }
}

/// Prints the totals on stderr, in newlib's format.
#[no_mangle]
pub extern "C" fn malloc_stats() {
    let stats = malloc::stats();
    let mut text = crate::fmt::StackWriter::<160>::new();
    let _ = write!(
        text,
        "max system bytes = {:10}\nsystem bytes     = {:10}\nin use bytes     = {:10}\n",
        stats.system, stats.system, stats.in_use
    );
    let _ = crate::fs::host::write(2, text.as_bytes());
}

/// Accepts newlib's tuning parameters (`M_TRIM_THRESHOLD`, `M_TOP_PAD`, `M_MMAP_THRESHOLD`,
/// `M_MMAP_MAX`) and ignores them: 1; 0 for others.
#[no_mangle]
pub extern "C" fn mallopt(param: c_int, value: c_int) -> c_int {
    let _ = value;
    c_int::from((-4..=-1).contains(&param))
}

/// Memory is never given back to the kernel: 0.
#[no_mangle]
pub extern "C" fn malloc_trim(pad: usize) -> c_int {
    let _ = pad;
    0
}

/// newlib's reentrant names, which the rest of newlib calls.
mod reentrant {
    use super::*;

    #[no_mangle]
    pub extern "C" fn _malloc_r(_reent: *mut c_void, size: usize) -> *mut c_void {
        malloc(size)
    }

    /// # Safety
    /// As `free`.
    #[no_mangle]
    pub unsafe extern "C" fn _free_r(_reent: *mut c_void, ptr: *mut c_void) {
        // SAFETY: forwarded.
        unsafe { free(ptr) }
    }

    #[no_mangle]
    pub extern "C" fn _calloc_r(_reent: *mut c_void, count: usize, size: usize) -> *mut c_void {
        calloc(count, size)
    }

    /// # Safety
    /// As `realloc`.
    #[no_mangle]
    pub unsafe extern "C" fn _realloc_r(_reent: *mut c_void, ptr: *mut c_void, size: usize) -> *mut c_void {
        // SAFETY: forwarded.
        unsafe { realloc(ptr, size) }
    }

    #[no_mangle]
    pub extern "C" fn _memalign_r(_reent: *mut c_void, align: usize, size: usize) -> *mut c_void {
        memalign(align, size)
    }

    #[no_mangle]
    pub extern "C" fn _valloc_r(_reent: *mut c_void, size: usize) -> *mut c_void {
        valloc(size)
    }

    #[no_mangle]
    pub extern "C" fn _pvalloc_r(_reent: *mut c_void, size: usize) -> *mut c_void {
        pvalloc(size)
    }

    /// # Safety
    /// As `malloc_usable_size`.
    #[no_mangle]
    pub unsafe extern "C" fn _malloc_usable_size_r(_reent: *mut c_void, ptr: *mut c_void) -> usize {
        // SAFETY: forwarded.
        unsafe { malloc_usable_size(ptr) }
    }

    #[no_mangle]
    pub extern "C" fn _mallinfo_r(_reent: *mut c_void) -> mallinfo {
        mallinfo()
    }

    #[no_mangle]
    pub extern "C" fn _malloc_stats_r(_reent: *mut c_void) {
        malloc_stats()
    }

    #[no_mangle]
    pub extern "C" fn _mallopt_r(_reent: *mut c_void, param: c_int, value: c_int) -> c_int {
        mallopt(param, value)
    }

    #[no_mangle]
    pub extern "C" fn _malloc_trim_r(_reent: *mut c_void, pad: usize) -> c_int {
        malloc_trim(pad)
    }
}
