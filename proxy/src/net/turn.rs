//! How long the host peer of a request/response exchange takes to answer: from a small frame the proxy sent until the next small frame it received.
//!
//! On a 2-CPU host the peer's answer is fast (about 8 us) when the host scheduler runs the
//! peer beside the channel's poller and slow (25-60 us) when it runs it beside a spinning
//! vCPU, which must be left first; the scheduler keeps the peer where it last ran for
//! hundreds of milliseconds (ARCHITECTURE.md, "Who gets the host's two CPUs"). The poller
//! asks for a verdict on the last [`SAMPLES`] turnarounds and, when most were slow, trades
//! CPUs with the vCPU (`crate::channel`). Only small frames count: in a stream the
//! turnaround is the host's TCP stack pacing, not the peer's placement.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

/// Frames up to this many bytes (the virtio-net header included) count as a request or
/// an answer.
pub const SMALL: usize = 256;

/// A turnaround longer than this is slow: above the peer's answer beside the poller (about
/// 8 us), below one that waits for a spinning vCPU's CPU (the host takes 10-25 us to
/// switch to a thread woken there).
const SLOW_NS: u64 = 25_000;

/// Turnarounds per verdict.
pub const SAMPLES: u32 = 32;

/// The counters (shared by the threads that send and receive).
pub struct Turnarounds {
    epoch: Instant,
    /// When the last small frame was sent, in nanoseconds after `epoch` (0: none pending).
    sent_at: AtomicU64,
    slow: AtomicU32,
    all: AtomicU32,
}

impl Default for Turnarounds {
    fn default() -> Self {
        Self { epoch: Instant::now(), sent_at: AtomicU64::new(0), slow: AtomicU32::new(0), all: AtomicU32::new(0) }
    }
}

impl Turnarounds {
    fn now(&self) -> u64 {
        (self.epoch.elapsed().as_nanos() as u64).max(1)
    }

    /// Frames were sent: the last of `len` bytes starts a turnaround if it is small, and a
    /// large one cancels the pending one.
    pub fn sent(&self, len: usize) {
        self.sent_at.store(if len <= SMALL { self.now() } else { 0 }, Ordering::Relaxed);
    }

    /// A frame of `len` bytes was received: a small one ends the pending turnaround.
    pub fn got(&self, len: usize) {
        let sent = self.sent_at.swap(0, Ordering::Relaxed);
        if sent == 0 || len > SMALL {
            return;
        }
        if self.now().saturating_sub(sent) > SLOW_NS {
            self.slow.fetch_add(1, Ordering::Relaxed);
        }
        self.all.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether a small frame was sent and its answer has not come yet: the host peer has
    /// to run before anything more happens.
    pub fn awaiting(&self) -> bool {
        self.sent_at.load(Ordering::Relaxed) != 0
    }

    /// After [`SAMPLES`] turnarounds: whether three quarters of them were slow (and a new
    /// count starts); `None` before.
    pub fn verdict(&self) -> Option<bool> {
        let all = self.all.load(Ordering::Relaxed);
        if all < SAMPLES {
            return None;
        }
        let slow = self.slow.swap(0, Ordering::Relaxed);
        self.all.store(0, Ordering::Relaxed);
        Some(u64::from(slow) * 4 >= u64::from(all) * 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_exchanges_are_judged_large_frames_are_not() {
        let t = Turnarounds::default();
        for _ in 0..SAMPLES - 1 {
            t.sent(70);
            t.got(70);
        }
        assert_eq!(t.verdict(), None, "too few");
        t.sent(70);
        t.got(70);
        assert_eq!(t.verdict(), Some(false), "answered at once");
        // A stream: large frames either way start or end nothing.
        for _ in 0..100 {
            t.sent(65_000);
            std::thread::sleep(std::time::Duration::from_micros(30));
            t.got(70);
            t.sent(70);
            t.got(9000);
        }
        assert_eq!(t.verdict(), None);
        for _ in 0..SAMPLES {
            t.sent(70);
            std::thread::sleep(std::time::Duration::from_micros(30));
            t.got(70);
        }
        assert_eq!(t.verdict(), Some(true), "every answer slow");
        assert!(!t.awaiting(), "answered");
        t.sent(70);
        assert!(t.awaiting(), "a small frame waits for its answer");
        t.got(9000);
        assert!(!t.awaiting(), "a large frame ends the wait too");
        t.sent(65_000);
        assert!(!t.awaiting(), "a large frame starts none");
        assert_eq!(t.verdict(), None, "a new count");
    }
}
