//! The fast channel's poller on the network: it sends what the transmit ring holds, and reads the tap itself while it polls.

use std::sync::atomic::Ordering;

use super::{ring, Backend, Nic};
use crate::guest::GuestError;
use crate::host::Host;

impl Nic {
    /// For the poller, at every scan while it polls (a tap with rings only): once it has
    /// polled for [`RX_TAKE_AFTER`], takes the tap from the receive thread (which then waits
    /// until [`poller_parked`] hands it back) and reads it for the receive ring at most every
    /// [`RX_POLL_GAP`], announcing as the thread does. A frame then wakes no thread on its way to the guest: on this host a
    /// thread woken from `poll` on the tap displaced the spinning vCPU (about 8 us per
    /// round, see ARCHITECTURE.md). Returns the frames read.
    fn poll_rx(&self, ring: &ring::Ring) -> Result<u32, GuestError> {
        if !matches!(self.backend, Backend::Tap { .. }) {
            return Ok(0);
        }
        let Some(irq) = self.irq.get() else { return Ok(0) };
        let now = std::time::Instant::now();
        if !self.rx_by_poller.load(Ordering::Relaxed) {
            let mut revoked = self.rx_revoked.lock().expect("rx revocation");
            match *revoked {
                Some(at) if now - at < RX_REVOKE_FOR => return Ok(0),
                Some(_) => {
                    // Polled through it: start counting RX_TAKE_AFTER again.
                    *revoked = None;
                    POLLING_SINCE.set(None);
                }
                None => {}
            }
            drop(revoked);
            // Only a poller that has polled for a while takes the tap: one woken for a
            // moment (a kick, a file call) would make the receive thread move twice.
            let since = POLLING_SINCE.get().unwrap_or(now);
            POLLING_SINCE.set(Some(since));
            if now - since < RX_TAKE_AFTER {
                return Ok(0);
            }
            self.rx_by_poller.store(true, Ordering::Release);
            // The receive thread leaves its `poll` on the tap.
            let _ = self.wake.write(1);
        }
        if READ_AT.get().is_some_and(|at| now - at < RX_POLL_GAP) {
            return Ok(0);
        }
        READ_AT.set(Some(now));
        self.rx_poller_reads.fetch_add(1, Ordering::Relaxed);
        let filled = self.fill_ring(ring, irq)?;
        ring.stats.rx_polled.fetch_add(u64::from(filled.got), Ordering::Relaxed);
        Ok(filled.got)
    }

    /// Hands the tap back to the receive thread (the poller parks).
    fn hand_back_rx(&self) {
        POLLING_SINCE.set(None);
        *self.rx_revoked.lock().expect("rx revocation") = None;
        if self.rx_by_poller.load(Ordering::Relaxed) {
            let _back = self.rx_back.lock().expect("rx hand-back");
            self.rx_by_poller.store(false, Ordering::Release);
            self.handed_back.notify_one();
        }
    }
}

thread_local! {
    /// When the poller (this thread) last read the tap.
    static READ_AT: std::cell::Cell<Option<std::time::Instant>> = const { std::cell::Cell::new(None) };
    /// When the poller (this thread) began to poll, as [`Nic::poll_rx`] saw it.
    static POLLING_SINCE: std::cell::Cell<Option<std::time::Instant>> = const { std::cell::Cell::new(None) };
}

/// How long the poller must have polled before it takes the tap from the receive thread:
/// as long as the gap between requests it spins through ([`crate::channel::STREAM_GAP`]),
/// so that an exchange that keeps it polling moves the tap, and a poller woken for a
/// moment does not.
pub(super) const RX_TAKE_AFTER: std::time::Duration = crate::channel::STREAM_GAP;

/// The shortest time between two reads of the tap by the poller: an empty read costs about
/// 1 us here, and a channel request that comes meanwhile waits for it.
const RX_POLL_GAP: std::time::Duration = std::time::Duration::from_micros(2);

/// How long the poller may go without reading the tap it took before the receive thread
/// reads it (the poller lost its CPU); the receive thread wakes this often while the
/// poller polls, and up to eight times less often while it finds the poller reading
/// ([`super::rxwait`]).
pub(super) const RX_POLLER_STALL: std::time::Duration = std::time::Duration::from_micros(200);

/// How long a receive thread that found frames a stalled poller left keeps the tap: a
/// busy host costs one stall (at most [`RX_POLLER_STALL`]) per this period, a single stall
/// on a quiet host only this long on the thread's path.
pub(super) const RX_REVOKE_FOR: std::time::Duration = std::time::Duration::from_millis(20);

/// For the fast channel's poller, at every scan: sends what the guest published in the
/// transmit ring. Returns the frames the rings moved since the last scan (these, those the
/// receive thread received or sent, those kicks sent): the poller counts them as served
/// requests, so a busy network keeps it polling as the batched calls did (0 at once
/// without a ring). A bad ring ends the run. `between_frames` runs before each frame written.
pub fn poll_tx(host: &Host, between_frames: impl FnMut()) -> u32 {
    let Some(nic) = host.net.get() else { return 0 };
    let Some(ring) = nic.ring.get() else { return 0 };
    // While idle vCPUs read the tap themselves, the poller leaves it, and the frames they
    // move earn it nothing: it parks unless the guest calls the host.
    let vcpus_read = nic.idle_rx.active();
    if !vcpus_read {
        if let Err(e) = nic.poll_rx(ring) {
            host.fatal(&e.to_string());
        }
    }
    // Behind passt the receive thread alone fills the receive ring, and what the ring moved
    // elsewhere is no work of the poller's: counted, a host->guest stream kept it spinning
    // beside the vCPU, passt and the receive thread for the few ACKs the guest sends. The
    // same while idle vCPUs read the tap.
    let moved = ring.take_activity();
    let moved = if vcpus_read || matches!(nic.backend, Backend::Stream { .. }) { 0 } else { moved };
    if !ring.tx_waiting() {
        return moved;
    }
    match nic.drain_ring_between(ring, false, between_frames) {
        Ok(n) => {
            ring.stats.tx_polled.fetch_add(u64::from(n), Ordering::Relaxed);
            moved + n
        }
        Err(e) => host.fatal(&e.to_string()),
    }
}

/// For the poller: after every [`super::turn::SAMPLES`] answers of the host peer to small frames,
/// whether most were slow ([`super::turn`]).
pub fn peer_slow(host: &Host) -> Option<bool> {
    host.net.get()?.turns.verdict()
}

/// For the poller: whether the guest streams to the host over a tap (the last frame it sent
/// was large), where the host's reader may share the sending vCPU's CPU ([`super::starve`]).
pub fn streaming_out(host: &Host) -> bool {
    host.net.get().is_some_and(|nic| matches!(nic.backend, Backend::Tap { .. }) && nic.turns.streaming_out())
}

/// For the poller: whether the host peer has yet to answer the last small frame sent
/// ([`turn::Turnarounds::awaiting`]).
pub fn awaiting_peer(host: &Host) -> bool {
    host.net.get().is_some_and(|nic| nic.turns.awaiting())
}

/// For the poller, after its last scan before it parks: the receive thread reads the tap
/// again (a frame that came after the poller's last read is found by the thread's `poll`).
pub fn poller_parked(host: &Host) {
    if let Some(nic) = host.net.get() {
        nic.hand_back_rx();
    }
}

/// Sends the frames the guest published in the transmit ring that nobody took yet; for the
/// end of a run. A program's last `send` before `exit` (the last answer of an echo) then
/// leaves as it would from a device that finishes its queue, instead of racing the poller's
/// next scan against the exit (`net.tap-udp` lost its 50th answer in 4 of 12 runs once the
/// doorbell made exits faster). Counted as kicked frames.
pub fn flush_tx(host: &Host) {
    let Some(nic) = host.net.get() else { return };
    let Some(ring) = nic.ring.get() else { return };
    if !ring.tx_waiting() {
        return;
    }
    match nic.drain_ring(ring, true) {
        Ok(n) => {
            ring.stats.tx_kicked.fetch_add(u64::from(n), Ordering::Relaxed);
        }
        Err(e) => host.fatal(&e.to_string()),
    }
}
