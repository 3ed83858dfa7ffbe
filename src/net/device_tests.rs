//! Host tests of the device layer (`device.rs`): where frames go, lent ring buffers, offloads, fragments, neighbours.

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
    assert!(!dev.tx_waiting(), "a known host needs no request");
    dev.resolve(IpAddress::v4(10, 0, 5, 12), 0);
    // The request waits for the flush: a socket call after which it waits is followed by a poll.
    assert!(dev.tx_waiting());
    dev.flush();
    assert!(!dev.tx_waiting());
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
    let nic =
        CountingNic { asked: asked.clone(), incoming: vec![frame(MAC, 2), frame(MAC, 1)], batches: Default::default() };
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
    assert_eq!(sizes, [1500, 1500, 1068, 1500], "1480 + 1480 + 1048 bytes of the 4008-byte datagram, then the next");
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
