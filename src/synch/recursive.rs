//! A recursive lock owned by a task: the backing of newlib's locks and `__sys_malloc_lock`.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering};

/// A lock the owning task may take again; it is free when the count drops to zero.
///
/// C sees it as the opaque `struct __lock` of newlib's `<sys/lock.h>`.
#[repr(C)]
pub struct RecursiveLock {
    owner: AtomicU64,
    count: UnsafeCell<u64>,
}

// SAFETY: `count` is only touched by the task that owns the lock.
unsafe impl Sync for RecursiveLock {}

impl RecursiveLock {
    /// An unowned lock.
    pub const fn new() -> Self {
        Self { owner: AtomicU64::new(0), count: UnsafeCell::new(0) }
    }

    /// Takes the lock, spinning while another task holds it.
    pub fn acquire(&self) {
        let me = crate::scheduler::lock_owner_id();
        if self.owner.load(Ordering::Relaxed) == me {
            // SAFETY: this task owns the lock.
            unsafe { *self.count.get() += 1 };
            return;
        }
        while self.owner.compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed).is_err() {
            core::hint::spin_loop();
        }
        // SAFETY: this task just became the owner.
        unsafe { *self.count.get() = 1 };
    }

    /// Takes the lock if it is free or already ours; returns whether it did.
    pub fn try_acquire(&self) -> bool {
        let me = crate::scheduler::lock_owner_id();
        if self.owner.load(Ordering::Relaxed) == me {
            // SAFETY: this task owns the lock.
            unsafe { *self.count.get() += 1 };
            return true;
        }
        if self.owner.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            // SAFETY: this task just became the owner.
            unsafe { *self.count.get() = 1 };
            return true;
        }
        false
    }

    /// Releases one level; the last release frees the lock. Releasing a lock the caller does
    /// not own is ignored.
    pub fn release(&self) {
        let me = crate::scheduler::lock_owner_id();
        if self.owner.load(Ordering::Relaxed) != me {
            return;
        }
        // SAFETY: this task owns the lock.
        let count = unsafe { &mut *self.count.get() };
        *count -= 1;
        if *count == 0 {
            self.owner.store(0, Ordering::Release);
        }
    }
}
