//! Host-test harness: smoltcp behind the device layer, one listening TCP socket, and a peer made of raw frames (the window and probe tests).
//!
//! The peer speaks IPv4 from the hostile-frames test's addresses (`nethostile`); the tests
//! write its segments with [`frame`], read the guest's with [`Guest::sent`] and move time
//! themselves.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use std::sync::{Arc, Mutex};

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, HardwareAddress, IpAddress, IpCidr, IpProtocol,
    Ipv4Address, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, TcpPacket, TcpRepr,
};

use crate::netdevice::Device;
use crate::nethostile::{eth, fix_checksums, ipv4, QueueNic, MAC, OURS, PEER, PEER_MAC, PORT};

/// The peer's port.
pub const PEER_PORT: u16 = 40000;

/// A frame from the peer: IPv4 and its TCP segment, checksums filled in.
pub fn frame(seq: u32, ack: u32, flags: u8, window: u16, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut tcp = vec![0u8; 20];
    tcp[0..2].copy_from_slice(&PEER_PORT.to_be_bytes());
    tcp[2..4].copy_from_slice(&PORT.to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[8..12].copy_from_slice(&ack.to_be_bytes());
    tcp[12] = (((20 + options.len()) / 4) as u8) << 4;
    tcp[13] = flags;
    tcp[14..16].copy_from_slice(&window.to_be_bytes());
    tcp.extend_from_slice(options);
    tcp.extend_from_slice(payload);
    let mut f = ipv4(6, &tcp);
    fix_checksums(&mut f);
    f
}

/// The peer's ARP reply, so that smoltcp knows its MAC.
pub fn arp_reply() -> Vec<u8> {
    let arp = [&[0, 1, 8, 0, 6, 4, 0, 2][..], &PEER_MAC, &PEER, &MAC, &OURS].concat();
    eth(MAC, 0x0806, &arp)
}

/// A segment the guest sent.
#[derive(Debug)]
pub struct Sent {
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    /// The window field as sent (not scaled).
    pub window: u16,
    /// Payload bytes.
    pub len: usize,
    pub options: Vec<u8>,
}

/// The TCP segment of an IPv4 frame the guest sent.
pub fn parse(f: &[u8]) -> Option<Sent> {
    if f.len() < 54 || f[12..14] != [8, 0] || f[23] != 6 {
        return None;
    }
    let ihl = usize::from(f[14] & 15) * 4;
    let total = usize::from(u16::from_be_bytes([f[16], f[17]]));
    let t = &f[14 + ihl..];
    let doff = usize::from(t[12] >> 4) * 4;
    let be32 = |i: usize| u32::from_be_bytes([t[i], t[i + 1], t[i + 2], t[i + 3]]);
    Some(Sent {
        seq: be32(4),
        ack: be32(8),
        flags: t[13],
        window: u16::from_be_bytes([t[14], t[15]]),
        len: total - ihl - doff,
        options: t[20..doff].to_vec(),
    })
}

/// The guest: smoltcp over the device layer with a NIC of queues, one socket listening on
/// [`PORT`].
pub struct Guest {
    pub iface: Interface,
    pub device: Device,
    pub sockets: SocketSet<'static>,
    pub socket: SocketHandle,
    pub incoming: Arc<Mutex<VecDeque<Vec<u8>>>>,
    sent: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Milliseconds.
    pub now: i64,
    /// Whether each round runs the device's probes first (`net/probe.rs`), as the kernel's
    /// poll does.
    pub probes: bool,
}

impl Guest {
    /// With TCP buffers of `rx` and `tx` bytes.
    pub fn new(rx: usize, tx: usize) -> Self {
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
        let mut s = tcp::Socket::new(tcp::SocketBuffer::new(vec![0; rx]), tcp::SocketBuffer::new(vec![0; tx]));
        s.listen(PORT).unwrap();
        let socket = sockets.add(s);
        Self { iface, device, sockets, socket, incoming, sent, now: 0, probes: false }
    }

    /// The listening (then connected) socket.
    pub fn socket(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(self.socket)
    }

    /// One round at the current time: the NIC's frames in, the probes due (with
    /// [`Guest::probes`]), smoltcp's poll, its frames out.
    pub fn round(&mut self) {
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

    /// The segments the guest sent since the last call.
    pub fn sent(&mut self) -> Vec<Sent> {
        self.sent.lock().unwrap().drain(..).filter_map(|f| parse(&f)).collect()
    }
}

/// An Ethernet frame from `smac` to `dmac` with the IP packet of `tcp` from `src` to `dst`
/// (both IPv4 or both IPv6), checksums filled in: the frames of the device layer's unit tests.
pub fn emit(smac: [u8; 6], dmac: [u8; 6], src: IpAddress, dst: IpAddress, tcp: &TcpRepr) -> Vec<u8> {
    let ip_len = if matches!(src, IpAddress::Ipv6(_)) { 40 } else { 20 };
    let ethertype = if ip_len == 40 { EthernetProtocol::Ipv6 } else { EthernetProtocol::Ipv4 };
    let mut frame = vec![0; 14 + ip_len + tcp.buffer_len()];
    let mut e = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr { src_addr: EthernetAddress(smac), dst_addr: EthernetAddress(dmac), ethertype }.emit(&mut e);
    let caps = ChecksumCapabilities::default();
    match (src, dst) {
        (IpAddress::Ipv6(s), IpAddress::Ipv6(d)) => {
            let ip = Ipv6Repr {
                src_addr: s,
                dst_addr: d,
                next_header: IpProtocol::Tcp,
                payload_len: tcp.buffer_len(),
                hop_limit: 64,
            };
            ip.emit(&mut Ipv6Packet::new_unchecked(e.payload_mut()));
        }
        (IpAddress::Ipv4(s), IpAddress::Ipv4(d)) => {
            let ip = Ipv4Repr {
                src_addr: s,
                dst_addr: d,
                next_header: IpProtocol::Tcp,
                payload_len: tcp.buffer_len(),
                hop_limit: 64,
            };
            ip.emit(&mut Ipv4Packet::new_unchecked(e.payload_mut()), &caps);
        }
        _ => panic!("mixed address families"),
    }
    tcp.emit(&mut TcpPacket::new_unchecked(&mut e.payload_mut()[ip_len..]), &src, &dst, &caps);
    frame
}
