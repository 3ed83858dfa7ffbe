//! The host side of the fast channel ([`hermit_interface::channel`]): a thread that polls the
//! guest's request slots for a while after each hypercall, so that bursts of host calls cost
//! no VM exit. When it has been idle for [`SPIN_WINDOW`] it parks, and the guest falls back
//! to port I/O until the next port exit wakes it.

use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Once};
use std::time::{Duration, Instant};

use hermit_interface::channel::{
    channel_size, slot_offset, HOST_PARKED, HOST_POLLING, HOST_STATE_OFFSET, MAX_SLOTS, SERVED_OFFSET, SLOT_ARG_OFFSET,
    SLOT_BUSY, SLOT_DONE, SLOT_PORT_OFFSET, SLOT_REQUEST, SLOT_STATE_OFFSET,
};

use crate::guest::{GuestError, GuestRam};
use crate::host::Host;
use crate::hypercall::{dispatch, Outcome};

/// How long the poller keeps spinning after the last request.
pub const SPIN_WINDOW: Duration = Duration::from_millis(2);

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
                .spawn(move || poll(&host))
                .expect("cannot start the fast-channel thread");
        });
        if !self.spinning.load(Ordering::Acquire) {
            *self.wake.lock().expect("channel lock") = true;
            self.wakeup.notify_one();
        }
    }

    /// Serves every pending request once; returns whether there was one.
    fn scan(&self, host: &Host) -> bool {
        self.serve_pending(host, |outcome| match outcome {
            Outcome::Continue => {}
            Outcome::Exit(code) => host.finish(code),
            Outcome::Fatal(what) => host.fatal(&what),
        })
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

/// The poller: parked until kicked, then spinning until a window passes without requests.
fn poll(host: &Arc<Host>) {
    let channel = host.channel.get().expect("poller without a channel");
    let Ok(host_state) = host.ram.atomic_u32(channel.gpa + HOST_STATE_OFFSET as u64) else { return };
    loop {
        {
            let mut woken = channel.wake.lock().expect("channel lock");
            while !*woken {
                woken = channel.wakeup.wait(woken).expect("channel lock");
            }
            *woken = false;
        }
        channel.spinning.store(true, Ordering::Release);
        host_state.store(HOST_POLLING, Ordering::SeqCst);
        let mut deadline = Instant::now() + SPIN_WINDOW;
        loop {
            if channel.scan(host) {
                deadline = Instant::now() + SPIN_WINDOW;
            } else if Instant::now() >= deadline {
                break;
            } else {
                std::hint::spin_loop();
            }
        }
        host_state.store(HOST_PARKED, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        // A request may have arrived after the last scan but before the guest saw PARKED.
        channel.scan(host);
        channel.spinning.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Host {
        let ram = GuestRam::new(32 << 20, false).unwrap();
        Host::new(ram, 0x80_0000, Vec::new(), Vec::new(), false, true, true)
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
