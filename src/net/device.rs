//! The one smoltcp device: a guest loopback queue in front of an optional NIC.
//!
//! Frames to our own MAC address stay in the guest (the loopback queue); broadcast and
//! multicast frames go to both the loopback queue and the NIC (so that ARP and neighbour
//! discovery for our own addresses, 127.0.0.1 and ::1 included, are answered by ourselves);
//! every other frame goes to the NIC, or is dropped without one. Receiving drains the
//! loopback queue before the NIC.
//!
//! With any NIC smoltcp is told the IP MTU is 64 KiB, and the device cuts what is longer
//! than the NIC's MTU: TCP segments through the offloads or, without them, through every
//! SYN's MSS option held to the MTU ([`super::offload::clamp_mss`]); other packets into IP
//! fragments ([`super::frag`], which also puts received fragments back together). With a NIC
//! whose frames carry the virtio-net header ([`Nic::vnet`], offloads negotiated) the device
//! leaves room for the header before every frame smoltcp writes and fills it in
//! ([`super::offload`]), tells smoltcp that it need neither compute TCP checksums nor verify
//! TCP and UDP ones (the offload layer does what is needed), and takes received frames past
//! their header without copying them again. Without offloads
//! the device still checks received TCP and UDP checksums and computes TCP ones itself
//! (`offload::checksum_ok`, `offload::fill_tcp_checksum`): smoltcp's sum adds two bytes at a
//! time, the device's sixteen in two 64-bit sums (`offload::sum`; behind passt a host -> guest
//! stream's vCPU time fell by about a tenth).
//!
//! A NIC with descriptor rings lends its buffers: smoltcp writes each frame for the NIC
//! straight into a free transmit entry and reads each received frame in place in its
//! receive entry ([`Nic::tx_lend`], [`Nic::rx_lend`]): no allocation, no zeroing and no copy
//! per frame. Frames to ourselves are still copied into the loopback queue.

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use hermit_interface::vnet::HDR_LEN;
use smoltcp::phy::{self, Checksum, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, IpAddress};

use super::route::{push_loopback, route, route_lent, Route};

/// A network card, never blocking.
pub trait Nic: Send {
    /// Sends one frame (without FCS); false if it was dropped.
    fn send(&mut self, frame: &[u8]) -> bool;
    /// Receives one frame into `buf`: its length, or `None` if none is waiting.
    fn receive(&mut self, buf: &mut [u8]) -> Option<usize>;
    /// Sends `frames` in order; how many were sent (the others were dropped).
    fn send_batch(&mut self, frames: &[Vec<u8>]) -> usize {
        frames.iter().filter(|f| self.send(f)).count()
    }
    /// Receives up to `max` frames of at most `frame` bytes, in order, onto `out`; how many.
    /// Fewer than `max` means that no frame waits any more.
    fn receive_batch(&mut self, max: usize, frame: usize, out: &mut VecDeque<Vec<u8>>) -> usize {
        receive_each(self, max, frame, out)
    }
    /// Lends `len` bytes of the NIC's next free transmit buffer (a descriptor ring's entry)
    /// for a frame to be written in place and sent with [`Nic::tx_publish`]; `None` (the
    /// default) if the NIC has none free: the frame is copied through [`Nic::send_batch`].
    fn tx_lend(&mut self, _len: usize) -> Option<&mut [u8]> {
        None
    }
    /// Sends the first `len` bytes of the buffer the last [`Nic::tx_lend`] lent.
    fn tx_publish(&mut self, _len: usize) {}
    /// The end of a poll's sending: the NIC tells its host about what was published.
    fn tx_done(&mut self) {}
    /// The next received frame in place, for a NIC that receives without host calls
    /// ([`Nic::rx_cheap`], which then receives only through this); `None` when none waits.
    fn rx_lend(&mut self) -> Option<Lent> {
        None
    }
    /// The largest Ethernet payload the NIC carries.
    fn mtu(&self) -> usize {
        NIC_MTU
    }
    /// Whether asking for received frames costs no host call (shared-memory rings): then
    /// every receive asks, not only after the receive interrupt or signal.
    fn rx_cheap(&self) -> bool {
        false
    }
    /// Whether every frame sent and received carries a virtio-net header
    /// (`hermit_interface::vnet`) in its first [`HDR_LEN`] bytes: offloads are on.
    fn vnet(&self) -> bool {
        false
    }
}

/// A received frame lent in place by the NIC (a descriptor ring's entry, [`Nic::rx_lend`]):
/// the entry goes back to the NIC when the loan is dropped.
pub struct Lent {
    frame: &'static mut [u8],
    /// The NIC's consumer word and the value that gives the entry back.
    release: Option<(&'static AtomicU32, u32)>,
}

impl Lent {
    /// A loan of `frame`, given back by storing `release`'s value into its word (release
    /// ordering) when dropped. The lender guarantees that nothing else touches `frame` until
    /// then.
    pub fn new(frame: &'static mut [u8], release: Option<(&'static AtomicU32, u32)>) -> Self {
        Self { frame, release }
    }
}

impl core::ops::Deref for Lent {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.frame
    }
}

impl core::ops::DerefMut for Lent {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.frame
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let Some((word, value)) = self.release {
            word.store(value, Ordering::Release);
        }
    }
}

/// [`Nic::receive_batch`] one [`Nic::receive`] at a time.
pub fn receive_each<N: Nic + ?Sized>(nic: &mut N, max: usize, frame: usize, out: &mut VecDeque<Vec<u8>>) -> usize {
    let mut buf = vec![0; frame];
    for i in 0..max {
        match nic.receive(&mut buf) {
            Some(len) => out.push_back(buf[..len.min(frame)].to_vec()),
            None => return i,
        }
    }
    max
}

/// Largest frame received from a NIC of MTU `mtu`: an MTU-sized packet, its Ethernet header
/// and a VLAN tag.
pub const fn nic_frame(mtu: usize) -> usize {
    mtu + 14 + 4
}
/// Frames asked from the NIC at once.
pub const RX_BATCH: usize = 32;
/// Frames collected for the NIC before they are sent (else at the end of each poll).
const TX_BATCH: usize = 64;

/// Largest Ethernet payload of a NIC that does not say otherwise ([`Nic::mtu`]).
pub const NIC_MTU: usize = 1500;
/// Largest IP packet on the guest loopback alone.
pub const LOOPBACK_MTU: usize = 65_535 - 14;
/// The loopback queue and the NIC, as one Ethernet device with address `mac`.
pub struct Device {
    mac: EthernetAddress,
    /// Loopback frames, each from its offset on (past room for a header).
    queue: VecDeque<(Vec<u8>, usize)>,
    nic: Option<alloc::boxed::Box<dyn Nic>>,
    /// Frames taken from the NIC since the last [`Device::take_nic_rx`].
    nic_rx: usize,
    /// The NIC's IPv4 address, whose ARP probes the device answers ([`super::arp`]).
    pub ipv4: Option<[u8; 4]>,
    /// Whether receiving asks the NIC (set by [`Device::poll_nic`], cleared when the NIC
    /// had nothing).
    nic_due: bool,
    /// Frames received from the NIC, not yet taken by smoltcp.
    rx: VecDeque<Vec<u8>>,
    /// Frames for the NIC, sent together by [`Device::flush`] (with offloads, each with its
    /// virtio-net header).
    tx: Vec<Vec<u8>>,
    /// The offloads, when the NIC's frames carry the virtio-net header.
    offload: Option<super::offload::Offload>,
    /// Frames from the NIC dropped for claiming loopback or our own addresses.
    pub martians: u64,
    /// Packets from the NIC other than TCP segments longer than its MTU, dropped (as a
    /// NIC of that MTU would; TCP ones are the host's segmentation offload).
    pub oversize: u64,
    /// TCP and UDP packets from a NIC without offloads dropped for a bad checksum (with
    /// offloads: [`super::offload::Stats`]).
    pub bad_checksums: u64,
    /// The hosts of the NIC's segment ([`super::neighbors`]).
    pub neighbors: super::neighbors::Neighbors,
    /// Its IPv6 hosts and our IPv6 addresses on the NIC ([`super::neighbors6`]).
    pub neighbors6: super::neighbors6::Neighbors6,
    /// Frames for smoltcp made from the frame [`Device::accept`] last took: an ARP reply or
    /// neighbour advertisement from its sender, or the copies of a router advertisement
    /// ([`super::ra`]).
    feed: VecDeque<Vec<u8>>,
    /// A received frame held back while smoltcp takes the frames made from it.
    held: Option<RxToken>,
    /// The floor under the TCP windows we advertise ([`super::floor`]; off unless set).
    pub floor: super::floor::Floor,
    /// smoltcp's time at its last receive or transmit, in microseconds (for the floor).
    now_us: u64,
    /// Our zero-window probes ([`super::probe`]).
    pub probes: super::probe::Probes,
    /// IP fragments from the NIC waiting for the rest of their datagram, and the
    /// identification of ours ([`super::frag`]).
    pub fragments: super::frag::Fragments,
    /// ICMP errors for our UDP datagrams, for their connected sockets ([`super::refused`]).
    pub refused: super::refused::Refusals,
}

impl Device {
    /// A device with hardware address `mac`, and a NIC if there is one.
    pub fn new(mac: EthernetAddress, nic: Option<alloc::boxed::Box<dyn Nic>>) -> Self {
        let offload = nic.as_ref().filter(|nic| nic.vnet()).map(|nic| super::offload::Offload::new(nic.mtu()));
        Self {
            mac,
            queue: VecDeque::new(),
            nic,
            nic_rx: 0,
            ipv4: None,
            nic_due: true,
            rx: VecDeque::new(),
            tx: Vec::new(),
            offload,
            martians: 0,
            oversize: 0,
            bad_checksums: 0,
            neighbors: super::neighbors::Neighbors::new(mac.0),
            neighbors6: super::neighbors6::Neighbors6::new(mac.0, super::addr::link_local(mac.0).octets()),
            feed: VecDeque::new(),
            held: None,
            floor: super::floor::Floor::new(0),
            now_us: 0,
            probes: super::probe::Probes::new(),
            fragments: super::frag::Fragments::new(0),
            refused: super::refused::Refusals::default(),
        }
    }

    /// What the offloads did, if they are on.
    pub fn offload_stats(&self) -> Option<super::offload::Stats> {
        self.offload.as_ref().map(|o| o.stats)
    }

    /// Bytes of room before each frame: the virtio-net header with offloads.
    fn headroom(&self) -> usize {
        if self.offload.is_some() {
            HDR_LEN
        } else {
            0
        }
    }

    /// Lets the next receives ask the NIC, until it has no frame left. Without this the
    /// device receives only from the loopback queue: asking an idle NIC costs a hypercall.
    pub fn poll_nic(&mut self) {
        self.nic_due = true;
    }

    /// Whether a NIC is attached.
    pub fn has_nic(&self) -> bool {
        self.nic.is_some()
    }

    /// Whether the NIC's offloads are on (a tap with virtio-net headers in its rings).
    pub fn offloads(&self) -> bool {
        self.offload.is_some()
    }

    /// Sends the frames collected for the NIC (one host call with a batching NIC).
    pub fn flush(&mut self) {
        if let Some(nic) = self.nic.as_mut() {
            if !self.tx.is_empty() {
                nic.send_batch(&self.tx);
            }
            nic.tx_done();
        }
        self.tx.clear();
    }

    /// Whether frames of ours wait for the next [`Device::flush`] (an ARP request, a
    /// fragment, a copied frame).
    pub fn tx_waiting(&self) -> bool {
        !self.tx.is_empty()
    }

    /// Whether frames wait in the loopback queue.
    pub fn loopback_pending(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Frames received from the NIC since the last call (and resets the count).
    pub fn take_nic_rx(&mut self) -> usize {
        core::mem::take(&mut self.nic_rx)
    }

    /// The NIC's MTU (what its link carries, whatever the offloads let us hand it).
    pub fn nic_mtu(&self) -> Option<usize> {
        self.nic.as_ref().map(|nic| nic.mtu())
    }

    /// The IP MTU smoltcp believes: 64 KiB with a NIC (the device cuts what is longer than
    /// the NIC's MTU: TCP segments with the offloads, through the MSS without them, other
    /// packets into IP fragments), the guest loopback's without one.
    pub fn ip_mtu(&self) -> usize {
        if self.nic.is_some() {
            return super::offload::IP_MAX;
        }
        LOOPBACK_MTU
    }

    fn push_loopback(&mut self, frame: Vec<u8>, start: usize) {
        push_loopback(&mut self.queue, frame, start);
    }

    /// Queues a frame of our own (an ARP reply, a fragment) for the NIC, with room for its
    /// header.
    fn push_nic(&mut self, frame: &[u8]) {
        let mut buf = vec![0; self.headroom() + frame.len()];
        buf[self.headroom()..].copy_from_slice(frame);
        if let Some(offload) = self.offload.as_mut() {
            if !offload.transmit(&mut buf) {
                return;
            }
        }
        self.tx.push(buf);
    }

    /// The next frame from the NIC that passes [`Device::accept`]: in place with a NIC that
    /// lends its frames ([`Nic::rx_cheap`]), else copied out in batches.
    fn receive_nic(&mut self, now: u64) -> Option<RxToken> {
        let start = self.headroom();
        loop {
            let nic = self.nic.as_mut()?;
            if nic.rx_cheap() {
                let mut frame = nic.rx_lend()?;
                self.nic_rx += 1;
                if self.accept(&mut frame, now) {
                    return Some(self.fed_first(RxToken::Lent(frame, start)));
                }
                if let Some(fed) = self.feed.pop_front() {
                    return Some(RxToken::Owned(fed, 0));
                }
                continue;
            }
            if self.rx.is_empty() {
                if !self.nic_due {
                    return None;
                }
                let frame = nic_frame(nic.mtu());
                if nic.receive_batch(RX_BATCH, frame, &mut self.rx) < RX_BATCH {
                    self.nic_due = false;
                }
            }
            let mut frame = self.rx.pop_front()?;
            self.nic_rx += 1;
            if self.accept(&mut frame, now) {
                return Some(self.fed_first(RxToken::Owned(frame, start)));
            }
            if let Some(fed) = self.feed.pop_front() {
                return Some(RxToken::Owned(fed, 0));
            }
        }
    }

    /// Checks a frame from the NIC (with its header, if any) before smoltcp sees it: the
    /// offloads' checks and rewrites, loopback and our own addresses claimed from outside
    /// ([`super::martian`]), packets longer than the MTU but TCP's, fragments ([`super::frag`]: kept until their datagram is whole,
    /// which is then checked and fed), then [`Device::screen`]; false if it is not for
    /// smoltcp as it is (a fragment, or a router advertisement split into copies, which are
    /// fed).
    fn accept(&mut self, frame: &mut [u8], now: u64) -> bool {
        if let Some(offload) = self.offload.as_mut() {
            if !offload.received(frame) {
                return false;
            }
        } else if !super::offload::checksum_ok(frame) {
            self.bad_checksums += 1;
            return false;
        } else if let Some(mtu) = self.nic_mtu() {
            // smoltcp checks no TCP checksum: the option is rewritten without it.
            super::offload::clamp_mss(frame, mtu);
        }
        let start = self.headroom();
        let frame = &frame[start..];
        if super::martian::martian(frame, self.ipv4, self.neighbors6.addrs()) {
            self.martians += 1;
            return false;
        }
        if self.nic_mtu().is_some_and(|mtu| super::frag::too_long(frame, mtu)) {
            // Answered, it would leave in fragments: dozens of frames for one.
            self.oversize += 1;
            return false;
        }
        match self.fragments.take(frame, now) {
            super::frag::Taken::Whole => self.screen(frame, now),
            super::frag::Taken::Kept => false,
            super::frag::Taken::Done(whole) => {
                if let Some(whole) = self.reassembled(whole) {
                    if self.screen(&whole, now) {
                        self.feed.push_back(whole);
                    }
                }
                false
            }
        }
    }

    /// A datagram put back together from fragments, through the checks a frame from the NIC
    /// passes first: its TCP or UDP checksum, and a SYN's MSS (learnt by the offloads,
    /// through a header without flags, or held to the MTU without them); `None` to drop it.
    fn reassembled(&mut self, whole: Vec<u8>) -> Option<Vec<u8>> {
        if let Some(offload) = self.offload.as_mut() {
            let mut buf = vec![0; HDR_LEN];
            buf.extend_from_slice(&whole);
            return offload.received(&mut buf).then(|| buf.split_off(HDR_LEN));
        }
        let mut whole = whole;
        if !super::offload::checksum_ok(&whole) {
            self.bad_checksums += 1;
            return None;
        }
        if let Some(mtu) = self.nic_mtu() {
            super::offload::clamp_mss(&mut whole, mtu);
        }
        Some(whole)
    }

    /// The rest of [`Device::accept`]'s checks, on a whole packet: our answer to an ARP
    /// probe for our address, the sender for smoltcp's neighbour cache
    /// ([`super::neighbors`], [`super::neighbors6`], at uptime `now` ns) and router
    /// advertisements ([`super::ra`]); false if it is to be dropped (a router advertisement
    /// split into copies is dropped, its copies fed).
    fn screen(&mut self, frame: &[u8], now: u64) -> bool {
        let (ipv4, six) = (self.ipv4, &self.neighbors6);
        self.refused.note(frame, |a| match a {
            IpAddress::Ipv4(a) => ipv4 == Some(a.octets()),
            IpAddress::Ipv6(a) => six.addrs().any(|ours| *ours == a.octets()),
        });
        self.probes.received(frame, now / 1000);
        if let Some(reply) = self.ipv4.and_then(|ip| super::arp::probe_reply(frame, self.mac.0, ip)) {
            self.push_nic(&reply);
        }
        self.feed.extend(self.neighbors.learn(frame, now));
        self.feed.extend(self.neighbors6.learn(frame, now));
        let ours = |prefix: &[u8]| self.neighbors6.addrs().skip(1).any(|a| a[..8] == *prefix);
        match super::ra::screen(frame, &ours) {
            super::ra::Screen::Pass => true,
            super::ra::Screen::Drop => {
                self.martians += 1;
                false
            }
            super::ra::Screen::Split(copies) => {
                self.feed.extend(copies);
                false
            }
        }
    }

    /// `token`, or first the frames [`Device::accept`] made from it, which smoltcp must take
    /// before the frame: its answer to the frame (an echo reply, a SYN-ACK) needs the
    /// sender's MAC address.
    fn fed_first(&mut self, token: RxToken) -> RxToken {
        match self.feed.pop_front() {
            Some(fed) => {
                self.held = Some(token);
                RxToken::Owned(fed, 0)
            }
            None => token,
        }
    }

    /// Sends an ARP request or neighbour solicitation of ours if a socket is about to talk
    /// to `addr` (at uptime `now` ns) and [`super::neighbors`] or [`super::neighbors6`] does
    /// not know the host on the segment that takes it.
    pub fn resolve(&mut self, addr: IpAddress, now: u64) {
        if self.nic.is_none() {
            return;
        }
        let request = match addr {
            IpAddress::Ipv4(v4) => self.neighbors.ask(v4.octets(), now),
            IpAddress::Ipv6(v6) => self.neighbors6.ask(v6.octets(), now),
        };
        if let Some(request) = request {
            self.push_nic(&request);
        }
    }

    /// Sends the zero-window probes due at `now` (µs) for connections that `queued` says
    /// have data waiting ([`super::probe`]).
    pub fn probe(&mut self, now: u64, mut queued: impl FnMut(&super::offload::Flow) -> bool) {
        while let Some(frame) = self.probes.next(now, &mut queued) {
            self.push_nic(&frame);
        }
        while let Some((frame, copies)) = self.probes.next_nudge(now) {
            for _ in 1..copies {
                self.feed.push_back(frame.clone());
            }
            self.feed.push_back(frame);
        }
    }

    /// Forgets the hosts of the segment: smoltcp flushes its neighbour cache whenever the
    /// interface's addresses change.
    pub fn forget_neighbors(&mut self) {
        self.neighbors.forget();
        self.neighbors6.forget();
    }

    /// Takes a frame smoltcp wrote into `buf` from `start` on (before it: room for the
    /// header), without copying it unless it goes both ways; one longer than the NIC's MTU
    /// (with offloads smoltcp believes the MTU is 64 KiB) leaves in fragments.
    fn transmit_frame(&mut self, mut buf: Vec<u8>, start: usize) {
        match route(&mut buf[start..], self.mac) {
            Route::Drop => return,
            Route::Ourselves => return self.push_loopback(buf, start),
            Route::Out { also_ourselves } => {
                if also_ourselves {
                    self.push_loopback(buf[start..].to_vec(), 0);
                }
            }
        }
        let Some(mtu) = self.nic_mtu() else { return };
        if super::frag::too_long(&buf[start..], mtu) {
            for piece in self.fragments.split(&buf[start..], mtu) {
                self.push_nic(&piece);
                if self.tx.len() >= TX_BATCH {
                    self.flush();
                }
            }
            return;
        }
        if let Some(offload) = self.offload.as_mut() {
            if !offload.transmit(&mut buf) {
                return;
            }
        }
        self.tx.push(buf);
        if self.tx.len() >= TX_BATCH {
            self.flush();
        }
    }
}

/// A received frame, from its offset on (past its virtio-net header): a copy, or lent in
/// place by the NIC (given back once smoltcp has taken it).
pub enum RxToken {
    /// A frame of the loopback queue (or one the NIC copied out).
    Owned(Vec<u8>, usize),
    /// A frame in the NIC's receive ring.
    Lent(Lent, usize),
}

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        match self {
            Self::Owned(frame, start) => f(&frame[start..]),
            Self::Lent(frame, start) => f(&frame[start..]),
        }
    }
}

/// Readies a frame smoltcp wrote for where it goes. For the NIC: where it has no offloads
/// (`plain`, its MTU) a SYN's MSS option held to that MTU ([`super::offload::clamp_mss`])
/// and the TCP checksum, which the device sums; the window the peer is offered
/// (behind passt the window floor at `now` µs with its margin, else one unit less,
/// [`super::window`]: either keeps the edge the peer learns below smoltcp's), then what the
/// probes learn from it ([`super::probe`]). For our own MAC `mac` (the guest loopback, whose
/// checksums nothing checks and whose windows passt never sees) only the unit held back.
fn outgoing(
    floor: &mut super::floor::Floor,
    probes: &mut super::probe::Probes,
    mac: EthernetAddress,
    now: u64,
    plain: Option<usize>,
    frame: &mut [u8],
) {
    if frame.get(..6) == Some(&mac.0[..]) {
        super::window::hold_back_one_unit(frame);
        return;
    }
    if let Some(mtu) = plain {
        super::offload::clamp_mss(frame, mtu);
        super::offload::fill_tcp_checksum(frame);
    }
    if !floor.apply(frame, now) {
        super::window::hold_back_one_unit(frame);
    }
    probes.sent(frame, now);
}

/// Permission to send one frame.
pub struct TxToken<'a>(&'a mut Device);

impl phy::TxToken for TxToken<'_> {
    /// Writes the frame into a transmit buffer the NIC lends, when it has one free (and no
    /// copied frame waits before it): no allocation, no zeroing, no copy; else into a fresh
    /// frame sent at the next flush.
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let dev = self.0;
        let start = dev.headroom();
        if dev.tx.is_empty() {
            if let Some(nic) = dev.nic.as_mut() {
                let mtu = nic.mtu();
                if let Some(buf) = nic.tx_lend(start + len) {
                    let result = f(&mut buf[start..]);
                    let plain = dev.offload.is_none().then_some(mtu);
                    outgoing(&mut dev.floor, &mut dev.probes, dev.mac, dev.now_us, plain, &mut buf[start..]);
                    if super::frag::too_long(&buf[start..start + len], mtu) {
                        // Cut up from a copy; the lent buffer is not published.
                        let frame = buf[..start + len].to_vec();
                        dev.transmit_frame(frame, start);
                        return result;
                    }
                    if route_lent(buf, start, dev.mac, &mut dev.queue, dev.offload.as_mut()) {
                        nic.tx_publish(start + len);
                    }
                    return result;
                }
            }
        }
        let mut frame = vec![0; start + len];
        let result = f(&mut frame[start..]);
        let plain = dev.nic_mtu().filter(|_| dev.offload.is_none());
        outgoing(&mut dev.floor, &mut dev.probes, dev.mac, dev.now_us, plain, &mut frame[start..]);
        dev.transmit_frame(frame, start);
        result
    }
}

impl phy::Device for Device {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.ip_mtu() + 14;
        // Loopback frames are ours: no checksums without a NIC (the original lwIP build did
        // not check them either). With one, smoltcp computes the IP, UDP and ICMP checksums
        // and checks the IP and ICMP ones; TCP's and received UDP ones are the device's: the
        // offload layer and the host with offloads, else the device with a faster sum than
        // smoltcp's (`accept` checks, `outgoing` computes TCP's for the NIC; loopback segments
        // stay unsummed, as with offloads).
        if self.nic.is_none() {
            caps.checksum = ChecksumCapabilities::ignored();
        } else {
            caps.checksum.tcp = Checksum::None;
            caps.checksum.udp = Checksum::Tx;
        }
        caps
    }

    fn receive(&mut self, timestamp: Instant) -> Option<(RxToken, TxToken<'_>)> {
        self.now_us = u64::try_from(timestamp.total_micros()).unwrap_or(0);
        let token = if let Some(fed) = self.feed.pop_front() {
            RxToken::Owned(fed, 0)
        } else if let Some(held) = self.held.take() {
            held
        } else if let Some((frame, start)) = self.queue.pop_front() {
            // smoltcp's own answer to a datagram of ours to a closed port.
            self.refused.note_own(&frame[start..]);
            RxToken::Owned(frame, start)
        } else {
            self.receive_nic(u64::try_from(timestamp.total_micros()).unwrap_or(0).saturating_mul(1000))?
        };
        Some((token, TxToken(self)))
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<TxToken<'_>> {
        self.now_us = u64::try_from(timestamp.total_micros()).unwrap_or(0);
        Some(TxToken(self))
    }
}

#[cfg(test)]
#[path = "device_tests.rs"]
mod tests;
