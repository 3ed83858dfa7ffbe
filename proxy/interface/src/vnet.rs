//! The virtio-net header that precedes every frame of the NIC's rings once offloads are
//! negotiated ([`crate::header::FEATURE_NET_OFFLOAD`], [`crate::netring::NETRING_F_VNET_HDR`]),
//! as a Linux tap with `IFF_VNET_HDR` reads and writes it, and the checks both sides make.
//!
//! The layout is `struct virtio_net_hdr_mrg_rxbuf` (12 bytes, little-endian): `flags`,
//! `gso_type`, `hdr_len`, `gso_size`, `csum_start`, `csum_offset`, `num_buffers`. What our
//! kernel may send (checked by the proxy, [`check_tx`]): no flags, or
//! [`F_NEEDS_CSUM`] for a TCP or UDP packet whose checksum field holds the pseudo-header sum
//! (`csum_start` at the transport header, `csum_offset` 16 or 6); with it, a TCP packet
//! longer than one segment may be marked [`GSO_TCPV4`]/[`GSO_TCPV6`] with `gso_size` the
//! payload bytes per segment, which the host cuts it into. Received frames come from the host
//! kernel and may carry the same (a 64 KiB TCP "super-frame" from the host's stack), or
//! [`F_DATA_VALID`] (the host verified the checksum).

/// Bytes of the header (`virtio_net_hdr_mrg_rxbuf`; `TUNSETVNETHDRSZ`).
pub const HDR_LEN: usize = 12;

/// `flags`: the checksum from `csum_start` to the end is to be computed and stored at
/// `csum_start + csum_offset` (the field holds the pseudo-header sum).
pub const F_NEEDS_CSUM: u8 = 1;
/// `flags`: the checksum was verified by the host.
pub const F_DATA_VALID: u8 = 2;

/// `gso_type`: one packet.
pub const GSO_NONE: u8 = 0;
/// `gso_type`: an IPv4 TCP packet to be cut into segments of `gso_size` payload bytes.
pub const GSO_TCPV4: u8 = 1;
/// `gso_type`: UDP fragmentation offload (never sent by us; refused).
pub const GSO_UDP: u8 = 3;
/// `gso_type`: an IPv6 TCP packet, likewise.
pub const GSO_TCPV6: u8 = 4;
/// `gso_type` bit: the packet carries ECN (refused from the guest).
pub const GSO_ECN: u8 = 0x80;

/// Smallest `gso_size` the proxy passes on (a smaller one would cut a 64 KiB packet into
/// a thousand segments).
pub const MIN_GSO_SIZE: u16 = 64;

/// Bytes of Ethernet header (no VLAN tag: tagged frames get no offloads).
pub const ETH_LEN: usize = 14;

/// A parsed header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VnetHdr {
    /// `F_*` bits.
    pub flags: u8,
    /// `GSO_*`.
    pub gso_type: u8,
    /// Bytes of the headers (Ethernet, IP, TCP) of a GSO packet.
    pub hdr_len: u16,
    /// Payload bytes per segment of a GSO packet.
    pub gso_size: u16,
    /// Where the checksummed part starts (from the Ethernet header).
    pub csum_start: u16,
    /// Where the checksum field lies, from `csum_start`.
    pub csum_offset: u16,
    /// Unused (0).
    pub num_buffers: u16,
}

impl VnetHdr {
    /// The header at the start of `bytes` (at least [`HDR_LEN`] of them).
    pub fn parse(bytes: &[u8]) -> Option<VnetHdr> {
        let b = bytes.get(..HDR_LEN)?;
        let u = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        Some(VnetHdr {
            flags: b[0],
            gso_type: b[1],
            hdr_len: u(2),
            gso_size: u(4),
            csum_start: u(6),
            csum_offset: u(8),
            num_buffers: u(10),
        })
    }

    /// The header's bytes.
    pub fn to_bytes(&self) -> [u8; HDR_LEN] {
        let mut b = [0u8; HDR_LEN];
        b[0] = self.flags;
        b[1] = self.gso_type;
        for (i, v) in
            [self.hdr_len, self.gso_size, self.csum_start, self.csum_offset, self.num_buffers].into_iter().enumerate()
        {
            b[2 + 2 * i..4 + 2 * i].copy_from_slice(&v.to_le_bytes());
        }
        b
    }
}

/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;

/// Where an Ethernet frame's transport header is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L4 {
    /// IPv6 (else IPv4).
    pub ipv6: bool,
    /// Offset of the transport header in the frame.
    pub offset: usize,
    /// Its protocol (IPv6: the first next header; extension headers are not followed).
    pub proto: u8,
}

/// Finds the transport header of the Ethernet frame whose first bytes are `head` and whose
/// length is `len`: an untagged IPv4 packet that is not a fragment, or an IPv6 packet, whose
/// IP length matches the frame exactly. `None` for anything else (or too short a `head`).
pub fn locate_l4(head: &[u8], len: usize) -> Option<L4> {
    let be = |i: usize| Some(u16::from_be_bytes([*head.get(i)?, *head.get(i + 1)?]));
    match be(12)? {
        0x0800 => {
            let vihl = *head.get(ETH_LEN)?;
            let ihl = usize::from(vihl & 0xf) * 4;
            let frag = be(ETH_LEN + 6)?;
            let ok =
                vihl >> 4 == 4 && ihl >= 20 && frag & 0x3fff == 0 && usize::from(be(ETH_LEN + 2)?) + ETH_LEN == len;
            let proto = *head.get(ETH_LEN + 9)?;
            ok.then_some(L4 { ipv6: false, offset: ETH_LEN + ihl, proto }).filter(|l4| l4.offset <= len)
        }
        0x86dd => {
            let ok = *head.get(ETH_LEN)? >> 4 == 6 && usize::from(be(ETH_LEN + 4)?) + ETH_LEN + 40 == len;
            let proto = *head.get(ETH_LEN + 6)?;
            ok.then_some(L4 { ipv6: true, offset: ETH_LEN + 40, proto })
        }
        _ => None,
    }
}

/// Bytes of the TCP header at `l4` in `head` (its data offset), if it is there and sane.
pub fn tcp_header_len(head: &[u8], l4: usize) -> Option<usize> {
    let doff = usize::from(*head.get(l4 + 12)? >> 4) * 4;
    (doff >= 20 && head.len() >= l4 + doff).then_some(doff)
}

/// Why the proxy refuses a header of the guest's.
pub type Refusal = &'static str;

/// The proxy's check of a transmit frame's header `hdr`, given the frame's first bytes
/// `head` (at least its Ethernet, IP and TCP headers, if it has them) and its length `len`
/// (without the header). Allowed: nothing at all; [`F_NEEDS_CSUM`] on a TCP or UDP packet
/// with `csum_start` at its transport header and `csum_offset` at its checksum field; with
/// that, [`GSO_TCPV4`]/[`GSO_TCPV6`] on a TCP packet of the matching IP version whose
/// payload is longer than `gso_size` (at least [`MIN_GSO_SIZE`]) and `hdr_len` the length of
/// its headers. Everything else (other flags or types, ECN, UDP GSO, fields set without
/// their flag, `num_buffers`) is refused.
pub fn check_tx(hdr: &VnetHdr, head: &[u8], len: usize) -> Result<(), Refusal> {
    if hdr.num_buffers != 0 {
        return Err("num_buffers set");
    }
    if hdr.flags & !F_NEEDS_CSUM != 0 {
        return Err("unknown flags");
    }
    if hdr.flags == 0 {
        let unset = hdr.gso_type == GSO_NONE && hdr.hdr_len == 0 && hdr.gso_size == 0;
        return if unset && hdr.csum_start == 0 && hdr.csum_offset == 0 {
            Ok(())
        } else {
            Err("fields without a flag")
        };
    }
    let l4 = locate_l4(head, len).ok_or("a checksum offload for no IP packet")?;
    let field = match l4.proto {
        PROTO_TCP => 16,
        PROTO_UDP => 6,
        _ => return Err("a checksum offload for neither TCP nor UDP"),
    };
    if usize::from(hdr.csum_start) != l4.offset || hdr.csum_offset != field || l4.offset + usize::from(field) + 2 > len
    {
        return Err("csum_start/csum_offset not at the transport checksum");
    }
    let ipv6 = match hdr.gso_type {
        GSO_NONE => return if hdr.hdr_len == 0 && hdr.gso_size == 0 { Ok(()) } else { Err("GSO fields without GSO") },
        GSO_TCPV4 => false,
        GSO_TCPV6 => true,
        _ => return Err("a GSO type other than TCPv4/TCPv6"),
    };
    if l4.proto != PROTO_TCP || l4.ipv6 != ipv6 {
        return Err("a GSO type that does not match the packet");
    }
    let headers = l4.offset + tcp_header_len(head, l4.offset).ok_or("a GSO packet without a TCP header")?;
    if usize::from(hdr.hdr_len) != headers {
        return Err("hdr_len is not the length of the headers");
    }
    if hdr.gso_size < MIN_GSO_SIZE || len <= headers + usize::from(hdr.gso_size) {
        return Err("gso_size too small, or not below the payload");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 TCP frame of `payload` bytes (only the headers are filled in).
    fn tcp4(payload: usize) -> [u8; 54] {
        let mut f = [0u8; 54];
        f[12..14].copy_from_slice(&[8, 0]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&((40 + payload) as u16).to_be_bytes());
        f[20] = 0x40; // DF
        f[23] = PROTO_TCP;
        f[46] = 5 << 4;
        f
    }

    fn tcp6(payload: usize) -> [u8; 74] {
        let mut f = [0u8; 74];
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        f[14] = 0x60;
        f[18..20].copy_from_slice(&((20 + payload) as u16).to_be_bytes());
        f[20] = PROTO_TCP;
        f[66] = 5 << 4;
        f
    }

    fn csum(start: u16, offset: u16) -> VnetHdr {
        VnetHdr { flags: F_NEEDS_CSUM, csum_start: start, csum_offset: offset, ..Default::default() }
    }

    #[test]
    fn headers_round_trip() {
        let h = VnetHdr {
            flags: 1,
            gso_type: 4,
            hdr_len: 74,
            gso_size: 8940,
            csum_start: 54,
            csum_offset: 16,
            num_buffers: 0,
        };
        assert_eq!(VnetHdr::parse(&h.to_bytes()), Some(h));
        assert_eq!(h.to_bytes()[4..6], 8940u16.to_le_bytes());
        assert_eq!(VnetHdr::parse(&[0; 11]), None);
    }

    #[test]
    fn transport_headers_are_found_only_in_whole_packets() {
        let f = tcp4(100);
        assert_eq!(locate_l4(&f, 154), Some(L4 { ipv6: false, offset: 34, proto: PROTO_TCP }));
        assert_eq!(locate_l4(&f, 155), None, "IP length does not match the frame");
        let mut frag = f;
        frag[20] = 0x20; // more fragments
        assert_eq!(locate_l4(&frag, 154), None);
        let mut bad = f;
        bad[14] = 0x44; // IHL 16 bytes
        assert_eq!(locate_l4(&bad, 154), None);
        assert_eq!(locate_l4(&f[..20], 154), None, "too short a head");
        let f6 = tcp6(10);
        assert_eq!(locate_l4(&f6, 84), Some(L4 { ipv6: true, offset: 54, proto: PROTO_TCP }));
        let mut arp = f;
        arp[12..14].copy_from_slice(&[8, 6]);
        assert_eq!(locate_l4(&arp, 154), None);
    }

    #[test]
    fn the_proxy_takes_what_our_kernel_sends() {
        let f = tcp4(60_000);
        let len = 54 + 60_000;
        assert_eq!(check_tx(&VnetHdr::default(), &f, len), Ok(()));
        assert_eq!(check_tx(&csum(34, 16), &f, len), Ok(()));
        let gso = VnetHdr { gso_type: GSO_TCPV4, gso_size: 8960, hdr_len: 54, ..csum(34, 16) };
        assert_eq!(check_tx(&gso, &f, len), Ok(()));
        let f6 = tcp6(30_000);
        let gso6 = VnetHdr { gso_type: GSO_TCPV6, gso_size: 1440, hdr_len: 74, ..csum(54, 16) };
        assert_eq!(check_tx(&gso6, &f6, 74 + 30_000), Ok(()));
    }

    #[test]
    fn the_proxy_refuses_everything_else() {
        let f = tcp4(60_000);
        let len = 54 + 60_000;
        let gso = VnetHdr { gso_type: GSO_TCPV4, gso_size: 8960, hdr_len: 54, ..csum(34, 16) };
        let bad = [
            VnetHdr { flags: F_DATA_VALID, ..Default::default() },
            VnetHdr { csum_start: 34, ..Default::default() },
            VnetHdr { gso_type: GSO_TCPV4, ..Default::default() },
            csum(34, 6),
            csum(35, 16),
            csum(14, 16),
            VnetHdr { num_buffers: 1, ..gso },
            VnetHdr { gso_type: GSO_TCPV6, ..gso },
            VnetHdr { gso_type: GSO_UDP, ..gso },
            VnetHdr { gso_type: GSO_TCPV4 | GSO_ECN, ..gso },
            VnetHdr { gso_size: 0, ..gso },
            VnetHdr { gso_size: 60_000, ..gso },
            VnetHdr { hdr_len: 60, ..gso },
            VnetHdr { hdr_len: 0, gso_size: 100, ..csum(34, 16) },
        ];
        for h in bad {
            assert!(check_tx(&h, &f, len).is_err(), "{h:?}");
        }
        // A checksum offload needs a TCP or UDP packet of the frame's length.
        assert!(check_tx(&csum(34, 16), &f, len + 1).is_err());
        let mut icmp = f;
        icmp[23] = 1;
        assert!(check_tx(&csum(34, 16), &icmp, len).is_err());
        // The checksum field must lie inside the frame.
        let short = tcp4(0);
        let mut tiny = short;
        tiny[16..18].copy_from_slice(&20u16.to_be_bytes());
        assert!(check_tx(&csum(34, 16), &tiny, 34).is_err());
    }

    /// An IPv4 header cut off before its protocol byte, whose total length (8, less than
    /// any IPv4 header) makes the frame's length match: no transport header, and no read
    /// past the bytes given (a guest's 22-byte transmit entry once made the proxy index
    /// byte 23 and abort).
    #[test]
    fn a_header_cut_before_the_protocol_is_no_packet() {
        for cut in [22, 23] {
            let mut f = tcp4(0);
            f[16..18].copy_from_slice(&(cut as u16 - 14).to_be_bytes());
            assert_eq!(locate_l4(&f[..cut], cut), None, "{cut} bytes");
            assert!(check_tx(&csum(34, 16), &f[..cut], cut).is_err());
        }
    }

    /// Random headers and frames: the check never panics, and what it lets through has its
    /// checksum field and headers inside the frame.
    #[test]
    fn random_headers_never_panic() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut passed = 0;
        for round in 0..200_000 {
            let r = next();
            let mut head = if r & 1 == 0 { tcp4(0).to_vec() } else { tcp6(0).to_vec() };
            let len = match (r >> 1) % 4 {
                0 => head.len() + (r >> 8) as usize % 70_000,
                1 => (r >> 8) as usize % 100,
                _ => head.len() + (r >> 8) as usize % 9000,
            };
            // Make the IP length match sometimes.
            if r & 0x10 != 0 && len >= head.len() {
                if r & 1 == 0 {
                    head[16..18].copy_from_slice(&((len - 14) as u16).to_be_bytes());
                } else {
                    head[18..20].copy_from_slice(&((len.saturating_sub(54)) as u16).to_be_bytes());
                }
            }
            for _ in 0..(r >> 40) % 4 {
                let i = next() as usize % head.len();
                head[i] = next() as u8;
            }
            head.truncate(head.len() - (r >> 50) as usize % 8 * usize::from(round % 3 == 0));
            let mut hdr_bytes = [0u8; HDR_LEN];
            let s = next();
            for (i, b) in hdr_bytes.iter_mut().enumerate() {
                *b = (s >> (i * 5)) as u8 & if r & 0x20 != 0 { 0xff } else { 0x07 };
            }
            let mut hdr = VnetHdr::parse(&hdr_bytes).unwrap();
            if r & 0x40 != 0 {
                hdr.flags = F_NEEDS_CSUM;
                hdr.csum_start = if r & 1 == 0 { 34 } else { 54 };
                hdr.csum_offset = 16;
                hdr.num_buffers = 0;
                if r & 0x80 != 0 {
                    (hdr.gso_type, hdr.gso_size, hdr.hdr_len) = (GSO_NONE, 0, 0);
                }
            }
            if check_tx(&hdr, &head, len).is_ok() && hdr.flags != 0 {
                passed += 1;
                assert!(usize::from(hdr.csum_start) + usize::from(hdr.csum_offset) + 2 <= len);
                assert!(usize::from(hdr.hdr_len) <= len);
            }
        }
        assert!(passed > 0);
    }
}
