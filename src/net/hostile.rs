//! Host test of the guest's receive path under hostile frames: smoltcp over the device layer (offloads, martians, ARP probes) fed mutated frames.
//!
//! The end-to-end test (`c-tests/net/hostile_frames.py`) sends some thousands of frames to a
//! booted guest; this one sends a few hundred thousand through the same code on the host,
//! where a panic shows at once with its frame: valid templates (ARP, ICMP, TCP to a
//! listener and to a closed port, UDP, ICMPv6 echo and neighbour solicitation, IPv6 with
//! hop-by-hop options, router advertisements with one and two prefixes, IPv4 and IPv6
//! fragments of a UDP datagram, IGMPv2 and IGMPv3 queries and an MLD query for the group the
//! stack joined, ICMP errors quoting a UDP datagram of ours) with random bytes changed, cut or appended, half of them with their
//! checksums fixed up, behind a random or a sane virtio-net header with offloads. After each
//! batch the listeners must still listen or hold connections, and the stack must still
//! answer an ARP request. `HERMIT_HOSTILE_ROUNDS` sets the rounds of the ignored long run.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use std::sync::{Arc, Mutex};

use hermit_interface::vnet::HDR_LEN;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::{tcp, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address, Ipv6Address};

use crate::netdevice::{Device, Nic};

// The guest's and its peer's addresses and the guest's listening port (also used by the host
// test of the windows we advertise, `window.rs`).
pub const MAC: [u8; 6] = [2, 0, 0, 0, 5, 2];
pub const PEER_MAC: [u8; 6] = [2, 0, 0, 0, 5, 1];
pub const OURS: [u8; 4] = [10, 0, 5, 2];
pub const PEER: [u8; 4] = [10, 0, 5, 1];
pub const PORT: u16 = 7777;

/// A NIC that hands out the frames of `incoming` and keeps what it sent.
pub struct QueueNic {
    pub incoming: Arc<Mutex<VecDeque<Vec<u8>>>>,
    pub sent: Arc<Mutex<Vec<Vec<u8>>>>,
    pub vnet: bool,
}

impl Nic for QueueNic {
    fn send(&mut self, frame: &[u8]) -> bool {
        self.sent.lock().unwrap().push(frame.to_vec());
        true
    }
    fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
        let frame = self.incoming.lock().unwrap().pop_front()?;
        let n = frame.len().min(buf.len());
        buf[..n].copy_from_slice(&frame[..n]);
        Some(n)
    }
    fn vnet(&self) -> bool {
        self.vnet
    }
}

/// xorshift64: the same frames on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The folded one's complement checksum of `data`.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A frame from the peer to `dst`.
pub fn eth(dst: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend_from_slice(&PEER_MAC);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A frame from the peer to us with an IPv4 packet of `proto` (checksums not filled in).
pub fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0];
    p[2..4].copy_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&PEER);
    p.extend_from_slice(&OURS);
    p.extend_from_slice(payload);
    eth(MAC, 0x0800, &p)
}

fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    ipv6_hops(next, 64, payload)
}

fn ipv6_hops(next: u8, hops: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0, 0, 0, next, hops];
    p[4..6].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99]);
    p.extend_from_slice(&crate::addr::link_local(MAC).octets());
    p.extend_from_slice(payload);
    eth(MAC, 0x86dd, &p)
}

fn tcp_segment(dport: u16, flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let doff = (20 + options.len()).div_ceil(4);
    let mut s = vec![0x9c, 0x40, (dport >> 8) as u8, dport as u8, 0, 0, 3, 0xe8, 0, 0, 0, 0];
    s.extend_from_slice(&[(doff as u8) << 4, flags, 0x20, 0, 0, 0, 0, 0]);
    s.extend_from_slice(options);
    s.resize(doff * 4, 0);
    s.extend_from_slice(payload);
    s
}

/// Valid frames to mutate.
fn templates() -> Vec<Vec<u8>> {
    let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
    arp.extend_from_slice(&PEER_MAC);
    arp.extend_from_slice(&PEER);
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&OURS);
    let echo = [8, 0, 0, 0, 0, 1, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8];
    let syn_options = [2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0];
    let mut ns = vec![135, 0, 0, 0, 0, 0, 0, 0];
    ns.extend_from_slice(&crate::addr::link_local(MAC).octets());
    ns.extend_from_slice(&[1, 1]);
    ns.extend_from_slice(&PEER_MAC);
    let hbh = [58, 1, 1, 4, 0, 0, 0, 0, 0xc2, 4, 0, 0, 0, 0, 1, 0];
    let ra1 = router_advert(&[[0x20, 1, 0xd, 0xb8, 0, 1, 0, 0]]);
    let ra2 = router_advert(&[[0x20, 1, 0xd, 0xb8, 0, 2, 0, 0], [0xfd, 0, 0, 0, 0, 0, 0, 0]]);
    let mut with_hbh = hbh.to_vec();
    with_hbh.extend_from_slice(&[128, 0, 0, 0, 0, 1, 0, 1]);
    // A UDP datagram of 24 bytes to port 5000 in two IPv4 fragments (16 + 16), and the same
    // in IPv6 behind fragment headers.
    let udp = [
        0x13, 0x88, 0x13, 0x88, 0, 32, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
        22, 23, 24,
    ];
    let mut first4 = ipv4(17, &udp[..16]);
    first4[20] = 0x20;
    let mut second4 = ipv4(17, &udp[16..]);
    second4[21] = 2;
    let fragment6 = |offset: u16, more: bool, data: &[u8]| {
        let mut p = vec![17, 0];
        p.extend_from_slice(&((offset << 3) | u16::from(more)).to_be_bytes());
        p.extend_from_slice(&[0, 0, 0x12, 0x34]);
        p.extend_from_slice(data);
        ipv6(44, &p)
    };
    // IGMPv2 general query, IGMPv3 query for the group joined, MLDv1 general query.
    let group = [239, 1, 2, 3];
    let mut igmp2 = vec![0x11, 100, 0, 0, 0, 0, 0, 0];
    let mut igmp3 = vec![0x11, 100, 0, 0];
    igmp3.extend_from_slice(&group);
    igmp3.extend_from_slice(&[2, 125, 0, 1, 10, 0, 5, 9]);
    let mld = [130, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    for igmp in [&mut igmp2, &mut igmp3] {
        let c = checksum(igmp);
        igmp[2..4].copy_from_slice(&c.to_be_bytes());
    }
    // Port unreachable quoting our datagram from 10.0.5.2:5000 to 10.0.5.1:9.
    let mut unreachable = vec![3, 3, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0];
    unreachable.extend_from_slice(&OURS);
    unreachable.extend_from_slice(&PEER);
    unreachable.extend_from_slice(&[0x13, 0x88, 0, 9, 0, 8, 0, 0]);
    vec![
        eth([0xff; 6], 0x0806, &arp),
        ipv4(1, &echo),
        ipv4(6, &tcp_segment(PORT, 0x02, &syn_options, &[])),
        ipv4(6, &tcp_segment(PORT, 0x10, &[1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 1], b"data")),
        ipv4(6, &tcp_segment(7000, 0x18, &[], b"hello")),
        ipv4(17, &[0x13, 0x88, 0x13, 0x88, 0, 12, 0, 0, 1, 2, 3, 4]),
        ipv6(58, &[128, 0, 0, 0, 0, 1, 0, 1, 9, 9]),
        ipv6(58, &ns),
        ipv6(0, &with_hbh),
        ipv6(6, &tcp_segment(PORT, 0x02, &syn_options, &[])),
        ipv6_hops(58, 255, &ns),
        ipv6_hops(58, 255, &ra1),
        ipv6_hops(58, 255, &ra2),
        first4,
        second4,
        fragment6(0, true, &udp[..16]),
        fragment6(2, false, &udp[16..]),
        ipv4(2, &igmp2),
        ipv4(2, &igmp3),
        ipv6_hops(58, 1, &mld),
        ipv4(1, &unreachable),
    ]
}

/// A router advertisement (router lifetime 1800 s, the sender's link-layer address) with a
/// prefix information option (on-link and autonomous, /64) for each of `prefixes`; its
/// checksum is set by the caller ([`fix_checksums`]).
fn router_advert(prefixes: &[[u8; 8]]) -> Vec<u8> {
    let mut ra = vec![134, 0, 0, 0, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
    ra.extend_from_slice(&PEER_MAC);
    for prefix in prefixes {
        ra.extend_from_slice(&[3, 4, 64, 0xc0, 0, 0, 0x1c, 0x20, 0, 0, 0x0e, 0x10, 0, 0, 0, 0]);
        ra.extend_from_slice(prefix);
        ra.extend_from_slice(&[0; 8]);
    }
    ra
}

/// Fixes the IPv4 header checksum and the TCP, UDP or ICMP one of `f` where its headers
/// can be read (IPv6: the ICMPv6, TCP or UDP one right after the fixed header).
pub fn fix_checksums(f: &mut [u8]) {
    let (l4, proto, pseudo) = match f.get(12..14) {
        Some([8, 0]) if f.len() >= 34 => {
            let ihl = usize::from(f[14] & 0xf) * 4;
            if ihl < 20 || f.len() < 14 + ihl {
                return;
            }
            f[24..26].fill(0);
            let c = checksum(&f[14..14 + ihl]);
            f[24..26].copy_from_slice(&c.to_be_bytes());
            let mut pseudo = f[26..34].to_vec();
            pseudo.extend_from_slice(&[0, f[23]]);
            (14 + ihl, f[23], Some(pseudo))
        }
        Some([0x86, 0xdd]) if f.len() >= 54 => {
            let mut pseudo = f[22..54].to_vec();
            pseudo.extend_from_slice(&[0, f[20]]);
            (54, f[20], Some(pseudo))
        }
        _ => return,
    };
    let field = match proto {
        6 => 16,
        17 => 6,
        1 | 2 | 58 => 2,
        _ => return,
    };
    if f.len() < l4 + field + 2 {
        return;
    }
    f[l4 + field..l4 + field + 2].fill(0);
    let mut sum = Vec::new();
    if !matches!(proto, 1 | 2) {
        sum.extend_from_slice(&pseudo.unwrap_or_default());
        sum.extend_from_slice(&((f.len() - l4) as u16).to_be_bytes());
    }
    sum.extend_from_slice(&f[l4..]);
    let c = checksum(&sum);
    f[l4 + field..l4 + field + 2].copy_from_slice(&c.to_be_bytes());
}

fn mutate(rng: &mut Rng, template: &[u8]) -> Vec<u8> {
    let mut f = template.to_vec();
    for _ in 0..1 + rng.below(6) {
        match rng.below(6) {
            0..=2 if !f.is_empty() => {
                let i = rng.below(f.len());
                f[i] = rng.next() as u8;
            }
            3 if f.len() > 1 => {
                let i = rng.below(f.len() - 1);
                let v: [u8; 2] = [[0, 0], [0xff, 0xff], [0x80, 0], [0, 1]][rng.below(4)];
                f[i..i + 2].copy_from_slice(&v);
            }
            4 => f.truncate(rng.below(f.len() + 1)),
            _ => {
                let n = 1 + rng.below(64);
                f.extend((0..n).map(|_| rng.next() as u8));
            }
        }
    }
    if rng.below(2) == 0 {
        fix_checksums(&mut f);
    }
    f
}

/// A virtio-net header for a received frame: none set, the host's vouching, or random fields.
fn vnet_header(rng: &mut Rng, frame_len: usize) -> [u8; HDR_LEN] {
    let mut h = [0u8; HDR_LEN];
    match rng.below(4) {
        0 => {}
        1 => h[0] = 2,
        2 => {
            h[0] = 1;
            let start = rng.below(frame_len + 8) as u16;
            h[6..8].copy_from_slice(&start.to_le_bytes());
            h[8..10].copy_from_slice(&[0u16, 2, 6, 16, 0xffff][rng.below(5)].to_le_bytes());
        }
        _ => h.iter_mut().for_each(|b| *b = rng.next() as u8),
    }
    h
}

/// The stack under test: a device over a queue NIC, an interface with the guest's
/// addresses, four listeners on [`PORT`] and a bound UDP socket.
struct Stack {
    iface: Interface,
    device: Device,
    sockets: SocketSet<'static>,
    listeners: Vec<SocketHandle>,
    incoming: Arc<Mutex<VecDeque<Vec<u8>>>>,
    sent: Arc<Mutex<Vec<Vec<u8>>>>,
    now: i64,
}

impl Stack {
    fn new(vnet: bool) -> Self {
        let incoming = Arc::new(Mutex::new(VecDeque::new()));
        let sent = Arc::new(Mutex::new(Vec::new()));
        let nic = QueueNic { incoming: incoming.clone(), sent: sent.clone(), vnet };
        let mut device = Device::new(EthernetAddress(MAC), Some(Box::new(nic)));
        device.ipv4 = Some(OURS);
        let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(MAC)));
        config.random_seed = 1;
        config.slaac = true;
        let mut iface = Interface::new(config, &mut device, Instant::ZERO);
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(Ipv4Address::from(OURS)), 24));
            let _ = addrs.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8));
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv6(Ipv6Address::LOCALHOST), 128));
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv6(crate::addr::link_local(MAC)), 64));
        });
        let _ = iface.routes_mut().add_default_ipv4_route(Ipv4Address::from(PEER));
        // A group of its own, so that IGMP queries are answered (the IPv6 solicited-node
        // groups are joined by smoltcp itself).
        let _ = iface.join_multicast_group(IpAddress::v4(239, 1, 2, 3));
        let mut sockets = SocketSet::new(vec![]);
        let listeners = (0..4)
            .map(|_| {
                let mut s =
                    tcp::Socket::new(tcp::SocketBuffer::new(vec![0; 4096]), tcp::SocketBuffer::new(vec![0; 4096]));
                s.listen(PORT).unwrap();
                sockets.add(s)
            })
            .collect();
        let meta = || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0; 4096]);
        let mut udp = udp::Socket::new(meta(), meta());
        udp.bind(5000).unwrap();
        sockets.add(udp);
        Self { iface, device, sockets, listeners, incoming, sent, now: 0 }
    }

    /// Receives `frames` (each as the NIC delivers it) and polls; time moves 1 ms a frame.
    fn receive(&mut self, frames: impl IntoIterator<Item = Vec<u8>>) {
        for frame in frames {
            self.incoming.lock().unwrap().push_back(frame);
            self.now += 1;
            self.device.poll_nic();
            crate::ra::maintain(&mut self.iface, Instant::from_millis(self.now));
            let _ = self.iface.poll(Instant::from_millis(self.now), &mut self.device, &mut self.sockets);
            self.device.flush();
        }
    }

    /// One more poll without frames (smoltcp applies what SLAAC learned at the next one).
    fn settle(&mut self) {
        self.now += 1;
        crate::ra::maintain(&mut self.iface, Instant::from_millis(self.now));
        let _ = self.iface.poll(Instant::from_millis(self.now), &mut self.device, &mut self.sockets);
        self.device.flush();
    }

    /// Listeners that neither listen nor hold a connection: a reset one listens again (as
    /// the socket layer does), and those with a connection are reset and listen again.
    fn tend(&mut self) {
        for &h in &self.listeners {
            let s = self.sockets.get_mut::<tcp::Socket>(h);
            if !matches!(s.state(), tcp::State::Listen | tcp::State::SynReceived) {
                s.abort();
                s.listen(PORT).unwrap();
            }
        }
    }

    /// Whether the stack answers a peer's ARP request for our address.
    fn answers_arp(&mut self, vnet: bool) -> bool {
        self.sent.lock().unwrap().clear();
        let request = templates()[0].clone();
        let frame = if vnet { [&[0u8; HDR_LEN][..], &request].concat() } else { request };
        self.receive([frame]);
        let skip = if vnet { HDR_LEN } else { 0 };
        self.sent
            .lock()
            .unwrap()
            .iter()
            .any(|f| f.len() >= skip + 42 && f[skip + 12..skip + 14] == [8, 6] && f[skip + 21] == 2)
    }
}

/// `rounds` batches of 100 mutated frames against a stack with and without offloads.
fn run(rounds: usize, seed: u64) {
    for vnet in [false, true] {
        let mut stack = Stack::new(vnet);
        let base = templates();
        let mut rng = Rng(seed | 1);
        for round in 0..rounds {
            let frames: Vec<Vec<u8>> = (0..100)
                .map(|_| {
                    let template = &base[rng.below(base.len())];
                    let f = mutate(&mut rng, template);
                    if vnet {
                        [&vnet_header(&mut rng, f.len())[..], &f].concat()
                    } else {
                        f
                    }
                })
                .collect();
            stack.receive(frames);
            stack.tend();
            // Half-open connections wait for the peer's ACK: give them up as the kernel does.
            if round % 50 == 49 {
                stack.now += 30_000;
                stack.receive([]);
                for &h in &stack.listeners.clone() {
                    let s = stack.sockets.get_mut::<tcp::Socket>(h);
                    if s.state() == tcp::State::SynReceived {
                        s.abort();
                        s.listen(PORT).unwrap();
                    }
                }
            }
            assert!(stack.answers_arp(vnet), "round {round} (vnet {vnet}, seed {seed}): no answer to ARP any more");
        }
        let device_rx = stack.device.take_nic_rx();
        assert!(device_rx > rounds * 100, "frames received: {device_rx}");
    }
}

/// `frame` with its checksums fixed.
fn fixed(mut frame: Vec<u8>) -> Vec<u8> {
    fix_checksums(&mut frame);
    frame
}

/// The address SLAAC forms in the /64 `prefix` from [`MAC`].
fn slaac_address(prefix: [u8; 8]) -> IpCidr {
    let mut a = crate::addr::link_local(MAC).octets();
    a[..8].copy_from_slice(&prefix);
    IpCidr::new(IpAddress::Ipv6(Ipv6Address::from(a)), 64)
}

#[test]
fn slaac_takes_every_prefix_and_survives_a_multicast_one() {
    let mut stack = Stack::new(false);
    let (global, ula) = ([0x20, 1, 0xd, 0xb8, 0, 2, 0, 0], [0xfd, 0, 0, 0, 0, 0, 0, 0]);
    stack.receive([fixed(ipv6_hops(58, 255, &router_advert(&[global, ula])))]);
    stack.settle();
    let addrs = stack.iface.ip_addrs().to_vec();
    assert!(addrs.contains(&slaac_address(global)) && addrs.contains(&slaac_address(ula)), "{addrs:?}");
    // smoltcp alone added none beside the IPv4 default route.
    let routes = stack.iface.routes().get_default_ipv6_route().expect("a default route");
    assert!(stack.iface.routes().get_default_ipv4_route().is_some());
    assert_eq!(routes.via_router, IpAddress::Ipv6(Ipv6Address::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x99)));
    // smoltcp alone made an address of this prefix and panicked: it is not unicast.
    stack.receive([fixed(ipv6_hops(58, 255, &router_advert(&[[0xff, 2, 0, 0, 0, 0, 0, 0]])))]);
    stack.settle();
    assert_eq!(stack.iface.ip_addrs(), &addrs[..]);
    assert!(stack.answers_arp(false));
    // A flood of prefixes fills smoltcp's fixed tables and no more.
    let many: Vec<[u8; 8]> = (0..40u8).map(|i| [0x20, 1, 0xd, 0xb8, 1, i, 0, 0]).collect();
    for chunk in many.chunks(8) {
        stack.receive([fixed(ipv6_hops(58, 255, &router_advert(chunk)))]);
        stack.settle();
    }
    assert!(stack.iface.ip_addrs().len() <= 8);
    assert!(stack.iface.ip_addrs().contains(&slaac_address(global)), "the first prefixes stay");
    assert!(stack.answers_arp(false));
}

#[test]
fn mutated_frames_neither_panic_nor_wedge_the_stack() {
    run(300, 0x5eed);
}

/// The long run: `HERMIT_HOSTILE_ROUNDS` batches (default 20,000) of 100 frames each.
#[test]
#[ignore]
fn hostile_long() {
    let rounds = std::env::var("HERMIT_HOSTILE_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let seed = std::env::var("HERMIT_HOSTILE_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed);
    run(rounds, seed);
}
