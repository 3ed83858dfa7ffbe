//! Whether the host runs other work on a vCPU's CPU: an idle core then spins only briefly.
//!
//! An idle core spins before it halts, so that a wake-up from another core or a frame from
//! the network needs no interrupt. On a host whose CPUs are taken by other work this backfires:
//! the spinning vCPU thread uses up its share of a contended CPU, and when a sleeper's timer
//! fires the host lets the other work finish its time slice first, where it runs a thread that
//! slept at once. Beside two busy processes on this project's 2-CPU host, 500 sleeps of 1 ms
//! took 1.6-1.7 ms each with the spin, 1.02 ms without it, and 1.07 ms in a Linux process
//! (`c.thr_timeout_short_sleeps`).
//!
//! The sign is a wait for the CPU as long as a host time slice: a timed halt that ended that
//! late, a woken core that came up that late, or a gap that long in the spin. A quiet host
//! made about one such wait per 1,500 halts, a busy one about one in six, so two within a
//! window make the host busy for the window; the core then spins only briefly (the next frame
//! of a request/response exchange still needs no interrupt) and halts, and spins in full again
//! once a window passed without two waits.

use core::cell::Cell;

/// One core's view of its host CPU (only the core itself uses it, preemption disabled).
pub struct HostBusy {
    /// TSC of the last long wait for the CPU (0: none yet).
    last_wait: Cell<u64>,
    /// TSC until which the host counts as busy.
    until: Cell<u64>,
}

impl HostBusy {
    pub const fn new() -> Self {
        Self { last_wait: Cell::new(0), until: Cell::new(0) }
    }

    /// Whether the host is busy at TSC `now`.
    pub fn busy(&self, now: u64) -> bool {
        now < self.until.get()
    }

    /// The vCPU waited a host time slice for its CPU, seen at `now`: a second such wait within
    /// `window` cycles of the last makes the host busy for `window`. Returns whether it is.
    pub fn waited(&self, now: u64, window: u64) -> bool {
        let last = self.last_wait.replace(now);
        if last != 0 && now.wrapping_sub(last) < window {
            self.until.set(now.saturating_add(window));
        }
        self.busy(now)
    }
}

#[cfg(test)]
mod tests {
    use super::HostBusy;

    #[test]
    fn two_waits_within_a_window_make_the_host_busy_for_a_window() {
        let host = HostBusy::new();
        assert!(!host.waited(1_000, 100));
        assert!(!host.busy(1_050));
        assert!(host.waited(1_050, 100));
        assert!(host.busy(1_149));
        assert!(!host.busy(1_150));
    }

    #[test]
    fn waits_far_apart_do_not() {
        let host = HostBusy::new();
        for now in (1..20).map(|i| i * 1_000) {
            assert!(!host.waited(now, 100));
        }
        assert!(!host.busy(19_001));
    }
}
