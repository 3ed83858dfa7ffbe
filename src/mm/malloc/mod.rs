//! The C library's allocator (`malloc` and friends, exported by `syscalls::malloc`).
//!
//! newlib's allocator serialises every call on one lock; this one lets each core allocate and
//! free small blocks without any atomic instruction:
//! - requests up to [`SMALL_MAX`] are rounded up to a size class and served from
//!   the core's own free lists ([`cache`]), refilled from and drained to a shared pool per
//!   class in batches;
//! - bigger or over-aligned requests go to a general allocator ([`large`], talc) that grows
//!   the program break 2 MiB at a time.
//!
//! Every block is preceded by a 16-byte [`Header`] recording what it is, so `free` needs no
//! size and catches pointers it never handed out and double frees.

mod cache;
mod large;

use core::ptr::NonNull;

use super::classes::{self, class_of, SIZES, SMALL_MAX};

/// Bytes before every payload; payloads are 16-byte aligned.
const HEADER: usize = core::mem::size_of::<Header>();

/// Tags of a header (the low 16 bits hold the class of a small block).
const TAG_SMALL: u32 = 0x5a11_0000;
const TAG_FREE: u32 = 0xf4ee_0000;
const TAG_LARGE: u32 = 0x1a46_0000;
const TAG_MASK: u32 = 0xffff_0000;

/// The header in front of a payload.
#[repr(C)]
struct Header {
    /// Usable bytes of the payload.
    size: usize,
    /// `TAG_SMALL | class`, `TAG_FREE | class`, or `TAG_LARGE`.
    tag: u32,
    /// Large blocks: how far the payload lies above the start of the allocation.
    offset: u32,
}

const _: () = assert!(HEADER == 16);

/// The header of the block whose payload is `payload`.
///
/// # Safety
/// `payload - 16` must be readable and writable: true for every pointer this allocator
/// returned, and checked no further for others (as in every C allocator).
unsafe fn header<'a>(payload: NonNull<u8>) -> &'a mut Header {
    // SAFETY: by the caller's contract.
    unsafe { &mut *payload.as_ptr().sub(HEADER).cast::<Header>() }
}

/// Allocates `size` bytes aligned to 16.
pub fn allocate(size: usize) -> Option<NonNull<u8>> {
    if size <= SMALL_MAX {
        cache::allocate(class_of(size))
    } else {
        large::allocate(size, HEADER)
    }
}

/// Allocates `size` bytes aligned to `align` (a power of two).
pub fn allocate_aligned(align: usize, size: usize) -> Option<NonNull<u8>> {
    if align <= HEADER {
        allocate(size)
    } else {
        large::allocate(size, align)
    }
}

/// Frees a block.
///
/// # Safety
/// `payload` must come from this allocator and not be used afterwards. A pointer that did
/// not, or a second free, is detected by its header where possible and ends the program.
pub unsafe fn release(payload: NonNull<u8>) {
    // SAFETY: by the caller's contract.
    let head = unsafe { header(payload) };
    match head.tag & TAG_MASK {
        TAG_SMALL if usize::from(head.tag as u16) < classes::CLASSES => {
            cache::release(usize::from(head.tag as u16), payload)
        }
        // SAFETY: a live large block, by its tag.
        TAG_LARGE => unsafe { large::release(payload, head) },
        TAG_FREE => heap_error("double free", payload),
        _ => heap_error("invalid pointer", payload),
    }
}

/// Usable bytes of a live block.
///
/// # Safety
/// As [`release`], except that the block stays live.
pub unsafe fn usable_size(payload: NonNull<u8>) -> usize {
    // SAFETY: by the caller's contract.
    let head = unsafe { header(payload) };
    match head.tag & TAG_MASK {
        TAG_SMALL | TAG_LARGE => head.size,
        _ => heap_error("invalid pointer", payload),
    }
}

/// Resizes a block: in place when it still fits (and would not waste more than half of
/// it), else by moving it. `None` leaves the old block alone.
///
/// # Safety
/// As [`release`]; on success the old pointer must not be used any more.
pub unsafe fn reallocate(payload: NonNull<u8>, size: usize) -> Option<NonNull<u8>> {
    // SAFETY: by the caller's contract.
    let old = unsafe { usable_size(payload) };
    if size <= old && (size >= old / 2 || old <= SIZES[0]) {
        return Some(payload);
    }
    let new = allocate(size)?;
    // SAFETY: both blocks are live, distinct, and at least `min(old, size)` bytes long.
    unsafe { core::ptr::copy_nonoverlapping(payload.as_ptr(), new.as_ptr(), old.min(size)) };
    // SAFETY: by the caller's contract; the contents have moved.
    unsafe { release(payload) };
    Some(new)
}

/// What `mallinfo` reports.
pub struct Stats {
    /// Bytes taken from the program break.
    pub system: usize,
    /// Bytes in live blocks (payloads, rounded up to their class).
    pub in_use: usize,
}

/// Current totals.
pub fn stats() -> Stats {
    let (system, large_in_use) = large::totals();
    Stats { system, in_use: large_in_use.saturating_add_signed(cache::in_use()) }
}

/// Ends the program on a corrupted heap or a bad pointer, as glibc does (status 134, the
/// status of SIGABRT).
fn heap_error(what: &str, payload: NonNull<u8>) -> ! {
    use core::fmt::Write;
    let mut line = crate::fmt::StackWriter::<128>::new();
    let _ = writeln!(line, "[hermit] free(): {what} {:#x}", payload.as_ptr() as usize);
    crate::drivers::console::emergency(line.as_bytes());
    crate::drivers::hypercall::exit(134)
}
