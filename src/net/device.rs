//! The one smoltcp device: a guest loopback queue in front of an optional NIC.
//!
//! Frames to our own MAC address stay in the guest (the loopback queue); broadcast and
//! multicast frames go to both the loopback queue and the NIC (so that ARP and neighbour
//! discovery for our own addresses, 127.0.0.1 and ::1 included, are answered by ourselves);
//! every other frame goes to the NIC, or is dropped without one. Receiving drains the
//! loopback queue before the NIC.
//!
//! With a NIC whose frames carry the virtio-net header ([`Nic::vnet`], offloads negotiated)
//! the device leaves room for the header before every frame smoltcp writes and fills it in
//! ([`super::offload`]), tells smoltcp the IP MTU is 64 KiB and that it need neither compute
//! TCP checksums nor verify TCP and UDP ones (the offload layer does what is needed), and
//! takes received frames past their header without copying them again. Without offloads
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
    fn mtu(&self) -> usize {
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
                if !super::offload::checksum_ok(&whole) {
                    self.bad_checksums += 1;
                } else if self.screen(&whole, now) {
                    self.feed.push_back(whole);
                }
                false
            }
        }
    }

    /// The rest of [`Device::accept`]'s checks, on a whole packet: our answer to an ARP
    /// probe for our address, the sender for smoltcp's neighbour cache
    /// ([`super::neighbors`], [`super::neighbors6`], at uptime `now` ns) and router
    /// advertisements ([`super::ra`]); false if it is to be dropped (a router advertisement
    /// split into copies is dropped, its copies fed).
    fn screen(&mut self, frame: &[u8], now: u64) -> bool {
        self.refused.note(frame);
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
        caps.max_transmission_unit = self.mtu() + 14;
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
            self.refused.note(&frame[start..]);
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
mod tests {
    use super::super::route::LOCALHOST6;
    use super::*;
    use alloc::boxed::Box;
    use alloc::sync::Arc;
    use hermit_interface::vnet::{self, VnetHdr};
    use smoltcp::phy::{Device as _, RxToken as _, TxToken as _};
    use std::sync::Mutex;

    /// A NIC that records what it sent and replays `incoming`.
    struct FakeNic {
        sent: Arc<Mutex<Vec<Vec<u8>>>>,
        incoming: Vec<Vec<u8>>,
    }

    impl Nic for FakeNic {
        fn send(&mut self, frame: &[u8]) -> bool {
            self.sent.lock().unwrap().push(frame.to_vec());
            true
        }
        fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
            let frame = self.incoming.pop()?;
            buf[..frame.len()].copy_from_slice(&frame);
            Some(frame.len())
        }
    }

    const MAC: [u8; 6] = [0x52, 0x54, 0, 1, 2, 3];

    fn frame(dst: [u8; 6], tag: u8) -> Vec<u8> {
        let mut f = vec![0u8; 60];
        f[..6].copy_from_slice(&dst);
        f[6..12].copy_from_slice(&MAC);
        f[20] = tag;
        f
    }

    fn send(dev: &mut Device, f: &[u8]) {
        dev.transmit(Instant::ZERO).unwrap().consume(f.len(), |buf| buf.copy_from_slice(f));
    }

    fn receive(dev: &mut Device) -> Option<Vec<u8>> {
        dev.receive(Instant::ZERO).map(|(rx, _)| rx.consume(|b| b.to_vec()))
    }

    /// An IPv4 TCP segment to `dst` (MAC) from port 80 to 5000: a SYN with window scale 7,
    /// or an ACK with window field `window` (checksums left zero: the window is only adjusted).
    fn tcp(dst: [u8; 6], syn: bool, window: u16) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 24];
        f[..6].copy_from_slice(&dst);
        f[6..12].copy_from_slice(&MAC);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&44u16.to_be_bytes());
        f[23] = 6;
        f[30..34].copy_from_slice(&[10, 0, 2, 2]);
        f[34..38].copy_from_slice(&[0, 80, 0x13, 0x88]);
        f[46] = 6 << 4;
        f[47] = if syn { 0x02 } else { 0x10 };
        f[48..50].copy_from_slice(&window.to_be_bytes());
        f[54..58].copy_from_slice(&[1, 3, 3, 7]);
        f
    }

    #[test]
    fn the_window_floor_rewrites_frames_for_the_nic_only() {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let nic = FakeNic { sent: sent.clone(), incoming: Vec::new() };
        let mut dev = Device::new(EthernetAddress(MAC), Some(Box::new(nic)));
        dev.floor = super::super::floor::Floor::new(1 << 20);
        for dst in [[0x52, 0x54, 0, 9, 9, 9], MAC] {
            send(&mut dev, &tcp(dst, true, 65535));
            send(&mut dev, &tcp(dst, false, 32767));
            send(&mut dev, &tcp(dst, false, 536));
        }
        dev.flush();
        let windows: Vec<u16> = sent.lock().unwrap().iter().map(|f| u16::from_be_bytes([f[48], f[49]])).collect();
        assert_eq!(windows, [65535, 32767 - 511 - 1, 0], "the NIC's small window goes out as zero");
        let looped: Vec<u16> =
            (0..3).map(|_| receive(&mut dev).unwrap()).map(|f| u16::from_be_bytes([f[48], f[49]])).collect();
        assert_eq!(looped, [65535, 32766, 535], "the guest loopback's windows lose one unit (window.rs), no floor");
    }

    #[test]
    fn frames_go_where_they_belong() {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let nic = FakeNic { sent: sent.clone(), incoming: vec![frame(MAC, 9)] };
        let mut dev = Device::new(EthernetAddress(MAC), Some(Box::new(nic)));
        // smoltcp believes 64 KiB: the device cuts longer frames (SYNs held to the MTU,
        // other packets into fragments).
        assert_eq!(dev.capabilities().max_transmission_unit, super::super::offload::IP_MAX + 14);
        assert!(dev.has_nic() && !dev.offloads());
        send(&mut dev, &frame(MAC, 1)); // to ourselves: loopback only
        send(&mut dev, &frame([0xff; 6], 2)); // broadcast: both
        send(&mut dev, &frame([0x52, 0x54, 0, 9, 9, 9], 3)); // another host: NIC only
        assert!(sent.lock().unwrap().is_empty(), "sent together at the flush");
        dev.flush();
        let tags: Vec<u8> = sent.lock().unwrap().iter().map(|f| f[20]).collect();
        assert_eq!(tags, [2, 3]);
        // The loopback queue first, then the NIC.
        assert_eq!(receive(&mut dev).unwrap()[20], 1);
        assert_eq!(receive(&mut dev).unwrap()[20], 2);
        assert_eq!(dev.take_nic_rx(), 0);
        assert_eq!(receive(&mut dev).unwrap()[20], 9);
        assert_eq!(dev.take_nic_rx(), 1);
        assert!(receive(&mut dev).is_none());
    }

    #[test]
    fn smoltcp_learns_a_new_host_before_its_frame_and_is_asked_for_unknown_ones() {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let host = [0x52, 0x54, 0, 9, 9, 9];
        let mut ipv4 = frame(MAC, 7);
        ipv4[6..12].copy_from_slice(&host);
        ipv4[12..14].copy_from_slice(&[8, 0]);
        ipv4[26..30].copy_from_slice(&[10, 0, 5, 11]);
        ipv4[30..34].copy_from_slice(&[10, 0, 5, 2]);
        let nic = FakeNic { sent: sent.clone(), incoming: vec![ipv4.clone(), ipv4] };
        let mut dev = Device::new(EthernetAddress(MAC), Some(Box::new(nic)));
        dev.neighbors.set_net(Some(([10, 0, 5, 2], 24)));
        let first = receive(&mut dev).unwrap();
        assert_eq!((&first[12..14], first[21]), (&[8, 6][..], 2), "an ARP reply first");
        assert_eq!(&first[22..32], &[0x52, 0x54, 0, 9, 9, 9, 10, 0, 5, 11]);
        assert_eq!(receive(&mut dev).unwrap()[20], 7, "then the frame");
        assert_eq!(receive(&mut dev).unwrap()[20], 7, "the next frame of that host alone");
        dev.resolve(IpAddress::v4(10, 0, 5, 11), 0);
        dev.resolve(IpAddress::v4(10, 0, 5, 12), 0);
        dev.flush();
        let asked: Vec<_> = sent.lock().unwrap().iter().map(|f| (f[21], f[38..42].to_vec())).collect();
        assert_eq!(asked, [(1, vec![10, 0, 5, 12])], "a request for the unknown host only");
    }

    /// A NIC that counts how often it was asked, and records the sizes of its batches.
    struct CountingNic {
        asked: Arc<Mutex<usize>>,
        incoming: Vec<Vec<u8>>,
        batches: Arc<Mutex<Vec<usize>>>,
    }

    impl Nic for CountingNic {
        fn send(&mut self, _frame: &[u8]) -> bool {
            true
        }
        fn send_batch(&mut self, frames: &[Vec<u8>]) -> usize {
            self.batches.lock().unwrap().push(frames.len());
            frames.len()
        }
        fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
            *self.asked.lock().unwrap() += 1;
            let frame = self.incoming.pop()?;
            buf[..frame.len()].copy_from_slice(&frame);
            Some(frame.len())
        }
    }

    #[test]
    fn an_idle_nic_is_asked_only_when_due() {
        let asked = Arc::new(Mutex::new(0));
        let nic = CountingNic {
            asked: asked.clone(),
            incoming: vec![frame(MAC, 2), frame(MAC, 1)],
            batches: Default::default(),
        };
        let mut dev = Device::new(EthernetAddress(MAC), Some(Box::new(nic)));
        // Due at the start: drained until the NIC has nothing (three asks), then not asked.
        assert_eq!(receive(&mut dev).unwrap()[20], 1);
        assert_eq!(receive(&mut dev).unwrap()[20], 2);
        assert!(receive(&mut dev).is_none());
        assert!(receive(&mut dev).is_none());
        assert_eq!(*asked.lock().unwrap(), 3);
        // Loopback frames still arrive meanwhile.
        send(&mut dev, &frame(MAC, 5));
        assert_eq!(receive(&mut dev).unwrap()[20], 5);
        assert_eq!(*asked.lock().unwrap(), 3);
        dev.poll_nic();
        assert!(receive(&mut dev).is_none());
        assert_eq!(*asked.lock().unwrap(), 4);
    }

    #[test]
    fn frames_for_the_nic_go_out_in_batches() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let nic = CountingNic { asked: Default::default(), incoming: vec![], batches: batches.clone() };
        let mut dev = Device::new(EthernetAddress(MAC), Some(Box::new(nic)));
        for tag in 0..3 {
            send(&mut dev, &frame([0x52, 0x54, 0, 9, 9, 9], tag));
        }
        dev.flush();
        dev.flush();
        for tag in 0..TX_BATCH as u8 + 1 {
            send(&mut dev, &frame([0x52, 0x54, 0, 9, 9, 9], tag));
        }
        dev.flush();
        assert_eq!(*batches.lock().unwrap(), [3, TX_BATCH, 1]);
    }

    /// The Internet checksum of `data` (folded one's complement sum).
    #[test]
    fn solicitation_for_localhost_stays_inside() {
        let mut f = vec![0u8; 14 + 40 + 32];
        f[..6].copy_from_slice(&[0x33, 0x33, 0xff, 0, 0, 1]);
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        f[14 + 6] = 58;
        f[14 + 24..14 + 40].copy_from_slice(&[0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1]);
        f[54] = 135;
        f[54 + 8..54 + 24].copy_from_slice(&LOCALHOST6);
        let sent = Arc::new(Mutex::new(Vec::new()));
        let nic = FakeNic { sent: sent.clone(), incoming: vec![] };
        let mut dev = Device::new(EthernetAddress(MAC), Some(Box::new(nic)));
        send(&mut dev, &f);
        dev.flush();
        assert!(sent.lock().unwrap().is_empty());
        let got = receive(&mut dev).unwrap();
        assert_eq!(got[..6], MAC);
        assert_eq!(got[14 + 24..14 + 40], LOCALHOST6);
    }

    /// A NIC whose frames carry the virtio-net header.
    struct VnetNic(FakeNic);

    impl Nic for VnetNic {
        fn send(&mut self, frame: &[u8]) -> bool {
            self.0.send(frame)
        }
        fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
            self.0.receive(buf)
        }
        fn vnet(&self) -> bool {
            true
        }
    }

    #[test]
    fn without_offloads_the_device_sums_tcp() {
        let host = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x22];
        let good = tcp6_from(host);
        let mut bad = good.clone();
        bad[60] ^= 1;
        let sent = Arc::new(Mutex::new(Vec::new()));
        let nic = FakeNic { sent: sent.clone(), incoming: vec![good.clone(), bad] };
        let mut dev = Device::new(EthernetAddress(MAC), Some(Box::new(nic)));
        let caps = dev.capabilities();
        assert!(!caps.checksum.tcp.tx() && !caps.checksum.tcp.rx() && !caps.checksum.udp.rx());
        assert!(caps.checksum.udp.tx() && caps.checksum.ipv4.rx() && caps.checksum.icmpv4.rx());
        // In: the bad one dropped and counted (after the neighbour advertisement the first
        // frame from a new host brings).
        let got: Vec<Vec<u8>> = core::iter::from_fn(|| receive(&mut dev)).collect();
        assert_eq!(got.last(), Some(&good));
        assert_eq!(dev.bad_checksums, 1);
        // Out: smoltcp's zero checksum filled in.
        let mut out = good.clone();
        out[..6].copy_from_slice(&[0x52, 0x54, 0, 9, 9, 9]);
        let mut zeroed = out.clone();
        zeroed[54 + 16..54 + 18].copy_from_slice(&[0, 0]);
        send(&mut dev, &zeroed);
        dev.flush();
        let sent = sent.lock().unwrap();
        assert!(super::super::offload::checksum_ok(&sent[0]));
    }

    #[test]
    fn offloads_add_and_take_the_header() {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let mut incoming = [0u8; HDR_LEN].to_vec();
        incoming.extend(frame(MAC, 7));
        let nic = VnetNic(FakeNic { sent: sent.clone(), incoming: vec![incoming] });
        let mut dev = Device::new(EthernetAddress(MAC), Some(Box::new(nic)));
        assert!(dev.offloads());
        let caps = dev.capabilities();
        assert_eq!(caps.max_transmission_unit, super::super::offload::IP_MAX + 14);
        assert!(!caps.checksum.tcp.tx() && !caps.checksum.tcp.rx() && !caps.checksum.udp.rx());
        assert!(caps.checksum.udp.tx() && caps.checksum.icmpv4.rx());
        assert_eq!(dev.offload_stats(), Some(super::super::offload::Stats::default()));
        // Out to the NIC with a (zero: no IP packet) header in front; to ourselves without.
        send(&mut dev, &frame([0x52, 0x54, 0, 9, 9, 9], 3));
        send(&mut dev, &frame(MAC, 4));
        dev.flush();
        let out = sent.lock().unwrap().clone();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0][..HDR_LEN], [0; HDR_LEN]);
        assert_eq!(out[0][HDR_LEN..], frame([0x52, 0x54, 0, 9, 9, 9], 3)[..]);
        assert_eq!(receive(&mut dev).unwrap(), frame(MAC, 4));
        // In from the NIC: the frame past its header.
        assert_eq!(receive(&mut dev).unwrap(), frame(MAC, 7));
        assert!(receive(&mut dev).is_none());
    }

    /// A NIC that lends its buffers as the descriptor rings do: one transmit buffer, received
    /// frames lent one at a time, each loan counted as given back in `released`. Frames the
    /// device copies (IP fragments) reach `sent` only at a flush.
    struct LendingNic {
        sent: Arc<Mutex<Vec<Vec<u8>>>>,
        incoming: Vec<Vec<u8>>,
        tx: Vec<u8>,
        lent: u32,
        released: &'static AtomicU32,
        vnet: bool,
    }

    impl Nic for LendingNic {
        fn send(&mut self, _frame: &[u8]) -> bool {
            panic!("a lending NIC's frames are written in place");
        }
        fn send_batch(&mut self, frames: &[Vec<u8>]) -> usize {
            self.sent.lock().unwrap().extend(frames.iter().cloned());
            frames.len()
        }
        fn receive(&mut self, _buf: &mut [u8]) -> Option<usize> {
            panic!("a lending NIC's frames are lent");
        }
        fn tx_lend(&mut self, len: usize) -> Option<&mut [u8]> {
            self.tx.get_mut(..len)
        }
        fn tx_publish(&mut self, len: usize) {
            self.sent.lock().unwrap().push(self.tx[..len].to_vec());
        }
        fn rx_cheap(&self) -> bool {
            true
        }
        fn rx_lend(&mut self) -> Option<Lent> {
            let frame = self.incoming.pop()?;
            self.lent += 1;
            Some(Lent::new(Box::leak(frame.into_boxed_slice()), Some((self.released, self.lent))))
        }
        fn vnet(&self) -> bool {
            self.vnet
        }
    }

    /// Frames a test NIC sent.
    type Sent = Arc<Mutex<Vec<Vec<u8>>>>;

    fn lending(vnet: bool, incoming: Vec<Vec<u8>>) -> (Device, Sent, &'static AtomicU32) {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let released = Box::leak(Box::new(AtomicU32::new(0)));
        let nic = LendingNic { sent: sent.clone(), incoming, tx: vec![0xee; 70_000], lent: 0, released, vnet };
        (Device::new(EthernetAddress(MAC), Some(Box::new(nic))), sent, released)
    }

    #[test]
    fn lent_buffers_carry_frames_in_place() {
        let (mut dev, sent, released) = lending(false, vec![frame(MAC, 8), frame(MAC, 7)]);
        send(&mut dev, &frame([0x52, 0x54, 0, 9, 9, 9], 1)); // published at once
        send(&mut dev, &frame(MAC, 2)); // to ourselves: copied to the loopback queue, not published
        send(&mut dev, &frame([0xff; 6], 3)); // broadcast: both
        let tags: Vec<u8> = sent.lock().unwrap().iter().map(|f| f[20]).collect();
        assert_eq!(tags, [1, 3]);
        assert_eq!(sent.lock().unwrap()[0], frame([0x52, 0x54, 0, 9, 9, 9], 1));
        assert_eq!(receive(&mut dev).unwrap()[20], 2);
        assert_eq!(receive(&mut dev).unwrap()[20], 3);
        // Received frames are given back once taken, in order.
        assert_eq!(released.load(Ordering::Relaxed), 0);
        assert_eq!(receive(&mut dev).unwrap()[20], 7);
        assert_eq!(released.load(Ordering::Relaxed), 1);
        let (rx, _) = dev.receive(Instant::ZERO).unwrap();
        assert_eq!(released.load(Ordering::Relaxed), 1, "not before smoltcp took it");
        drop(rx);
        assert_eq!(released.load(Ordering::Relaxed), 2, "a token dropped unconsumed gives it back too");
        assert!(receive(&mut dev).is_none());
        assert_eq!(dev.take_nic_rx(), 2);
    }

    #[test]
    fn lent_buffers_with_offloads() {
        let mut good = [0u8; HDR_LEN].to_vec();
        good.extend(frame(MAC, 7));
        // A partial checksum at an offset past the frame: dropped, and given back.
        let bad = VnetHdr { flags: vnet::F_NEEDS_CSUM, csum_start: 200, csum_offset: 6, ..VnetHdr::default() };
        let mut bad = bad.to_bytes().to_vec();
        bad.extend(frame(MAC, 6));
        let (mut dev, sent, released) = lending(true, vec![good, bad]);
        send(&mut dev, &frame([0x52, 0x54, 0, 9, 9, 9], 3));
        let out = sent.lock().unwrap().clone();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0][..HDR_LEN], [0; HDR_LEN], "the header is written over the buffer's old bytes");
        assert_eq!(out[0][HDR_LEN..], frame([0x52, 0x54, 0, 9, 9, 9], 3)[..]);
        assert_eq!(receive(&mut dev).unwrap(), frame(MAC, 7));
        assert_eq!(released.load(Ordering::Relaxed), 2);
        assert!(receive(&mut dev).is_none());
    }

    /// An IPv4 UDP datagram of `len` bytes (a pattern) from 10.0.2.15 to 10.0.2.2 at
    /// Ethernet address `dst`, as smoltcp writes it (checksums left zero: UDP's is optional).
    fn udp4(dst: [u8; 6], len: usize) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 28 + len];
        f[..6].copy_from_slice(&dst);
        f[6..12].copy_from_slice(&MAC);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&((28 + len) as u16).to_be_bytes());
        f[20] = 0x40;
        f[22] = 64;
        f[23] = 17;
        f[26..34].copy_from_slice(&[10, 0, 2, 15, 10, 0, 2, 2]);
        f[38..40].copy_from_slice(&((8 + len) as u16).to_be_bytes());
        for (i, b) in f[42..].iter_mut().enumerate() {
            *b = i as u8;
        }
        let sum = super::super::offload::sum(&f[14..34]);
        f[24..26].copy_from_slice(&(!super::super::offload::fold(sum)).to_be_bytes());
        f
    }

    #[test]
    fn datagrams_longer_than_the_mtu_leave_and_arrive_in_fragments() {
        let host = [0x52, 0x54, 0, 9, 9, 9];
        let (mut dev, sent, _) = lending(true, Vec::new());
        send(&mut dev, &udp4(host, 4000));
        send(&mut dev, &udp4(host, 1472));
        assert!(sent.lock().unwrap().is_empty(), "the fragments wait for the flush, and the next frame behind them");
        dev.flush();
        let out = sent.lock().unwrap().clone();
        let sizes: Vec<usize> = out.iter().map(|f| f.len() - HDR_LEN - 14).collect();
        assert_eq!(
            sizes,
            [1500, 1500, 1068, 1500],
            "1480 + 1480 + 1048 bytes of the 4008-byte datagram, then the next"
        );
        assert!(out.iter().all(|f| f[..HDR_LEN] == [0; HDR_LEN]));
        assert_eq!(dev.fragments.stats.fragmented, 1);
        // The same fragments from the NIC (reversed, to our MAC) come back as one datagram.
        let incoming: Vec<Vec<u8>> = out[..3]
            .iter()
            .map(|f| {
                let mut f = f.clone();
                f[HDR_LEN..HDR_LEN + 6].copy_from_slice(&MAC);
                f[HDR_LEN + 6..HDR_LEN + 12].copy_from_slice(&host);
                f
            })
            .collect();
        let (mut dev, _, released) = lending(true, incoming);
        let mut whole = udp4(MAC, 4000);
        whole[6..12].copy_from_slice(&host);
        whole[18..20].copy_from_slice(&out[0][HDR_LEN + 18..HDR_LEN + 20]);
        whole[20] = 0;
        let sum = super::super::offload::sum(&{
            let mut h = whole[14..34].to_vec();
            h[10..12].copy_from_slice(&[0, 0]);
            h
        });
        whole[24..26].copy_from_slice(&(!super::super::offload::fold(sum)).to_be_bytes());
        let got: Vec<Vec<u8>> = core::iter::from_fn(|| receive(&mut dev)).collect();
        assert_eq!(got.last(), Some(&whole));
        assert_eq!(released.load(Ordering::Relaxed), 3, "every fragment's entry given back");
        assert_eq!(dev.fragments.stats.reassembled, 1);
    }

    #[test]
    fn loopback_alone() {
        let mut dev = Device::new(EthernetAddress(MAC), None);
        assert_eq!(dev.capabilities().max_transmission_unit, LOOPBACK_MTU + 14);
        send(&mut dev, &frame([0x52, 0x54, 0, 9, 9, 9], 3)); // nowhere to go: dropped
        send(&mut dev, &frame(MAC, 4));
        assert!(dev.loopback_pending());
        assert_eq!(receive(&mut dev).unwrap()[20], 4);
        assert!(receive(&mut dev).is_none());
    }

    /// A TCP segment from `src` (an IPv6 host of the segment at [`PEER`]) to our link-local
    /// address, its checksum right.
    fn tcp6_from(src: [u8; 16]) -> Vec<u8> {
        const PEER: [u8; 6] = [0x52, 0x54, 0, 9, 9, 9];
        let mut f = vec![0u8; 74];
        f[..6].copy_from_slice(&MAC);
        f[6..12].copy_from_slice(&PEER);
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        f[14] = 0x60;
        f[19] = 20;
        f[20] = 6;
        f[21] = 64;
        f[22..38].copy_from_slice(&src);
        f[38..54].copy_from_slice(&super::super::addr::link_local(MAC).octets());
        f[54 + 12] = 5 << 4;
        use super::super::offload::{fold, sum};
        let check = !fold(sum(&f[22..54]) + 6 + 20 + sum(&f[54..]));
        f[54 + 16..54 + 18].copy_from_slice(&check.to_be_bytes());
        f
    }

    #[test]
    fn a_new_ipv6_host_is_advertised_before_its_frame_and_again_after_the_addresses_changed() {
        let host = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11];
        let incoming = vec![tcp6_from(host), tcp6_from(host), tcp6_from(host)];
        let nic = FakeNic { sent: Arc::new(Mutex::new(Vec::new())), incoming };
        let mut dev = Device::new(EthernetAddress(MAC), Some(Box::new(nic)));
        let kinds = |dev: &mut Device| {
            core::iter::from_fn(|| receive(dev)).map(|f| if f[20] == 58 { f[54] } else { f[20] }).collect::<Vec<u8>>()
        };
        // A neighbour advertisement (ICMPv6 136) first, then the segments (TCP, 6).
        assert_eq!(kinds(&mut dev), [136, 6, 6, 6]);
        dev.forget_neighbors();
        let nic = FakeNic { sent: Arc::new(Mutex::new(Vec::new())), incoming: vec![tcp6_from(host)] };
        dev.nic = Some(Box::new(nic));
        dev.poll_nic();
        assert_eq!(kinds(&mut dev), [136, 6], "advertised again");
        assert_eq!(dev.neighbors6.fed, 2);
    }
}
