//! TLB shootdown, lazily: after a present translation changes, each core drops it before it
//! next starts a task.
//!
//! The only translations that ever change are those of fresh stack memory that guard pages
//! split (`paging.rs`), and only a task started later uses such a stack. So no core needs to
//! be interrupted (an IPI to a busy vCPU can take a whole host tick to arrive on PVM hosts):
//! it catches up with the log of changed addresses when it starts a task, with `invlpg`
//! through the #GP trampoline (a privileged instruction at CPL 3). A core too far behind
//! reloads CR3 instead, which drops everything (no page is global) but costs a shadow-paging
//! host much more.

use core::sync::atomic::{AtomicU64, Ordering};

use super::percore::percore;
use crate::synch::SpinLock;

/// How many recent changes the log keeps.
const LOG: usize = 64;

/// Number of changes so far; change `n` (from 1) is at `CHANGED[n % LOG]`.
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// Addresses of the latest changes.
static CHANGED: [AtomicU64; LOG] = [const { AtomicU64::new(0) }; LOG];
/// Serialises writers of the log.
static WRITER: SpinLock<()> = SpinLock::new(());

/// Drops this core's translation of `addr` (of any page size).
fn invalidate(addr: u64) {
    // SAFETY: at CPL 3 `invlpg` traps and the trampoline performs it; it only drops cached
    // translations.
    unsafe { core::arch::asm!("invlpg [rax]", in("rax") addr, options(nostack, preserves_flags)) };
}

/// Drops all of this core's translations.
fn flush_all() {
    // SAFETY: at CPL 3 `mov cr3, rax` traps and the trampoline reloads the current CR3,
    // whatever `rax` holds; the kernel never runs this at CPL 0.
    unsafe { core::arch::asm!("mov cr3, rax", in("rax") 0u64, options(nostack, preserves_flags)) };
}

/// Records that the translation of `addr` changed and drops it on this core; the other
/// cores drop it before they next start a task.
pub fn changed(addr: u64) {
    let _writer = WRITER.lock();
    let generation = GENERATION.load(Ordering::Relaxed) + 1;
    CHANGED[generation as usize % LOG].store(addr, Ordering::Relaxed);
    GENERATION.store(generation, Ordering::Release);
    invalidate(addr);
}

/// Drops the translations that changed since this core last caught up. Called before a
/// new task runs.
#[inline]
pub fn catch_up() {
    let generation = GENERATION.load(Ordering::Acquire);
    let seen = percore().tlb_generation.load(Ordering::Relaxed);
    if seen < generation {
        catch_up_from(seen, generation);
    }
}

#[cold]
fn catch_up_from(seen: u64, generation: u64) {
    if generation - seen <= LOG as u64 {
        for change in seen + 1..=generation {
            invalidate(CHANGED[change as usize % LOG].load(Ordering::Relaxed));
        }
    }
    // Entries overwritten meanwhile (or too many changes) leave no choice.
    if GENERATION.load(Ordering::Acquire) - seen > LOG as u64 {
        flush_all();
    }
    percore().tlb_generation.store(generation, Ordering::Relaxed);
}
