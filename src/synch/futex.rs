//! Futexes: wait while a 32-bit word has an expected value, wake waiters of a word.
//!
//! Waiters are kept in 256 hashed buckets; the value is compared under the bucket lock,
//! so a wake between the comparison and the block is never lost.

use alloc::collections::VecDeque;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::errno::{Result, EAGAIN, EINTR, ETIMEDOUT};
use crate::scheduler::{self, TaskRef, WaitResult};
use crate::synch::SpinLock;

const BUCKETS: usize = 256;

struct Waiter {
    addr: usize,
    task: TaskRef,
}

static TABLE: [SpinLock<VecDeque<Waiter>>; BUCKETS] = [const { SpinLock::new(VecDeque::new()) }; BUCKETS];

fn bucket(addr: usize) -> &'static SpinLock<VecDeque<Waiter>> {
    &TABLE[(addr >> 2).wrapping_mul(0x9e37_79b9) % BUCKETS]
}

/// Blocks while `*word == expected`, until woken or until the TSC `deadline`.
/// `EAGAIN` if the value differs, `ETIMEDOUT` after the deadline, `EINTR` for a signal.
pub fn wait(word: &AtomicU32, expected: u32, deadline: Option<u64>) -> Result<()> {
    let addr = word as *const AtomicU32 as usize;
    let queue = bucket(addr);
    let result = scheduler::block(deadline, |me| {
        let mut waiters = queue.lock();
        if word.load(Ordering::SeqCst) != expected {
            return Err(me);
        }
        waiters.push_back(Waiter { addr, task: me });
        Ok(())
    });
    match result {
        WaitResult::Woken => Ok(()),
        WaitResult::Cancelled => Err(EAGAIN),
        WaitResult::TimedOut | WaitResult::Interrupted => {
            let me = scheduler::current() as *const scheduler::Task;
            queue.lock().retain(|w| !core::ptr::eq(&*w.task, me));
            Err(if result == WaitResult::TimedOut { ETIMEDOUT } else { EINTR })
        }
    }
}

/// Wakes up to `count` tasks waiting on `word`; returns how many.
pub fn wake(word: &AtomicU32, count: usize) -> usize {
    wake_addr(word as *const AtomicU32 as usize, count)
}

/// [`wake`] for a word known only by its address.
pub fn wake_addr(addr: usize, count: usize) -> usize {
    let mut woken = 0;
    {
        let mut waiters = bucket(addr).lock();
        let mut i = 0;
        while i < waiters.len() && woken < count {
            if waiters[i].addr != addr {
                i += 1;
                continue;
            }
            let waiter = waiters.remove(i).expect("index checked");
            if scheduler::wake(waiter.task) {
                woken += 1;
            }
        }
    }
    if woken > 0 {
        scheduler::yield_if_outranked();
    }
    woken
}
