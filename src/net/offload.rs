//! Checksum and segmentation offload on the NIC's rings (virtio-net header,
//! `hermit_interface::vnet`): what the device layer writes into the header of a frame it
//! sends, and checks in a frame it receives.
//!
//! smoltcp has no TSO. With offloads the device tells smoltcp that the IP MTU is 64 KiB
//! ([`IP_MAX`]), and keeps each connection's real segment size apart from what smoltcp
//! believes: an incoming SYN or SYN-ACK's MSS option is recorded for its flow (at most the
//! NIC's MTU allows) and rewritten to the largest multiple of it that fits a 64 KiB packet,
//! so smoltcp sends TCP segments of up to ~64 KiB; such a segment leaves with `GSO_TCPV4/6`
//! and `gso_size` = the real MSS, and the host cuts it into segments on the wire. Our own
//! SYNs advertise the MSS of the NIC's MTU (smoltcp would advertise 64 KiB). Every TCP
//! segment leaves with `NEEDS_CSUM` and the pseudo-header sum in its checksum field (smoltcp
//! computes no TCP checksum); UDP and ICMP checksums are smoltcp's.
//!
//! Received frames may be 64 KiB TCP segments (the host's GSO) and carry partial checksums
//! (`NEEDS_CSUM`) or verified ones (`DATA_VALID`): those are not verified again; TCP and UDP
//! packets without either flag are verified here (smoltcp verifies neither any more), and a
//! partial checksum on anything else is completed for smoltcp to verify.
//!
//! Deviation: smoltcp believes a larger MSS than the peer's, so its Nagle test and its
//! "full segment" decisions use ~64 KiB segments (as Linux with TSO sizes its bursts).

use alloc::collections::BTreeMap;

use hermit_interface::vnet::{self, VnetHdr, F_DATA_VALID, F_NEEDS_CSUM, HDR_LEN, L4, PROTO_TCP, PROTO_UDP};

/// The largest IP packet: the IP MTU smoltcp is told of with offloads.
pub const IP_MAX: usize = 65_535;
/// TCP's default MSS (RFC 9293), for a flow whose SYN carried none or was forgotten.
const DEFAULT_MSS: u16 = 536;
/// Flows whose real MSS is remembered; beyond, one is forgotten (its segments are then cut
/// at [`DEFAULT_MSS`]: correct, only more segments).
const FLOWS_MAX: usize = 4096;

/// TCP flags.
const SYN: u8 = 0x02;
const RST: u8 = 0x04;

/// A TCP connection as the guest sees it: local address and port, remote address and port
/// (IPv4 addresses in the first four bytes).
pub type Flow = ([u8; 16], u16, [u8; 16], u16);

/// What offloads did, for the log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Frames sent with GSO.
    pub gso_sent: u64,
    /// Received frames dropped for a bad checksum.
    pub bad_checksum: u64,
    /// Frames dropped on the way out: too large for the MTU and not a TCP segment.
    pub too_large: u64,
}

/// The device layer's offload state.
pub struct Offload {
    /// The NIC's real MTU (IP bytes).
    mtu: usize,
    /// Each flow's real MSS: the peer's, at most what the MTU allows.
    flows: BTreeMap<Flow, u16>,
    /// Counters.
    pub stats: Stats,
}

/// Bytes of an IP header without options of this version.
const fn ip_header(ipv6: bool) -> usize {
    if ipv6 {
        40
    } else {
        20
    }
}

/// The one's complement sum of `data` as big-endian 16-bit words (odd end padded), folded
/// to 16 bits (add a few such sums before [`fold`]). Written here rather than taken from
/// smoltcp's `wire::ip::checksum::data`, which adds two bytes at a time (the kernel is built
/// without SIMD): this one adds 64-bit words in the machine's byte order with an end-around
/// carry (2^64 is 1 modulo 2^16 - 1), two independent sums at a time, and swaps the bytes of
/// the folded result once (a one's complement sum does not depend on the byte order but for
/// that swap, RFC 1071); the pseudo-header and a whole received frame are summed separately
/// and folded once (`sums_match_smoltcp` checks it against a word-by-word sum).
pub fn sum(data: &[u8]) -> u64 {
    let add = |acc: u64, word: u64| {
        let (total, carry) = acc.overflowing_add(word);
        total + u64::from(carry)
    };
    let word = |bytes: &[u8]| u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
    let mut chunks = data.chunks_exact(16);
    let (mut a, mut b) = (0, 0);
    for chunk in &mut chunks {
        a = add(a, word(&chunk[..8]));
        b = add(b, word(&chunk[8..]));
    }
    // The rest starts at an even offset: its bytes keep their place in the 16-bit words.
    let rest = chunks.remainder();
    let mut tail = [0u8; 16];
    tail[..rest.len()].copy_from_slice(rest);
    a = add(a, word(&tail[..8]));
    b = add(b, word(&tail[8..]));
    u64::from(fold(add(a, b)).swap_bytes())
}

/// Folds a sum of [`sum`] into 16 bits.
pub fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The Internet checksum `checksum` after the bytes `old` it covers became `new` (of even
/// length, at an even offset), without summing the rest again (RFC 1624, eqn. 3).
pub fn adjust(checksum: u16, old: &[u8], new: &[u8]) -> u16 {
    let word = |w: &[u8]| u16::from_be_bytes([w[0], w[1]]);
    let changes: u64 =
        old.chunks_exact(2).zip(new.chunks_exact(2)).map(|(o, n)| u64::from(!word(o)) + u64::from(word(n))).sum();
    !fold(u64::from(!checksum) + changes)
}

/// The pseudo-header sum of the transport segment at `l4` of `frame` (to its end).
fn pseudo_sum(frame: &[u8], l4: &L4) -> u64 {
    let len = (frame.len() - l4.offset) as u64;
    let addrs = if l4.ipv6 { &frame[22..54] } else { &frame[26..34] };
    sum(addrs) + u64::from(l4.proto) + len
}

/// Whether the TCP or UDP checksum of the packet at `l4` is right (a UDP checksum of 0 over
/// IPv4: none was computed).
fn verify(frame: &[u8], l4: &L4) -> bool {
    let field = if l4.proto == PROTO_TCP { 16 } else { 6 };
    let Some(check) = frame.get(l4.offset + field..l4.offset + field + 2) else { return false };
    if l4.proto == PROTO_UDP && !l4.ipv6 && check == [0, 0] {
        return true;
    }
    fold(pseudo_sum(frame, l4) + sum(&frame[l4.offset..])) == 0xffff
}

/// Whether the TCP or UDP checksum of a received Ethernet `frame` (from a NIC without
/// offloads) is right; true for anything else. Ethernet padding after the IP packet is not
/// summed, and IPv6 hop-by-hop, routing and destination options are followed to the
/// transport header (smoltcp does: a segment behind them is checked too; one that runs past
/// the packet is refused). The device checks these itself and smoltcp does not
/// ([`super::device`]).
pub fn checksum_ok(frame: &[u8]) -> bool {
    let frame = &frame[..ip_end(frame).unwrap_or(frame.len())];
    let Some(mut l4) = vnet::locate_l4(frame, frame.len()) else { return true };
    while l4.ipv6 && matches!(l4.proto, 0 | 43 | 60) {
        let (Some(&next), Some(&units)) = (frame.get(l4.offset), frame.get(l4.offset + 1)) else { return false };
        l4.proto = next;
        l4.offset += (usize::from(units) + 1) * 8;
    }
    if !matches!(l4.proto, PROTO_TCP | PROTO_UDP) {
        return true;
    }
    l4.offset <= frame.len() && verify(frame, &l4)
}

/// Fills in the TCP checksum of an Ethernet `frame` smoltcp wrote for a NIC without offloads
/// (smoltcp leaves it to the device); anything else is left alone.
pub fn fill_tcp_checksum(frame: &mut [u8]) {
    let end = ip_end(frame).unwrap_or(frame.len());
    let frame = &mut frame[..end];
    let Some(l4) = vnet::locate_l4(frame, frame.len()).filter(|l4| l4.proto == PROTO_TCP) else { return };
    let Some(field) = frame.get_mut(l4.offset + 16..l4.offset + 18) else { return };
    field.copy_from_slice(&[0, 0]);
    let check = !fold(pseudo_sum(frame, &l4) + sum(&frame[l4.offset..]));
    frame[l4.offset + 16..l4.offset + 18].copy_from_slice(&check.to_be_bytes());
}

/// Holds the MSS option of a TCP SYN or SYN-ACK in the Ethernet `frame` to what a NIC of IP
/// MTU `mtu` carries, for a NIC without offloads: smoltcp believes the IP MTU is 64 KiB
/// there too (so that the device can cut long UDP and ICMP packets into IP fragments,
/// [`super::frag`]), so its own SYNs would advertise 64 KiB, and it takes the MSS of a
/// peer's SYN as its segment size. Anything else is left alone; the checksum is not
/// adjusted.
pub fn clamp_mss(frame: &mut [u8], mtu: usize) {
    let Some((l4, doff, _)) = tcp_segment(frame) else { return };
    if frame[l4.offset + 13] & SYN == 0 {
        return;
    }
    let Some(at) = mss_option(frame, l4.offset, doff) else { return };
    let most = mtu.saturating_sub(ip_header(l4.ipv6) + 20).min(usize::from(u16::MAX)) as u16;
    if u16::from_be_bytes([frame[at], frame[at + 1]]) > most {
        frame[at..at + 2].copy_from_slice(&most.to_be_bytes());
    }
}

/// The flow of a TCP segment at `l4` in `frame`, local side first: the sender's if
/// `outgoing`, else the receiver's.
pub fn flow(frame: &[u8], l4: &L4, outgoing: bool) -> Flow {
    let (alen, src, dst) = if l4.ipv6 { (16, 22, 38) } else { (4, 26, 30) };
    let addr = |at: usize| {
        let mut a = [0u8; 16];
        a[..alen].copy_from_slice(&frame[at..at + alen]);
        a
    };
    let port = |at: usize| u16::from_be_bytes([frame[at], frame[at + 1]]);
    let (s, sp, d, dp) = (addr(src), port(l4.offset), addr(dst), port(l4.offset + 2));
    if outgoing {
        (s, sp, d, dp)
    } else {
        (d, dp, s, sp)
    }
}

/// Offset of the MSS option's value in the TCP header at `l4` of `doff` bytes, if any.
fn mss_option(frame: &[u8], l4: usize, doff: usize) -> Option<usize> {
    tcp_option(frame, l4, doff, 2, 4)
}

/// Offset of the value of the TCP option of `kind` and length `len` (its two first bytes
/// counted) in the TCP header at `l4` of `doff` bytes, if it has one.
pub fn tcp_option(frame: &[u8], l4: usize, doff: usize, kind: u8, len: usize) -> Option<usize> {
    let mut at = l4 + 20;
    let end = l4 + doff;
    while at < end {
        match frame[at] {
            0 => return None,
            1 => at += 1,
            found => {
                let size = usize::from(*frame.get(at + 1)?);
                if size < 2 || at + size > end {
                    return None;
                }
                if found == kind && size == len {
                    return Some(at + 2);
                }
                at += size;
            }
        }
    }
    None
}

impl Offload {
    /// Offloads for a NIC of IP MTU `mtu`.
    pub fn new(mtu: usize) -> Self {
        Self { mtu, flows: BTreeMap::new(), stats: Stats::default() }
    }

    /// The largest TCP payload of one segment on the wire of this IP version.
    fn wire_mss(&self, ipv6: bool) -> u16 {
        (self.mtu - ip_header(ipv6) - 20).min(usize::from(u16::MAX)) as u16
    }

    /// The segment size smoltcp is to believe for a flow of real MSS `mss`: the largest
    /// multiple of it that smoltcp can send in one packet of [`IP_MAX`] bytes.
    fn stack_mss(mss: u16, ipv6: bool) -> u16 {
        let most = IP_MAX - ip_header(ipv6) - 20;
        (most / usize::from(mss.max(1)) * usize::from(mss)) as u16
    }

    /// The real MSS of a flow whose segments leave now.
    pub fn mss(&self, flow: &Flow) -> u16 {
        self.flows.get(flow).copied().unwrap_or(DEFAULT_MSS)
    }

    /// A frame from the NIC, its virtio-net header in the first [`HDR_LEN`] bytes: checks or
    /// completes its checksum and learns and rewrites a SYN's MSS; false if it is to be
    /// dropped.
    pub fn received(&mut self, buf: &mut [u8]) -> bool {
        let Some(hdr) = VnetHdr::parse(buf) else { return false };
        // Up to the IP packet's end: a frame may carry Ethernet padding after it.
        let end = ip_end(&buf[HDR_LEN..]).unwrap_or(buf.len() - HDR_LEN);
        let frame = &mut buf[HDR_LEN..HDR_LEN + end];
        let l4 = vnet::locate_l4(frame, frame.len());
        let trusted = hdr.flags & (F_NEEDS_CSUM | F_DATA_VALID) != 0;
        match l4 {
            Some(l4) if matches!(l4.proto, PROTO_TCP | PROTO_UDP) => {
                let partial_elsewhere = hdr.flags & F_NEEDS_CSUM != 0 && usize::from(hdr.csum_start) != l4.offset;
                if partial_elsewhere && !complete(frame, &hdr) {
                    return false;
                }
                if !trusted && !verify(frame, &l4) {
                    self.stats.bad_checksum += 1;
                    return false;
                }
                if l4.proto == PROTO_TCP {
                    self.learn(frame, &l4);
                }
                true
            }
            _ => hdr.flags & F_NEEDS_CSUM == 0 || complete(frame, &hdr),
        }
    }

    /// An incoming TCP segment: a SYN's MSS is recorded for its flow and rewritten for
    /// smoltcp; a reset forgets the flow.
    fn learn(&mut self, frame: &mut [u8], l4: &L4) {
        let Some(doff) = vnet::tcp_header_len(frame, l4.offset) else { return };
        let flags = frame[l4.offset + 13];
        if flags & RST != 0 {
            self.flows.remove(&flow(frame, l4, false));
            return;
        }
        if flags & SYN == 0 {
            return;
        }
        let at = mss_option(frame, l4.offset, doff);
        let peer = at.map_or(DEFAULT_MSS, |at| u16::from_be_bytes([frame[at], frame[at + 1]]));
        if peer == 0 {
            return; // smoltcp ignores such a SYN
        }
        let real = peer.min(self.wire_mss(l4.ipv6));
        if self.flows.len() >= FLOWS_MAX {
            if let Some(&old) = self.flows.keys().next() {
                self.flows.remove(&old);
            }
        }
        self.flows.insert(flow(frame, l4, false), real);
        if let Some(at) = at {
            // smoltcp checks no TCP checksum with offloads: the field is left as it was.
            frame[at..at + 2].copy_from_slice(&Self::stack_mss(real, l4.ipv6).to_be_bytes());
        }
    }

    /// A frame for the NIC, with [`HDR_LEN`] bytes of room before it for its header, which
    /// this fills in: a TCP segment gets its pseudo-header sum and `NEEDS_CSUM`, and GSO if
    /// it is longer than one real segment; our SYNs advertise the real MSS. False if it is
    /// to be dropped (longer than the MTU and no TCP segment).
    pub fn transmit(&mut self, buf: &mut [u8]) -> bool {
        let (head, frame) = buf.split_at_mut(HDR_LEN);
        let len = frame.len();
        let tcp = vnet::locate_l4(frame, len)
            .filter(|l4| l4.proto == PROTO_TCP)
            .and_then(|l4| Some((l4, vnet::tcp_header_len(frame, l4.offset)?)));
        let Some((l4, doff)) = tcp else {
            head.copy_from_slice(&VnetHdr::default().to_bytes());
            if len > self.mtu + vnet::ETH_LEN {
                self.stats.too_large += 1;
                return false;
            }
            return true;
        };
        let flags = frame[l4.offset + 13];
        let key = flow(frame, &l4, true);
        if flags & RST != 0 {
            self.flows.remove(&key);
        }
        if flags & SYN != 0 {
            if let Some(at) = mss_option(frame, l4.offset, doff) {
                frame[at..at + 2].copy_from_slice(&self.wire_mss(l4.ipv6).to_be_bytes());
            }
        }
        let partial = fold(pseudo_sum(frame, &l4));
        frame[l4.offset + 16..l4.offset + 18].copy_from_slice(&partial.to_be_bytes());
        let mut hdr =
            VnetHdr { flags: F_NEEDS_CSUM, csum_start: l4.offset as u16, csum_offset: 16, ..VnetHdr::default() };
        let payload = len - l4.offset - doff;
        let gso_size = usize::from(self.mss(&key)).saturating_sub(doff - 20).max(usize::from(vnet::MIN_GSO_SIZE));
        if payload > gso_size {
            hdr.gso_type = if l4.ipv6 { vnet::GSO_TCPV6 } else { vnet::GSO_TCPV4 };
            hdr.gso_size = gso_size as u16;
            hdr.hdr_len = (l4.offset + doff) as u16;
            self.stats.gso_sent += 1;
        }
        head.copy_from_slice(&hdr.to_bytes());
        true
    }
}

/// The TCP segment of an Ethernet `frame`, up to its IP packet's own length (a received
/// frame may carry padding): its transport header, the TCP header's length and the frame's
/// length to the packet's end; `None` for anything else or a header that does not fit.
pub fn tcp_segment(frame: &[u8]) -> Option<(L4, usize, usize)> {
    let len = ip_end(frame)?;
    let frame = &frame[..len];
    let l4 = vnet::locate_l4(frame, len).filter(|l4| l4.proto == PROTO_TCP)?;
    let doff = vnet::tcp_header_len(frame, l4.offset)?;
    Some((l4, doff, len))
}

/// Where the IP packet in `frame` ends by its own length field, if that is within the frame
/// (what follows is Ethernet padding).
pub fn ip_end(frame: &[u8]) -> Option<usize> {
    let be = |i: usize| Some(usize::from(u16::from_be_bytes([*frame.get(i)?, *frame.get(i + 1)?])));
    let end = match be(12)? {
        0x0800 => vnet::ETH_LEN + be(vnet::ETH_LEN + 2)?,
        0x86dd => vnet::ETH_LEN + 40 + be(vnet::ETH_LEN + 4)?,
        _ => return None,
    };
    (end <= frame.len()).then_some(end)
}

/// Completes a partial checksum as the header describes it (the sum from `csum_start` to
/// the end, stored at `csum_start + csum_offset`); false if that lies outside the frame.
fn complete(frame: &mut [u8], hdr: &VnetHdr) -> bool {
    let (start, at) = (usize::from(hdr.csum_start), usize::from(hdr.csum_start) + usize::from(hdr.csum_offset));
    if at + 2 > frame.len() {
        return false;
    }
    let value = !fold(sum(&frame[start..]));
    frame[at..at + 2].copy_from_slice(&value.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpAddress, IpProtocol, Ipv4Address, Ipv4Packet,
        Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
    };

    const A: Ipv4Address = Ipv4Address::new(10, 0, 5, 2);
    const B: Ipv4Address = Ipv4Address::new(10, 0, 5, 1);

    /// A TCP frame from `src`:`sport` to `dst`:`dport` with `payload`, checksummed by smoltcp
    /// (as the host sends it without offloads), with a header of room before it.
    fn tcp(
        src: Ipv4Address,
        sport: u16,
        dst: Ipv4Address,
        dport: u16,
        control: TcpControl,
        mss: Option<u16>,
        payload: &[u8],
    ) -> Vec<u8> {
        let tcp = TcpRepr {
            src_port: sport,
            dst_port: dport,
            control,
            seq_number: TcpSeqNumber(1000),
            ack_number: None,
            window_len: 1000,
            window_scale: None,
            max_seg_size: mss,
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload,
        };
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let eth = EthernetRepr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
            ethertype: EthernetProtocol::Ipv4,
        };
        let mut buf = vec![0u8; HDR_LEN + 14 + 20 + tcp.buffer_len()];
        let mut frame = EthernetFrame::new_unchecked(&mut buf[HDR_LEN..]);
        eth.emit(&mut frame);
        let caps = ChecksumCapabilities::default();
        let mut ipp = Ipv4Packet::new_unchecked(frame.payload_mut());
        ip.emit(&mut ipp, &caps);
        let mut tp = TcpPacket::new_unchecked(ipp.payload_mut());
        tcp.emit(&mut tp, &IpAddress::Ipv4(src), &IpAddress::Ipv4(dst), &caps);
        buf
    }

    fn hdr(buf: &[u8]) -> VnetHdr {
        VnetHdr::parse(buf).unwrap()
    }

    fn mss_of(buf: &[u8]) -> u16 {
        let at = mss_option(&buf[HDR_LEN..], 34, 24).unwrap();
        u16::from_be_bytes([buf[HDR_LEN + at], buf[HDR_LEN + at + 1]])
    }

    #[test]
    fn adjust_matches_a_recomputation() {
        // RFC 1624's example (section 4): a field from 0x5555 to 0x3285 under the sum 0xdd2f.
        assert_eq!(adjust(0xdd2f, &[0x55, 0x55], &[0x32, 0x85]), 0x0000);
        // Sixteen bytes of forty changed.
        let mut data: Vec<u8> = (0..40).map(|i| (i * 37 + 11) as u8).collect();
        let before = !fold(sum(&data));
        let old = data[8..24].to_vec();
        let new: Vec<u8> = (0..16).map(|i| (i * 91 + 3) as u8).collect();
        data[8..24].copy_from_slice(&new);
        assert_eq!(adjust(before, &old, &new), !fold(sum(&data)));
    }

    #[test]
    fn sums_match_smoltcp() {
        let buf = tcp(A, 1, B, 2, TcpControl::Psh, None, &[7u8; 1001]);
        let frame = &buf[HDR_LEN..];
        let l4 = vnet::locate_l4(frame, frame.len()).unwrap();
        assert!(verify(frame, &l4));
        let mut broken = buf.clone();
        broken[HDR_LEN + 60] ^= 1;
        assert!(!verify(&broken[HDR_LEN..], &l4));
        // Every length and alignment, and words whose sums carry out of 64 bits.
        let data: Vec<u8> = (0..4099u32).map(|i| if i % 7 < 5 { 0xff } else { (i * 37) as u8 }).collect();
        for start in 0..9 {
            for len in (0..200).chain([1500, 4090]) {
                let part = &data[start..start + len];
                let ours = fold(sum(part));
                // RFC 1071 word by word.
                let words = part.chunks(2).map(|w| u64::from(w[0]) << 8 | u64::from(*w.get(1).unwrap_or(&0)));
                assert_eq!(ours, fold(words.sum()), "{start} {len}");
            }
        }
        assert_eq!(fold(sum(&[0xff; 64])), 0xffff);
        assert_eq!(fold(sum(&[])), 0);
    }

    #[test]
    fn tcp_segments_end_at_their_ip_length() {
        let mut padded = tcp(B, 5000, A, 80, TcpControl::Psh, None, &[]);
        let len = padded.len() - HDR_LEN;
        padded.extend([0x55u8; 6]);
        let (l4, doff, end) = tcp_segment(&padded[HDR_LEN..]).expect("a TCP segment");
        assert_eq!((l4.offset, doff, end), (34, 20, len));
        assert!(tcp_segment(&padded[HDR_LEN..HDR_LEN + len - 1]).is_none(), "cut short of its IP length");
        let mut udp = padded.clone();
        udp[HDR_LEN + 23] = PROTO_UDP;
        assert!(tcp_segment(&udp[HDR_LEN..]).is_none());
    }

    #[test]
    fn checksums_without_offloads() {
        let good = tcp(B, 5000, A, 80, TcpControl::Psh, None, &[3u8; 700]);
        assert!(checksum_ok(&good[HDR_LEN..]));
        let mut bad = good.clone();
        bad[HDR_LEN + 400] ^= 0x10;
        assert!(!checksum_ok(&bad[HDR_LEN..]));
        // Ethernet padding is not summed.
        let mut padded = tcp(B, 5000, A, 80, TcpControl::Psh, None, &[]);
        padded.extend([0x55u8; 6]);
        assert!(checksum_ok(&padded[HDR_LEN..]));
        // Filled in as smoltcp would have.
        let mut zeroed = good.clone();
        zeroed[HDR_LEN + 34 + 16..HDR_LEN + 34 + 18].copy_from_slice(&[0, 0]);
        fill_tcp_checksum(&mut zeroed[HDR_LEN..]);
        assert_eq!(zeroed, good);
        fill_tcp_checksum(&mut padded[HDR_LEN..]);
        assert!(checksum_ok(&padded[HDR_LEN..]));
        // Behind an IPv6 hop-by-hop header: found and checked.
        let mut v6 = vec![0u8; 14 + 40 + 8 + 20];
        v6[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
        v6[14] = 0x60;
        v6[18..20].copy_from_slice(&28u16.to_be_bytes());
        v6[20] = 0;
        v6[22..54].copy_from_slice(&[7u8; 32]);
        v6[54] = PROTO_TCP;
        v6[62 + 12] = 5 << 4;
        let check = !fold(sum(&v6[22..54]) + u64::from(PROTO_TCP) + 20 + sum(&v6[62..]));
        v6[62 + 16..62 + 18].copy_from_slice(&check.to_be_bytes());
        assert!(checksum_ok(&v6));
        v6[62 + 4] ^= 1;
        assert!(!checksum_ok(&v6));
        v6[55] = 9;
        assert!(!checksum_ok(&v6), "options past the packet");
        // Not TCP or UDP (an ARP request's length): left to smoltcp.
        let mut other = vec![0u8; 42];
        other[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert!(checksum_ok(&other));
    }

    #[test]
    fn without_offloads_syns_are_held_to_the_mtu() {
        for (mss, held) in [(65495, 1460), (9000, 1460), (1400, 1400)] {
            let mut syn = tcp(B, 5000, A, 80, TcpControl::Syn, Some(mss), &[]);
            clamp_mss(&mut syn[HDR_LEN..], 1500);
            assert_eq!(mss_of(&syn), held);
        }
        // Not a SYN, or no MSS option: unchanged.
        let ack = tcp(B, 5000, A, 80, TcpControl::None, None, &[1u8; 100]);
        let mut same = ack.clone();
        clamp_mss(&mut same[HDR_LEN..], 1500);
        assert_eq!(same, ack);
    }

    #[test]
    fn a_peer_syn_sets_the_real_mss_and_smoltcp_sees_a_multiple() {
        let mut off = Offload::new(9000);
        let mut syn = tcp(B, 5000, A, 80, TcpControl::Syn, Some(8960), &[]);
        assert!(off.received(&mut syn));
        assert_eq!(mss_of(&syn), 8960 * 7, "the largest multiple below 65495");
        let key: Flow = (
            [10, 0, 5, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            80,
            [10, 0, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            5000,
        );
        assert_eq!(off.mss(&key), 8960);
        // A peer with a larger MSS than our MTU allows is held to our MTU.
        let mut syn = tcp(B, 5001, A, 80, TcpControl::Syn, Some(20000), &[]);
        assert!(off.received(&mut syn));
        assert_eq!(mss_of(&syn), 8960 * 7);
        // Our SYN advertises the MTU's MSS, not smoltcp's 64 KiB.
        let mut ours = tcp(A, 80, B, 5000, TcpControl::Syn, Some(65495), &[]);
        assert!(off.transmit(&mut ours));
        assert_eq!(mss_of(&ours), 8960);
    }

    #[test]
    fn long_segments_leave_with_gso_at_the_real_mss() {
        let mut off = Offload::new(1500);
        let mut syn = tcp(B, 5000, A, 80, TcpControl::Syn, Some(1400), &[]);
        assert!(off.received(&mut syn));
        assert_eq!(mss_of(&syn), 1400 * 46);
        let data: Vec<u8> = (0..60_000u32).map(|i| (i * 7) as u8).collect();
        let mut seg = tcp(A, 80, B, 5000, TcpControl::Psh, None, &data);
        let expected = seg.clone();
        assert!(off.transmit(&mut seg));
        let h = hdr(&seg);
        assert_eq!(
            (h.flags, h.gso_type, h.gso_size, h.hdr_len, h.csum_start, h.csum_offset),
            (F_NEEDS_CSUM, vnet::GSO_TCPV4, 1400, 54, 34, 16)
        );
        // The proxy accepts it.
        assert_eq!(vnet::check_tx(&h, &seg[HDR_LEN..], seg.len() - HDR_LEN), Ok(()));
        // Completing the partial checksum as the host does gives smoltcp's checksum.
        let mut done = seg.clone();
        assert!(complete(&mut done[HDR_LEN..], &h));
        assert_eq!(done[HDR_LEN..], expected[HDR_LEN..]);
        // A short segment: a partial checksum, no GSO.
        let mut short = tcp(A, 80, B, 5000, TcpControl::Psh, None, &data[..1400]);
        assert!(off.transmit(&mut short));
        assert_eq!((hdr(&short).flags, hdr(&short).gso_type), (F_NEEDS_CSUM, vnet::GSO_NONE));
        // An unknown flow is cut at TCP's default MSS.
        let mut other = tcp(A, 81, B, 5000, TcpControl::Psh, None, &data[..3000]);
        assert!(off.transmit(&mut other));
        assert_eq!(hdr(&other).gso_size, 536);
        // A reset forgets the flow.
        let mut rst = tcp(B, 5000, A, 80, TcpControl::Rst, None, &[]);
        assert!(off.received(&mut rst));
        let mut seg = tcp(A, 80, B, 5000, TcpControl::Psh, None, &data);
        assert!(off.transmit(&mut seg));
        assert_eq!(hdr(&seg).gso_size, 536);
    }

    #[test]
    fn received_checksums_are_checked_unless_the_host_vouches() {
        let mut off = Offload::new(1500);
        let good = tcp(B, 5000, A, 80, TcpControl::Psh, None, &[1u8; 500]);
        let mut bad = good.clone();
        bad[HDR_LEN + 100] ^= 0xff;
        assert!(off.received(&mut good.clone()));
        assert!(!off.received(&mut bad.clone()));
        assert_eq!(off.stats.bad_checksum, 1);
        // The host says it verified it, or that it is partial: taken as it is.
        for flags in [F_DATA_VALID, F_NEEDS_CSUM] {
            let h = VnetHdr { flags, csum_start: 34, csum_offset: 16, ..Default::default() };
            bad[..HDR_LEN].copy_from_slice(&h.to_bytes());
            assert!(off.received(&mut bad.clone()));
        }
        // Ethernet padding after a short packet: the checksum is still verified.
        let mut padded = tcp(B, 5000, A, 80, TcpControl::Psh, None, &[]);
        padded.extend([0u8; 6]);
        assert!(off.received(&mut padded.clone()));
        padded[HDR_LEN + 40] ^= 0xff;
        assert!(!off.received(&mut padded));
        assert_eq!(off.stats.bad_checksum, 2);
        // A partial checksum elsewhere (not TCP's field) is completed.
        let mut odd = good.clone();
        let h = VnetHdr { flags: F_NEEDS_CSUM, csum_start: 14, csum_offset: 10, ..Default::default() };
        odd[..HDR_LEN].copy_from_slice(&h.to_bytes());
        assert!(off.received(&mut odd));
        let out = VnetHdr { flags: F_NEEDS_CSUM, csum_start: 60_000, csum_offset: 10, ..Default::default() };
        odd[..HDR_LEN].copy_from_slice(&out.to_bytes());
        assert!(!off.received(&mut odd), "a checksum outside the frame");
    }

    #[test]
    fn frames_other_than_tcp_keep_the_mtu() {
        let mut off = Offload::new(1500);
        let mut big = vec![0u8; HDR_LEN + 1514];
        assert!(off.transmit(&mut big));
        assert_eq!(hdr(&big), VnetHdr::default());
        let mut bigger = vec![0u8; HDR_LEN + 1515];
        assert!(!off.transmit(&mut bigger));
        assert_eq!(off.stats.too_large, 1);
    }
}
