//! When a wake-up IPI counts as late: the woken vCPU has not run for longer than the host normally takes.
#![forbid(unsafe_code)]

/// Whether a core that was sent a wake-up IPI at TSC `sent` (0: none outstanding) and is
/// still `halted` at TSC `now` is late by more than `limit` cycles.
pub fn is_late(sent: u64, now: u64, limit: u64, halted: bool) -> bool {
    halted && sent != 0 && now.wrapping_sub(sent) > limit
}

#[cfg(test)]
mod tests {
    use super::is_late;

    #[test]
    fn only_an_outstanding_ipi_to_a_core_still_halted_can_be_late() {
        assert!(is_late(1_000, 1_251, 250, true));
        assert!(!is_late(1_000, 1_250, 250, true), "exactly at the limit is not late");
        assert!(!is_late(1_000, 9_000, 250, false), "the core is up");
        assert!(!is_late(0, 9_000, 250, true), "no IPI outstanding");
        assert!(is_late(u64::MAX - 10, 300, 250, true), "across a TSC wrap");
    }
}
