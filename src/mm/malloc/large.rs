//! Blocks above the size classes, over-aligned blocks and the memory the classes carve: talc,
//! growing the program break 2 MiB at a time.

use core::alloc::Layout;
use core::ptr::NonNull;

use talc::{OomHandler, Span, Talc};

use super::{Header, HEADER, TAG_LARGE};
use crate::config::LARGE_PAGE_SIZE;
use crate::synch::SpinLock;

/// Grows the heap through the program break.
struct Grow {
    /// The heap talc manages, once it has one.
    heap: Span,
    /// Bytes taken from the break.
    system: usize,
    /// Live payload bytes of large blocks.
    in_use: usize,
}

impl OomHandler for Grow {
    fn handle_oom(talc: &mut Talc<Self>, layout: Layout) -> Result<(), ()> {
        // Room for the request, its alignment and talc's tags, in whole 2 MiB pages.
        let want = layout.size().checked_add(layout.align() + 64).ok_or(())?;
        let want = want.checked_next_multiple_of(LARGE_PAGE_SIZE).ok_or(())?;
        let base = crate::mm::sbrk(i64::try_from(want).map_err(|_| ())?).map_err(|_| ())?;
        let fresh = Span::from_base_size(base as *mut u8, want);
        talc.oom_handler.system += want;
        let heap = talc.oom_handler.heap;
        talc.oom_handler.heap = match heap.get_base_acme() {
            // SAFETY: the break moved past `fresh`, which nothing else uses; it continues
            // the current heap, so their union is valid memory for talc.
            Some((heap_base, acme)) if acme as u64 == base => unsafe {
                talc.extend(heap, Span::new(heap_base, fresh.get_base_acme().ok_or(())?.1))
            },
            // SAFETY: as above; the first heap, or one after a gap (the device hole, or
            // memory the program took with `sbrk` itself).
            _ => unsafe { talc.claim(fresh)? },
        };
        Ok(())
    }
}

static TALC: SpinLock<Talc<Grow>> = SpinLock::new(Talc::new(Grow { heap: Span::empty(), system: 0, in_use: 0 }));

/// Allocates a block of `size` bytes whose payload is aligned to `align` (≥ 16, a power of
/// two), with its header.
pub fn allocate(size: usize, align: usize) -> Option<NonNull<u8>> {
    let offset = align.max(HEADER);
    let layout = Layout::from_size_align(size.checked_add(offset)?, align).ok()?;
    let offset32 = u32::try_from(offset).ok()?;
    let mut talc = TALC.lock();
    // SAFETY: `layout` has a non-zero size.
    let base = unsafe { talc.malloc(layout) }.ok()?;
    talc.oom_handler.in_use += size;
    drop(talc);
    // SAFETY: the allocation spans `offset + size` bytes, so the payload and its header lie in it.
    let payload = unsafe { base.add(offset) };
    // SAFETY: the header lies inside the fresh allocation.
    unsafe { payload.as_ptr().sub(HEADER).cast::<Header>().write(Header { size, tag: TAG_LARGE, offset: offset32 }) };
    Some(payload)
}

/// Frees a large block.
///
/// # Safety
/// `head` is the header of the live large block `payload`.
pub unsafe fn release(payload: NonNull<u8>, head: &mut Header) {
    let (offset, size) = (head.offset as usize, head.size);
    head.tag = super::TAG_FREE;
    let align = if offset > HEADER { offset } else { HEADER };
    let mut talc = TALC.lock();
    // SAFETY: `allocate` made this layout; the header is intact (its tag was checked).
    unsafe { talc.free(payload.sub(offset), Layout::from_size_align_unchecked(size + offset, align)) };
    talc.oom_handler.in_use -= size;
}

/// Raw memory for the size classes (16-byte aligned, never freed).
pub fn allocate_raw(bytes: usize) -> Option<NonNull<u8>> {
    let layout = Layout::from_size_align(bytes, 16).ok()?;
    // SAFETY: `layout` has a non-zero size.
    unsafe { TALC.lock().malloc(layout) }.ok()
}

/// Bytes taken from the break, and live large payload bytes.
pub fn totals() -> (usize, usize) {
    let talc = TALC.lock();
    (talc.oom_handler.system, talc.oom_handler.in_use)
}
