//! The kernel's memory state: the RAM [`Region`], the kernel heap and the `sbrk` entry.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};

use linked_list_allocator::Heap;

use super::region::{self, Region};
use crate::config::{KERNEL_HEAP_END, KERNEL_HEAP_START, LARGE_PAGE_SIZE};
use crate::errno::{Result, ENOMEM};
use crate::synch::SpinLock;

static REGION: SpinLock<Option<Region>> = SpinLock::new(None);

/// The kernel heap, in the otherwise unused guest memory below the image (6 MiB). Blocks of
/// [`LARGE_KERNEL_BLOCK`] bytes or more (socket buffers) come from the C allocator's heap
/// above the image instead, when it can give them, so that the small kernel heap is not
/// exhausted by many connections; `mallinfo` counts them.
struct KernelHeap(SpinLock<Heap>);

/// Kernel allocations at least this large go to the C allocator first.
const LARGE_KERNEL_BLOCK: usize = 16 << 10;

/// Whether `ptr` lies in the kernel heap (else the C allocator gave it).
fn in_kernel_heap(ptr: *mut u8) -> bool {
    (KERNEL_HEAP_START..KERNEL_HEAP_END).contains(&(ptr as usize))
}

#[global_allocator]
static KERNEL_HEAP: KernelHeap = KernelHeap(SpinLock::new(Heap::empty()));

// SAFETY: allocation and deallocation are serialised by the lock; the heap's memory is
// reserved for it (`init`).
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= LARGE_KERNEL_BLOCK && REGION.lock().is_some() {
            if let Some(block) = super::malloc::allocate_aligned(layout.align(), layout.size()) {
                return block.as_ptr();
            }
        }
        self.0.lock().allocate_first_fit(layout).map_or(core::ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(ptr) = NonNull::new(ptr).filter(|p| !in_kernel_heap(p.as_ptr())) {
            // SAFETY: outside the kernel heap, so `alloc` took it from the C allocator.
            unsafe { super::malloc::release(ptr) };
        } else if let Some(ptr) = NonNull::new(ptr) {
            // SAFETY: `ptr` came from `alloc` with the same layout (GlobalAlloc contract).
            unsafe { self.0.lock().deallocate(ptr, layout) };
        }
    }
}

/// The end of guest RAM (its size: RAM starts at 0), 0 before [`init`].
static RAM_END: AtomicU64 = AtomicU64::new(0);

/// Bytes of guest RAM (`HERMIT_MEM`).
pub fn ram_bytes() -> u64 {
    RAM_END.load(Ordering::Relaxed)
}

/// Sets up the heap below the image and the RAM region above it.
///
/// `image_end` is the first byte after the loaded image, `ram_end` the end of usable RAM.
pub fn init(image_start: u64, image_size: u64, ram_end: u64) -> Result<()> {
    RAM_END.store(ram_end, Ordering::Relaxed);
    // SAFETY: [KERNEL_HEAP_START, KERNEL_HEAP_END) is identity-mapped guest RAM below the
    // image that no loader uses (uhyve's tables live below 2 MiB); it is handed out once.
    unsafe {
        KERNEL_HEAP.0.lock().init(KERNEL_HEAP_START as *mut u8, KERNEL_HEAP_END - KERNEL_HEAP_START);
    }
    let heap_start = region::heap_start(image_start, image_size);
    let region = Region::new(heap_start, ram_end)?;
    publish(&region);
    *REGION.lock() = Some(region);
    Ok(())
}

/// Tells the loader how much RAM is in use, so that it backs only that (and some room
/// ahead) with host memory.
fn publish(region: &Region) {
    crate::drivers::hypercall::publish_memory(region.brk(), region.top());
}

/// Moves the program break (the original `sys_sbrk` contract: returns the old break). The
/// loader backs memory gained with host memory before this returns (see [`super::backing`]).
pub fn sbrk(incr: i64) -> Result<u64> {
    let mut guard = REGION.lock();
    let region = guard.as_mut().ok_or(ENOMEM)?;
    let old = region.sbrk(incr)?;
    publish(region);
    let new = region.brk();
    drop(guard);
    // The memory gained is `[old, new)` (`old` is past the device hole when the heap jumped it).
    super::backing::heap(old, new);
    Ok(old)
}

/// First address of the application heap.
pub fn heap_start() -> u64 {
    REGION.lock().as_ref().map_or(0, Region::heap_start)
}

/// A zeroed 4 KiB frame for a page table, from the kernel heap (always mapped, even before
/// the RAM above the first GiB is).
pub fn alloc_table() -> Result<u64> {
    let layout = Layout::from_size_align(0x1000, 0x1000).map_err(|_| ENOMEM)?;
    // SAFETY: a non-zero-sized layout; page tables are never freed.
    let frame = unsafe { alloc::alloc::alloc_zeroed(layout) };
    if frame.is_null() {
        Err(ENOMEM)
    } else {
        Ok(frame as u64)
    }
}

/// Takes `size` bytes of RAM aligned to `align` from the top, for stacks and page tables,
/// backed by host memory when this returns (see [`super::backing`]).
pub fn alloc_frames(size: u64, align: u64) -> Result<u64> {
    let mut guard = REGION.lock();
    let region = guard.as_mut().ok_or(ENOMEM)?;
    let start = region.alloc_top(size, align.max(0x1000))?;
    publish(region);
    drop(guard);
    super::backing::top(start, start + size);
    Ok(start)
}

const _: () = assert!(KERNEL_HEAP_END.is_multiple_of(LARGE_PAGE_SIZE));
