//! The NIC's receive side: the interrupt and its arming, and the receive thread (`net-rx`), with and without rings.

use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::irq::RxIrq;
use super::{ring, Nic};
use crate::guest::GuestError;

impl Nic {
    /// Gives the NIC its receive interrupt (without one the guest must poll).
    pub fn set_irq(&self, irq: RxIrq) {
        let _ = self.irq.set(irq);
    }

    /// Raises the receive interrupt for a frame the proxy queued itself, if it is armed.
    pub(super) fn raise_if_armed(&self) {
        if self.ring.get().is_some() {
            // The receive thread puts it into the ring.
            let _ = self.wake.write(1);
            return;
        }
        let Some(irq) = self.irq.get() else { return };
        let mut armed = self.armed.lock().expect("rx arm");
        if *armed {
            *armed = false;
            self.announce(irq);
        }
    }

    /// Tells the guest that frames wait: `net_rx_signal` (with `FEATURE_NET_NOTIFY`), and the
    /// interrupt unless a guest core polls that word (`net_rx_polling`). The signal is stored
    /// before the count is read, and the kernel decrements the count before it reads the
    /// signal a last time: one of the two sees the other.
    pub(super) fn announce(&self, irq: &RxIrq) {
        use std::sync::atomic::fence;
        if let Some((ram, at)) = self.notify.get() {
            if let (Ok(signal), Ok(polling)) = (ram.atomic_u32(*at), ram.atomic_u32(*at + 4)) {
                signal.store(1, Ordering::SeqCst);
                fence(Ordering::SeqCst);
                if polling.load(Ordering::SeqCst) != 0 {
                    self.announced[1].fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
        self.announced[0].fetch_add(1, Ordering::Relaxed);
        irq.raise();
    }

    /// Re-arms the interrupt: the guest found no frame.
    pub(super) fn rearm(&self) {
        let mut armed = self.armed.lock().expect("rx arm");
        if !*armed {
            *armed = true;
            self.rearmed.notify_one();
        }
    }

    /// Starts, once, the thread that raises the interrupt when a frame waits and the
    /// interrupt is armed (as uhyve's poll thread, started by `NETINFO`).
    pub(super) fn start_watcher(self: &Arc<Self>) {
        if self.irq.get().is_none() {
            return;
        }
        let nic = Arc::clone(self);
        self.watcher.call_once(|| {
            let spawned = std::thread::Builder::new().name("net-rx".into()).spawn(move || nic.watch());
            if let Err(e) = spawned {
                eprintln!("proxy: cannot start the network receive thread ({e}); the guest must poll");
            }
        });
    }

    fn watch(&self) {
        let Some(irq) = self.irq.get() else { return };
        loop {
            {
                let mut armed = self.armed.lock().expect("rx arm");
                while !*armed && self.ring.get().is_none() {
                    armed = self.rearmed.wait(armed).expect("rx arm");
                }
            }
            if let Some(ring) = self.ring.get() {
                return self.watch_ring(ring, irq);
            }
            if !self.buffered() {
                let mut pfd = libc::pollfd { fd: self.fd(), events: libc::POLLIN, revents: 0 };
                // SAFETY: one valid pollfd.
                while unsafe { libc::poll(&mut pfd, 1, -1) } < 0 {}
                if pfd.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
                    && pfd.revents & libc::POLLIN == 0
                {
                    return;
                }
            }
            *self.armed.lock().expect("rx arm") = false;
            self.announce(irq);
        }
    }

    /// The receive thread in ring mode: fills the guest's receive ring while frames wait
    /// and it has room, announces them when the guest asked, waits in `poll` when the
    /// device is empty and sleeps briefly (20 us, doubling up to 1 ms) while the ring is
    /// full. A bad ring ends the run as a bad hypercall does ([`crate::host::fatal`]).
    fn watch_ring(&self, ring: &ring::Ring, irq: &RxIrq) {
        if let Err(e) = self.serve_ring(ring, irq) {
            crate::host::fatal(&e.to_string());
        }
    }

    fn serve_ring(&self, ring: &ring::Ring, irq: &RxIrq) -> Result<(), GuestError> {
        let mut nap = RING_FULL_NAP;
        let mut rx_wait = super::rxwait::RxWait::new();
        rx_wait.spread();
        loop {
            // While the poller reads the tap, wait until it hands it back (it parks); but a
            // poller that says it polls may have lost its CPU on a busy host: if it did not
            // read the tap during a wait (RX_POLLER_STALL, longer while it keeps reading:
            // rxwait), read it here meanwhile.
            if self.rx_by_poller.load(Ordering::Acquire) {
                let mut back = self.rx_back.lock().expect("rx hand-back");
                let mut seen = self.rx_poller_reads.load(Ordering::Relaxed);
                while self.rx_by_poller.load(Ordering::Acquire) {
                    let wait = rx_wait.beside_poller();
                    back = self.handed_back.wait_timeout(back, wait).expect("rx hand-back").0;
                    let reads = self.rx_poller_reads.load(Ordering::Relaxed);
                    rx_wait.poller_read(reads != seen);
                    if reads == seen && self.rx_by_poller.load(Ordering::Acquire) && !self.idle_rx.active() {
                        let filled = self.fill_ring(ring, irq)?;
                        if filled.got > 0 {
                            // Frames waited: the host is too busy for the poller to be
                            // relied on; take the tap back for RX_REVOKE_FOR (or until the
                            // poller parks).
                            ring.stats.rx_stalls.fetch_add(1, Ordering::Relaxed);
                            *self.rx_revoked.lock().expect("rx revocation") = Some(std::time::Instant::now());
                            self.rx_by_poller.store(false, Ordering::Release);
                        }
                    }
                    seen = reads;
                }
                rx_wait.spread();
            }
            // Idle vCPUs read the tap themselves (`NETRING_RECV`): keep off it meanwhile.
            if self.idle_rx.nap() {
                continue;
            }
            let filled = self.fill_ring(ring, irq)?;
            if filled.full {
                std::thread::sleep(nap);
                nap = (nap * 2).min(RING_FULL_NAP_MAX);
                continue;
            }
            nap = RING_FULL_NAP;
            // The device had nothing more (a read found it empty): wait for it in `poll`
            // rather than read it once more (a system call costs 3-6 us on this host).
            if self.buffered() {
                continue;
            }
            // The device, and `wake`: the proxy's own frames (passt), the poller taking the
            // tap over.
            let mut pfd = [
                libc::pollfd { fd: self.fd(), events: libc::POLLIN, revents: 0 },
                libc::pollfd { fd: self.wake.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            ];
            // SAFETY: two valid pollfds.
            while unsafe { libc::poll(pfd.as_mut_ptr(), 2, -1) } < 0 {}
            if pfd[1].revents & libc::POLLIN != 0 {
                let _ = self.wake.read();
            }
            if pfd[0].revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
                && pfd[0].revents & libc::POLLIN == 0
            {
                return Ok(());
            }
        }
    }
}

/// First nap of the receive thread while the guest's receive ring is full.
const RING_FULL_NAP: std::time::Duration = std::time::Duration::from_micros(20);

/// Longest such nap.
const RING_FULL_NAP_MAX: std::time::Duration = std::time::Duration::from_millis(1);
