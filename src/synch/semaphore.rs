//! Counting semaphores with FIFO hand-off: the kernel's `sys_sem_*` and POSIX `sem_t`.
//!
//! A post while tasks wait gives its unit straight to the longest waiter (through the
//! futex queues' hand-off, [`futex::hand_over`]) instead of adding it to the count, so a
//! task that calls wait right after the post cannot take the unit first. The original
//! pthread-embedded builds its condition variables on `sys_sem_*` and relies on that: on one
//! core, "consumer waits; main posts, then waits itself" must wake the consumer, not main.
//!
//! `count` holds units nobody was queued for; `waiters` counts tasks in the slow path. A
//! poster that saw no waiter adds to `count` and then checks `waiters` again; a waiter
//! registers in `waiters` before it looks at `count` under the queue lock. Whichever comes
//! second sees the other, so a unit is never left in `count` while a task sleeps.

use core::sync::atomic::{AtomicU32, Ordering};

use super::futex::{self, Handoff};
use crate::errno::{Result, EAGAIN, EINTR, EOVERFLOW, ETIMEDOUT};

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

    fn addr(&self) -> usize {
        &self.count as *const AtomicU32 as usize
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

    /// Takes a unit, blocking until one is available or handed over, or until the TSC
    /// `deadline` passes (`ETIMEDOUT`). Waiters are served in arrival order; one that times
    /// out just as a unit is handed to it keeps the unit and succeeds.
    pub fn wait(&self, deadline: Option<u64>) -> Result<()> {
        self.wait_or(deadline, || false)
    }

    /// [`Semaphore::wait`] that ends with `EINTR` when an interruption of its wait finds
    /// `stop` true (a thread's cancellation request).
    pub fn wait_or(&self, deadline: Option<u64>, stop: impl Fn() -> bool) -> Result<()> {
        if self.waiters.load(Ordering::SeqCst) == 0 && self.try_wait().is_ok() {
            return Ok(());
        }
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let result = loop {
            // Take a counted unit only when nobody is queued before us.
            match futex::wait_handoff(self.addr(), deadline, |queued| !queued && self.try_wait().is_ok()) {
                Handoff::Taken | Handoff::Received => break Ok(()),
                Handoff::TimedOut => break Err(ETIMEDOUT),
                Handoff::Interrupted if stop() => break Err(EINTR),
                // The original's semaphore waits are not interruptible: wait again.
                Handoff::Interrupted => {}
            }
        };
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// Returns a unit: to the longest waiter if a task waits, else to the count.
    pub fn post(&self) -> Result<()> {
        if self.waiters.load(Ordering::SeqCst) != 0 {
            let mut result = Ok(());
            futex::hand_over(self.addr(), |queued| {
                if !queued {
                    result = self.add_unit();
                }
                queued
            });
            return result;
        }
        self.add_unit()?;
        if self.waiters.load(Ordering::SeqCst) != 0 {
            // A waiter registered meanwhile: if it queued, move our unit to the oldest one.
            futex::hand_over(self.addr(), |queued| queued && self.try_wait().is_ok());
        }
        Ok(())
    }

    fn add_unit(&self) -> Result<()> {
        let mut count = self.count.load(Ordering::Relaxed);
        loop {
            if count == u32::MAX {
                return Err(EOVERFLOW);
            }
            match self.count.compare_exchange_weak(count, count + 1, Ordering::SeqCst, Ordering::Relaxed) {
                Ok(_) => return Ok(()),
                Err(now) => count = now,
            }
        }
    }

    /// The number of available units (units handed to waiters are not counted).
    pub fn value(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }
}
