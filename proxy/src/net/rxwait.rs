//! How the network receive thread waits while the poller reads the tap: beside the poller, and looking less often while the poller keeps reading.
//!
//! While the poller reads the tap, the receive thread wakes now and then to see whether the
//! poller stalled (it lost its CPU on a busy host and frames wait). Its timer fires on the
//! CPU the thread sleeps on, and the host left the thread where the vCPU thread that
//! started it ran: it inherited that thread's CPUs, restricted to one by the vCPUs' keeping
//! off the poller. There each wake-up stopped the spinning vCPU (a VM exit, ~20 us on PVM)
//! and the thread ran before the vCPU resumed: every 200-250 us, about every 14th round of a
//! 1-byte ping-pong took 50-60 us longer (ARCHITECTURE.md, "Host networking", the tail of
//! the rounds). Beside the poller a wake-up stops no vCPU, but it still takes the poller's
//! CPU for about 8 us: so the thread looks every [`FIRST`] at first and after every stall,
//! and twice as long after each look that found the poller reading, up to [`LONGEST`].

use std::time::Duration;

/// The first wait, and the wait after a look that found the poller not reading.
use super::poller::RX_POLLER_STALL as FIRST;

/// The longest wait: at most one look per ~100 rounds of a 16 us ping-pong.
pub const LONGEST: Duration = Duration::from_micros(1600);

/// The thread's placement and its wait.
pub struct RxWait {
    /// The proxy's CPUs.
    allowed: Vec<u32>,
    /// The set the thread last pinned itself to.
    placed: Vec<u32>,
    wait: Duration,
}

impl RxWait {
    /// For the calling thread, which a vCPU thread started: it inherited that thread's
    /// CPUs, perhaps restricted to one (`Channel::keep_off_poller`).
    pub fn new() -> Self {
        Self { allowed: crate::affinity::proxy_cpus(), placed: crate::affinity::allowed_cpus(), wait: FIRST }
    }

    /// Before a wait: pins the calling thread to the CPU the poller runs on, if the poller
    /// served the guest lately and that CPU is one of the proxy's (else to the whole set),
    /// and says how long to wait.
    pub fn beside_poller(&mut self) -> Duration {
        let poller = crate::hostcpu::poller_cpu(crate::channel::RELEASE_AFTER).filter(|c| self.allowed.contains(c));
        self.pin(poller.map_or_else(|| self.allowed.clone(), |cpu| vec![cpu]));
        self.wait
    }

    /// After a wait: whether the poller read the tap meanwhile. It did: wait twice as long
    /// next time; it did not: [`FIRST`] again.
    pub fn poller_read(&mut self, read: bool) {
        self.wait = if read { (self.wait * 2).min(LONGEST) } else { FIRST };
    }

    /// When the thread reads the tap itself: the proxy's whole set again.
    pub fn spread(&mut self) {
        self.pin(self.allowed.clone());
    }

    /// A system call only when the set changes.
    fn pin(&mut self, cpus: Vec<u32>) {
        if cpus != self.placed && crate::affinity::pin_thread(0, &cpus).is_ok() {
            self.placed = cpus;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_less_often_while_the_poller_reads() {
        let mut w = RxWait::new();
        assert_eq!(w.wait, FIRST);
        for _ in 0..10 {
            w.poller_read(true);
        }
        assert_eq!(w.wait, LONGEST, "doubled up to the longest");
        w.poller_read(false);
        assert_eq!(w.wait, FIRST, "a stall makes it watchful again");
        w.spread();
        assert_eq!(w.placed, w.allowed);
    }
}
