//! The guest side of the NIC's shared-memory descriptor rings (`hermit_interface::netring`,
//! offered with [`header::FEATURE_NET_RING`]): frames move through guest memory, and a host
//! call is made only when the loader's side sleeps.
//!
//! Transmit: smoltcp writes a frame straight into the next free entry's buffer
//! ([`NetRings::lend_tx`]), which is published with the producer index
//! ([`NetRings::publish_tx`]); the fast channel's poller sends it without the guest waiting.
//! At the end of a poll ([`NetRings::tx_done`]), a full fence and a look at the channel's
//! `host_state`: if the poller is not polling, a kick
//! (`NETRING_KICK`, through the channel or the port) makes the loader send what waits. A
//! poller that was descheduled while it said it polls (a busy host) is caught by
//! [`tx_watchdog`]: frames that wait longer than [`TX_STALL_NS`] are kicked.
//!
//! Receive: the loader writes frames into the receive ring; smoltcp reads each in place
//! ([`NetRings::lend_rx`]) with no host call, and the entry goes back to the loader once it
//! has taken the frame. When the guest finds the ring empty it sets `rx_want_signal`, fences
//! and looks once more; the loader announces the next frames (`net_rx_signal`, the receive
//! interrupt) only while that word is set. The kernel trusts nothing the loader wrote into an
//! entry beyond its length, which it cuts to the buffer: frames are checked as any received
//! frame is.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, Ordering};

use crate::net::device::Lent;
use hermit_interface::header;
use hermit_interface::hypercall::port;
use hermit_interface::netring::{
    control, pending, Layout, NetRing, MAX_BUF, NETRING_F_VNET_HDR, NETRING_KICK, NETRING_RECV, NETRING_SETUP,
};

/// How long published transmit frames may wait for a poller that says it polls before the
/// guest kicks (a poller descheduled by a busy host, for a time slice). The poller stores
/// the consumer index after the tap `write` of each frame, which wakes the host peer, and a
/// peer beside the poller (where the poller's trade puts it) may run its turn before the
/// poller gets to the store: 15-30 us of a normal round, which a 20 us limit took for a
/// stall.
const TX_STALL_NS: u64 = 100_000;

/// Kicks because the poller was parked, and by [`tx_watchdog`] for a stalled one.
static KICKS_PARKED: AtomicU64 = AtomicU64::new(0);
static KICKS_STALLED: AtomicU64 = AtomicU64::new(0);

/// Transmit kicks so far: for a parked poller, and for one that said it polls but left
/// frames waiting longer than [`TX_STALL_NS`]; `None` without rings.
pub fn kick_counts() -> Option<(u64, u64)> {
    (TX_AREA.load(Ordering::Relaxed) != 0)
        .then(|| (KICKS_PARKED.load(Ordering::Relaxed), KICKS_STALLED.load(Ordering::Relaxed)))
}

/// The transmit ring's area for [`tx_watchdog`] (0: no rings).
static TX_AREA: AtomicU64 = AtomicU64::new(0);
/// TSC when [`tx_watchdog`]'s watch began: frames were published without a kick, or the
/// loader last took one (0: nothing to watch).
static TX_PUBLISHED_AT: AtomicU64 = AtomicU64::new(0);
/// The loader's transmit consumer index when the watch began: a poller that moved it since
/// is making progress (a 64 KiB frame takes it tens of microseconds to write), one that did
/// not while frames wait has lost its CPU.
static TX_WATCHED_CONS: AtomicU32 = AtomicU32::new(0);

/// The two rings of an announced area.
pub struct NetRings {
    base: u64,
    layout: Layout,
    /// Our transmit producer index (the shared word is only written).
    tx_prod: u32,
    /// Our receive consumer index, likewise.
    rx_cons: u32,
    /// Every frame carries the virtio-net header (offloads negotiated).
    vnet: bool,
    /// Frames were published since the last [`NetRings::tx_done`].
    tx_unannounced: bool,
}

/// Entries per ring with offloads: a buffer holds a 64 KiB frame ([`MAX_BUF`]), so the two
/// rings take 8.4 MiB; 64 such frames are 4 MiB, four 1 MiB TCP windows of GSO frames (the
/// host sends 64 KiB ones), and still 64 frames of the MTU where it sends those (a window of
/// 9000-byte frames from a host without TSO fills the ring: the proxy waits for room).
const VNET_SLOTS: u32 = 64;

/// Entries per ring without offloads for buffers of `buf` bytes, `window` being the TCP
/// buffer the loader asked for (`net_tcp_buffer`, 0: none): enough for a 256 KiB TCP window
/// of full frames (128 of 9000 bytes, 256 smaller ones); for frames above 16 KiB the
/// loader's whole window, at most 128 entries, at least 16 (behind passt's 16384-byte MTU
/// 128, 2.1 MiB a ring; at its own 65520 it was 64 for a 4 MiB window). A window larger than
/// the ring waits in the socket pair to passt.
fn plain_slots(buf: u32, window: u64) -> u32 {
    if buf > 16 << 10 {
        let want = u32::try_from(window / u64::from(buf)).unwrap_or(u32::MAX).min(128);
        want.next_power_of_two().clamp(16, 128)
    } else if buf > 4096 {
        128
    } else {
        256
    }
}

/// The control word at `offset` of the area at `base`.
fn word(base: u64, offset: u64) -> &'static AtomicU32 {
    // SAFETY: `base` is an announced ring area, never freed, whose control page holds
    // naturally aligned `u32` words at the `control` offsets; both sides access them only
    // atomically.
    unsafe { AtomicU32::from_ptr((base + offset) as *mut u32) }
}

/// A received frame above this many bytes (a host GSO frame) marks a bulk receive.
const BULK_FRAME: usize = 32 << 10;
/// How long a bulk receive lasts after its last such frame, in nanoseconds.
const BULK_NS: u64 = 1_000_000;
/// The longest an idle core waits in the host for a frame (`NETRING_RECV`), in microseconds.
const IDLE_RECV_WAIT_US: u64 = 100;
/// When the last frame above [`BULK_FRAME`] was taken (TSC; 0: none).
static BULK_AT: AtomicU64 = AtomicU64::new(0);
/// The loader offers `NETRING_RECV` (rings with offloads only).
static IDLE_RECV: AtomicBool = AtomicBool::new(false);
/// `NETRING_RECV` calls, for `HERMIT_VERBOSE`.
static IDLE_RECVS: AtomicU64 = AtomicU64::new(0);

/// Whether a frame above [`BULK_FRAME`] arrived within [`BULK_NS`] (and the loader takes
/// `NETRING_RECV`).
fn bulk_receive() -> bool {
    let at = BULK_AT.load(Ordering::Relaxed);
    IDLE_RECV.load(Ordering::Relaxed)
        && at != 0
        && crate::arch::rdtsc().wrapping_sub(at) <= crate::time::clock().ns_to_cycles(BULK_NS)
}

/// For an idle core, at each turn of its spin, `due` being the TSC of its next timer:
/// during a bulk receive with the receive ring empty, asks the loader to send the transmit
/// ring and read the tap into the receive ring in this vCPU's thread, waiting there for a
/// frame up to [`IDLE_RECV_WAIT_US`] (or until `due`), instead of spinning. On a 2-CPU host
/// a spinning vCPU, a spinning poller and the thread reading the tap left the host sender a
/// share of the CPUs; now the vCPU thread reads and sleeps in the host between frames, and
/// the others keep off the tap (ARCHITECTURE.md, "Host networking"). An interrupt meant for
/// this core (an IPI) waits until the call returns.
pub fn idle_receive(due: u64) {
    if !bulk_receive() {
        return;
    }
    let base = TX_AREA.load(Ordering::Acquire);
    if base == 0
        || word(base, control::RX_PROD).load(Ordering::Acquire) != word(base, control::RX_CONS).load(Ordering::Acquire)
    {
        return;
    }
    let clock = crate::time::clock();
    let left = clock.cycles_to_ns(due.saturating_sub(crate::arch::rdtsc())) / 1000;
    let wait = left.min(IDLE_RECV_WAIT_US) as u32;
    IDLE_RECVS.fetch_add(1, Ordering::Relaxed);
    // The transmit watch is over: the call sends what waits.
    TX_PUBLISHED_AT.store(0, Ordering::Relaxed);
    let mut req = NetRing { op: NETRING_RECV, slots: wait, ..Default::default() };
    super::hypercall::call_sleeping(port::NETRING, &mut req);
}

/// `NETRING_RECV` calls so far.
pub fn idle_receives() -> u64 {
    IDLE_RECVS.load(Ordering::Relaxed)
}

/// Asks the loader to send what waits in the transmit ring.
fn kick() {
    let mut req = NetRing { op: NETRING_KICK, ..Default::default() };
    super::hypercall::call(port::NETRING, &mut req);
}

impl NetRings {
    /// Allocates and announces rings whose buffers hold `frame` bytes, if the loader offers
    /// them; `None` otherwise (the caller keeps the batched calls). With `offload` and the
    /// loader's [`header::FEATURE_NET_OFFLOAD`], first rings whose frames carry the
    /// virtio-net header, 64 KiB each ([`NetRings::vnet`]); if the loader refuses those,
    /// plain ones.
    pub fn new(frame: usize, offload: bool) -> Option<Self> {
        if !super::hypercall::has_feature(header::FEATURE_NET_RING) {
            return None;
        }
        if offload && super::hypercall::has_feature(header::FEATURE_NET_OFFLOAD) {
            if let Some(rings) = Self::setup(VNET_SLOTS, MAX_BUF, NETRING_F_VNET_HDR) {
                return Some(rings);
            }
        }
        let buf = u32::try_from(frame.next_multiple_of(64)).ok()?.max(hermit_interface::netring::MIN_BUF);
        let slots = plain_slots(buf, super::hypercall::header_ext().map_or(0, |e| e.net_tcp_buffer));
        Self::setup(slots, buf, 0)
    }

    /// Allocates an area of `slots` entries of `buf` bytes and announces it with `flags`.
    fn setup(slots: u32, buf: u32, flags: u32) -> Option<Self> {
        let layout = Layout::new(slots, buf)?;
        let bytes = usize::try_from(layout.size).ok()?;
        let alloc_layout = core::alloc::Layout::from_size_align(bytes, 4096).ok()?;
        // SAFETY: a non-zero-sized layout; the area lives for the rest of the run (the loader
        // writes into it from now on).
        let area = unsafe { alloc::alloc::alloc_zeroed(alloc_layout) };
        if area.is_null() {
            log::warn!("net: no memory for the descriptor rings, using batched calls");
            return None;
        }
        let base = area as u64;
        // Frames are announced from the first one on.
        word(base, control::RX_WANT_SIGNAL).store(1, Ordering::SeqCst);
        let mut req = NetRing { op: NETRING_SETUP, slots, gpa: base, buf, flags, ..Default::default() };
        super::hypercall::call(port::NETRING, &mut req);
        let ret = req.ret;
        if ret != 0 {
            log::info!("net: the loader refused the descriptor rings ({ret}), using batched calls");
            // SAFETY: allocated above with this layout; the loader did not take it.
            unsafe { alloc::alloc::dealloc(area, alloc_layout) };
            return None;
        }
        TX_AREA.store(base, Ordering::Release);
        let vnet = flags & NETRING_F_VNET_HDR != 0;
        IDLE_RECV.store(vnet && super::hypercall::has_feature(header::FEATURE_NET_IDLE_RECV), Ordering::Relaxed);
        let with = if vnet { ", virtio-net headers and offloads" } else { "" };
        log::info!("net: descriptor rings of {slots} x {buf} bytes at {base:#x}{with}");
        Some(Self { base, layout, tx_prod: 0, rx_cons: 0, vnet, tx_unannounced: false })
    }

    /// Whether every frame in the rings carries the virtio-net header (offloads are on).
    pub fn vnet(&self) -> bool {
        self.vnet
    }

    /// Whether the transmit ring has a free entry (kicking the loader once if it has none:
    /// a kick sends what waits before it returns).
    fn tx_room(&mut self) -> bool {
        let cons_word = word(self.base, control::TX_CONS);
        let room =
            |prod| pending(prod, cons_word.load(Ordering::Acquire), self.layout.slots) != Some(self.layout.slots);
        if room(self.tx_prod) {
            return true;
        }
        super::posted::settle_own();
        kick();
        room(self.tx_prod)
    }

    /// The buffer of the next free transmit entry, `len` bytes of it, for a frame to be
    /// written in place and published with [`NetRings::publish_tx`]; `None` if `len` exceeds a
    /// buffer or the ring stays full after a kick. The buffer is not cleared: it holds an
    /// earlier frame of ours (which the host has seen) until the caller overwrites it.
    pub fn lend_tx(&mut self, len: usize) -> Option<&mut [u8]> {
        if len > self.layout.buf as usize || !self.tx_room() {
            return None;
        }
        let at = self.base + self.layout.tx_buf_at(self.tx_prod);
        // SAFETY: the entry is free (the loader consumed it: its index is behind ours by less
        // than a ring), so the loader neither reads nor writes its buffer until we publish
        // it; the buffer lies inside the area (`Layout`) and holds `len` bytes; the borrow of
        // `self` keeps a second loan of the same entry out.
        Some(unsafe { core::slice::from_raw_parts_mut(at as *mut u8, len) })
    }

    /// Publishes the entry lent by [`NetRings::lend_tx`] with its first `len` bytes as a
    /// frame. The loader is told (if its poller does not poll) at [`NetRings::tx_done`].
    pub fn publish_tx(&mut self, len: usize) {
        if len > self.layout.buf as usize {
            return;
        }
        // A posted host call (a released lock) must not be overtaken by this frame.
        super::posted::settle_own();
        // SAFETY: the entry's length word lies inside the area (`Layout`); the entry is
        // still ours (not yet published).
        unsafe { ((self.base + self.layout.tx_len_at(self.tx_prod)) as *mut u32).write_volatile(len as u32) };
        self.tx_prod = self.tx_prod.wrapping_add(1);
        word(self.base, control::TX_PROD).store(self.tx_prod, Ordering::Release);
        self.tx_unannounced = true;
    }

    /// Tells the loader about the frames published since the last call if its poller does
    /// not poll (else arms [`tx_watchdog`] for a poller that stalls).
    pub fn tx_done(&mut self) {
        if !core::mem::take(&mut self.tx_unannounced) {
            return;
        }
        tx_watchdog();
        // Publish, full fence, then look whether the poller polls (it stores PARKED, fences
        // and scans once more before it parks).
        fence(Ordering::SeqCst);
        if super::hypercall::host_polling() {
            // A watch under way goes on: the poller has not taken the older frames yet.
            if TX_PUBLISHED_AT.load(Ordering::Relaxed) == 0 {
                let cons = word(self.base, control::TX_CONS).load(Ordering::Acquire);
                watch(cons, crate::arch::rdtsc());
            }
        } else if bulk_receive() {
            // An idle core's NETRING_RECV sends these first; the watchdog kicks them if no
            // core idles for that long.
            if TX_PUBLISHED_AT.load(Ordering::Relaxed) == 0 {
                let cons = word(self.base, control::TX_CONS).load(Ordering::Acquire);
                watch(cons, crate::arch::rdtsc());
            }
        } else {
            KICKS_PARKED.fetch_add(1, Ordering::Relaxed);
            kick();
        }
    }

    /// Publishes copies of `frames` in the transmit ring and tells the loader; how many were
    /// published (a frame longer than a buffer, or one that finds the ring full even after a
    /// kick, is dropped).
    pub fn send(&mut self, frames: &[Vec<u8>]) -> usize {
        let mut sent = 0;
        for frame in frames {
            if let Some(buf) = self.lend_tx(frame.len()) {
                buf.copy_from_slice(frame);
                self.publish_tx(frame.len());
                sent += 1;
            }
        }
        self.tx_done();
        sent
    }

    /// The next received frame, in place in its ring entry: the entry goes back to the
    /// loader when the loan is dropped (entries are lent in order, one at a time: the caller
    /// drops each before it asks for the next). `None` when the ring is empty: the loader
    /// then announces the next frame. The length is the loader's, cut to the buffer; the
    /// bytes are whatever the loader wrote, to be checked like any received frame.
    pub fn lend_rx(&mut self) -> Option<Lent> {
        let prod_word = word(self.base, control::RX_PROD);
        let want = word(self.base, control::RX_WANT_SIGNAL);
        loop {
            let prod = prod_word.load(Ordering::Acquire);
            // A producer index more than a ring ahead is impossible: treat it as empty.
            if pending(prod, self.rx_cons, self.layout.slots).unwrap_or(0) > 0 {
                // SAFETY: a published entry (behind the producer index), inside the area
                // (`Layout`, the length cut to the buffer); the loader does not touch it
                // until the consumer index moves past it, which only dropping the loan does,
                // and no other loan of it exists (entries are lent once, in order).
                let frame = unsafe {
                    let len = ((self.base + self.layout.rx_len_at(self.rx_cons)) as *const u32).read_volatile();
                    let len = len.min(self.layout.buf) as usize;
                    if len > BULK_FRAME && self.vnet {
                        BULK_AT.store(crate::arch::rdtsc(), Ordering::Relaxed);
                    }
                    let at = (self.base + self.layout.rx_buf_at(self.rx_cons)) as *mut u8;
                    core::slice::from_raw_parts_mut(at, len)
                };
                self.rx_cons = self.rx_cons.wrapping_add(1);
                return Some(Lent::new(frame, Some((word(self.base, control::RX_CONS), self.rx_cons))));
            }
            // Empty: ask to be told, full fence, look once more (the loader publishes,
            // fences and then takes the request).
            if want.load(Ordering::Relaxed) != 0 {
                return None;
            }
            want.store(1, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            if prod_word.load(Ordering::SeqCst) == self.rx_cons {
                return None;
            }
        }
    }

    /// Takes up to `max` received frames onto `out` as copies; how many. Fewer than `max`
    /// means that the ring is empty and the loader will announce the next frame.
    pub fn receive(&mut self, max: usize, out: &mut VecDeque<Vec<u8>>) -> usize {
        let mut got = 0;
        while got < max {
            let Some(frame) = self.lend_rx() else { break };
            out.push_back(frame.to_vec());
            got += 1;
        }
        got
    }
}

/// Starts a watch at TSC `now`, with the loader's consumer index at `cons`.
fn watch(cons: u32, now: u64) {
    TX_WATCHED_CONS.store(cons, Ordering::Relaxed);
    TX_PUBLISHED_AT.store(now, Ordering::Release);
}

/// Kicks the loader if frames published without a kick wait and its poller has taken none
/// for [`TX_STALL_NS`] (it said it polls, then lost its CPU). A poller that took frames
/// meanwhile is watched anew from then on. (Until 2026-12-06 the watchdog compared the time
/// of the latest publication with whatever waited: the first frame published after a pause
/// was kicked at once although the poller took it a moment later, an exit of 50-120 us on
/// the way of nearly every SYN-ACK and FIN of a connection-rate run.) Cheap when nothing
/// waits: idle cores call it at every turn of their spin.
pub fn tx_watchdog() {
    let at = TX_PUBLISHED_AT.load(Ordering::Acquire);
    if at == 0 {
        return;
    }
    let now = crate::arch::rdtsc();
    if now.wrapping_sub(at) < crate::time::clock().ns_to_cycles(TX_STALL_NS) {
        return;
    }
    let base = TX_AREA.load(Ordering::Acquire);
    let cons = word(base, control::TX_CONS).load(Ordering::Acquire);
    let waiting = word(base, control::TX_PROD).load(Ordering::Acquire) != cons;
    let stalled = waiting && cons == TX_WATCHED_CONS.load(Ordering::Relaxed);
    if TX_PUBLISHED_AT.compare_exchange(at, 0, Ordering::AcqRel, Ordering::Relaxed).is_err() {
        return;
    }
    if waiting {
        watch(cons, now);
    } else {
        // A poll that published just before the watch ended saw it still under way and left
        // its frames to it: look once more (it publishes, fences, then reads the time).
        fence(Ordering::SeqCst);
        let cons = word(base, control::TX_CONS).load(Ordering::Acquire);
        if word(base, control::TX_PROD).load(Ordering::Acquire) != cons && TX_PUBLISHED_AT.load(Ordering::Relaxed) == 0
        {
            watch(cons, now);
        }
    }
    if stalled {
        KICKS_STALLED.fetch_add(1, Ordering::Relaxed);
        kick();
    }
}
