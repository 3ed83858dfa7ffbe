//! Host networking for the guest: the NIC behind the original uhyve's network hypercalls
//! (`NETSTAT`, `NETINFO`, `NETWRITE`, `NETREAD`; `libhermit-abi.md` §7.1, §7.4), backed by a
//! host tap device or by `passt` (user mode), with the receive interrupt of [`irq`].
//!
//! Contract with the kernel (ARCHITECTURE.md "Host networking", "Receive interrupt"): one
//! frame per `NETWRITE`/`NETREAD`, a batch per `NETWRITEV`/`NETREADV`; after `NETINFO` the
//! proxy raises vector 0x2B on vCPU 0 once when a frame waits, and again only after a
//! `NETREAD` found nothing or a `NETREADV` filled fewer buffers than it offered. With the
//! descriptor rings ([`ring`], `NETRING`) the receive thread fills the guest's receive ring
//! itself and announces frames only when the guest asked for it (`rx_want_signal`); the
//! fast channel's poller sends what the guest publishes in the transmit ring.

pub mod capture;
pub mod frames;
mod handshake;
pub mod irq;
mod passt;
mod probe;
pub mod ring;
mod rxwait;
mod tap;
mod turn;

/// The tap whose offloads the proxy turned on (-1: none).
static OFFLOADED_TAP: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// At the end of the run: turns the tap's offloads off again. A persistent tap keeps them
/// after the proxy closed it, and a later user that reads it without the virtio-net header
/// (the original uhyve, a proxy with `HERMIT_NET_OFFLOAD=0`) would get 64 KiB frames and
/// partial checksums it cannot take. (A proxy killed by a signal cannot; the next proxy turns
/// them off when it attaches the tap.)
pub fn offloads_off() {
    let fd = OFFLOADED_TAP.swap(-1, Ordering::SeqCst);
    if fd >= 0 {
        let _ = tap::set_offload(fd, 0);
    }
}

/// The `TUNSETOFFLOAD` ioctl number, for the system-call filter.
pub const TUNSETOFFLOAD_IOCTL: u64 = tap::TUNSETOFFLOAD_IOCTL;

use std::cell::RefCell;
use std::mem::offset_of;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Once, OnceLock};

use hermit_interface::header::{self, offset, HeaderExt};
use hermit_interface::hypercall::{NetBatch, NetFrame, NetMtu, NetRead, NetWrite, NET_BATCH_MAX, NET_MTU_MAX};
use hermit_interface::netring::{NetRing, NETRING_F_VNET_HDR, NETRING_KICK, NETRING_SETUP};
use hermit_interface::vnet::HDR_LEN;

use crate::config::{Config, Netif};
use crate::guest::{GuestError, GuestRam};
use crate::host::Host;
use crate::hypercall::field;
use frames::{StreamDecoder, MAX_FRAME, MIN_FRAME};
use irq::RxIrq;
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

/// Where the guest's frames go.
enum Backend {
    /// A tap device (non-blocking): one `read`/`write` per frame; with `vnet` each frame
    /// is preceded by a virtio-net header (`IFF_VNET_HDR`), which the proxy adds (zero) and
    /// strips unless the guest's rings carry it themselves (offloads negotiated).
    Tap { fd: OwnedFd, vnet: bool },
    /// passt's stream socket (blocking writes of whole records; reads only when `poll`
    /// says so, under the decoder's lock), and frames the proxy adds for the guest
    /// ([`handshake`]), delivered before passt's.
    Stream { fd: OwnedFd, rx: Mutex<StreamDecoder>, tx: Mutex<()>, injected: Mutex<Vec<Vec<u8>>> },
}

/// The guest's network interface.
pub struct Nic {
    backend: Backend,
    mac: [u8; 6],
    irq: OnceLock<RxIrq>,
    /// Whether the next waiting frame raises the interrupt.
    armed: Mutex<bool>,
    rearmed: Condvar,
    watcher: Once,
    /// `HERMIT_CAPTURE_NET`: the pcap file every frame goes to.
    capture: Option<capture::Capture>,
    /// With `FEATURE_NET_NOTIFY`: guest RAM and the address of the header extension's
    /// `net_rx_signal` (`net_rx_polling` follows it).
    notify: OnceLock<(GuestRam, u64)>,
    /// What the guest's TCP connections should use as buffers ([`Nic::tcp_buffer`]).
    tcp_buffer: usize,
    /// What `NETMTU` reports: the tap's MTU (passt: [`NET_MTU_MAX`]), at most that.
    mtu: u32,
    /// The descriptor rings, once the guest announced them (`NETRING`).
    ring: OnceLock<ring::Ring>,
    /// Announcements that raised the interrupt, and those a polling guest core took from
    /// `net_rx_signal` alone (for `HERMIT_VERBOSE`).
    announced: [std::sync::atomic::AtomicU64; 2],
    /// Wakes the receive thread in ring mode when the proxy queued a frame of its own
    /// ([`handshake`]) or the poller took the tap over ([`Nic::poller_reads`]); created
    /// before the system-call filter.
    wake: EventFd,
    /// The fast channel's poller reads the tap for the receive ring (while it polls); the
    /// receive thread waits on `handed_back` meanwhile instead of in `poll` on the tap.
    rx_by_poller: AtomicBool,
    /// When the receive thread took the tap back from a stalled poller: the poller leaves it
    /// for [`RX_REVOKE_FOR`], or until it parks.
    rx_revoked: Mutex<Option<std::time::Instant>>,
    /// Reads of the tap by the poller (the receive thread checks that they go on).
    rx_poller_reads: std::sync::atomic::AtomicU64,
    /// Guards the hand-back of the tap to the receive thread.
    rx_back: Mutex<()>,
    handed_back: Condvar,
    /// The host peer's answers to small frames, for the poller's placement ([`turn`]).
    turns: turn::Turnarounds,
}

impl Nic {
    /// Opens the interface `config` asks for (`HERMIT_NETIF`), or `None`. Runs before the
    /// file sandbox and the system-call filter exist (passt is a new process).
    pub fn open(config: &Config) -> Result<Option<Nic>, String> {
        let Some(netif) = &config.netif else { return Ok(None) };
        let mut tcp_buffer = 0;
        let backend = match netif {
            Netif::Tap(name) => {
                let (fd, vnet) = tap::open(name, config.net_offload && config.net_ring)?;
                Backend::Tap { fd, vnet }
            }
            Netif::Fd(fd) => {
                let (fd, vnet) = tap::from_fd(*fd, config.net_offload && config.net_ring)?;
                Backend::Tap { fd, vnet }
            }
            Netif::User => {
                let (fd, buffer) =
                    passt::start(&config.app_ports, config.ip, config.passt_pcap.as_deref(), config.verbose)?;
                tcp_buffer = buffer;
                Backend::Stream {
                    fd,
                    rx: Mutex::new(StreamDecoder::default()),
                    tx: Mutex::new(()),
                    injected: Mutex::new(Vec::new()),
                }
            }
        };
        let mac = config.mac.unwrap_or_else(|| {
            let mut random = [0u8; 6];
            // SAFETY: getrandom writes at most `random.len()` bytes into it.
            unsafe { libc::getrandom(random.as_mut_ptr().cast(), random.len(), 0) };
            frames::local_mac(random)
        });
        if let Backend::Tap { fd, vnet } = &backend {
            let ip = config.ip.unwrap_or(crate::config::TAP_DEFAULTS[0]);
            let what = match netif {
                Netif::Fd(n) => format!("the tap @{n}"),
                Netif::Tap(name) => name.clone(),
                Netif::User => String::new(),
            };
            if ip != [0; 4] {
                probe::check(fd.as_fd(), mac, ip, &what, *vnet)?;
            }
        }
        let capture = config.capture_net.as_deref().map(capture::Capture::create).transpose()?;
        let mtu = match &backend {
            Backend::Tap { fd, .. } => tap::mtu(fd.as_raw_fd()),
            Backend::Stream { .. } => NET_MTU_MAX,
        };
        let wake = EventFd::new(EFD_NONBLOCK).map_err(|e| format!("cannot create an eventfd for the network: {e}"))?;
        let mut nic = Nic::with(backend, mac, capture, mtu.clamp(576, NET_MTU_MAX), wake);
        nic.tcp_buffer = tcp_buffer;
        Ok(Some(nic))
    }

    /// The TCP buffer the kernel should use over this NIC (`HeaderExt::net_tcp_buffer`; 0:
    /// its own default).
    pub fn tcp_buffer(&self) -> u64 {
        self.tcp_buffer as u64
    }

    /// A NIC over `backend` in its initial state: nothing announced, no ring, the receive
    /// side armed and the tap the receive thread's.
    fn with(backend: Backend, mac: [u8; 6], capture: Option<capture::Capture>, mtu: u32, wake: EventFd) -> Nic {
        Nic {
            backend,
            mac,
            irq: OnceLock::new(),
            armed: Mutex::new(true),
            rearmed: Condvar::new(),
            watcher: Once::new(),
            capture,
            notify: OnceLock::new(),
            mtu,
            tcp_buffer: 0,
            ring: OnceLock::new(),
            announced: Default::default(),
            wake,
            rx_by_poller: AtomicBool::new(false),
            rx_revoked: Mutex::new(None),
            rx_poller_reads: Default::default(),
            rx_back: Mutex::new(()),
            handed_back: Condvar::new(),
            turns: turn::Turnarounds::default(),
        }
    }

    /// A NIC over `fd`: a datagram socket stands in for a tap, a stream socket for passt.
    #[cfg(test)]
    pub(crate) fn over_socket(fd: OwnedFd, stream: bool, mac: [u8; 6]) -> Nic {
        let wake = EventFd::new(EFD_NONBLOCK).expect("an eventfd");
        let backend = if stream {
            Backend::Stream {
                fd,
                rx: Mutex::new(StreamDecoder::default()),
                tx: Mutex::new(()),
                injected: Mutex::new(Vec::new()),
            }
        } else {
            Backend::Tap { fd, vnet: false }
        };
        Nic::with(backend, mac, None, 1500, wake)
    }

    /// Turns the tap's offloads on (checksum, TSO for IPv4 and IPv6) for a guest whose rings
    /// carry the virtio-net header; false where the NIC cannot (passt, a tap without the
    /// header, a tap that refuses).
    fn offload_on(&self) -> bool {
        match &self.backend {
            Backend::Tap { fd, vnet: true } => {
                let on = tap::set_offload(fd.as_raw_fd(), tap::TUN_F_CSUM | tap::TUN_F_TSO4 | tap::TUN_F_TSO6).is_ok();
                if on {
                    OFFLOADED_TAP.store(fd.as_raw_fd(), Ordering::SeqCst);
                }
                on
            }
            _ => false,
        }
    }

    /// A NIC over a datagram socket that stands in for a tap with the virtio-net header.
    #[cfg(test)]
    pub(crate) fn over_vnet_socket(fd: OwnedFd, mac: [u8; 6]) -> Nic {
        let mut nic = Nic::over_socket(fd, false, mac);
        if let Backend::Tap { vnet, .. } = &mut nic.backend {
            *vnet = true;
        }
        nic
    }

    /// Records `frame` in the capture file, if there is one.
    fn capture(&self, frame: &[u8]) {
        if let Some(capture) = &self.capture {
            capture.record(frame);
        }
    }

    /// Gives the NIC its receive interrupt (without one the guest must poll).
    pub fn set_irq(&self, irq: RxIrq) {
        let _ = self.irq.set(irq);
    }

    fn fd(&self) -> i32 {
        match &self.backend {
            Backend::Tap { fd, .. } | Backend::Stream { fd, .. } => fd.as_raw_fd(),
        }
    }

    /// Sends one frame; false if it was dropped (the device is full or gone).
    fn send(&self, frame: &[u8]) -> bool {
        match &self.backend {
            Backend::Tap { fd, vnet } => {
                let hdr = if *vnet { &NO_OFFLOAD[..] } else { &[] };
                let iov = [
                    libc::iovec { iov_base: hdr.as_ptr().cast_mut().cast(), iov_len: hdr.len() },
                    libc::iovec { iov_base: frame.as_ptr().cast_mut().cast(), iov_len: frame.len() },
                ];
                // SAFETY: writes from two live buffers of their lengths.
                let n = unsafe { libc::writev(fd.as_raw_fd(), iov.as_ptr(), 2) };
                n == (hdr.len() + frame.len()) as isize
            }
            Backend::Stream { fd, tx, injected, .. } => {
                let record = frames::stream_record(frame);
                let sent = {
                    let _guard = tx.lock().expect("passt writer");
                    write_all(fd.as_raw_fd(), &record)
                };
                if let Some(ack) = handshake::ack_for_syn_ack(frame).filter(|_| sent) {
                    // Debian 12's passt spins for ever (100% CPU, the network dead) when the
                    // guest's first data arrives in the same read as its SYN-ACK: the guest
                    // sends nothing before this ACK, so it is handed over only once passt
                    // has read the SYN-ACK.
                    wait_read_by_peer(fd.as_raw_fd(), PASST_READ_WAIT);
                    injected.lock().expect("injected frames").push(ack);
                    self.raise_if_armed();
                }
                sent
            }
        }
    }

    /// Receives one frame into `buf`; its length, or `None` when none waits.
    fn receive(&self, buf: &mut [u8]) -> Option<usize> {
        match &self.backend {
            Backend::Tap { fd, vnet } => {
                let mut hdr = [0u8; HDR_LEN];
                let hdr = if *vnet { &mut hdr[..] } else { &mut [] };
                let iov = [
                    libc::iovec { iov_base: hdr.as_mut_ptr().cast(), iov_len: hdr.len() },
                    libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() },
                ];
                // SAFETY: reads into two live buffers of their lengths.
                let n = unsafe { libc::readv(fd.as_raw_fd(), iov.as_ptr(), 2) };
                (n > hdr.len() as isize).then_some(n as usize - hdr.len())
            }
            Backend::Stream { fd, rx, injected, .. } => {
                if let Some(frame) = injected.lock().expect("injected frames").pop() {
                    let n = frame.len().min(buf.len());
                    buf[..n].copy_from_slice(&frame[..n]);
                    return Some(n);
                }
                let mut decoder = rx.lock().expect("passt reader");
                loop {
                    match decoder.next_frame() {
                        Ok(Some(frame)) => {
                            let n = frame.len().min(buf.len());
                            buf[..n].copy_from_slice(&frame[..n]);
                            return Some(n);
                        }
                        Ok(None) => {}
                        Err(bad) => {
                            eprintln!("proxy: passt sent a record of {} bytes; network stopped", bad.0);
                            *decoder = StreamDecoder::default();
                            return None;
                        }
                    }
                    if !readable(fd.as_raw_fd(), 0) {
                        return None;
                    }
                    // SAFETY: reads into a live buffer of `buf.len()` bytes.
                    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                    if n <= 0 {
                        return None;
                    }
                    decoder.push(&buf[..n as usize]);
                }
            }
        }
    }

    /// Whether a whole frame is already buffered in the proxy.
    fn buffered(&self) -> bool {
        match &self.backend {
            Backend::Tap { .. } => false,
            Backend::Stream { rx, injected, .. } => {
                !injected.lock().expect("injected frames").is_empty() || rx.lock().expect("passt reader").has_frame()
            }
        }
    }

    /// Raises the receive interrupt for a frame the proxy queued itself, if it is armed.
    fn raise_if_armed(&self) {
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
    fn announce(&self, irq: &RxIrq) {
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
    fn rearm(&self) {
        let mut armed = self.armed.lock().expect("rx arm");
        if !*armed {
            *armed = true;
            self.rearmed.notify_one();
        }
    }

    /// Starts, once, the thread that raises the interrupt when a frame waits and the
    /// interrupt is armed (as uhyve's poll thread, started by `NETINFO`).
    fn start_watcher(self: &Arc<Self>) {
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
}

impl Nic {
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
        let mut rx_wait = rxwait::RxWait::new();
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
                    if reads == seen && self.rx_by_poller.load(Ordering::Acquire) {
                        let filled =
                            ring.fill_rx(|addr, cap| self.receive_into(ring, addr, cap), || self.announce(irq))?;
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
            let filled = ring.fill_rx(|addr, cap| self.receive_into(ring, addr, cap), || self.announce(irq))?;
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

    /// Receives one frame into the guest buffer at `addr` of `cap` bytes: straight from the
    /// tap with one `read`, through the proxy's buffer from passt's stream. Its length (a
    /// longer frame is cut to the buffer), or `None` when none waits.
    fn receive_into(&self, ring: &ring::Ring, addr: u64, cap: u32) -> Result<Option<u32>, GuestError> {
        let got = self.receive_frame(ring, addr, cap)?;
        if let Some(n) = got {
            self.turns.got(n as usize);
        }
        Ok(got)
    }

    fn receive_frame(&self, ring: &ring::Ring, addr: u64, cap: u32) -> Result<Option<u32>, GuestError> {
        let ram = ring.ram();
        let n = match &self.backend {
            // The ring carries the header: the tap's frame with it, straight into the buffer.
            Backend::Tap { fd, vnet: true } if ring.vnet() => {
                match ram.read_fd_phys(addr, u64::from(cap), fd.as_raw_fd())? {
                    Ok(n) if n > HDR_LEN => {
                        let mut hdr = [0u8; HDR_LEN];
                        ram.read_bytes(addr, &mut hdr)?;
                        ring.count_rx_header(&hdr);
                        if self.capture.is_some() {
                            let mut frame = vec![0u8; n - HDR_LEN];
                            ram.read_bytes(addr + HDR_LEN as u64, &mut frame)?;
                            self.capture(&frame);
                        }
                        return Ok(Some(n as u32));
                    }
                    _ => return Ok(None),
                }
            }
            // The tap's header (no offloads: nothing in it) into the proxy.
            Backend::Tap { fd, vnet: true } => {
                let mut hdr = [0u8; HDR_LEN];
                match ram.readv_fd_phys(&mut hdr, addr, u64::from(cap), fd.as_raw_fd())? {
                    Ok(n) if n > HDR_LEN => n - HDR_LEN,
                    _ => return Ok(None),
                }
            }
            Backend::Tap { fd, vnet: false } => match ram.read_fd_phys(addr, u64::from(cap), fd.as_raw_fd())? {
                Ok(n) if n > 0 => n,
                _ => return Ok(None),
            },
            Backend::Stream { .. } => {
                let got = FRAME.with(|buf| {
                    let mut buf = buf.borrow_mut();
                    let n = self.receive(&mut buf)?;
                    self.capture(&buf[..n]);
                    let n = n.min(cap as usize);
                    Some(ram.write_bytes(addr, &buf[..n]).map(|()| n))
                });
                return got.transpose().map(|n| n.map(|n| n as u32));
            }
        };
        if self.capture.is_some() {
            let mut frame = vec![0u8; n];
            ram.read_bytes(addr, &mut frame)?;
            self.capture(&frame);
        }
        Ok(Some(n as u32))
    }

    /// Sends what the guest published in the transmit ring (`wait`: also if another thread
    /// is at it, see [`ring::Ring::drain_tx`]); the entries taken.
    fn drain_ring(&self, ring: &ring::Ring, wait: bool) -> Result<u32, GuestError> {
        ring.drain_tx(wait, |head, rest, rest_len| self.send_parts(ring, head, rest, rest_len))
    }

    /// Sends a transmit entry: its first bytes `head` (copied and checked by the ring) and
    /// `rest_len` more at guest-physical `rest`. To a tap with one `writev` from guest
    /// memory (the header as the ring has it, a zero one, or none); to passt, and for the
    /// capture, through the proxy's buffer. False if the device dropped it.
    fn send_parts(&self, ring: &ring::Ring, head: &[u8], rest: u64, rest_len: usize) -> Result<bool, GuestError> {
        let sent = self.send_entry(ring, head, rest, rest_len)?;
        self.turns.sent(head.len() + rest_len);
        Ok(sent)
    }

    fn send_entry(&self, ring: &ring::Ring, head: &[u8], rest: u64, rest_len: usize) -> Result<bool, GuestError> {
        let ram = ring.ram();
        let sent = match &self.backend {
            Backend::Tap { fd, vnet } => {
                let hdr: &[u8] = if *vnet && !ring.vnet() { &NO_OFFLOAD } else { &[] };
                let total = hdr.len() + head.len() + rest_len;
                let sent = ram.writev_fd_phys(&[hdr, head], rest, rest_len as u64, fd.as_raw_fd())?;
                if self.capture.is_none() || sent != Ok(total) {
                    return Ok(sent == Ok(total));
                }
                true
            }
            Backend::Stream { .. } => false,
        };
        FRAME.with(|buf| {
            let mut buf = buf.borrow_mut();
            let skip = if ring.vnet() { HDR_LEN } else { 0 };
            let len = head.len() + rest_len;
            buf[..head.len()].copy_from_slice(head);
            ram.read_bytes(rest, &mut buf[head.len()..len])?;
            let frame = &buf[skip..len];
            let sent = sent || self.send(frame);
            if sent {
                self.capture(frame);
            }
            Ok(sent)
        })
    }
}

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
        let filled = ring.fill_rx(|addr, cap| self.receive_into(ring, addr, cap), || self.announce(irq))?;
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
const RX_TAKE_AFTER: std::time::Duration = crate::channel::STREAM_GAP;

/// The shortest time between two reads of the tap by the poller: an empty read costs about
/// 1 us here, and a channel request that comes meanwhile waits for it.
const RX_POLL_GAP: std::time::Duration = std::time::Duration::from_micros(2);

/// How long the poller may go without reading the tap it took before the receive thread
/// reads it (the poller lost its CPU); the receive thread wakes this often while the
/// poller polls, and up to eight times less often while it finds the poller reading
/// ([`rxwait`]).
const RX_POLLER_STALL: std::time::Duration = std::time::Duration::from_micros(200);

/// How long a receive thread that found frames a stalled poller left keeps the tap: a
/// busy host costs one stall (at most [`RX_POLLER_STALL`]) per this period, a single stall
/// on a quiet host only this long on the thread's path.
const RX_REVOKE_FOR: std::time::Duration = std::time::Duration::from_millis(20);

/// First nap of the receive thread while the guest's receive ring is full.
const RING_FULL_NAP: std::time::Duration = std::time::Duration::from_micros(20);
/// Longest such nap.
const RING_FULL_NAP_MAX: std::time::Duration = std::time::Duration::from_millis(1);

/// `NETRING` (extension): `NETRING_SETUP` checks and takes the guest's ring area (`ret`
/// -`EBUSY` for a second one, -`ENODEV` without a NIC or its receive interrupt: the guest
/// keeps the batched calls); `NETRING_KICK` sends what waits in the transmit ring. Another
/// operation, or a bad area, stops the guest.
pub fn netring(host: &Host, arg: u64) -> Result<(), GuestError> {
    let op: u32 = host.ram.read(field(arg, offset_of!(NetRing, op)))?;
    let nic = host.net.get();
    let ret = match op {
        NETRING_SETUP => {
            let slots: u32 = host.ram.read(field(arg, offset_of!(NetRing, slots)))?;
            let gpa: u64 = host.ram.read(field(arg, offset_of!(NetRing, gpa)))?;
            let buf: u32 = host.ram.read(field(arg, offset_of!(NetRing, buf)))?;
            let flags: u32 = host.ram.read(field(arg, offset_of!(NetRing, flags)))?;
            if flags & !NETRING_F_VNET_HDR != 0 {
                return Err(GuestError::Invalid(format!("unknown NETRING flags {flags:#x}")));
            }
            let vnet = flags & NETRING_F_VNET_HDR != 0;
            let ring = ring::Ring::new(&host.ram, gpa, slots, buf, vnet)?;
            match nic {
                Some(nic) if nic.irq.get().is_some() => {
                    if nic.ring.get().is_some() {
                        -libc::EBUSY
                    } else if vnet && !nic.offload_on() {
                        -libc::EOPNOTSUPP
                    } else {
                        ring.start()?;
                        let _ = nic.ring.set(ring);
                        // Wake the receive thread if it waits to be re-armed: it moves to
                        // the ring (or starts now, if NETINFO did not start it).
                        *nic.armed.lock().expect("rx arm") = true;
                        nic.rearmed.notify_one();
                        nic.start_watcher();
                        0
                    }
                }
                _ => -libc::ENODEV,
            }
        }
        NETRING_KICK => match nic.and_then(|nic| Some((nic, nic.ring.get()?))) {
            Some((nic, ring)) => {
                ring.stats.kicks.fetch_add(1, Ordering::Relaxed);
                let n = nic.drain_ring(ring, true)?;
                ring.stats.tx_kicked.fetch_add(u64::from(n), Ordering::Relaxed);
                ring.add_activity(n);
                0
            }
            None => -libc::ENODEV,
        },
        other => return Err(GuestError::Invalid(format!("unknown NETRING operation {other}"))),
    };
    host.ram.write(field(arg, offset_of!(NetRing, ret)), ret)
}

/// For the fast channel's poller, at every scan: sends what the guest published in the
/// transmit ring. Returns the frames the rings moved since the last scan (these, those the
/// receive thread received or sent, those kicks sent): the poller counts them as served
/// requests, so a busy network keeps it polling as the batched calls did (0 at once
/// without a ring). A bad ring ends the run.
pub fn poll_tx(host: &Host) -> u32 {
    let Some(nic) = host.net.get() else { return 0 };
    let Some(ring) = nic.ring.get() else { return 0 };
    if let Err(e) = nic.poll_rx(ring) {
        host.fatal(&e.to_string());
    }
    let moved = ring.take_activity();
    if !ring.tx_waiting() {
        return moved;
    }
    match nic.drain_ring(ring, false) {
        Ok(n) => {
            ring.stats.tx_polled.fetch_add(u64::from(n), Ordering::Relaxed);
            moved + n
        }
        Err(e) => host.fatal(&e.to_string()),
    }
}

/// For the poller: after every [`turn::SAMPLES`] answers of the host peer to small frames,
/// whether most were slow ([`turn`]).
pub fn peer_slow(host: &Host) -> Option<bool> {
    host.net.get()?.turns.verdict()
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

/// The rings' line for `HERMIT_VERBOSE`, if the guest used them.
pub fn ring_summary(host: &Host) -> Option<String> {
    let nic = host.net.get()?;
    let [irq, polled] = &nic.announced;
    Some(format!(
        "{} ({} by the receive interrupt, {} to a polling guest core)",
        nic.ring.get()?.summary(),
        irq.load(Ordering::Relaxed),
        polled.load(Ordering::Relaxed)
    ))
}

/// How long a SYN-ACK may wait for passt to read it before the handshake's ACK is given to
/// the guest anyway.
const PASST_READ_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// Waits (at most `limit`) until the peer of the stream socket `fd` has read everything
/// written to it (`SIOCOUTQ` 0).
fn wait_read_by_peer(fd: i32, limit: std::time::Duration) {
    let start = std::time::Instant::now();
    loop {
        let mut queued: libc::c_int = 0;
        // SAFETY: SIOCOUTQ writes one int to the live `queued`.
        let r = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut queued) };
        if r < 0 || queued == 0 || start.elapsed() >= limit {
            return;
        }
        std::thread::sleep(std::time::Duration::from_micros(20));
    }
}

/// Whether `fd` has data within `timeout_ms`.
fn readable(fd: i32, timeout_ms: i32) -> bool {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd.
    (unsafe { libc::poll(&mut pfd, 1, timeout_ms) }) > 0 && pfd.revents & libc::POLLIN != 0
}

/// Writes all of `bytes` to the blocking descriptor `fd`.
fn write_all(fd: i32, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        // SAFETY: writes from a live buffer.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        if n <= 0 {
            return false;
        }
        bytes = &bytes[n as usize..];
    }
    true
}

thread_local! {
    /// A frame buffer per serving thread (a ring entry fits).
    static FRAME: RefCell<Vec<u8>> = RefCell::new(vec![0; MAX_FRAME.max(hermit_interface::netring::MAX_BUF as usize)]);
}

/// The virtio-net header of a frame without offloads.
const NO_OFFLOAD: [u8; HDR_LEN] = [0; HDR_LEN];

/// `NETSTAT`: 1 with a NIC.
pub fn netstat(host: &Host, arg: u64) -> Result<(), GuestError> {
    host.ram.write::<i32>(arg, i32::from(host.net.get().is_some()))
}

/// `NETINFO`: the MAC address as a string (empty without a NIC); starts the receive interrupt.
pub fn netinfo(host: &Host, arg: u64) -> Result<(), GuestError> {
    match host.net.get() {
        Some(nic) => {
            host.ram.write_bytes(arg, &frames::mac_string(nic.mac))?;
            let ext = host.entry + offset::EXT as u64;
            let features = host.ram.load_u64(ext + offset_of!(HeaderExt, features) as u64).unwrap_or(0);
            if features & header::FEATURE_NET_NOTIFY != 0 {
                let _ = nic.notify.set((host.ram.clone(), ext + offset_of!(HeaderExt, net_rx_signal) as u64));
            }
            nic.start_watcher();
            Ok(())
        }
        None => host.ram.write::<u8>(arg, 0),
    }
}

/// `NETWRITE`: sends the frame at guest-physical `data`; `ret` 0 and `len` = bytes sent, or
/// `ret` -1 (no NIC, a length outside [`MIN_FRAME`]..=[`MAX_FRAME`], or the device dropped it).
pub fn netwrite(host: &Host, arg: u64) -> Result<(), GuestError> {
    let data: u64 = host.ram.read(field(arg, offset_of!(NetWrite, data)))?;
    let len: u64 = host.ram.read(field(arg, offset_of!(NetWrite, len)))?;
    let sent = match host.net.get() {
        Some(nic) if (MIN_FRAME as u64..=MAX_FRAME as u64).contains(&len) => FRAME.with(|buf| {
            let mut buf = buf.borrow_mut();
            let frame = &mut buf[..len as usize];
            host.ram.read_bytes(data, frame)?;
            let sent = nic.send(frame);
            if sent {
                nic.capture(frame);
            }
            Ok::<_, GuestError>(sent)
        })?,
        _ => false,
    };
    if sent {
        host.ram.write(field(arg, offset_of!(NetWrite, len)), len)?;
        host.ram.write(field(arg, offset_of!(NetWrite, ret)), 0i32)
    } else {
        host.ram.write(field(arg, offset_of!(NetWrite, ret)), -1i32)
    }
}

/// `NETREAD`: one waiting frame into guest-physical `data` of `len` bytes (`len` becomes the
/// frame's length, a longer frame is cut to the buffer), `ret` 0; or `ret` -1 when none
/// waits, which re-arms the interrupt.
pub fn netread(host: &Host, arg: u64) -> Result<(), GuestError> {
    let data: u64 = host.ram.read(field(arg, offset_of!(NetRead, data)))?;
    let size: u64 = host.ram.read(field(arg, offset_of!(NetRead, len)))?;
    let Some(nic) = host.net.get() else {
        return host.ram.write(field(arg, offset_of!(NetRead, ret)), -1i32);
    };
    let room = size.min(MAX_FRAME as u64) as usize;
    host.ram.check(data, room as u64)?;
    let got = FRAME.with(|buf| {
        let mut buf = buf.borrow_mut();
        let n = nic.receive(&mut buf)?;
        nic.capture(&buf[..n]);
        let n = n.min(room);
        Some(host.ram.write_bytes(data, &buf[..n]).map(|()| n))
    });
    match got {
        Some(n) => {
            host.ram.write(field(arg, offset_of!(NetRead, len)), n? as u64)?;
            host.ram.write(field(arg, offset_of!(NetRead, ret)), 0i32)
        }
        None => {
            nic.rearm();
            host.ram.write(field(arg, offset_of!(NetRead, ret)), -1i32)
        }
    }
}

/// `NETMTU` (extension): the interface's MTU, `ret` 0; `ret` -1 and 1500 without a NIC.
pub fn netmtu(host: &Host, arg: u64) -> Result<(), GuestError> {
    let (mtu, ret) = host.net.get().map_or((1500, -1), |nic| (nic.mtu, 0));
    host.ram.write(field(arg, offset_of!(NetMtu, mtu)), mtu)?;
    host.ram.write(field(arg, offset_of!(NetMtu, ret)), ret)
}

/// The frame descriptors of the batch request at `arg` (at most [`NET_BATCH_MAX`]; every
/// access bounds-checked).
fn batch_frames(host: &Host, arg: u64) -> Result<Vec<NetFrame>, GuestError> {
    let frames: u64 = host.ram.read(field(arg, offset_of!(NetBatch, frames)))?;
    let count: u32 = host.ram.read(field(arg, offset_of!(NetBatch, count)))?;
    if count > NET_BATCH_MAX {
        return Err(GuestError::Invalid(format!("{count} frames in one batch (at most {NET_BATCH_MAX})")));
    }
    let size = std::mem::size_of::<NetFrame>() as u64;
    host.ram.check(frames, u64::from(count) * size)?;
    (0..u64::from(count))
        .map(|i| {
            let at = frames + i * size;
            let data = host.ram.read::<u64>(at + offset_of!(NetFrame, data) as u64)?;
            let len = host.ram.read::<u32>(at + offset_of!(NetFrame, len) as u64)?;
            Ok(NetFrame { data, len, reserved: 0 })
        })
        .collect()
}

/// `NETWRITEV` (extension): sends the batch's frames in order; `ret` = frames sent (a frame
/// of a length outside [`MIN_FRAME`]..=[`MAX_FRAME`] or dropped by the device is skipped),
/// -1 without a NIC.
pub fn netwritev(host: &Host, arg: u64) -> Result<(), GuestError> {
    let frames = batch_frames(host, arg)?;
    let Some(nic) = host.net.get() else {
        return host.ram.write(field(arg, offset_of!(NetBatch, ret)), -1i32);
    };
    let mut sent = 0i32;
    FRAME.with(|buf| {
        let mut buf = buf.borrow_mut();
        for f in &frames {
            let len = f.len as usize;
            if !(MIN_FRAME..=MAX_FRAME).contains(&len) {
                continue;
            }
            host.ram.read_bytes(f.data, &mut buf[..len])?;
            let ok = nic.send(&buf[..len]);
            if ok {
                nic.capture(&buf[..len]);
            }
            sent += i32::from(ok);
        }
        Ok::<_, GuestError>(())
    })?;
    host.ram.write(field(arg, offset_of!(NetBatch, ret)), sent)
}

/// `NETREADV` (extension): fills the batch's buffers with waiting frames, in order (each
/// `len` becomes the frame's length, a longer frame is cut to its buffer); `ret` = frames
/// received, -1 without a NIC. Fewer than the buffers means none waits any more: the
/// interrupt is re-armed, as by `NETREAD`'s -1.
pub fn netreadv(host: &Host, arg: u64) -> Result<(), GuestError> {
    let frames = batch_frames(host, arg)?;
    let Some(nic) = host.net.get() else {
        return host.ram.write(field(arg, offset_of!(NetBatch, ret)), -1i32);
    };
    let size = std::mem::size_of::<NetFrame>() as u64;
    let table: u64 = host.ram.read(field(arg, offset_of!(NetBatch, frames)))?;
    for f in &frames {
        host.ram.check(f.data, u64::from(f.len).min(MAX_FRAME as u64))?;
    }
    let mut got = 0usize;
    FRAME.with(|buf| {
        let mut buf = buf.borrow_mut();
        for (i, f) in frames.iter().enumerate() {
            let Some(n) = nic.receive(&mut buf) else { break };
            nic.capture(&buf[..n]);
            let n = n.min(f.len as usize);
            host.ram.write_bytes(f.data, &buf[..n])?;
            host.ram.write(table + i as u64 * size + offset_of!(NetFrame, len) as u64, n as u32)?;
            got += 1;
        }
        Ok::<_, GuestError>(())
    })?;
    if got < frames.len() {
        nic.rearm();
    }
    host.ram.write(field(arg, offset_of!(NetBatch, ret)), got as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::os::unix::net::UnixDatagram;
    use std::os::unix::net::UnixStream;

    const REQ: u64 = 0x1000;
    const BUF: u64 = 0x2000;

    fn host(nic: Option<Nic>) -> Host {
        let ram = crate::guest::GuestRam::new(32 << 20, false).unwrap();
        let host = Host::new(ram, 0x80_0000, vec![CString::new("app").unwrap()], vec![], false, true, false);
        if let Some(nic) = nic {
            let _ = host.net.set(Arc::new(nic));
        }
        host
    }

    fn request(host: &Host, data: u64, len: u64) {
        host.ram.write(field(REQ, offset_of!(NetRead, data)), data).unwrap();
        host.ram.write(field(REQ, offset_of!(NetRead, len)), len).unwrap();
        host.ram.write(field(REQ, offset_of!(NetRead, ret)), 7i32).unwrap();
    }

    fn result(host: &Host) -> (i32, u64) {
        let ret = host.ram.read::<i32>(field(REQ, offset_of!(NetRead, ret))).unwrap();
        (ret, host.ram.read::<u64>(field(REQ, offset_of!(NetRead, len))).unwrap())
    }

    fn frame(n: usize, seed: u8) -> Vec<u8> {
        (0..n).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed)).collect()
    }

    /// Writes a batch request at [`REQ`] with its table at `table`.
    fn batch_request(host: &Host, table: u64, frames: &[(u64, u32)]) {
        for (i, &(data, len)) in frames.iter().enumerate() {
            let at = table + 16 * i as u64;
            host.ram.write(at, data).unwrap();
            host.ram.write(at + 8, len).unwrap();
            host.ram.write(at + 12, 0u32).unwrap();
        }
        host.ram.write(field(REQ, offset_of!(NetBatch, frames)), table).unwrap();
        host.ram.write(field(REQ, offset_of!(NetBatch, count)), frames.len() as u32).unwrap();
        host.ram.write(field(REQ, offset_of!(NetBatch, ret)), 7i32).unwrap();
    }

    fn batch_ret(host: &Host) -> i32 {
        host.ram.read::<i32>(field(REQ, offset_of!(NetBatch, ret))).unwrap()
    }

    #[test]
    fn batches_both_ways() {
        let (ours, peer) = UnixDatagram::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        peer.set_nonblocking(true).unwrap();
        let host = host(Some(Nic::over_socket(ours.into(), false, [2, 0, 0, 0, 0, 9])));
        const TABLE: u64 = 0x3000;
        // Three frames, the middle one too short: two go out, in order.
        let (a, b) = (frame(60, 1), frame(1514, 2));
        host.ram.write_bytes(0x10000, &a).unwrap();
        host.ram.write_bytes(0x20000, &b).unwrap();
        batch_request(&host, TABLE, &[(0x10000, 60), (0x20000, 13), (0x20000, 1514)]);
        netwritev(&host, REQ).unwrap();
        assert_eq!(batch_ret(&host), 2);
        let mut got = vec![0u8; 70000];
        assert_eq!(peer.recv(&mut got).unwrap(), 60);
        assert_eq!(&got[..60], &a[..]);
        assert_eq!(peer.recv(&mut got).unwrap(), 1514);
        assert_eq!(&got[..1514], &b[..]);
        assert!(peer.recv(&mut got).is_err(), "nothing else was sent");
        // Two frames wait, four buffers: both arrive (the second cut to its buffer).
        peer.send(&frame(70, 3)).unwrap();
        peer.send(&frame(3000, 4)).unwrap();
        batch_request(&host, TABLE, &[(0x10000, 2048), (0x20000, 1000), (0x30000, 2048), (0x40000, 2048)]);
        netreadv(&host, REQ).unwrap();
        assert_eq!(batch_ret(&host), 2);
        assert_eq!(host.ram.read::<u32>(TABLE + 8).unwrap(), 70);
        assert_eq!(host.ram.read::<u32>(TABLE + 16 + 8).unwrap(), 1000);
        let mut back = vec![0u8; 1000];
        host.ram.read_bytes(0x20000, &mut back).unwrap();
        assert_eq!(back, frame(3000, 4)[..1000]);
        // Too many entries, or a table outside RAM: the guest is stopped.
        host.ram.write(field(REQ, offset_of!(NetBatch, count)), NET_BATCH_MAX + 1).unwrap();
        assert!(netreadv(&host, REQ).is_err());
        batch_request(&host, (32 << 20) - 8, &[]);
        host.ram.write(field(REQ, offset_of!(NetBatch, count)), 1u32).unwrap();
        assert!(netwritev(&host, REQ).is_err());
        // A buffer outside RAM: stopped, nothing consumed.
        peer.send(&frame(80, 5)).unwrap();
        batch_request(&host, TABLE, &[(0x10000, 2048), ((32 << 20) - 100, 2048)]);
        assert!(netreadv(&host, REQ).is_err());
        batch_request(&host, TABLE, &[(0x10000, 2048)]);
        netreadv(&host, REQ).unwrap();
        assert_eq!((batch_ret(&host), host.ram.read::<u32>(TABLE + 8).unwrap()), (1, 80));
    }

    #[test]
    fn polling_guest_cores_take_the_signal_instead_of_the_interrupt() {
        use std::sync::atomic::Ordering;
        use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};
        let (ours, _peer) = UnixDatagram::pair().unwrap();
        let nic = Nic::over_socket(ours.into(), false, [2, 0, 0, 0, 0, 9]);
        let event = EventFd::new(EFD_NONBLOCK).unwrap();
        nic.set_irq(RxIrq::from_event(event.try_clone().unwrap()));
        let irq = nic.irq.get().unwrap();
        // Without the feature: the interrupt alone.
        nic.announce(irq);
        assert_eq!(event.read().unwrap(), 1);
        let ram = crate::guest::GuestRam::new(32 << 20, false).unwrap();
        const SIGNAL: u64 = 0x5000;
        assert!(nic.notify.set((ram.clone(), SIGNAL)).is_ok());
        let (signal, polling) = (ram.atomic_u32(SIGNAL).unwrap(), ram.atomic_u32(SIGNAL + 4).unwrap());
        // A core polls: the signal, no interrupt.
        polling.store(1, Ordering::SeqCst);
        nic.announce(irq);
        assert_eq!(signal.swap(0, Ordering::SeqCst), 1);
        assert!(event.read().is_err(), "no interrupt while a core polls");
        // None polls: the signal and the interrupt.
        polling.store(0, Ordering::SeqCst);
        nic.announce(irq);
        assert_eq!(signal.load(Ordering::SeqCst), 1);
        assert_eq!(event.read().unwrap(), 1);
    }

    /// Writes a `NETRING` request at [`REQ`].
    /// Waits up to 10 s for the receive ring at `area` to hold a frame and checks that its
    /// first entry is `expected`.
    fn expect_first_rx(host: &Host, area: u64, layout: &hermit_interface::netring::Layout, expected: &[u8]) {
        let start = std::time::Instant::now();
        let prod = host.ram.atomic_u32(area + hermit_interface::netring::control::RX_PROD).unwrap();
        while prod.load(Ordering::Acquire) == 0 {
            assert!(start.elapsed().as_secs() < 10, "no frame in the receive ring");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(host.ram.read::<u32>(area + layout.rx_len_at(0)).unwrap() as usize, expected.len());
        let mut back = vec![0u8; expected.len()];
        host.ram.read_bytes(area + layout.rx_buf_at(0), &mut back).unwrap();
        assert_eq!(back, expected);
    }

    fn ring_request(host: &Host, op: u32, gpa: u64, slots: u32, buf: u32) -> i32 {
        host.ram.write(field(REQ, offset_of!(NetRing, op)), op).unwrap();
        host.ram.write(field(REQ, offset_of!(NetRing, slots)), slots).unwrap();
        host.ram.write(field(REQ, offset_of!(NetRing, gpa)), gpa).unwrap();
        host.ram.write(field(REQ, offset_of!(NetRing, buf)), buf).unwrap();
        host.ram.write(field(REQ, offset_of!(NetRing, ret)), 7i32).unwrap();
        let served = netring(host, REQ);
        served.map(|()| host.ram.read::<i32>(field(REQ, offset_of!(NetRing, ret))).unwrap()).unwrap_or(i32::MIN)
    }

    #[test]
    fn rings_carry_frames_both_ways() {
        use hermit_interface::netring::{control, Layout};
        use std::sync::atomic::Ordering;
        use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};
        const AREA: u64 = 0x40_0000;
        let (ours, peer) = UnixDatagram::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        peer.set_nonblocking(true).unwrap();
        let nic = Nic::over_socket(ours.into(), false, [2, 0, 0, 0, 0, 9]);
        // Without a receive interrupt the rings are refused (the guest keeps the batches).
        let host = host(Some(nic));
        assert_eq!(ring_request(&host, NETRING_SETUP, AREA, 16, 2048), -libc::ENODEV);
        let event = EventFd::new(EFD_NONBLOCK).unwrap();
        let nic = host.net.get().unwrap();
        nic.set_irq(RxIrq::from_event(event.try_clone().unwrap()));
        // A bad area stops the guest; a good one is taken once.
        assert_eq!(ring_request(&host, NETRING_SETUP, AREA + 8, 16, 2048), i32::MIN);
        assert_eq!(ring_request(&host, 9, AREA, 16, 2048), i32::MIN);
        let word = |offset| host.ram.atomic_u32(AREA + offset).unwrap();
        word(control::RX_WANT_SIGNAL).store(1, Ordering::SeqCst);
        assert_eq!(ring_request(&host, NETRING_SETUP, AREA, 16, 2048), 0);
        assert_eq!(ring_request(&host, NETRING_SETUP, AREA, 16, 2048), -libc::EBUSY);
        let layout = Layout::new(16, 2048).unwrap();
        // Host to guest: the receive thread puts the frame into the ring and, as the guest
        // asked, raises the interrupt (no core polls).
        peer.send(&frame(70, 3)).unwrap();
        let start = std::time::Instant::now();
        expect_first_rx(&host, AREA, &layout, &frame(70, 3));
        while event.read().is_err() {
            assert!(start.elapsed().as_secs() < 10, "no interrupt");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(word(control::RX_WANT_SIGNAL).load(Ordering::SeqCst), 0, "the request was taken");
        // Guest to host: a published frame goes out with a kick.
        host.ram.write(AREA + layout.tx_len_at(0), 60u32).unwrap();
        host.ram.write_bytes(AREA + layout.tx_buf_at(0), &frame(60, 4)).unwrap();
        word(control::TX_PROD).store(1, Ordering::Release);
        assert_eq!(ring_request(&host, NETRING_KICK, 0, 0, 0), 0);
        assert_eq!(word(control::TX_CONS).load(Ordering::Acquire), 1);
        let mut got = vec![0u8; 2048];
        assert_eq!(peer.recv(&mut got).unwrap(), 60);
        assert_eq!(&got[..60], &frame(60, 4)[..]);
        assert!(ring_summary(&host).unwrap().starts_with("network rings: 1 frames sent"));
    }

    /// While the poller polls it reads the tap for the receive ring itself and the receive
    /// thread keeps off the tap; once the poller parks the thread reads it again.
    #[test]
    fn the_poller_reads_the_tap_while_it_polls() {
        use hermit_interface::netring::{control, Layout};
        use std::sync::atomic::Ordering;
        use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};
        const AREA: u64 = 0x40_0000;
        let (ours, peer) = UnixDatagram::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let host = host(Some(Nic::over_socket(ours.into(), false, [2, 0, 0, 0, 0, 9])));
        let event = EventFd::new(EFD_NONBLOCK).unwrap();
        let nic = host.net.get().unwrap();
        nic.set_irq(RxIrq::from_event(event.try_clone().unwrap()));
        let word = |offset| host.ram.atomic_u32(AREA + offset).unwrap();
        assert_eq!(ring_request(&host, NETRING_SETUP, AREA, 16, 2048), 0);
        let layout = Layout::new(16, 2048).unwrap();
        let wait_for = |prod: u32, what: &str| {
            let start = std::time::Instant::now();
            while word(control::RX_PROD).load(Ordering::Acquire) < prod {
                assert!(start.elapsed().as_secs() < 10, "{what}");
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        };
        // The poller takes the tap once it has polled for RX_TAKE_AFTER; wait until the
        // receive thread left it.
        assert_eq!(poll_tx(&host), 0);
        assert!(!nic.rx_by_poller.load(Ordering::Relaxed), "not at the first scan");
        std::thread::sleep(RX_TAKE_AFTER);
        assert_eq!(poll_tx(&host), 0);
        assert!(nic.rx_by_poller.load(Ordering::Relaxed));
        std::thread::sleep(std::time::Duration::from_millis(50));
        // A frame is read by the poller while it scans, and announced.
        word(control::RX_WANT_SIGNAL).store(1, Ordering::SeqCst);
        peer.send(&frame(70, 5)).unwrap();
        let start = std::time::Instant::now();
        while word(control::RX_PROD).load(Ordering::Acquire) == 0 {
            assert!(start.elapsed().as_secs() < 10, "the poller did not read the tap");
            poll_tx(&host);
        }
        let stats = &nic.ring.get().unwrap().stats;
        assert_eq!(host.ram.read::<u32>(AREA + layout.rx_len_at(0)).unwrap(), 70);
        assert_eq!(event.read().unwrap(), 1, "announced with the interrupt (no core polls)");
        assert_eq!(stats.rx_polled.load(Ordering::Relaxed), 1);
        assert_eq!(stats.rx_stalls.load(Ordering::Relaxed), 0, "the receive thread kept off the tap");
        // A poller that stops scanning without parking (it lost its CPU): the receive thread
        // reads the tap after RX_POLLER_STALL and keeps it; the poller leaves it until it
        // parks.
        peer.send(&frame(75, 7)).unwrap();
        wait_for(2, "the receive thread read the tap of a stalled poller");
        assert!(stats.rx_stalls.load(Ordering::Relaxed) >= 1);
        assert!(!nic.rx_by_poller.load(Ordering::Relaxed));
        std::thread::sleep(RX_TAKE_AFTER);
        poll_tx(&host);
        assert!(!nic.rx_by_poller.load(Ordering::Relaxed), "not taken again at once");
        assert_eq!(stats.rx_polled.load(Ordering::Relaxed), 1);
        // Parked: the receive thread takes the next frame.
        poller_parked(&host);
        assert!(!nic.rx_by_poller.load(Ordering::Relaxed));
        let stalls = stats.rx_stalls.load(Ordering::Relaxed);
        peer.send(&frame(80, 6)).unwrap();
        wait_for(3, "the receive thread read the tap again");
        assert_eq!(host.ram.read::<u32>(AREA + layout.rx_len_at(2)).unwrap(), 80);
        assert_eq!(stats.rx_polled.load(Ordering::Relaxed), 1);
        assert_eq!(stats.rx_stalls.load(Ordering::Relaxed), stalls, "not as a stall");
        // The next time the poller polls long enough it takes the tap again.
        poll_tx(&host);
        std::thread::sleep(RX_TAKE_AFTER);
        poll_tx(&host);
        assert!(nic.rx_by_poller.load(Ordering::Relaxed));
    }

    #[test]
    fn batches_without_a_nic() {
        let host = host(None);
        batch_request(&host, 0x3000, &[(0x10000, 60)]);
        netwritev(&host, REQ).unwrap();
        assert_eq!(batch_ret(&host), -1);
        netreadv(&host, REQ).unwrap();
        assert_eq!(batch_ret(&host), -1);
    }

    #[test]
    fn without_a_nic() {
        let host = host(None);
        host.ram.write::<i32>(REQ, 5).unwrap();
        netstat(&host, REQ).unwrap();
        assert_eq!(host.ram.read::<i32>(REQ).unwrap(), 0);
        request(&host, BUF, 100);
        netread(&host, REQ).unwrap();
        assert_eq!(result(&host).0, -1);
        request(&host, BUF, 60);
        netwrite(&host, REQ).unwrap();
        assert_eq!(result(&host).0, -1);
    }

    /// The guest sends `frame(1514, 1)` with `NETWRITE`, which succeeds; what the peer received.
    fn netwrite_a_frame(host: &Host, peer: &UnixDatagram) -> Vec<u8> {
        let out = frame(1514, 1);
        host.ram.write_bytes(BUF, &out).unwrap();
        request(host, BUF, out.len() as u64);
        netwrite(host, REQ).unwrap();
        assert_eq!(result(host), (0, 1514));
        let mut got = vec![0u8; 70000];
        let n = peer.recv(&mut got).unwrap();
        got.truncate(n);
        got
    }

    #[test]
    fn tap_frames_both_ways() {
        let (ours, peer) = UnixDatagram::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let host = host(Some(Nic::over_socket(ours.into(), false, [2, 0, 0, 0, 0, 9])));
        netstat(&host, REQ).unwrap();
        assert_eq!(host.ram.read::<i32>(REQ).unwrap(), 1);
        netinfo(&host, REQ).unwrap();
        let mut mac = [0u8; 18];
        host.ram.read_bytes(REQ, &mut mac).unwrap();
        assert_eq!(&mac, b"02:00:00:00:00:09\0");
        // Guest to host.
        assert_eq!(netwrite_a_frame(&host, &peer), frame(1514, 1));
        // Too short or too long: dropped.
        for len in [13, MAX_FRAME as u64 + 1] {
            request(&host, BUF, len);
            netwrite(&host, REQ).unwrap();
            assert_eq!(result(&host).0, -1, "{len}");
        }
        // Host to guest: nothing, a frame, a frame cut to the buffer, nothing.
        request(&host, BUF, 2048);
        netread(&host, REQ).unwrap();
        assert_eq!(result(&host).0, -1);
        peer.send(&frame(60, 2)).unwrap();
        peer.send(&frame(9000, 3)).unwrap();
        request(&host, BUF, 2048);
        netread(&host, REQ).unwrap();
        assert_eq!(result(&host), (0, 60));
        let mut back = vec![0u8; 60];
        host.ram.read_bytes(BUF, &mut back).unwrap();
        assert_eq!(back, frame(60, 2));
        request(&host, BUF, 2048);
        netread(&host, REQ).unwrap();
        assert_eq!(result(&host), (0, 2048));
        request(&host, BUF, 2048);
        netread(&host, REQ).unwrap();
        assert_eq!(result(&host).0, -1);
    }

    /// A tap with the virtio-net header whose guest did not ask for offloads: the proxy adds
    /// a zero header to what it sends and strips the tap's from what it receives, for the
    /// one-frame calls, the batches and the plain rings alike.
    #[test]
    fn a_vnet_tap_without_offloads_carries_plain_frames() {
        use hermit_interface::netring::{control, Layout, MAX_BUF};
        use std::sync::atomic::Ordering;
        use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};
        let (ours, peer) = UnixDatagram::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        peer.set_nonblocking(true).unwrap();
        let host = host(Some(Nic::over_vnet_socket(ours.into(), [2, 0, 0, 0, 0, 9])));
        let got = netwrite_a_frame(&host, &peer);
        assert_eq!(got.len(), HDR_LEN + 1514);
        assert_eq!(got[..HDR_LEN], NO_OFFLOAD);
        assert_eq!(got[HDR_LEN..], frame(1514, 1));
        peer.send(&[&[0u8; HDR_LEN][..], &frame(60, 2)].concat()).unwrap();
        request(&host, BUF, 2048);
        netread(&host, REQ).unwrap();
        assert_eq!(result(&host), (0, 60));
        let mut back = vec![0u8; 60];
        host.ram.read_bytes(BUF, &mut back).unwrap();
        assert_eq!(back, frame(60, 2));
        // Plain rings on the same tap; a ring asking for the header is refused (a socket
        // takes no TUNSETOFFLOAD), and unknown flags stop the guest.
        const AREA: u64 = 0x40_0000;
        let event = EventFd::new(EFD_NONBLOCK).unwrap();
        host.net.get().unwrap().set_irq(RxIrq::from_event(event.try_clone().unwrap()));
        host.ram.write(field(REQ, offset_of!(NetRing, flags)), 2u32).unwrap();
        let bad_flags = {
            host.ram.write(field(REQ, offset_of!(NetRing, op)), NETRING_SETUP).unwrap();
            host.ram.write(field(REQ, offset_of!(NetRing, slots)), 16u32).unwrap();
            host.ram.write(field(REQ, offset_of!(NetRing, gpa)), AREA).unwrap();
            host.ram.write(field(REQ, offset_of!(NetRing, buf)), 2048u32).unwrap();
            netring(&host, REQ)
        };
        assert!(bad_flags.is_err());
        host.ram.write(field(REQ, offset_of!(NetRing, flags)), NETRING_F_VNET_HDR).unwrap();
        assert_eq!(ring_request(&host, NETRING_SETUP, AREA, 16, MAX_BUF), -libc::EOPNOTSUPP);
        host.ram.write(field(REQ, offset_of!(NetRing, flags)), 0u32).unwrap();
        assert_eq!(ring_request(&host, NETRING_SETUP, AREA, 16, 2048), 0);
        let layout = Layout::new(16, 2048).unwrap();
        let word = |offset| host.ram.atomic_u32(AREA + offset).unwrap();
        peer.send(&[&[0u8; HDR_LEN][..], &frame(70, 3)].concat()).unwrap();
        expect_first_rx(&host, AREA, &layout, &frame(70, 3));
        host.ram.write(AREA + layout.tx_len_at(0), 300u32).unwrap();
        host.ram.write_bytes(AREA + layout.tx_buf_at(0), &frame(300, 4)).unwrap();
        word(control::TX_PROD).store(1, Ordering::Release);
        assert_eq!(ring_request(&host, NETRING_KICK, 0, 0, 0), 0);
        let mut got = vec![0u8; 70000];
        assert_eq!(peer.recv(&mut got).unwrap(), HDR_LEN + 300);
        assert_eq!(got[..HDR_LEN], NO_OFFLOAD);
        assert_eq!(&got[HDR_LEN..HDR_LEN + 300], &frame(300, 4)[..]);
    }

    #[test]
    fn a_buffer_outside_ram_stops_the_guest() {
        let (ours, peer) = UnixDatagram::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let host = host(Some(Nic::over_socket(ours.into(), false, [2, 0, 0, 0, 0, 9])));
        peer.send(&frame(60, 2)).unwrap();
        request(&host, (32 << 20) - 10, 2048);
        assert!(netread(&host, REQ).is_err());
        // The frame is still there for a good request.
        request(&host, BUF, 2048);
        netread(&host, REQ).unwrap();
        assert_eq!(result(&host), (0, 60));
        request(&host, u64::MAX - 5, 100);
        assert!(netwrite(&host, REQ).is_err());
    }

    #[test]
    fn passt_stream_frames_both_ways() {
        use std::io::{Read as _, Write as _};
        let (ours, mut peer) = UnixStream::pair().unwrap();
        let host = host(Some(Nic::over_socket(ours.into(), true, [2, 0, 0, 0, 0, 9])));
        let out = frame(100, 4);
        host.ram.write_bytes(BUF, &out).unwrap();
        request(&host, BUF, 100);
        netwrite(&host, REQ).unwrap();
        assert_eq!(result(&host), (0, 100));
        let mut got = [0u8; 104];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got[..4], &[0, 0, 0, 100]);
        assert_eq!(&got[4..], &out[..]);
        // Two frames in one write, then half of a third.
        let mut stream = frames::stream_record(&frame(60, 5));
        stream.extend(frames::stream_record(&frame(1500, 6)));
        let third = frames::stream_record(&frame(80, 7));
        stream.extend(&third[..40]);
        peer.write_all(&stream).unwrap();
        for expected in [frame(60, 5), frame(1500, 6)] {
            request(&host, BUF, 2048);
            netread(&host, REQ).unwrap();
            assert_eq!(result(&host), (0, expected.len() as u64));
            let mut back = vec![0u8; expected.len()];
            host.ram.read_bytes(BUF, &mut back).unwrap();
            assert_eq!(back, expected);
        }
        request(&host, BUF, 2048);
        netread(&host, REQ).unwrap();
        assert_eq!(result(&host).0, -1, "half a record is no frame");
        peer.write_all(&third[40..]).unwrap();
        request(&host, BUF, 2048);
        netread(&host, REQ).unwrap();
        assert_eq!(result(&host), (0, 80));
    }
}
