//! How much earlier than a sleeper's deadline an idle core arms its timer before it halts.
//!
//! A halted vCPU runs again some time after its timer fires: the host's timer, the wake-up of
//! the vCPU thread and the entry into the guest. On this project's PVM hosts that was about
//! 100 µs on a quiet host and 200-280 µs beside other work, so a task that slept 1 ms in a
//! loop slept 1.1 ms on average, and 1.2-1.3 ms on a busy host (`c.thr_timeout_short_sleeps`;
//! a native Linux process: about 1.06 ms). An idle core therefore arms its timer that much
//! early and polls until the deadline (the idle loop's spin ends at the deadline). How late
//! its halts ended is learned as they end, as KVM's adaptive `lapic_timer_advance` learns it
//! on the host side for hardware-virtualised guests: a running average of the lateness, each
//! sample capped so that one long preemption by the host does not make every halt spin.

/// The next lead (TSC cycles) after a halt that was armed to end at `armed` ended at `now`.
/// Halts ended early by an interrupt other than the timer (`now < armed`) teach nothing.
pub fn next_lead(lead: u64, armed: u64, now: u64, max: u64) -> u64 {
    if now < armed {
        return lead;
    }
    let late = (now - armed).min(max);
    // An average over about four halts.
    (lead - lead / 4 + late / 4).min(max)
}

#[cfg(test)]
mod tests {
    use super::next_lead;

    #[test]
    fn the_lead_follows_the_lateness_of_timed_halts() {
        let mut lead = 0;
        for _ in 0..64 {
            lead = next_lead(lead, 1_000_000, 1_000_000 + 300_000, 1_000_000);
        }
        assert!((290_000..=300_000).contains(&lead), "{lead}");
        // Halts that now end on time bring it back down.
        for _ in 0..64 {
            lead = next_lead(lead, 1_000_000, 1_000_000, 1_000_000);
        }
        assert!(lead < 10_000, "{lead}");
    }

    #[test]
    fn early_wake_ups_teach_nothing_and_outliers_are_capped() {
        assert_eq!(next_lead(5_000, 1_000_000, 900_000, 100_000), 5_000);
        let mut lead = 0;
        for _ in 0..200 {
            lead = next_lead(lead, 0, 50_000_000, 100_000);
        }
        assert!(lead <= 100_000, "{lead}");
    }
}
