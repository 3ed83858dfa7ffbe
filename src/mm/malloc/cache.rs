//! Per-core free lists of small blocks, and the shared pools behind them.
//!
//! A core's lists are touched only by the task running on it, with preemption disabled, so
//! the fast paths are plain loads and stores. A list that grows beyond its limit hands half
//! of its blocks to the class's pool; an empty list takes a batch from the pool, which carves
//! fresh blocks from the large allocator when it runs dry. Blocks never go back to the large
//! allocator.

use alloc::boxed::Box;
use core::cell::UnsafeCell;
use core::ptr::{null_mut, NonNull};
use core::sync::atomic::{AtomicIsize, AtomicPtr, Ordering};

use super::{Header, HEADER, TAG_FREE, TAG_SMALL};
use crate::arch::{self, preempt_disable, preempt_enable};
use crate::config::MAX_CORES;
use crate::mm::classes::{cache_limit, CLASSES, SIZES};
use crate::synch::SpinLock;

/// A free block's payload starts with the link to the next one.
struct Free {
    next: *mut Free,
}

/// A singly linked list of free blocks of one class.
struct List {
    head: *mut Free,
    len: usize,
}

// SAFETY: the blocks a list links are owned by the list (no one else uses free blocks).
unsafe impl Send for List {}

impl List {
    const fn new() -> Self {
        Self { head: null_mut(), len: 0 }
    }

    fn push(&mut self, block: *mut Free) {
        // SAFETY: a free block's payload (≥ 16 bytes) belongs to the list that holds it.
        unsafe { (*block).next = self.head };
        self.head = block;
        self.len += 1;
    }

    fn pop(&mut self) -> Option<*mut Free> {
        let block = NonNull::new(self.head)?.as_ptr();
        // SAFETY: as in `push`.
        self.head = unsafe { (*block).next };
        self.len -= 1;
        Some(block)
    }

    /// Moves up to `count` blocks to `to`.
    fn move_to(&mut self, to: &mut List, count: usize) {
        for _ in 0..count {
            match self.pop() {
                Some(block) => to.push(block),
                None => break,
            }
        }
    }
}

/// One core's lists, and the payload bytes it allocated minus those it freed.
struct CoreCache {
    lists: [UnsafeCell<List>; CLASSES],
    in_use: AtomicIsize,
}

/// A core's byte counter: only its own core writes it, so a load and a store suffice (no
/// locked instruction); other cores read a snapshot.
struct Counter<'a>(&'a AtomicIsize);

impl Counter<'_> {
    fn add(&self, delta: isize) {
        self.0.store(self.0.load(Ordering::Relaxed) + delta, Ordering::Relaxed);
    }
}

/// The shared pool of each class.
static POOLS: [SpinLock<List>; CLASSES] = [const { SpinLock::new(List::new()) }; CLASSES];

/// Each core's cache, created on the core's first allocation.
static CACHES: [AtomicPtr<CoreCache>; MAX_CORES] = [const { AtomicPtr::new(null_mut()) }; MAX_CORES];

/// This core's cache. Call with preemption disabled.
fn this_core() -> &'static CoreCache {
    let slot = &CACHES[arch::core_id() as usize];
    let cache = slot.load(Ordering::Relaxed);
    if !cache.is_null() {
        // SAFETY: set below from a leaked box; never freed.
        return unsafe { &*cache };
    }
    let fresh = Box::leak(Box::new(CoreCache {
        lists: [const { UnsafeCell::new(List::new()) }; CLASSES],
        in_use: AtomicIsize::new(0),
    }));
    slot.store(fresh, Ordering::Relaxed);
    fresh
}

/// Runs `f` on this core's list of `class`, with preemption disabled meanwhile.
fn with_list<R>(class: usize, f: impl FnOnce(&mut List, &Counter) -> R) -> R {
    preempt_disable();
    let cache = this_core();
    // SAFETY: with preemption disabled no other task runs on this core until
    // `preempt_enable`, and other cores use their own caches: this is the only reference.
    let result = f(unsafe { &mut *cache.lists[class].get() }, &Counter(&cache.in_use));
    preempt_enable();
    result
}

/// Allocates a block of `class`.
pub fn allocate(class: usize) -> Option<NonNull<u8>> {
    let block = with_list(class, |list, in_use| {
        let block = match list.pop() {
            Some(block) => block,
            None => refill(class, list)?,
        };
        in_use.add(SIZES[class] as isize);
        Some(block)
    })?;
    let payload = NonNull::new(block.cast::<u8>())?;
    // SAFETY: every block in a list has a header written by `carve`.
    unsafe { super::header(payload).tag = TAG_SMALL | class as u32 };
    Some(payload)
}

/// Returns a live block of `class` to this core's list.
pub fn release(class: usize, payload: NonNull<u8>) {
    // SAFETY: the caller read a small-block tag from this header.
    unsafe { super::header(payload).tag = TAG_FREE | class as u32 };
    with_list(class, |list, in_use| {
        in_use.add(-(SIZES[class] as isize));
        list.push(payload.as_ptr().cast());
        let limit = cache_limit(class);
        if list.len > limit {
            list.move_to(&mut POOLS[class].lock(), limit / 2);
        }
    });
}

/// Refills an empty list from the pool, carving new blocks if the pool is empty too.
fn refill(class: usize, list: &mut List) -> Option<*mut Free> {
    let batch = cache_limit(class) / 2;
    let mut pool = POOLS[class].lock();
    if pool.len == 0 {
        carve(class, &mut pool, batch)?;
    }
    pool.move_to(list, batch);
    list.pop()
}

/// Cuts fresh memory into at least `count` blocks of `class` and adds them to `pool`.
fn carve(class: usize, pool: &mut List, count: usize) -> Option<()> {
    let stride = HEADER + SIZES[class];
    let bytes = (stride * count).max(64 << 10);
    let span = super::large::allocate_raw(bytes)?;
    for i in 0..bytes / stride {
        // SAFETY: block `i` lies inside the fresh span; the span's start is 16-byte aligned
        // and `stride` a multiple of 16.
        unsafe {
            let head = span.as_ptr().add(i * stride).cast::<Header>();
            head.write(Header { size: SIZES[class], tag: TAG_FREE | class as u32, offset: 0 });
            pool.push(head.add(1).cast());
        }
    }
    Some(())
}

/// Payload bytes of live small blocks, over all cores.
pub fn in_use() -> isize {
    CACHES
        .iter()
        .filter_map(|slot| {
            // SAFETY: a published cache is never freed.
            unsafe { slot.load(Ordering::Relaxed).as_ref() }.map(|cache| cache.in_use.load(Ordering::Relaxed))
        })
        .sum()
}
