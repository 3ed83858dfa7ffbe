//! The fast-channel host's heartbeat as a waiting request sees it: is the poller running?

/// The host poller's heartbeat as one waiting request sees it: the scan count and when it
/// last changed (TSC cycles).
pub struct Heartbeat {
    scans: u32,
    since: u64,
}

impl Heartbeat {
    /// Starts watching at count `scans`, read at `now`.
    pub fn new(scans: u32, now: u64) -> Self {
        Self { scans, since: now }
    }

    /// Records the count read at `now`; whether it has stood still for more than `stall`
    /// cycles. A count of zero (a host that does not count) never stalls.
    pub fn stalled(&mut self, scans: u32, now: u64, stall: u64) -> bool {
        if scans != self.scans {
            self.scans = scans;
            self.since = now;
        }
        scans != 0 && now.wrapping_sub(self.since) > stall
    }
}

#[cfg(test)]
mod tests {
    use super::Heartbeat;

    #[test]
    fn a_count_that_stands_still_stalls() {
        let mut beat = Heartbeat::new(7, 1000);
        assert!(!beat.stalled(7, 1100, 100), "exactly the limit is not yet a stall");
        assert!(beat.stalled(7, 1101, 100));
        // A new count restarts the clock.
        assert!(!beat.stalled(8, 1200, 100));
        assert!(!beat.stalled(8, 1300, 100));
        assert!(beat.stalled(8, 1301, 100));
    }

    #[test]
    fn a_host_that_does_not_count_never_stalls() {
        let mut beat = Heartbeat::new(0, 0);
        assert!(!beat.stalled(0, u64::MAX / 2, 100));
    }

    #[test]
    fn the_tsc_may_wrap() {
        let mut beat = Heartbeat::new(3, u64::MAX - 10);
        assert!(!beat.stalled(3, 40, 100));
        assert!(beat.stalled(3, 95, 100));
    }
}
