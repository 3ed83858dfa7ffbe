//! Thread stacks with guard pages, recycled.
//!
//! Every stack has an unmapped guard page below its lowest address and one right above its
//! top, so an overflow and an overrun past the top (a stray write above the initial stack
//! pointer) both fault at once instead of corrupting a neighbour.
//!
//! Stacks of the default size come in 2 MiB arenas of seven slots; an arena is split into
//! 4 KiB pages with all eight guard pages unmapped before any slot is used (each slot's top
//! guard is the next slot's bottom one), so no mapping a CPU may have cached ever changes (no
//! TLB flush, which would need CPL 0). Other sizes get a region of their own with both guards.
//! Freed stacks go to a free list by size. An idle core keeps one default-size stack ready
//! ([`keep_one_ready`]), so that carving an arena is not part of a thread's creation.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::config::{DEFAULT_STACK_SIZE, LARGE_PAGE_SIZE, PAGE_SIZE};
use crate::errno::{Result, EINVAL};
use crate::synch::SpinLock;

/// A stack: `[bottom, top)` usable, the page below `bottom` and the page at `top` unmapped.
#[derive(Debug)]
pub struct Stack {
    /// Lowest usable address.
    pub bottom: u64,
    /// Initial stack pointer (16-byte aligned).
    pub top: u64,
}

impl Stack {
    fn size(&self) -> u64 {
        self.top - self.bottom
    }
}

/// Slots of default-size stacks per 2 MiB arena (each with the guard below it, plus one guard
/// above the last).
const SLOTS_PER_ARENA: u64 = ((LARGE_PAGE_SIZE - PAGE_SIZE) / (DEFAULT_STACK_SIZE + PAGE_SIZE)) as u64;

static FREE: SpinLock<BTreeMap<u64, Vec<Stack>>> = SpinLock::new(BTreeMap::new());

/// Set while a core carves an arena for [`keep_one_ready`].
static REFILLING: AtomicBool = AtomicBool::new(false);

/// Carves a fresh arena if no default-size stack is free. Called by an idle core before it
/// halts: the first `pthread_create` of a program then takes a stack that is ready instead
/// of carving the arena and waiting for the loader to back its 2 MiB (0.3-0.4 ms on PVM,
/// more than the rest of the creation with its wake-up IPI). Costs a program that never
/// creates a thread 2 MiB of guest memory, taken by an idle core.
pub fn keep_one_ready() {
    let ready = || FREE.lock().get(&(DEFAULT_STACK_SIZE as u64)).is_some_and(|free| !free.is_empty());
    if ready() || REFILLING.swap(true, Ordering::Acquire) {
        return;
    }
    if !ready() {
        // Out of memory: the next creation fails as it would have.
        let _ = new_arena();
    }
    REFILLING.store(false, Ordering::Release);
}

/// A stack of at least `size` bytes (rounded up to pages).
pub fn alloc(size: usize) -> Result<Stack> {
    let size = (size.max(PAGE_SIZE) as u64).next_multiple_of(PAGE_SIZE as u64);
    if let Some(stack) = FREE.lock().get_mut(&size).and_then(Vec::pop) {
        return Ok(stack);
    }
    if size == DEFAULT_STACK_SIZE as u64 {
        new_arena()?;
        return FREE.lock().get_mut(&size).and_then(Vec::pop).ok_or(EINVAL);
    }
    let page = PAGE_SIZE as u64;
    let region = (size + 2 * page).next_multiple_of(LARGE_PAGE_SIZE as u64);
    let base = crate::mm::alloc_frames(region, LARGE_PAGE_SIZE as u64)?;
    let top = base + region - page;
    let bottom = top - size;
    crate::arch::punch_guard_pages(&[bottom - page, top], &mut crate::mm::alloc_table)?;
    Ok(Stack { bottom, top })
}

/// Returns a stack to the free list.
pub fn free(stack: Stack) {
    FREE.lock().entry(stack.size()).or_default().push(stack);
}

/// Carves a fresh 2 MiB arena into default-size stacks.
fn new_arena() -> Result<()> {
    let base = crate::mm::alloc_frames(LARGE_PAGE_SIZE as u64, LARGE_PAGE_SIZE as u64)?;
    let slot = (DEFAULT_STACK_SIZE + PAGE_SIZE) as u64;
    let guards: Vec<u64> = (0..=SLOTS_PER_ARENA).map(|i| base + i * slot).collect();
    crate::arch::punch_guard_pages(&guards, &mut crate::mm::alloc_table)?;
    let stacks =
        guards[..SLOTS_PER_ARENA as usize].iter().map(|g| Stack { bottom: g + PAGE_SIZE as u64, top: g + slot });
    FREE.lock().entry(DEFAULT_STACK_SIZE as u64).or_default().extend(stacks);
    Ok(())
}
