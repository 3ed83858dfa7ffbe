//! Counting semaphores on a futex: the kernel's `sys_sem_*` and POSIX `sem_t`.

use core::sync::atomic::{AtomicU32, Ordering};

use super::futex;
use crate::errno::{Result, EAGAIN, EOVERFLOW, ETIMEDOUT};

/// A semaphore. C sees it as `struct sem` (the `sem_t` of `<semaphore.h>` and of the
/// original `hermit/syscall.h`).
#[repr(C)]
pub struct Semaphore {
    count: AtomicU32,
    waiters: AtomicU32,
}

impl Semaphore {
    /// A semaphore with `value` units.
    pub const fn new(value: u32) -> Self {
        Self { count: AtomicU32::new(value), waiters: AtomicU32::new(0) }
    }

    /// Takes a unit if one is available.
    pub fn try_wait(&self) -> Result<()> {
        let mut count = self.count.load(Ordering::Relaxed);
        while count > 0 {
            match self.count.compare_exchange_weak(count, count - 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return Ok(()),
                Err(now) => count = now,
            }
        }
        Err(EAGAIN)
    }

    /// Takes a unit, blocking until one is available or the TSC `deadline` passes
    /// (`ETIMEDOUT`).
    pub fn wait(&self, deadline: Option<u64>) -> Result<()> {
        loop {
            if self.try_wait().is_ok() {
                return Ok(());
            }
            self.waiters.fetch_add(1, Ordering::SeqCst);
            let result = futex::wait(&self.count, 0, deadline);
            self.waiters.fetch_sub(1, Ordering::SeqCst);
            if result == Err(ETIMEDOUT) {
                return self.try_wait().map_err(|_| ETIMEDOUT);
            }
        }
    }

    /// Returns a unit, waking one waiter.
    pub fn post(&self) -> Result<()> {
        let mut count = self.count.load(Ordering::Relaxed);
        loop {
            if count == u32::MAX {
                return Err(EOVERFLOW);
            }
            match self.count.compare_exchange_weak(count, count + 1, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => count = now,
            }
        }
        if self.waiters.load(Ordering::SeqCst) != 0 {
            futex::wake(&self.count, 1);
        }
        Ok(())
    }

    /// The number of available units.
    pub fn value(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }
}
