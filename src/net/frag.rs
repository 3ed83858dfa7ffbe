//! IP fragments: IPv4 and IPv6 packets from the NIC put back together, and ours longer than the NIC's MTU cut up.
//!
//! smoltcp is built without fragmentation: it dropped every fragment it got and, with the
//! NIC's offloads (where it believes the IP MTU is 64 KiB), the device dropped each UDP or
//! ICMP packet of ours longer than the MTU, so a UDP datagram of more than 1,472 bytes over
//! a 1,500-byte tap was lost both ways, and `ping -s 2000` went unanswered. The original's
//! lwIP reassembled and fragmented (its defaults, `IP_REASSEMBLY`, `IP_FRAG`, and their
//! IPv6 counterparts), as Linux does. smoltcp's own fragmentation keeps one reassembly
//! buffer of fixed size inside the interface for 60 s per datagram (one stray fragment
//! blocks every other datagram for that long) and cannot cut IPv6 packets; this module
//! does both families in the device layer instead, before smoltcp sees a frame and after it
//! wrote one.
//!
//! Reassembly follows Linux: fragments are kept per datagram (IPv4: source, destination,
//! protocol and identification; IPv6: source, destination and identification) for 30 s
//! (IPv4) or 60 s (IPv6); at most [`DATAGRAMS_MAX`] datagrams wait (4 MiB), the oldest
//! given up first; a fragment that overlaps another in part ends its
//! datagram (RFC 5722; Linux does the same for IPv4), one that repeats bytes already held
//! is ignored; fragments other than the last must carry a multiple of 8 bytes; a fragment
//! that reaches past 64 KiB is dropped, and a datagram that would be longer than 64 KiB or
//! arrives in more than 256 pieces is given up. An IPv6 "atomic fragment" (offset 0, no more to come)
//! is taken at once (RFC 6946). Our own packets are cut into fragments of the MTU (IPv4:
//! the "don't fragment" flag that smoltcp sets on every packet cleared, as Linux fragments
//! its own UDP datagrams; IPv6: a fragment header after the fixed header), each datagram
//! with an identification of its own from a counter that starts at a random value.

use alloc::vec::Vec;

use hermit_interface::vnet::ETH_LEN as ETH;

use super::offload::{fold, sum};

/// Datagrams whose fragments wait at once; beyond, the oldest is given up. With at most
/// 64 KiB each, they hold at most 4 MiB (Linux's `ipfrag_high_thresh`).
pub const DATAGRAMS_MAX: usize = 64;
/// Byte ranges a waiting datagram may be in (8-byte fragments with gaps between them could
/// make 4,096); beyond, it is given up.
const RANGES_MAX: usize = 256;
/// How long an IPv4 datagram's fragments wait for the rest (Linux's `ipfrag_time`).
const TIMEOUT_V4_NS: u64 = 30_000_000_000;
/// How long an IPv6 datagram's fragments wait (Linux's `ip6frag_time`).
const TIMEOUT_V6_NS: u64 = 60_000_000_000;
/// The largest IP payload a reassembled datagram may have (IPv4: with its header).
const DATAGRAM_MAX: usize = 65_535;
/// IPv6's fragment header (RFC 8200 section 4.5) and its bytes.
const FRAGMENT_HEADER: u8 = 44;
const FRAGMENT_LEN: usize = 8;

/// What the device does with a frame from the NIC.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    /// No fragment: smoltcp takes it as it is.
    Whole,
    /// A fragment kept (or dropped): nothing for smoltcp yet.
    Kept,
    /// The last fragment of a datagram: the datagram, put back together as one Ethernet
    /// frame, for smoltcp.
    Done(Vec<u8>),
}

/// What fragments did, for the log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams put back together.
    pub reassembled: u64,
    /// Datagrams given up: timed out, evicted, overlapping, too long; and bad fragments.
    pub dropped: u64,
    /// Packets of ours sent in fragments.
    pub fragmented: u64,
    /// Packets of ours longer than the MTU dropped because the link takes no fragments.
    pub unsent: u64,
}

/// The datagram a fragment belongs to: IP version 6 or not, source, destination, protocol
/// (IPv4 only) and identification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    ipv6: bool,
    src: [u8; 16],
    dst: [u8; 16],
    proto: u8,
    id: u32,
}

/// A fragment as parsed from a frame.
struct Piece<'a> {
    key: Key,
    /// The Ethernet header and the part of the IP packet before the fragmentable data.
    head: &'a [u8],
    /// IPv6: the next-header field of `head` that named the fragment header, and what it
    /// is to name in the datagram (what the fragment header named).
    patch: Option<(usize, u8)>,
    offset: usize,
    more: bool,
    data: &'a [u8],
}

impl Piece<'_> {
    /// The datagram's head from this fragment's.
    fn head(&self) -> Vec<u8> {
        patched(self.head, self.patch)
    }
}

/// A copy of `head` with the byte at `patch`'s offset set to its value.
fn patched(head: &[u8], patch: Option<(usize, u8)>) -> Vec<u8> {
    let mut head = head.to_vec();
    if let Some((at, value)) = patch {
        head[at] = value;
    }
    head
}

/// One datagram's fragments so far.
struct Datagram {
    key: Key,
    /// The head of the fragment at offset 0, once it came.
    head: Vec<u8>,
    data: Vec<u8>,
    /// The byte ranges of `data` received, sorted and merged.
    have: Vec<(usize, usize)>,
    /// The datagram's length, once its last fragment came.
    total: Option<usize>,
    expires: u64,
}

/// Reassembly state and the identification counter of our fragments.
pub struct Fragments {
    /// Waiting datagrams, oldest first.
    waiting: Vec<Datagram>,
    next_id: u32,
    /// Whether our packets longer than the MTU leave in fragments: not behind passt, which
    /// forwards a datagram's first fragment as a datagram of its own, cut short, and drops
    /// the others (seen with Debian 12's passt).
    pub cut: bool,
    /// Counters.
    pub stats: Stats,
}

impl Fragments {
    /// No datagram waiting; our fragments' identifications start at `seed`.
    pub const fn new(seed: u32) -> Self {
        let stats = Stats { reassembled: 0, dropped: 0, fragmented: 0, unsent: 0 };
        Self { waiting: Vec::new(), next_id: seed, cut: true, stats }
    }

    /// Takes an Ethernet `frame` from the NIC (checked by the device already) at uptime `now`
    /// ns: a fragment is kept until its datagram is whole.
    pub fn take(&mut self, frame: &[u8], now: u64) -> Taken {
        self.expire(now);
        let piece = match parse(frame) {
            Parsed::Whole => return Taken::Whole,
            Parsed::Bad => {
                self.stats.dropped += 1;
                return Taken::Kept;
            }
            Parsed::Atomic(frame) => return Taken::Done(frame),
            Parsed::Piece(piece) => piece,
        };
        let at = match self.waiting.iter().position(|d| d.key == piece.key) {
            Some(at) => at,
            None => {
                if self.waiting.len() >= DATAGRAMS_MAX {
                    self.give_up(0);
                }
                let timeout = if piece.key.ipv6 { TIMEOUT_V6_NS } else { TIMEOUT_V4_NS };
                let key = piece.key;
                self.waiting.push(Datagram {
                    key,
                    head: Vec::new(),
                    data: Vec::new(),
                    have: Vec::new(),
                    total: None,
                    expires: now.saturating_add(timeout),
                });
                self.waiting.len() - 1
            }
        };
        self.add(at, piece)
    }

    /// Adds `piece` to the waiting datagram at `at`.
    fn add(&mut self, at: usize, piece: Piece) -> Taken {
        let end = piece.offset + piece.data.len();
        let d = &self.waiting[at];
        let held = d.have.iter().any(|&(s, e)| s <= piece.offset && end <= e);
        let overlaps = d.have.iter().any(|&(s, e)| s < end && piece.offset < e);
        let past_end = d.total.is_some_and(|t| end > t || (!piece.more && end != t));
        let beyond_last = !piece.more && d.have.last().is_some_and(|&(_, e)| e > end);
        if held && !past_end {
            return Taken::Kept;
        }
        if overlaps || past_end || beyond_last {
            self.give_up(at);
            return Taken::Kept;
        }
        let d = &mut self.waiting[at];
        // Room doubles up to 64 KiB at most (the bound of [`DATAGRAMS_MAX`]'s note); so many
        // pieces that the ranges would cost more than the data give the datagram up.
        let room = end.max(d.data.capacity().saturating_mul(2)).min(DATAGRAM_MAX).max(end);
        let reserved = d.data.try_reserve_exact(room.saturating_sub(d.data.len()));
        if reserved.is_err() || d.have.len() >= RANGES_MAX {
            self.give_up(at);
            return Taken::Kept;
        }
        if d.data.len() < end {
            d.data.resize(end, 0);
        }
        d.data[piece.offset..end].copy_from_slice(piece.data);
        merge(&mut d.have, (piece.offset, end));
        if piece.offset == 0 {
            d.head = piece.head();
        }
        if !piece.more {
            d.total = Some(end);
        }
        let complete = d.total.is_some_and(|t| d.have == [(0, t)]) && !d.head.is_empty();
        if !complete {
            return Taken::Kept;
        }
        // The first fragment's headers may be longer than the others': the whole must fit
        // the IP length field.
        let before = d.head.len() - ETH - if d.key.ipv6 { 40 } else { 0 };
        if before + d.data.len() > DATAGRAM_MAX {
            self.give_up(at);
            return Taken::Kept;
        }
        let d = self.waiting.remove(at);
        self.stats.reassembled += 1;
        Taken::Done(assemble(d.head, &d.data, d.key.ipv6))
    }

    /// Gives up the waiting datagram at `at`.
    fn give_up(&mut self, at: usize) {
        self.waiting.remove(at);
        self.stats.dropped += 1;
    }

    /// Gives up the datagrams whose time ran out at `now` ns.
    fn expire(&mut self, now: u64) {
        while let Some(at) = self.waiting.iter().position(|d| d.expires <= now) {
            self.give_up(at);
        }
    }

    /// The fragments of our Ethernet `frame`, an IP packet longer than `mtu`, each at most
    /// `mtu` bytes of IP; none if it cannot be cut (not IP, an IPv6 packet with extension
    /// headers that must precede the fragment header, or a link that takes no fragments).
    pub fn split(&mut self, frame: &[u8], mtu: usize) -> Vec<Vec<u8>> {
        let Some(len) = ip_len(frame).filter(|_| self.cut) else {
            self.stats.unsent += 1;
            return Vec::new();
        };
        let packet = &frame[ETH..ETH + len];
        self.next_id = self.next_id.wrapping_add(1);
        let id = self.next_id;
        let pieces = match frame[12..14] {
            [8, 0] => split_v4(&frame[..ETH], packet, mtu, id as u16),
            _ => split_v6(&frame[..ETH], packet, mtu, id),
        };
        if pieces.is_empty() {
            self.stats.unsent += 1;
        } else {
            self.stats.fragmented += 1;
        }
        pieces
    }
}

/// The IP packet length of an IPv4 or IPv6 Ethernet `frame` by its length field, if the
/// frame holds it all.
fn ip_len(frame: &[u8]) -> Option<usize> {
    super::offload::ip_end(frame).map(|end| end - ETH)
}

/// Whether our Ethernet `frame` is an IP packet longer than `mtu` that is not a TCP segment
/// (TCP segments are cut by the host's segmentation offload, never fragmented).
pub fn too_long(frame: &[u8], mtu: usize) -> bool {
    let tcp = match frame.get(12..14) {
        Some([8, 0]) => frame.get(ETH + 9) == Some(&6),
        Some([0x86, 0xdd]) => frame.get(ETH + 6) == Some(&6),
        _ => return false,
    };
    !tcp && ip_len(frame).is_some_and(|len| len > mtu)
}

/// What a frame from the NIC is.
enum Parsed<'a> {
    Whole,
    Bad,
    /// An IPv6 atomic fragment, its fragment header taken out.
    Atomic(Vec<u8>),
    Piece(Piece<'a>),
}

fn parse(frame: &[u8]) -> Parsed<'_> {
    match frame.get(12..14) {
        Some([8, 0]) => parse_v4(frame),
        Some([0x86, 0xdd]) => parse_v6(frame),
        _ => Parsed::Whole,
    }
}

/// Whether a fragment of `len` bytes at `offset` past what precedes it in the datagram
/// (IPv4: its header; IPv6: the extension headers before the fragment header) may be one:
/// not empty, a multiple of 8 bytes unless it is the last (not `more`), within 64 KiB.
fn fits(len: usize, more: bool, offset: usize) -> bool {
    len > 0 && (!more || len.is_multiple_of(8)) && offset + len <= DATAGRAM_MAX
}

fn be16(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_be_bytes([b[at], b[at + 1]]))
}

fn parse_v4(frame: &[u8]) -> Parsed<'_> {
    let Some(&vihl) = frame.get(ETH) else { return Parsed::Whole };
    let ihl = usize::from(vihl & 0xf) * 4;
    if frame.len() < ETH + 20 || vihl >> 4 != 4 || ihl < 20 {
        return Parsed::Whole; // smoltcp drops it
    }
    let field = be16(frame, ETH + 6);
    let (more, offset) = (field & 0x2000 != 0, (field & 0x1fff) * 8);
    if !more && offset == 0 {
        return Parsed::Whole;
    }
    let total = be16(frame, ETH + 2);
    let header = frame.get(ETH..ETH + ihl);
    if total < ihl || ETH + total > frame.len() || header.is_none_or(|h| fold(sum(h)) != 0xffff) {
        return Parsed::Bad;
    }
    let data = &frame[ETH + ihl..ETH + total];
    if !fits(data.len(), more, ihl + offset) {
        return Parsed::Bad;
    }
    let mut key =
        Key { ipv6: false, src: [0; 16], dst: [0; 16], proto: frame[ETH + 9], id: be16(frame, ETH + 4) as u32 };
    key.src[..4].copy_from_slice(&frame[ETH + 12..ETH + 16]);
    key.dst[..4].copy_from_slice(&frame[ETH + 16..ETH + 20]);
    Parsed::Piece(Piece { key, head: &frame[..ETH + ihl], patch: None, offset, more, data })
}

fn parse_v6(frame: &[u8]) -> Parsed<'_> {
    if frame.len() < ETH + 40 || frame[ETH] >> 4 != 6 {
        return Parsed::Whole;
    }
    let end = ETH + 40 + be16(frame, ETH + 4);
    if end > frame.len() {
        return Parsed::Whole;
    }
    // Hop-by-hop options, routing and destination options may precede the fragment header.
    let (mut next_at, mut at) = (ETH + 6, ETH + 40);
    while matches!(frame[next_at], 0 | 43 | 60) {
        let Some(&units) = frame.get(at + 1).filter(|_| at + 2 <= end) else { return Parsed::Whole };
        next_at = at;
        at += (usize::from(units) + 1) * 8;
    }
    if frame[next_at] != FRAGMENT_HEADER {
        return Parsed::Whole;
    }
    if at + FRAGMENT_LEN > end {
        return Parsed::Bad;
    }
    let field = be16(frame, at + 2);
    let (more, offset) = (field & 1 != 0, field & 0xfff8);
    let data = &frame[at + FRAGMENT_LEN..end];
    let patch = Some((next_at, frame[at]));
    if !more && offset == 0 {
        return Parsed::Atomic(assemble(patched(&frame[..at], patch), data, true));
    }
    let unfragmentable = at - ETH - 40;
    if !fits(data.len(), more, unfragmentable + offset) {
        return Parsed::Bad;
    }
    let id = u32::from_be_bytes([frame[at + 4], frame[at + 5], frame[at + 6], frame[at + 7]]);
    let mut key = Key { ipv6: true, src: [0; 16], dst: [0; 16], proto: 0, id };
    key.src.copy_from_slice(&frame[ETH + 8..ETH + 24]);
    key.dst.copy_from_slice(&frame[ETH + 24..ETH + 40]);
    Parsed::Piece(Piece { key, head: &frame[..at], patch, offset, more, data })
}

/// Adds the range `new` to the sorted, merged `have` (it overlaps none).
fn merge(have: &mut Vec<(usize, usize)>, new: (usize, usize)) {
    let at = have.partition_point(|&(s, _)| s < new.0);
    have.insert(at, new);
    if at + 1 < have.len() && have[at].1 == have[at + 1].0 {
        have[at].1 = have[at + 1].1;
        have.remove(at + 1);
    }
    if at > 0 && have[at - 1].1 == have[at].0 {
        have[at - 1].1 = have[at].1;
        have.remove(at);
    }
}

/// The Ethernet frame of a datagram from its first fragment's `head` and its `data`.
fn assemble(mut head: Vec<u8>, data: &[u8], ipv6: bool) -> Vec<u8> {
    head.extend_from_slice(data);
    set_len(&mut head, ipv6);
    head
}

/// Sets the IP length of a whole datagram's `frame` to its length (IPv4: no fragment
/// fields, the header checksum again).
fn set_len(frame: &mut [u8], ipv6: bool) {
    let ip = frame.len() - ETH;
    if ipv6 {
        frame[ETH + 4..ETH + 6].copy_from_slice(&((ip - 40) as u16).to_be_bytes());
        return;
    }
    frame[ETH + 2..ETH + 4].copy_from_slice(&(ip as u16).to_be_bytes());
    frame[ETH + 6..ETH + 8].copy_from_slice(&[0, 0]);
    fill_header_checksum(frame);
}

/// Fills in the IPv4 header checksum of the Ethernet `frame`.
fn fill_header_checksum(frame: &mut [u8]) {
    let ihl = usize::from(frame[ETH] & 0xf) * 4;
    frame[ETH + 10..ETH + 12].copy_from_slice(&[0, 0]);
    let check = !fold(sum(&frame[ETH..ETH + ihl]));
    frame[ETH + 10..ETH + 12].copy_from_slice(&check.to_be_bytes());
}

/// IPv4 fragments of `packet` behind Ethernet header `eth`.
fn split_v4(eth: &[u8], packet: &[u8], mtu: usize, id: u16) -> Vec<Vec<u8>> {
    let ihl = usize::from(packet[0] & 0xf) * 4;
    let step = mtu.saturating_sub(ihl) & !7;
    if step == 0 || ihl < 20 || packet.len() < ihl {
        return Vec::new();
    }
    let data = &packet[ihl..];
    let count = data.len().div_ceil(step);
    (0..count)
        .map(|i| {
            let chunk = &data[i * step..((i + 1) * step).min(data.len())];
            let mut f = Vec::with_capacity(ETH + ihl + chunk.len());
            f.extend_from_slice(eth);
            f.extend_from_slice(&packet[..ihl]);
            f.extend_from_slice(chunk);
            f[ETH + 2..ETH + 4].copy_from_slice(&((ihl + chunk.len()) as u16).to_be_bytes());
            f[ETH + 4..ETH + 6].copy_from_slice(&id.to_be_bytes());
            let more = if i + 1 < count { 0x2000 } else { 0 };
            f[ETH + 6..ETH + 8].copy_from_slice(&((more | (i * step / 8)) as u16).to_be_bytes());
            fill_header_checksum(&mut f);
            f
        })
        .collect()
}

/// IPv6 fragments of `packet` behind Ethernet header `eth`, a fragment header after its
/// fixed header (none if extension headers that must precede one follow it).
fn split_v6(eth: &[u8], packet: &[u8], mtu: usize, id: u32) -> Vec<Vec<u8>> {
    let next = packet[6];
    let step = mtu.saturating_sub(40 + FRAGMENT_LEN) & !7;
    if step == 0 || matches!(next, 0 | 43) {
        return Vec::new();
    }
    let data = &packet[40..];
    let count = data.len().div_ceil(step);
    (0..count)
        .map(|i| {
            let chunk = &data[i * step..((i + 1) * step).min(data.len())];
            let mut f = Vec::with_capacity(ETH + 40 + FRAGMENT_LEN + chunk.len());
            f.extend_from_slice(eth);
            f.extend_from_slice(&packet[..40]);
            f[ETH + 4..ETH + 6].copy_from_slice(&((FRAGMENT_LEN + chunk.len()) as u16).to_be_bytes());
            f[ETH + 6] = FRAGMENT_HEADER;
            let more = usize::from(i + 1 < count);
            f.extend_from_slice(&[next, 0]);
            f.extend_from_slice(&((i * step) as u16 | more as u16).to_be_bytes());
            f.extend_from_slice(&id.to_be_bytes());
            f.extend_from_slice(chunk);
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const NOW: u64 = 1_000_000_000;

    /// An IPv4 UDP-like packet of `len` payload bytes (a pattern) in an Ethernet frame, as
    /// smoltcp writes it (DF set, identification 0).
    fn packet_v4(len: usize) -> Vec<u8> {
        let mut f = vec![0u8; ETH + 20 + len];
        f[12..14].copy_from_slice(&[8, 0]);
        f[ETH] = 0x45;
        f[ETH + 2..ETH + 4].copy_from_slice(&((20 + len) as u16).to_be_bytes());
        f[ETH + 6] = 0x40;
        f[ETH + 8] = 64;
        f[ETH + 9] = 17;
        f[ETH + 12..ETH + 20].copy_from_slice(&[10, 0, 5, 2, 10, 0, 5, 1]);
        for (i, b) in f[ETH + 20..].iter_mut().enumerate() {
            *b = (i * 7 + i / 251) as u8;
        }
        fill_header_checksum(&mut f);
        f
    }

    /// The same over IPv6.
    fn packet_v6(len: usize) -> Vec<u8> {
        let mut f = vec![0u8; ETH + 40 + len];
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        f[ETH] = 0x60;
        f[ETH + 4..ETH + 6].copy_from_slice(&(len as u16).to_be_bytes());
        f[ETH + 6] = 17;
        f[ETH + 7] = 64;
        f[ETH + 8] = 0xfe;
        f[ETH + 9] = 0x80;
        f[ETH + 23] = 2;
        f[ETH + 24] = 0xfe;
        f[ETH + 25] = 0x80;
        f[ETH + 39] = 1;
        for (i, b) in f[ETH + 40..].iter_mut().enumerate() {
            *b = (i * 13 + i / 241) as u8;
        }
        f
    }

    /// Feeds `frames` in order; the last result.
    fn feed(frags: &mut Fragments, frames: &[Vec<u8>]) -> Taken {
        let mut last = Taken::Kept;
        for f in frames {
            assert_ne!(last, Taken::Whole);
            assert!(!matches!(last, Taken::Done(_)), "done before the last fragment");
            last = frags.take(f, NOW);
        }
        last
    }

    /// `whole` as reassembly of `pieces` gives it back: IPv4 without DF, with the
    /// fragments' identification and its checksum.
    fn expected(whole: &[u8], pieces: &[Vec<u8>]) -> Taken {
        let mut w = whole.to_vec();
        if w[12..14] == [8, 0] {
            w[ETH + 4..ETH + 6].copy_from_slice(&pieces[0][ETH + 4..ETH + 6]);
            w[ETH + 6..ETH + 8].copy_from_slice(&[0, 0]);
            fill_header_checksum(&mut w);
        }
        Taken::Done(w)
    }

    #[test]
    fn packets_are_cut_to_the_mtu_and_put_back_together() {
        for (whole, mtu) in [
            (packet_v4(4000), 1500),
            (packet_v4(65_507), 1500),
            (packet_v4(9000), 9000 - 8),
            (packet_v6(4000), 1500),
            (packet_v6(65_000), 1280),
        ] {
            let mut ours = Fragments::new(7);
            assert!(too_long(&whole, mtu));
            let pieces = ours.split(&whole, mtu);
            assert!(pieces.len() > 1);
            for p in &pieces {
                assert!(p.len() - ETH <= mtu);
                assert!(!too_long(p, mtu));
            }
            assert_eq!(ours.stats.fragmented, 1);
            // In order, reversed, and with each fragment twice.
            let mut theirs = Fragments::new(0);
            let done = expected(&whole, &pieces);
            assert!(feed(&mut theirs, &pieces) == done, "in order");
            let reversed: Vec<_> = pieces.iter().rev().cloned().collect();
            assert!(feed(&mut theirs, &reversed) == done, "reversed");
            let twice: Vec<_> = pieces.iter().flat_map(|p| [p.clone(), p.clone()]).collect();
            assert!(feed(&mut theirs, &twice[..twice.len() - 1]) == done, "twice");
            assert_eq!(theirs.stats.reassembled, 3);
            assert_eq!(theirs.waiting.len(), 0);
        }
    }

    #[test]
    fn ipv4_fragments_carry_their_own_header_fields() {
        let mut ours = Fragments::new(0x1_2344);
        let pieces = ours.split(&packet_v4(3000), 1500);
        assert_eq!(pieces.len(), 3);
        for (i, p) in pieces.iter().enumerate() {
            assert_eq!(be16(p, ETH + 4), 0x2345, "identification");
            assert_eq!(be16(p, ETH + 6), [0x2000, 0x2000 | 185, 370][i], "no DF, MF, offset");
            assert_eq!(fold(sum(&p[ETH..ETH + 20])), 0xffff, "header checksum");
        }
        // The next packet gets the next identification.
        assert_eq!(be16(&ours.split(&packet_v4(3000), 1500)[0], ETH + 4), 0x2346);
    }

    #[test]
    fn whole_packets_and_tcp_pass() {
        let mut frags = Fragments::new(0);
        assert_eq!(frags.take(&packet_v4(100), NOW), Taken::Whole);
        assert_eq!(frags.take(&packet_v6(100), NOW), Taken::Whole);
        assert_eq!(frags.take(&[0u8; 10], NOW), Taken::Whole);
        let mut tcp = packet_v4(4000);
        tcp[ETH + 9] = 6;
        assert!(!too_long(&tcp, 1500));
        assert!(!too_long(&packet_v4(1480), 1500));
        assert!(too_long(&packet_v4(1481), 1500));
    }

    #[test]
    fn an_atomic_ipv6_fragment_is_taken_at_once() {
        let whole = packet_v6(100);
        let mut atomic = whole[..ETH + 40].to_vec();
        atomic[ETH + 6] = FRAGMENT_HEADER;
        atomic[ETH + 4..ETH + 6].copy_from_slice(&108u16.to_be_bytes());
        atomic.extend_from_slice(&[17, 0, 0, 0, 0, 0, 0, 9]);
        atomic.extend_from_slice(&whole[ETH + 40..]);
        assert_eq!(Fragments::new(0).take(&atomic, NOW), Taken::Done(whole));
    }

    #[test]
    fn overlaps_bad_fragments_and_time_end_a_datagram() {
        let pieces = Fragments::new(0).split(&packet_v4(4000), 1500);
        // A fragment overlapping another in part gives the datagram up.
        let mut frags = Fragments::new(0);
        let mut shifted = pieces[1].clone();
        let field = be16(&shifted, ETH + 6) - 1;
        shifted[ETH + 6..ETH + 8].copy_from_slice(&(field as u16).to_be_bytes());
        fill_header_checksum(&mut shifted);
        assert_eq!(feed(&mut frags, &[pieces[0].clone(), shifted]), Taken::Kept);
        assert_eq!(frags.stats.dropped, 1);
        assert_eq!(feed(&mut frags, &pieces[1..]), Taken::Kept, "the first fragment went with it");
        // A bad header checksum, a middle fragment not a multiple of 8 bytes.
        let mut frags = Fragments::new(0);
        let mut bad = pieces[0].clone();
        bad[ETH + 10] ^= 1;
        assert_eq!(frags.take(&bad, NOW), Taken::Kept);
        let mut odd = pieces[0].clone();
        odd.pop();
        let len = (odd.len() - ETH) as u16;
        odd[ETH + 2..ETH + 4].copy_from_slice(&len.to_be_bytes());
        fill_header_checksum(&mut odd);
        assert_eq!(frags.take(&odd, NOW), Taken::Kept);
        assert_eq!(frags.stats.dropped, 2);
        assert_eq!(frags.waiting.len(), 0);
        // Fragments that wait longer than 30 s are given up.
        let mut frags = Fragments::new(0);
        assert_eq!(frags.take(&pieces[0], NOW), Taken::Kept);
        assert_eq!(frags.waiting.len(), 1);
        assert_eq!(frags.take(&pieces[1], NOW + TIMEOUT_V4_NS), Taken::Kept);
        assert_eq!(frags.take(&pieces[2], NOW + TIMEOUT_V4_NS), Taken::Kept);
        assert_eq!(frags.stats.dropped, 1);
    }

    #[test]
    fn waiting_datagrams_are_bounded() {
        let (mut frags, mut source) = (Fragments::new(0), Fragments::new(0));
        let all: Vec<_> = (0..DATAGRAMS_MAX + 10).map(|_| source.split(&packet_v4(65_000), 1500)).collect();
        for pieces in &all {
            assert_eq!(frags.take(&pieces[0], NOW), Taken::Kept);
            assert!(frags.waiting.len() <= DATAGRAMS_MAX);
        }
        assert_eq!(frags.stats.dropped, 10, "the oldest given up");
        for pieces in &all[10..] {
            assert_eq!(frags.take(pieces.last().unwrap(), NOW), Taken::Kept);
        }
        assert_eq!(frags.waiting.len(), DATAGRAMS_MAX);
        // The newest datagrams complete; the oldest is gone.
        for pieces in &all[10..] {
            assert!(matches!(feed(&mut frags, &pieces[1..pieces.len() - 1]), Taken::Done(_)));
        }
        assert_eq!(feed(&mut frags, &all[0][1..]), Taken::Kept);
        assert_eq!(frags.stats.reassembled, DATAGRAMS_MAX as u64);
    }

    #[test]
    fn a_first_fragment_with_longer_headers_cannot_make_the_datagram_too_long() {
        // 65,514 bytes cut with 20-byte headers; the first fragment then given 4 bytes of
        // options: 24 + 65,514 is more than an IPv4 packet holds.
        let pieces = Fragments::new(0).split(&packet_v4(65_514), 1500);
        let mut first = pieces[0][..ETH + 20].to_vec();
        first[ETH] = 0x46;
        first.extend_from_slice(&[1, 1, 1, 0]);
        first.extend_from_slice(&pieces[0][ETH + 20..]);
        let len = (first.len() - ETH) as u16;
        first[ETH + 2..ETH + 4].copy_from_slice(&len.to_be_bytes());
        fill_header_checksum(&mut first);
        let mut frags = Fragments::new(0);
        let mut all = vec![first];
        all.extend(pieces[1..].iter().cloned());
        assert!(feed(&mut frags, &all) == Taken::Kept, "given up, not put together");
        assert_eq!(frags.stats.dropped, 1);
        assert_eq!(frags.waiting.len(), 0);
    }

    #[test]
    fn some_packets_are_not_cut() {
        let mut frags = Fragments::new(0);
        let mut p = packet_v6(4000);
        p[ETH + 6] = 43;
        assert!(frags.split(&p, 1500).is_empty(), "a routing header must precede a fragment header");
        frags.cut = false;
        assert!(frags.split(&packet_v4(4000), 1500).is_empty(), "a link without fragments");
        assert_eq!(frags.stats.unsent, 2);
    }
}
