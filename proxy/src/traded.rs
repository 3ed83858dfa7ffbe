//! The CPU the poller holds by a trade: one record with one setter, read by the poller, its swap and the population thread.
//!
//! A trade (`channel.rs`, `Trade`) takes the CPU of a vCPU for the poller. The poller's loop
//! asks whether one stands, [`crate::swap::Swap`] moves the vCPU threads off that CPU and
//! back, and the population thread keeps off it while the poller polls ([`traded_cpu`]). All
//! three read the one [`Traded`] the poller owns, which changes only through
//! [`Traded::set`] and publishes what the population thread reads as it changes.

use std::sync::atomic::{AtomicI32, Ordering};

/// What [`traded_cpu`] returns: the traded CPU while the poller polls, else -1. Written by
/// [`Traded`] alone.
static PUBLISHED: AtomicI32 = AtomicI32::new(-1);

/// The CPU a trade took, while the trade stands (the poller may move off it where the vCPU
/// threads keep apart, which ends it), and whether the poller polls.
#[derive(Debug, Default)]
pub struct Traded {
    cpu: Option<u32>,
    polling: bool,
}

impl Traded {
    /// The CPU the poller holds by a trade, if one stands.
    pub fn cpu(&self) -> Option<u32> {
        self.cpu
    }

    /// A trade took `cpu`, or ended (`None`): the one place the record changes.
    pub fn set(&mut self, cpu: Option<u32>) {
        self.cpu = cpu;
        if self.polling {
            self.publish();
        }
    }

    /// The poller starts or stops polling: the population thread keeps off the traded CPU
    /// only meanwhile.
    pub fn set_polling(&mut self, polling: bool) {
        self.polling = polling;
        self.publish();
    }

    fn publish(&self) {
        let cpu = self.cpu.filter(|_| self.polling);
        PUBLISHED.store(cpu.map_or(-1, |cpu| cpu as i32), Ordering::Relaxed);
    }
}

/// The CPU the poller holds by a trade while it polls: the host peer of a request/response
/// exchange runs beside it there, and the population thread keeps off it (a chunk faulted
/// in there made a round wait for it: `crate::populate`).
pub fn traded_cpu() -> Option<u32> {
    u32::try_from(PUBLISHED.load(Ordering::Relaxed)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The only test that publishes (the record of every other one stays unpublished).
    #[test]
    fn the_traded_cpu_is_published_while_the_poller_polls() {
        let mut traded = Traded::default();
        traded.set(Some(3));
        assert_eq!((traded.cpu(), traded_cpu()), (Some(3), None), "parked: not published");
        traded.set_polling(true);
        assert_eq!(traded_cpu(), Some(3));
        traded.set(Some(1));
        assert_eq!(traded_cpu(), Some(1), "a new trade while polling");
        traded.set_polling(false);
        assert_eq!((traded.cpu(), traded_cpu()), (Some(1), None), "kept while parked, not published");
        traded.set_polling(true);
        assert_eq!(traded_cpu(), Some(1), "published again when the poller polls");
        traded.set(None);
        assert_eq!((traded.cpu(), traded_cpu()), (None, None));
        traded.set_polling(false);
    }
}
