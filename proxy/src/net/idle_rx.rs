//! Receiving in a vCPU's own thread during a bulk receive (`NETRING_RECV`): the guest's idle core asks for frames instead of spinning beside the proxy's readers.
//!
//! A host→guest stream used to keep four threads busy on a 2-CPU host: the host sender,
//! the thread that read the tap (the channel's poller or `net-rx`), the poller spinning for
//! the guest's ACKs and the idle vCPU spinning for the next frame (ARCHITECTURE.md, "Host
//! networking"). With `FEATURE_NET_IDLE_RECV` the guest's idle core, while large frames
//! arrive, makes one port exit instead of spinning: the loader sends what waits in the
//! transmit ring (the ACKs), reads the tap into the receive ring and, if nothing was there,
//! waits in `ppoll` on the tap for at most the time the guest gave. Meanwhile the poller
//! and the receive thread keep off the tap ([`IdleRx::active`]), so the stream keeps two
//! threads busy, as between two Linux processes: the sender and the vCPU.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hermit_interface::netring::NETRING_RECV_MAX_WAIT_US;

use super::{ring, Backend, Nic, RxIrq};
use crate::guest::GuestError;

/// How long after a vCPU's last `NETRING_RECV` the poller and the receive thread leave the
/// tap to the vCPUs: a guest that stops asking (it computes, or the stream ended) gets its
/// frames from them again after this.
pub const HOLD: Duration = Duration::from_millis(2);

/// The shortest nap of the receive thread while vCPUs read the tap.
const NAP_MIN: Duration = Duration::from_micros(100);

/// When a vCPU last read the tap itself, and counters for `HERMIT_VERBOSE`.
pub struct IdleRx {
    epoch: Instant,
    /// Nanoseconds after `epoch` of the last `NETRING_RECV` (0: none yet).
    last: AtomicU64,
    calls: AtomicU64,
    waited: AtomicU64,
    frames: AtomicU64,
}

impl Default for IdleRx {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            last: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            waited: AtomicU64::new(0),
            frames: AtomicU64::new(0),
        }
    }
}

impl IdleRx {
    fn now(&self) -> u64 {
        (self.epoch.elapsed().as_nanos() as u64).max(1)
    }

    /// Whether a vCPU read the tap within [`HOLD`].
    pub fn active(&self) -> bool {
        self.left().is_some()
    }

    /// How long the vCPUs keep the tap if none asks again, while they hold it.
    fn left(&self) -> Option<Duration> {
        let last = self.last.load(Ordering::Relaxed);
        let since = self.now().saturating_sub(last);
        (last != 0 && since < HOLD.as_nanos() as u64).then(|| HOLD - Duration::from_nanos(since))
    }

    /// For the receive thread: while the vCPUs hold the tap, sleeps until their hold would
    /// end (at least [`NAP_MIN`]) and says true; a wake-up every few hundred microseconds
    /// took the spinning vCPU's CPU from it on a busy host, and each new call moves the end.
    pub fn nap(&self) -> bool {
        let Some(left) = self.left() else { return false };
        std::thread::sleep(left.max(NAP_MIN));
        true
    }

    /// The line for `HERMIT_VERBOSE`, if the guest asked at all.
    pub fn summary(&self) -> Option<String> {
        let calls = self.calls.load(Ordering::Relaxed);
        (calls > 0).then(|| {
            format!(
                "{calls} receives by idle vCPUs ({} of them waited in the host), {} frames read",
                self.waited.load(Ordering::Relaxed),
                self.frames.load(Ordering::Relaxed)
            )
        })
    }
}

thread_local! {
    /// The port exit this vCPU thread serves was a `NETRING_RECV`.
    static QUIET_EXIT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// In a vCPU thread after a port exit: whether it was a `NETRING_RECV`, which must not wake
/// the channel's poller (it is no request the poller could have served, and a poller woken
/// at each of them spun beside the stream it was kept out of).
pub fn take_quiet_exit() -> bool {
    QUIET_EXIT.replace(false)
}

impl Nic {
    /// `NETRING_RECV` in the vCPU thread that asks: sends the transmit ring, fills the receive
    /// ring from the tap and, if no frame was there, waits for one up to `wait_us`
    /// microseconds (at most [`NETRING_RECV_MAX_WAIT_US`]) and fills again. The frames read;
    /// announced as the receive thread announces them.
    pub(super) fn idle_receive(&self, ring: &ring::Ring, irq: &RxIrq, wait_us: u32) -> Result<u32, GuestError> {
        self.idle_rx.last.store(self.idle_rx.now(), Ordering::Relaxed);
        self.idle_rx.calls.fetch_add(1, Ordering::Relaxed);
        let sent = self.drain_ring(ring, true)?;
        ring.stats.tx_kicked.fetch_add(u64::from(sent), Ordering::Relaxed);
        ring.add_activity(sent);
        let mut got = self.fill_ring(ring, irq)?.got;
        let wait = wait_us.min(NETRING_RECV_MAX_WAIT_US);
        if got == 0 && wait > 0 && matches!(self.backend, Backend::Tap { .. }) {
            self.idle_rx.waited.fetch_add(1, Ordering::Relaxed);
            let mut pfd = libc::pollfd { fd: self.fd(), events: libc::POLLIN, revents: 0 };
            let timeout = libc::timespec { tv_sec: 0, tv_nsec: i64::from(wait) * 1000 };
            // SAFETY: one valid pollfd and a valid timespec; no signal mask.
            let _ = unsafe { libc::ppoll(&mut pfd, 1, &timeout, std::ptr::null()) };
            got = self.fill_ring(ring, irq)?.got;
        }
        self.idle_rx.frames.fetch_add(u64::from(got), Ordering::Relaxed);
        QUIET_EXIT.set(true);
        // Still asking: the poller and the receive thread stay off the tap.
        self.idle_rx.last.store(self.idle_rx.now(), Ordering::Relaxed);
        Ok(got)
    }
}
