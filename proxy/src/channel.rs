//! The host side of the fast channel ([`hermit_interface::channel`]): a thread that polls the
//! guest's request slots while the guest makes host calls, so that they cost no VM exit.
//!
//! The poller backs off adaptively ([`IdleBudget`]): it may spin idle only as long as the VM
//! exits it saved would have cost ([`EXIT_COST`] per request served, at most [`MAX_IDLE`]),
//! then it parks and the guest falls back to port I/O until the next port exit wakes it. A
//! guest that computes and calls the host rarely therefore costs about one exit's worth of
//! host CPU per call, and a stream of calls keeps the poller spinning. Idle for longer than
//! [`SPIN_WINDOW`], it yields the host CPU to other threads (the vCPUs, other programs)
//! after each empty scan. It counts
//! its scans in the channel's control block, so that a guest sees at once when the host has
//! descheduled it and takes the port instead of waiting for a claim.

use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Once};
use std::time::{Duration, Instant};

use hermit_interface::channel::{
    channel_size, slot_offset, HOST_PARKED, HOST_POLLING, HOST_STATE_OFFSET, MAX_SLOTS, SCANS_OFFSET, SERVED_OFFSET,
    SLOT_ARG_OFFSET, SLOT_BUSY, SLOT_DONE, SLOT_PORT_OFFSET, SLOT_REQUEST, SLOT_STATE_OFFSET,
};

use crate::guest::{GuestError, GuestRam};
use crate::host::Host;
use crate::hypercall::{dispatch, Outcome};

/// What a VM exit for a port hypercall costs the guest on PVM (trap, `out` at CPL 0, exit),
/// about 55 us: the idle spinning one channel request pays for.
pub const EXIT_COST: Duration = Duration::from_micros(50);

/// The most idle spinning the poller saves up (about 40 requests' worth).
pub const MAX_IDLE: Duration = Duration::from_millis(2);

/// Idle spinning still paid for: served requests add [`EXIT_COST`] each (up to
/// [`MAX_IDLE`]), a port exit adds one (it is what woke the poller), and idle scanning spends
/// it. The poller parks when it is used up.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IdleBudget {
    left: Duration,
}

impl IdleBudget {
    /// Credits `requests` served requests (or one port exit).
    pub fn earn(&mut self, requests: u32) {
        self.left = self.left.saturating_add(EXIT_COST.saturating_mul(requests)).min(MAX_IDLE);
    }

    /// Spends `idle` of spinning; returns whether anything is left.
    pub fn spend(&mut self, idle: Duration) -> bool {
        self.left = self.left.saturating_sub(idle);
        !self.left.is_zero()
    }
}

/// A validated channel area and its poller.
pub struct Channel {
    gpa: u64,
    slots: u32,
    started: Once,
    spinning: AtomicBool,
    wake: Mutex<bool>,
    wakeup: Condvar,
}

impl Channel {
    /// Checks an area the guest announced: aligned, inside RAM, a sane number of slots.
    pub fn validate(ram: &GuestRam, gpa: u64, slots: u32) -> Result<Channel, GuestError> {
        if slots == 0 || slots as usize > MAX_SLOTS {
            return Err(GuestError::Invalid(format!("fast channel with {slots} slots (1 to {MAX_SLOTS})")));
        }
        if !gpa.is_multiple_of(64) {
            return Err(GuestError::Invalid(format!("fast channel at unaligned address {gpa:#x}")));
        }
        let size = channel_size(slots as usize) as u64;
        let mut probe = vec![0u8; size as usize];
        ram.read_bytes(gpa, &mut probe)?;
        Ok(Channel {
            gpa,
            slots,
            started: Once::new(),
            spinning: AtomicBool::new(false),
            wake: Mutex::new(false),
            wakeup: Condvar::new(),
        })
    }

    /// Starts the poller (first call) and makes it spin for another window.
    pub fn kick(&self, host: &Arc<Host>) {
        self.started.call_once(|| {
            let host = Arc::clone(host);
            std::thread::Builder::new()
                .name("hermit-channel".into())
                .spawn(move || {
                    // Started by a vCPU thread, which may be pinned.
                    crate::affinity::unpin();
                    poll(&host)
                })
                .expect("cannot start the fast-channel thread");
        });
        if !self.spinning.load(Ordering::Acquire) {
            *self.wake.lock().expect("channel lock") = true;
            self.wakeup.notify_one();
        }
    }

    /// Serves every pending request once; returns how many there were.
    fn scan(&self, host: &Host) -> u32 {
        let mut served = 0;
        self.serve_pending(host, |outcome| {
            served += 1;
            match outcome {
                Outcome::Continue => {}
                Outcome::Exit(code) => host.finish(code),
                Outcome::Fatal(what) => host.fatal(&what),
            }
        });
        served
    }

    /// Claims and serves every pending request once, handing each outcome to `done` after
    /// the slot is marked done; returns whether there was one.
    pub(crate) fn serve_pending(&self, host: &Host, mut done: impl FnMut(Outcome)) -> bool {
        let mut served = false;
        for i in 0..self.slots as usize {
            let slot = self.gpa + slot_offset(i) as u64;
            let Ok(state) = host.ram.atomic_u32(slot + SLOT_STATE_OFFSET as u64) else { continue };
            if state.load(Ordering::Acquire) != SLOT_REQUEST
                || state.compare_exchange(SLOT_REQUEST, SLOT_BUSY, Ordering::AcqRel, Ordering::Acquire).is_err()
            {
                continue;
            }
            served = true;
            let port = host.ram.atomic_u32(slot + SLOT_PORT_OFFSET as u64).map(|p| p.load(Ordering::Acquire));
            let arg = host.ram.load_u64(slot + SLOT_ARG_OFFSET as u64);
            let outcome = match (port, arg) {
                (Ok(port), Ok(arg)) => serve(host, port, arg),
                _ => Outcome::Fatal("unreadable fast-channel slot".into()),
            };
            if let Ok(counter) = host.ram.atomic_u32(self.gpa + SERVED_OFFSET as u64) {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            state.store(SLOT_DONE, Ordering::Release);
            done(outcome);
        }
        served
    }
}

/// Serves one channel request. The slot's port field is 32 bits wide; a value that is not a
/// 16-bit I/O port is refused like an unknown port, never truncated to one.
pub fn serve(host: &Host, port: u32, arg: u64) -> Outcome {
    match u16::try_from(port) {
        Ok(port) => dispatch(host, port, arg),
        Err(_) => Outcome::Fatal(format!("the guest used unknown hypercall port {port:#x} (fast channel)")),
    }
}

/// The poller: parked until kicked, then polling until its [`IdleBudget`] is spent.
fn poll(host: &Arc<Host>) {
    let channel = host.channel.get().expect("poller without a channel");
    let Ok(host_state) = host.ram.atomic_u32(channel.gpa + HOST_STATE_OFFSET as u64) else { return };
    let Ok(scans) = host.ram.atomic_u32(channel.gpa + SCANS_OFFSET as u64) else { return };
    let mut heartbeat = 0u32;
    let mut budget = IdleBudget::default();
    loop {
        {
            let mut woken = channel.wake.lock().expect("channel lock");
            while !*woken {
                woken = channel.wakeup.wait(woken).expect("channel lock");
            }
            *woken = false;
        }
        // The port exit that woke us is one the channel could have saved; the guest's next
        // request comes only after the exit's own way back into the guest.
        budget.earn(KICK_CREDIT);
        channel.spinning.store(true, Ordering::Release);
        host_state.store(HOST_POLLING, Ordering::SeqCst);
        let mut last = Instant::now();
        let mut last_request = last;
        loop {
            // The heartbeat tells a waiting guest that the poller is on a CPU (never zero).
            heartbeat = heartbeat.wrapping_add(1).max(1);
            scans.store(heartbeat, Ordering::Release);
            let served = channel.scan(host);
            let now = Instant::now();
            if served > 0 {
                budget.earn(served);
                last_request = now;
            } else if !budget.spend((now - last).min(MAX_SCAN_STEP)) {
                break;
            } else if now - last_request < SPIN_WINDOW {
                // A program that calls the host computes a little between calls: stay on
                // the CPU, a yield would make its next call wait for the host's scheduler.
                std::hint::spin_loop();
            } else {
                // A quieter guest: give the CPU to whoever else wants it between scans.
                std::thread::yield_now();
            }
            last = now;
        }
        host_state.store(HOST_PARKED, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        // A request may have arrived after the last scan but before the guest saw PARKED.
        channel.scan(host);
        channel.spinning.store(false, Ordering::Release);
    }
}

/// Exits' worth of idle spinning a kick pays for: the exit that woke the poller, and the
/// guest's way back from it (the emulated return to CPL 3) before its next request.
const KICK_CREDIT: u32 = 2;

/// The most one empty scan counts as idle spinning: a longer gap since the previous scan
/// means the host descheduled the poller (or it yielded), which costs no CPU.
const MAX_SCAN_STEP: Duration = Duration::from_micros(5);

/// How long after a request the idle poller keeps spinning without yielding its CPU: two
/// exits' worth, the gaps between the calls of a program that works on host files (SQLite's
/// lock, stat and read calls for one query, a compressor's reads and writes). Beyond it the
/// poller yields between scans. Either way its [`IdleBudget`] bounds the spinning.
const SPIN_WINDOW: Duration = Duration::from_micros(100);

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Host {
        let ram = GuestRam::new(32 << 20, false).unwrap();
        Host::new(ram, 0x80_0000, Vec::new(), Vec::new(), false, true, true)
    }

    #[test]
    fn idle_spinning_is_paid_for_by_saved_exits() {
        let mut budget = IdleBudget::default();
        assert!(!budget.spend(Duration::ZERO), "nothing earned, nothing to spend");
        budget.earn(1);
        assert!(budget.spend(EXIT_COST / 2));
        assert!(!budget.spend(EXIT_COST / 2), "one exit pays for one exit's worth of spinning");
        // A stream of requests saves up to MAX_IDLE, no more.
        budget.earn(1_000_000);
        assert!(budget.spend(MAX_IDLE - Duration::from_micros(1)));
        assert!(!budget.spend(Duration::from_micros(1)));
        budget.earn(u32::MAX);
        assert!(!budget.spend(Duration::MAX), "no overflow either way");
    }

    #[test]
    fn ports_are_checked_not_truncated() {
        let host = host();
        host.ram.write::<i32>(0x10_0000, 7).unwrap();
        assert_eq!(serve(&host, 0x540, 0x10_0000), Outcome::Exit(7));
        for port in [0x1_0540, 0xffff_0540, u32::MAX] {
            match serve(&host, port, 0x10_0000) {
                Outcome::Fatal(what) => assert!(what.contains(&format!("{port:#x}")), "{what}"),
                other => panic!("port {port:#x} was served: {other:?}"),
            }
        }
    }
}
