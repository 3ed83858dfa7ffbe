//! Futexes: wait while a 32-bit word has an expected value, wake waiters of a word.
//!
//! Waiters are kept in 256 hashed buckets; the value is compared under the bucket lock,
//! so a wake between the comparison and the block is never lost. The same FIFO queues also
//! serve hand-offs ([`wait_handoff`], [`hand_over`]): a waker dequeues the oldest waiter and
//! passes it a resource directly, so no later arrival can take it first.

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

/// [`wait`] for a call that Linux restarts after an `SA_RESTART` handler (a blocking socket
/// call without a timeout, a pipe's `read`/`write`): an interruption by such handlers alone
/// ([`scheduler::set_restarting`]) ends the wait as a wake-up does, and the caller looks again
/// and waits on; `EINTR` after any other handler.
pub fn wait_restarting(word: &AtomicU32, expected: u32, deadline: Option<u64>) -> Result<()> {
    let interruptions = scheduler::interruptions();
    match wait(word, expected, deadline) {
        Err(EINTR) if scheduler::interruptions() == interruptions => Ok(()),
        other => other,
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

/// How a [`wait_handoff`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Handoff {
    /// `take` took the resource without queueing.
    Taken,
    /// [`hand_over`] dequeued the caller: the resource is the caller's.
    Received,
    /// The deadline passed first; the caller is no longer queued and received nothing.
    TimedOut,
    /// A signal handler ran first; the caller is no longer queued and received nothing.
    Interrupted,
}

/// Waits in FIFO order for a resource handed over on `addr`. Under the queue's lock,
/// `take(queued)`, told whether other tasks already wait on `addr`, either takes the resource
/// itself (true: [`Handoff::Taken`]) or the caller queues behind the others and blocks until
/// [`hand_over`] dequeues it, the TSC `deadline` passes, or a signal arrives. A caller that
/// a hand-over dequeued before its timeout or signal could remove it still gets
/// [`Handoff::Received`], so a handed-over resource is never lost.
pub fn wait_handoff(addr: usize, deadline: Option<u64>, take: impl FnOnce(bool) -> bool) -> Handoff {
    let queue = bucket(addr);
    let result = scheduler::block(deadline, |me| {
        let mut waiters = queue.lock();
        if take(waiters.iter().any(|w| w.addr == addr)) {
            return Err(me);
        }
        waiters.push_back(Waiter { addr, task: me });
        Ok(())
    });
    match result {
        WaitResult::Cancelled => Handoff::Taken,
        WaitResult::Woken => Handoff::Received,
        WaitResult::TimedOut | WaitResult::Interrupted => {
            let me = scheduler::current() as *const scheduler::Task;
            let mut waiters = queue.lock();
            let before = waiters.len();
            waiters.retain(|w| !core::ptr::eq(&*w.task, me));
            if waiters.len() == before {
                Handoff::Received
            } else if result == WaitResult::TimedOut {
                Handoff::TimedOut
            } else {
                Handoff::Interrupted
            }
        }
    }
}

/// Hands a resource to the oldest task in [`wait_handoff`] on `addr`: under the queue's
/// lock, `give(queued)`, told whether a task waits, decides whether to hand over; if so the
/// oldest waiter is dequeued and woken. Returns whether a task was handed the resource.
pub fn hand_over(addr: usize, give: impl FnOnce(bool) -> bool) -> bool {
    let handed = {
        let mut waiters = bucket(addr).lock();
        let oldest = waiters.iter().position(|w| w.addr == addr);
        match (give(oldest.is_some()), oldest) {
            (true, Some(i)) => {
                let waiter = waiters.remove(i).expect("index checked");
                // A waiter whose timeout or signal is racing with us finds itself dequeued
                // and counts as having received the resource, so a failed wake is fine.
                scheduler::wake(waiter.task);
                true
            }
            _ => false,
        }
    };
    if handed {
        scheduler::yield_if_outranked();
    }
    handed
}
