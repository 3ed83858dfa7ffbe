//! A recursive lock owned by a task: the backing of newlib's locks and `__sys_malloc_lock`.
//! Uncontended it is one atomic operation; contended it blocks on a futex.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::futex;

/// Lock word: free.
const FREE: u32 = 0;
/// Lock word: taken, nobody waits.
const LOCKED: u32 = 1;
/// Lock word: taken, tasks may wait.
const CONTENDED: u32 = 2;

/// A lock the owning task may take again; it is free when the count drops to zero.
///
/// C sees it as the opaque `struct __lock` of newlib's `<sys/lock.h>`.
#[repr(C)]
pub struct RecursiveLock {
    state: AtomicU32,
    owner: AtomicU64,
    count: UnsafeCell<u64>,
}

// SAFETY: `count` is only touched by the task that owns the lock.
unsafe impl Sync for RecursiveLock {}

impl RecursiveLock {
    /// An unowned lock.
    pub const fn new() -> Self {
        Self { state: AtomicU32::new(FREE), owner: AtomicU64::new(0), count: UnsafeCell::new(0) }
    }

    fn take(&self, me: u64) {
        self.owner.store(me, Ordering::Relaxed);
        // SAFETY: this task just became the owner.
        unsafe { *self.count.get() = 1 };
    }

    /// Takes the lock, blocking while another task holds it.
    pub fn acquire(&self) {
        let me = crate::scheduler::lock_owner_id();
        if self.owner.load(Ordering::Relaxed) == me {
            // SAFETY: this task owns the lock.
            unsafe { *self.count.get() += 1 };
            return;
        }
        if self.state.compare_exchange(FREE, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_err() {
            while self.state.swap(CONTENDED, Ordering::Acquire) != FREE {
                let _ = futex::wait(&self.state, CONTENDED, None);
            }
        }
        self.take(me);
    }

    /// Takes the lock if it is free or already ours; returns whether it did.
    pub fn try_acquire(&self) -> bool {
        let me = crate::scheduler::lock_owner_id();
        if self.owner.load(Ordering::Relaxed) == me {
            // SAFETY: this task owns the lock.
            unsafe { *self.count.get() += 1 };
            return true;
        }
        if self.state.compare_exchange(FREE, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            self.take(me);
            return true;
        }
        false
    }

    /// Releases one level; the last release frees the lock and wakes a waiter. Releasing a
    /// lock the caller does not own is ignored.
    pub fn release(&self) {
        let me = crate::scheduler::lock_owner_id();
        if self.owner.load(Ordering::Relaxed) != me {
            return;
        }
        // SAFETY: this task owns the lock.
        let count = unsafe { &mut *self.count.get() };
        *count -= 1;
        if *count == 0 {
            self.owner.store(0, Ordering::Relaxed);
            if self.state.swap(FREE, Ordering::Release) == CONTENDED {
                futex::wake(&self.state, 1);
            }
        }
    }
}
