//! Host test of the device layer's zero-window probes and copies of the peer's ACKs (`net/probe.rs`) with smoltcp behind it, in simulated time.
//!
//! The peer acts as Debian 12's passt: it acknowledges everything with a window of 0, sends
//! no window update when its buffer drains and answers the guest's next segment with its
//! window then; or it drops what follows a hole and sends two duplicate ACKs, then nothing;
//! or it drops the tail of what the guest sent and sends nothing more.
//! Each test also runs without the device's help, where smoltcp waits its 1 s.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use std::sync::{Arc, Mutex};

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address};

use crate::netdevice::Device;
use crate::nethostile::{eth, fix_checksums, ipv4, QueueNic, MAC, OURS, PEER, PEER_MAC, PORT};

const PEER_PORT: u16 = 40000;

/// A frame from the peer: IPv4 and the TCP segment, checksums filled in.
fn frame(seq: u32, ack: u32, flags: u8, window: u16, options: &[u8]) -> Vec<u8> {
    let mut tcp = vec![0u8; 20];
    tcp[0..2].copy_from_slice(&PEER_PORT.to_be_bytes());
    tcp[2..4].copy_from_slice(&PORT.to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[8..12].copy_from_slice(&ack.to_be_bytes());
    tcp[12] = (((20 + options.len()) / 4) as u8) << 4;
    tcp[13] = flags;
    tcp[14..16].copy_from_slice(&window.to_be_bytes());
    tcp.extend_from_slice(options);
    let mut f = ipv4(6, &tcp);
    fix_checksums(&mut f);
    f
}

/// A segment the guest sent: (seq, flags, payload length).
fn parse(f: &[u8]) -> Option<(u32, u8, usize)> {
    if f.len() < 54 || f[12..14] != [8, 0] || f[23] != 6 {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([f[16], f[17]]));
    let t = &f[34..];
    let doff = usize::from(t[12] >> 4) * 4;
    Some((u32::from_be_bytes([t[4], t[5], t[6], t[7]]), t[13], total - 20 - doff))
}

struct Guest {
    iface: Interface,
    device: Device,
    sockets: SocketSet<'static>,
    socket: SocketHandle,
    incoming: Arc<Mutex<VecDeque<Vec<u8>>>>,
    sent: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Milliseconds.
    now: i64,
    probes: bool,
}

impl Guest {
    fn new(probes: bool) -> Self {
        let incoming = Arc::new(Mutex::new(VecDeque::new()));
        let sent = Arc::new(Mutex::new(Vec::new()));
        let nic = QueueNic { incoming: incoming.clone(), sent: sent.clone(), vnet: false };
        let mut device = Device::new(EthernetAddress(MAC), Some(Box::new(nic)));
        device.ipv4 = Some(OURS);
        let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(MAC)));
        config.random_seed = 7;
        let mut iface = Interface::new(config, &mut device, Instant::ZERO);
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(Ipv4Address::from(OURS)), 24));
        });
        let mut sockets = SocketSet::new(vec![]);
        let mut s = tcp::Socket::new(tcp::SocketBuffer::new(vec![0; 65536]), tcp::SocketBuffer::new(vec![0; 1 << 20]));
        s.listen(PORT).unwrap();
        let socket = sockets.add(s);
        device.probes.nudges = probes;
        Self { iface, device, sockets, socket, incoming, sent, now: 0, probes }
    }

    /// Takes `frames` and polls once at the current time, as the kernel's poll does
    /// (probes after smoltcp's round, before the flush).
    fn poll(&mut self, frames: Vec<Vec<u8>>) {
        self.incoming.lock().unwrap().extend(frames);
        self.device.poll_nic();
        let now = Instant::from_millis(self.now);
        if self.probes {
            let queued = self.sockets.get::<tcp::Socket>(self.socket).send_queue() > 0;
            let ours = (crate::probe::flow_addr(&OURS), PORT, crate::probe::flow_addr(&PEER), PEER_PORT);
            self.device.probe(now.total_micros() as u64, |flow| *flow == ours && queued);
        }
        let _ = self.iface.poll(now, &mut self.device, &mut self.sockets);
        self.device.flush();
    }

    fn sent(&mut self) -> Vec<(u32, u8, usize)> {
        self.sent.lock().unwrap().drain(..).filter_map(|f| parse(&f)).collect()
    }
}

/// The handshake with the peer's window `window` (no scaling, MSS 1460) and 256 KiB queued
/// by the guest's program: our next sequence number and the peer's.
fn connect(g: &mut Guest, window: u16) -> (u32, u32) {
    connect_queued(g, window, 256 << 10)
}

/// [`connect`] with `queued` bytes queued by the guest's program.
fn connect_queued(g: &mut Guest, window: u16, queued: usize) -> (u32, u32) {
    let arp = [&[0, 1, 8, 0, 6, 4, 0, 2][..], &PEER_MAC, &PEER, &MAC, &OURS].concat();
    g.poll(vec![eth(MAC, 0x0806, &arp)]);
    let isn = 1_000u32;
    g.poll(vec![frame(isn, 0, 0x02, window, &[2, 4, 0x05, 0xb4, 1, 3, 3, 0])]);
    let synack = g.sent().into_iter().find(|s| s.1 & 0x12 == 0x12).expect("a SYN-ACK");
    let ours = synack.0.wrapping_add(1);
    let rcv = isn.wrapping_add(1);
    g.poll(vec![frame(rcv, ours, 0x10, window, &[])]);
    assert_eq!(g.sockets.get_mut::<tcp::Socket>(g.socket).send_slice(&vec![5u8; queued]), Ok(queued));
    (ours, rcv)
}

/// Runs a stream through a hole: the peer takes the first 10 segments and acknowledges
/// them, drops the rest (its socket was full) and sends two duplicate ACKs, then nothing
/// (as passt). Returns when (ms) the guest sent the lost segment again.
fn hole(nudges: bool) -> Option<i64> {
    let mut g = Guest::new(nudges);
    let (ours, rcv) = connect(&mut g, 30_000);
    g.now += 1;
    g.poll(vec![]);
    let burst = g.sent();
    assert!(burst.iter().filter(|s| s.2 > 0).count() > 12, "a window's worth sent");
    let hole = ours.wrapping_add(10 * 1460);
    let ack = frame(rcv, hole, 0x10, 30_000, &[]);
    g.poll(vec![ack.clone(), ack.clone(), ack]);
    let at = g.now;
    for _ in 0..3000 {
        g.now += 1;
        g.poll(vec![]);
        if g.sent().iter().any(|s| s.0 == hole && s.2 > 0) {
            return Some(g.now - at);
        }
    }
    None
}

#[test]
fn a_hole_behind_two_duplicate_acks_is_filled_after_50_ms() {
    let without = hole(false);
    assert!(without.is_some_and(|ms| ms >= 1000), "smoltcp alone resends after its 1 s RTO: {without:?}");
    let with = hole(true);
    assert_eq!(with, Some(50), "smoltcp's fast retransmission at the third duplicate");
}

/// Runs the end of a burst: the guest's program queued its last 20 segments (and closed the
/// socket if `fin`), which the guest sends at once; the peer takes the first 10 and
/// acknowledges them, drops the rest (its socket was full: the tail, nothing after it) and
/// sends nothing more. Returns when (ms) the guest sent the lost segment again.
fn tail(nudges: bool, fin: bool) -> Option<i64> {
    let mut g = Guest::new(nudges);
    let (ours, rcv) = connect_queued(&mut g, 65535, 20 * 1460);
    if fin {
        g.sockets.get_mut::<tcp::Socket>(g.socket).close();
    }
    g.now += 1;
    g.poll(vec![]);
    let burst = g.sent();
    assert_eq!(burst.iter().map(|s| s.2).sum::<usize>(), 20 * 1460, "everything sent");
    assert_eq!(burst.iter().any(|s| s.1 & 0x01 != 0), fin, "our FIN with it");
    let hole = ours.wrapping_add(10 * 1460);
    g.poll(vec![frame(rcv, hole, 0x10, 65535, &[])]);
    let at = g.now;
    for _ in 0..3000 {
        g.now += 1;
        g.poll(vec![]);
        if g.sent().iter().any(|s| s.0 == hole && s.2 > 0) {
            return Some(g.now - at);
        }
    }
    None
}

#[test]
fn a_lost_tail_is_sent_again_after_100_ms() {
    for fin in [false, true] {
        let without = tail(false, fin);
        assert!(without.is_some_and(|ms| ms >= 1000), "smoltcp alone resends after its 1 s RTO: {without:?}");
        let with = tail(true, fin);
        assert_eq!(with, Some(100), "smoltcp's fast retransmission at three copies of the peer's last ACK");
    }
}

/// Runs the stream: the guest's program queued 256 KiB; the peer takes 64 KiB, then
/// acknowledges it with a window of 0, and its buffer drains 60 ms later. Returns the
/// time (ms) when the guest sent data again, if within 3 s, and the probes seen.
fn run(probes: bool) -> (Option<i64>, Vec<(i64, u32)>) {
    let mut g = Guest::new(probes);
    let (ours, rcv) = connect(&mut g, 65535);
    // The peer takes what comes, up to 64 KiB, acknowledging each segment with what is
    // left of its 64 KiB buffer: 0 at the end.
    let mut taken = 0u32;
    for _ in 0..200 {
        g.now += 1;
        g.poll(vec![]);
        let acks: Vec<_> = g
            .sent()
            .into_iter()
            .filter(|s| s.2 > 0)
            .map(|s| {
                taken = s.0.wrapping_add(s.2 as u32).wrapping_sub(ours);
                frame(rcv, ours.wrapping_add(taken), 0x10, (65535 - taken.min(65535)) as u16, &[])
            })
            .collect();
        g.poll(acks);
        if taken >= 65535 {
            break;
        }
    }
    assert!(taken >= 65535, "the peer's buffer filled ({taken} bytes)");
    let zero_at = g.now;
    let mut probes_seen = Vec::new();
    // The buffer drains 60 ms later, without a window update: the peer answers the guest's
    // next segment (a pure ACK, or smoltcp's probe byte, which it then takes).
    for _ in 0..3000 {
        g.now += 1;
        g.poll(vec![]);
        let drained = g.now - zero_at >= 60;
        let mut answer = None;
        for (seq, flags, len) in g.sent() {
            let at = seq.wrapping_sub(ours);
            if len == 0 && flags == 0x10 {
                assert_eq!(at, taken.wrapping_sub(1), "one below our next sequence number");
                probes_seen.push((g.now - zero_at, at));
            }
            if drained {
                let acked = if len > 0 && at == taken { taken + len as u32 } else { taken };
                answer = Some(frame(rcv, ours.wrapping_add(acked), 0x10, 65535, &[]));
            }
        }
        if let Some(answer) = answer {
            g.poll(vec![answer]);
            assert!(g.sent().iter().any(|s| s.2 > 0), "the guest sends at the open window");
            return (Some(g.now - zero_at), probes_seen);
        }
    }
    (None, probes_seen)
}

#[test]
fn a_peer_that_never_updates_its_zero_window_is_probed_after_200_ms() {
    let (without, _) = run(false);
    assert!(without.is_some_and(|ms| ms >= 1000), "smoltcp alone probes after its 1 s RTO: {without:?}");
    let (with, probes) = run(true);
    assert!(with.is_some_and(|ms| ms < 300), "the stream goes on after the first probe: {with:?}, {probes:?}");
    assert_eq!(probes.len(), 1);
    assert_eq!(probes[0].0, 200, "200 ms after the window closed");
}
