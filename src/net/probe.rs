//! Zero-window probes and copies of the peer's ACKs for smoltcp: three 1 s waits of smoltcp's cut short.
//!
//! smoltcp 0.13.1 waits for its retransmission timer, at least 1 s (`RTTE_MIN_RTO`), in three
//! cases that Debian 12's passt leaves it in, each stalling up to about 1% of user-mode
//! guest -> host streams for a second:
//!
//! - **Zero window.** smoltcp probes a zero window only when that timer fires, then at 2 s,
//!   4 s and so on. A peer that sends a window update when its buffer drains (Linux) ends such
//!   a pause sooner; passt does not (its source: when it advertises 0 it checks its host
//!   socket once, 50 ms later, and if that socket is still full it waits for the guest's next
//!   segment). The device layer remembers, for a few recent connections, the headers of the
//!   last segment we sent (Ethernet, IP, TCP with its options, window as the peer saw it),
//!   the sequence number after our last byte and the peer's last acknowledgement and window.
//!   When the peer has acknowledged everything we sent with a window of 0, we have data
//!   queued, and [`FIRST_US`] passed, the device sends a probe built from those headers: no
//!   data, ACK alone, sequence number one below our next (as Linux's own zero-window probes
//!   and keep-alives): a segment outside the peer's window, which RFC 9293 asks it to answer
//!   with an ACK, and which takes nothing from smoltcp's sequence space. passt answers any
//!   segment from the guest with its current window when the last one it sent was 0 and its
//!   socket has room again. The next probe waits twice as long, up to [`LAST_US`]; a window
//!   above 0 from the peer, our FIN or a reset ends the probing.
//! - **A hole behind two duplicate ACKs.** passt advertises its host peer's window, not the
//!   room in its own socket; when that socket is full it drops what the guest sent, and for
//!   the segments after the hole it sends one duplicate ACK, twice, once per hole (its
//!   `DUP_ACK`). smoltcp retransmits fast at the third duplicate only, so it waited for its
//!   timer. Behind passt ([`Probes::nudges`]) the device gives smoltcp that second duplicate
//!   once more when [`NUDGE_US`] passed without a new acknowledgement, a new window or data
//!   from the peer: smoltcp's fast retransmission then sends the hole again (its socket has
//!   drained by then). A copy of a frame the peer sent: smoltcp does only what a third
//!   duplicate of the peer's own would make it do.
//! - **A lost tail.** When passt drops the end of what the guest sent, no segment comes
//!   after the hole, so passt sends no duplicate ACK at all, and smoltcp (its send buffer
//!   full of unacknowledged data, or its program done) sends nothing that would make it.
//!   Behind passt, when our data is outstanding past the peer's last acknowledgement, its
//!   window is open, and [`TAIL_US`] passed without a new acknowledgement, window or data
//!   from it (nor its second duplicate, which the case above takes) and without new data of
//!   ours, smoltcp gets three copies of the peer's last pure ACK: its duplicate count
//!   reaches three and it resends from that acknowledgement at once, as RFC 8985's
//!   tail-loss probe would have it do (twice the peer's round trip instead, when that is
//!   longer: passt acknowledges what a distant host acknowledged). Our FIN counts as data (passt drops a FIN that comes
//!   with data it could not take), so a connection is forgotten when the peer acknowledges
//!   our FIN, not when we send it. Once per acknowledgement: until the peer makes progress
//!   again smoltcp's own timer rules.

use alloc::vec::Vec;

use hermit_interface::vnet::{self, PROTO_TCP};

use super::offload::{self, Flow};

/// The first probe this long (µs) after the peer's window closed (Linux's persist timer
/// starts at about as much).
pub const FIRST_US: u64 = 200_000;
/// The longest wait between probes (µs): smoltcp's longest retransmission timeout.
pub const LAST_US: u64 = 60_000_000;
/// How long after a peer's second duplicate ACK smoltcp gets it a third time (µs): passt's
/// socket drains at the host reader's pace, a few MB within a few milliseconds.
pub const NUDGE_US: u64 = 50_000;
/// How long (µs) after the peer's last progress and our last new segment, with data of ours
/// outstanding and the peer's window open, smoltcp gets three copies of the peer's last ACK:
/// a round trip behind passt takes 0.1-3 ms, but passt may hold an ACK back until its
/// `ACK_INTERVAL`, 50 ms after the guest's last segment, when it acknowledges only what its
/// host peer has acknowledged (`tcpi_bytes_acked`). Twice the round trip seen if that is
/// longer (a distant host behind passt: passt's ACKs follow the host peer's).
pub const TAIL_US: u64 = 100_000;
/// Copies of the peer's last ACK that make smoltcp count a third duplicate from none.
const TAIL_COPIES: u8 = 3;
/// Connections remembered (the least recently used is forgotten first).
const CONNS: usize = 16;
/// The longest headers kept: Ethernet, IPv4 with options, TCP with options.
const HEAD_MAX: usize = 14 + 60 + 60;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// When the next probe of a connection whose peer's window is 0 is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Timer {
    /// Due at this time (µs).
    at: u64,
    /// The wait before it (µs), doubled at each probe.
    gap: u64,
}

/// What the device knows of one connection.
#[derive(Clone, Copy)]
struct Conn {
    key: Flow,
    /// Last used, for eviction.
    used: u64,
    /// The headers of our last segment with ACK (no SYN), `head_len` bytes, the TCP header at
    /// `tcp`.
    head: [u8; HEAD_MAX],
    head_len: usize,
    tcp: usize,
    ipv6: bool,
    /// The sequence number after the last byte (SYN, FIN) we sent.
    snd_nxt: u32,
    /// The peer's last acknowledgement.
    peer_ack: u32,
    /// Set while the peer's window is 0.
    zero: Option<Timer>,
    /// The peer's last window field.
    peer_win: u16,
    /// Duplicates of the peer's last acknowledgement (pure ACKs, same window) while our data
    /// beyond it was outstanding.
    dups: u8,
    /// When copies of the peer's last pure ACK (`ack`, `ack_len` bytes; 0 if its last
    /// progress came with data) are due for smoltcp ([`Probes::next_nudge`]), and how many:
    /// one after a second duplicate, [`TAIL_COPIES`] for a lost tail.
    nudge: Option<u64>,
    copies: u8,
    /// Copies were given or are due for the peer's current acknowledgement.
    given: bool,
    /// We sent our FIN: no zero-window probes; forgotten once the peer acknowledges it.
    fin: bool,
    /// When we last sent new sequence space (SYN, data, FIN), µs.
    sent_at: u64,
    /// The peer's round trip as we saw it (µs): its SYN-ACK after our SYN, its
    /// acknowledgement of all we sent after our last new segment; the largest recent one,
    /// a smaller sample taking an eighth of the difference off.
    rtt: u64,
    ack: [u8; HEAD_MAX],
    ack_len: usize,
}

/// The connections the device may probe.
pub struct Probes {
    conns: Vec<Conn>,
    clock: u64,
    /// Probes sent.
    pub sent: u64,
    /// Whether a peer's second duplicate ACK is given to smoltcp a third time after
    /// [`NUDGE_US`] (behind passt).
    pub nudges: bool,
    /// Third duplicates given to smoltcp.
    pub nudged: u64,
    /// Lost tails: three copies of the peer's last ACK given to smoltcp.
    pub tails: u64,
    /// Data segments we sent again (smoltcp's retransmissions).
    pub resent: u64,
}

fn be32(f: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([f[at], f[at + 1], f[at + 2], f[at + 3]])
}

/// `a` is after `b` in sequence space.
fn after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

impl Default for Probes {
    fn default() -> Self {
        Self::new()
    }
}

impl Probes {
    /// No connection known yet (the table's room is taken now, not per frame).
    pub fn new() -> Self {
        Self { conns: Vec::with_capacity(CONNS), clock: 0, sent: 0, nudges: false, nudged: 0, tails: 0, resent: 0 }
    }

    /// The TCP segment of `frame` ([`offload::tcp_segment`]: its transport header, header
    /// length and frame length) with its flags and connection (ours first; `outgoing`: we
    /// sent it); `None` for anything else, and for a reset, whose connection is forgotten.
    fn segment(&mut self, frame: &[u8], outgoing: bool) -> Option<(vnet::L4, usize, usize, u8, Flow)> {
        let (l4, doff, len) = offload::tcp_segment(frame)?;
        let flags = frame[l4.offset + 13];
        let key = offload::flow(frame, &l4, outgoing);
        if flags & RST != 0 {
            self.conns.retain(|c| c.key != key);
            return None;
        }
        Some((l4, doff, len, flags, key))
    }

    fn find(&mut self, key: &Flow) -> Option<&mut Conn> {
        self.conns.iter_mut().find(|c| c.key == *key)
    }

    /// Looks at a frame we send to the NIC at `now` (µs; Ethernet, no virtio-net header, as
    /// smoltcp wrote it with the window the peer is offered).
    pub fn sent(&mut self, frame: &[u8], now: u64) {
        let Some((l4, doff, len, flags, key)) = self.segment(frame, true) else { return };
        let t = l4.offset;
        let control = u32::from(flags & SYN != 0) + u32::from(flags & FIN != 0);
        let end = be32(frame, t + 4).wrapping_add((len - t - doff) as u32 + control);
        self.clock += 1;
        let clock = self.clock;
        let found = self.conns.iter().position(|c| c.key == key);
        // A SYN starts the connection's entry anew.
        let known = found.filter(|_| flags & SYN == 0);
        let conn = match known {
            Some(i) => &mut self.conns[i],
            None => {
                let fresh = Conn {
                    key,
                    used: clock,
                    head: [0; HEAD_MAX],
                    head_len: 0,
                    tcp: 0,
                    ipv6: false,
                    snd_nxt: end,
                    peer_ack: end,
                    zero: None,
                    peer_win: 0,
                    dups: 0,
                    nudge: None,
                    copies: 0,
                    given: false,
                    fin: false,
                    sent_at: now,
                    rtt: 0,
                    ack: [0; HEAD_MAX],
                    ack_len: 0,
                };
                let i = match found {
                    Some(i) => i,
                    None if self.conns.len() < CONNS => {
                        self.conns.push(fresh);
                        self.conns.len() - 1
                    }
                    None => (0..self.conns.len()).min_by_key(|&i| self.conns[i].used).unwrap_or(0),
                };
                self.conns[i] = fresh;
                &mut self.conns[i]
            }
        };
        conn.used = clock;
        if flags & FIN != 0 {
            conn.fin = true;
            conn.zero = None;
        }
        if after(end, conn.snd_nxt) {
            conn.snd_nxt = end;
            conn.sent_at = now;
            // New data starts the wait for a lost tail anew (RFC 8985 arms its probe at each
            // transmission): passt's own delayed ACK comes its `ACK_INTERVAL` after our last
            // segment.
            if self.nudges {
                conn.arm_tail(now);
            }
        } else if known.is_some() && len > t + doff {
            // Data at or below what we sent before (a segment of a connection this table had
            // forgotten starts a fresh entry and is no resend).
            self.resent += 1;
        }
        if flags & (SYN | ACK) == ACK && t + doff <= HEAD_MAX {
            conn.head[..t + doff].copy_from_slice(&frame[..t + doff]);
            conn.head_len = t + doff;
            conn.tcp = t;
            conn.ipv6 = l4.ipv6;
        }
    }

    /// Looks at a frame from the NIC at `now` (µs): the peer's acknowledgement and window.
    pub fn received(&mut self, frame: &[u8], now: u64) {
        if self.conns.is_empty() {
            return;
        }
        let Some((l4, doff, len, flags, key)) = self.segment(frame, false) else { return };
        let t = l4.offset;
        if flags & (SYN | ACK) == SYN | ACK {
            if let Some(conn) = self.find(&key) {
                conn.rtt = now.saturating_sub(conn.sent_at);
            }
            return;
        }
        if flags & (SYN | ACK) != ACK {
            return;
        }
        let nudges = self.nudges;
        let Some(conn) = self.find(&key) else { return };
        let ack = be32(frame, t + 8);
        let win = u16::from_be_bytes([frame[t + 14], frame[t + 15]]);
        let pure = len == t + doff && flags & FIN == 0;
        if pure && ack == conn.peer_ack && win == conn.peer_win && after(conn.snd_nxt, ack) {
            conn.dups = conn.dups.saturating_add(1);
            if conn.dups == 2 && nudges && !conn.given && len <= HEAD_MAX {
                conn.ack[..len].copy_from_slice(&frame[..len]);
                conn.ack_len = len;
                conn.nudge = Some(now + NUDGE_US);
                conn.copies = 1;
                conn.given = true;
            }
        } else {
            conn.dups = 0;
            conn.nudge = None;
            conn.given = false;
            if ack == conn.snd_nxt && ack != conn.peer_ack {
                let sample = now.saturating_sub(conn.sent_at);
                conn.rtt = if sample >= conn.rtt { sample } else { conn.rtt - (conn.rtt - sample) / 8 };
            }
            conn.peer_ack = ack;
            conn.peer_win = win;
            conn.ack_len = 0;
            if nudges && pure && len <= HEAD_MAX {
                conn.ack[..len].copy_from_slice(&frame[..len]);
                conn.ack_len = len;
                if after(conn.snd_nxt, ack) {
                    conn.arm_tail(now);
                }
            }
        }
        if frame[t + 14..t + 16] != [0, 0] {
            conn.zero = None;
        } else if conn.zero.is_none() && !conn.fin {
            conn.zero = Some(Timer { at: now + FIRST_US, gap: FIRST_US });
        }
        // Our FIN acknowledged: nothing more to resend or probe.
        if conn.fin && ack == conn.snd_nxt {
            self.conns.retain(|c| c.key != key);
        }
    }

    /// When the next probe is due (µs), if one waits.
    pub fn next_due(&self) -> Option<u64> {
        self.conns.iter().flat_map(|c| [c.zero.map(|z| z.at), c.nudge]).flatten().min()
    }

    /// Copies of a peer's ACK due at `now` (µs) for smoltcp, whose third duplicate starts its
    /// fast retransmission: the frame and how many copies (one after the peer's second
    /// duplicate, three for a lost tail); `None` once none is due.
    pub fn next_nudge(&mut self, now: u64) -> Option<(Vec<u8>, u8)> {
        let conn = self.conns.iter_mut().find(|c| c.nudge.is_some_and(|at| at <= now))?;
        conn.nudge = None;
        conn.given = true;
        if conn.copies == 1 {
            self.nudged += 1;
        } else {
            self.tails += 1;
        }
        Some((conn.ack[..conn.ack_len].to_vec(), conn.copies))
    }

    /// The next probe due at `now` (µs) for a connection that `queued` says has data to send;
    /// `None` once none is due. Every connection due is rescheduled (the wait doubled),
    /// whether it is probed or not.
    pub fn next(&mut self, now: u64, mut queued: impl FnMut(&Flow) -> bool) -> Option<Vec<u8>> {
        loop {
            let conn = self.conns.iter_mut().find(|c| c.zero.is_some_and(|z| z.at <= now))?;
            let gap = conn.zero.map_or(FIRST_US, |z| (z.gap * 2).min(LAST_US));
            conn.zero = Some(Timer { at: now + gap, gap });
            if conn.head_len > 0 && conn.peer_ack == conn.snd_nxt && queued(&conn.key) {
                self.sent += 1;
                return Some(build(conn));
            }
        }
    }
}

impl Conn {
    /// Copies of the peer's last pure ACK for smoltcp [`TAIL_US`] after `now` (µs), or two
    /// of the peer's round trips if longer, if we have that ACK, its window is open and none
    /// were given for it.
    fn arm_tail(&mut self, now: u64) {
        if self.ack_len > 0 && self.peer_win != 0 && !self.given {
            self.nudge = Some(now + TAIL_US.max(self.rtt.saturating_mul(2)));
            self.copies = TAIL_COPIES;
        }
    }
}

/// The probe of `conn`: its last headers with no data, ACK alone, the sequence number one
/// below the next, lengths and checksums (IPv4 header, TCP) made anew.
fn build(conn: &Conn) -> Vec<u8> {
    let mut f = conn.head[..conn.head_len].to_vec();
    let t = conn.tcp;
    f[t + 4..t + 8].copy_from_slice(&conn.snd_nxt.wrapping_sub(1).to_be_bytes());
    f[t + 13] = ACK;
    f[t + 18..t + 20].copy_from_slice(&[0, 0]);
    f[t + 16..t + 18].copy_from_slice(&[0, 0]);
    let len = f.len();
    let addrs = if conn.ipv6 {
        f[18..20].copy_from_slice(&((len - 54) as u16).to_be_bytes());
        &f[22..54]
    } else {
        f[16..18].copy_from_slice(&((len - 14) as u16).to_be_bytes());
        f[24..26].copy_from_slice(&[0, 0]);
        let ip = !offload::fold(offload::sum(&f[14..t]));
        f[24..26].copy_from_slice(&ip.to_be_bytes());
        &f[26..34]
    };
    let sum = offload::sum(addrs) + u64::from(PROTO_TCP) + (len - t) as u64 + offload::sum(&f[t..]);
    let check = !offload::fold(sum);
    f[t + 16..t + 18].copy_from_slice(&check.to_be_bytes());
    f
}

/// An address as a flow holds it (IPv4 in the first four of sixteen bytes).
pub fn flow_addr(octets: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    let n = octets.len().min(16);
    out[..n].copy_from_slice(&octets[..n]);
    out
}

#[cfg(test)]
mod tests {
    use alloc::vec;
    use alloc::vec::Vec;

    use smoltcp::wire::{
        EthernetFrame, IpAddress, Ipv4Address, Ipv4Packet, Ipv6Address, Ipv6Packet, TcpControl, TcpPacket, TcpRepr,
        TcpSeqNumber,
    };

    use super::*;

    const OURS: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);
    const PEER: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);
    const OURS6: Ipv6Address = Ipv6Address::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 15);
    const PEER6: Ipv6Address = Ipv6Address::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
    const OUR_MAC: [u8; 6] = [2, 0, 0, 0, 0, 15];
    const PEER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];

    /// A segment of ours (`outgoing`, from port 80 to 5000) or the peer's: `seq`, `ack`,
    /// `window`, `payload` bytes, checksums filled in.
    fn segment(
        v6: bool,
        outgoing: bool,
        control: TcpControl,
        seq: u32,
        ack: u32,
        window: u16,
        payload: &[u8],
    ) -> Vec<u8> {
        let (sport, dport) = if outgoing { (80, 5000) } else { (5000, 80) };
        let tcp = TcpRepr {
            src_port: sport,
            dst_port: dport,
            control,
            seq_number: TcpSeqNumber(seq as i32),
            ack_number: Some(TcpSeqNumber(ack as i32)),
            window_len: window,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload,
        };
        let (mut src, mut dst) =
            if v6 { (IpAddress::Ipv6(OURS6), IpAddress::Ipv6(PEER6)) } else { (OURS.into(), PEER.into()) };
        let (mut smac, mut dmac) = (OUR_MAC, PEER_MAC);
        if !outgoing {
            core::mem::swap(&mut src, &mut dst);
            core::mem::swap(&mut smac, &mut dmac);
        }
        crate::tcppeer::emit(smac, dmac, src, dst, &tcp)
    }

    /// Our initial sequence number: the connection's numbers wrap.
    const ISN: u32 = 0xffff_f000;

    /// Our sequence number `n` bytes on.
    fn s(n: u32) -> u32 {
        ISN.wrapping_add(n)
    }
    const PEER_ISN: u32 = 77;

    /// A connection of ours: SYN-ACK, then 5000 bytes in two segments; the peer acknowledges
    /// `acked` of them with `window` at 0 µs.
    fn connection(v6: bool, acked: u32, window: u16) -> Probes {
        connection_nudged(v6, acked, window, false)
    }

    /// [`connection`] with nudges on or off from the start.
    fn connection_nudged(v6: bool, acked: u32, window: u16, nudges: bool) -> Probes {
        let mut p = Probes::new();
        p.nudges = nudges;
        p.sent(&segment(v6, true, TcpControl::Syn, s(0), PEER_ISN + 1, 65535, &[]), 0);
        p.sent(&segment(v6, true, TcpControl::None, s(1), PEER_ISN + 1, 512, &[7; 3000]), 0);
        p.sent(&segment(v6, true, TcpControl::Psh, s(3001), PEER_ISN + 1, 511, &[8; 2000]), 0);
        p.received(&segment(v6, false, TcpControl::None, PEER_ISN + 1, s(1 + acked), window, &[]), 0);
        p
    }

    /// Checks a probe: the last segment's addresses, ports, acknowledgement and window, no
    /// data, ACK alone, sequence number one below our next, valid checksums.
    fn check(v6: bool, f: &[u8]) {
        let (src, dst) = if v6 { (IpAddress::Ipv6(OURS6), IpAddress::Ipv6(PEER6)) } else { (OURS.into(), PEER.into()) };
        let e = EthernetFrame::new_checked(f).unwrap();
        assert_eq!((e.src_addr().0, e.dst_addr().0), (OUR_MAC, PEER_MAC));
        let tcp = if v6 {
            let ip = Ipv6Packet::new_checked(e.payload()).unwrap();
            assert_eq!(ip.payload_len(), 20);
            TcpPacket::new_checked(&e.payload()[40..]).unwrap()
        } else {
            let ip = Ipv4Packet::new_checked(e.payload()).unwrap();
            assert!(ip.verify_checksum(), "IPv4 header checksum");
            assert_eq!(ip.total_len(), 40);
            TcpPacket::new_checked(&e.payload()[20..]).unwrap()
        };
        assert!(tcp.verify_checksum(&src, &dst), "TCP checksum");
        assert_eq!((tcp.src_port(), tcp.dst_port()), (80, 5000));
        assert_eq!(tcp.seq_number(), TcpSeqNumber(s(5000) as i32), "one below our next: {:?}", tcp.seq_number());
        assert_eq!(tcp.ack_number(), TcpSeqNumber((PEER_ISN + 1) as i32));
        assert_eq!(tcp.window_len(), 511, "the window of our last segment");
        assert!(tcp.ack() && !tcp.psh() && !tcp.fin() && !tcp.syn() && !tcp.rst());
        assert!(tcp.payload().is_empty());
    }

    #[test]
    fn a_zero_window_is_probed_after_200_ms_then_at_doubling_gaps() {
        for v6 in [false, true] {
            let mut p = connection(v6, 5000, 0);
            assert_eq!(p.next_due(), Some(FIRST_US));
            assert!(p.next(FIRST_US - 1, |_| true).is_none());
            let probe = p.next(FIRST_US, |_| true).expect("a probe at 200 ms");
            check(v6, &probe);
            assert!(p.next(FIRST_US, |_| true).is_none(), "one probe at a time");
            let mut at = FIRST_US;
            for gap in [400_000, 800_000, 1_600_000] {
                assert_eq!(p.next_due(), Some(at + gap));
                assert!(p.next(at + gap - 1, |_| true).is_none());
                at += gap;
                check(v6, &p.next(at, |_| true).expect("the next probe"));
            }
            // A probe a second late: the next gap counts from when it went.
            check(v6, &p.next(at + 4_200_000, |_| true).unwrap());
            assert_eq!(p.next_due(), Some(at + 4_200_000 + 6_400_000));
            // The peer's answers with window 0 keep the backoff; so does its 0 after a probe.
            p.received(&segment(v6, false, TcpControl::None, PEER_ISN + 1, s(5001), 0, &[]), at + 4_300_000);
            assert_eq!(p.next_due(), Some(at + 4_200_000 + 6_400_000));
            assert_eq!(p.sent, 5);
        }
    }

    #[test]
    fn the_backoff_stops_at_a_minute() {
        let mut p = connection(false, 5000, 0);
        let mut now = 0;
        for _ in 0..20 {
            now = p.next_due().unwrap();
            assert!(p.next(now, |_| true).is_some());
        }
        assert_eq!(p.next_due(), Some(now + LAST_US));
    }

    #[test]
    fn probing_stops_when_the_window_opens_and_starts_anew_when_it_closes() {
        let mut p = connection(false, 5000, 0);
        assert!(p.next(FIRST_US, |_| true).is_some());
        p.received(&segment(false, false, TcpControl::None, PEER_ISN + 1, s(5001), 1, &[]), 300_000);
        assert_eq!(p.next_due(), None);
        assert!(p.next(10_000_000, |_| true).is_none());
        p.received(&segment(false, false, TcpControl::None, PEER_ISN + 1, s(5001), 0, &[]), 500_000);
        assert_eq!(p.next_due(), Some(500_000 + FIRST_US), "the first gap again");
    }

    #[test]
    fn no_probe_with_data_unacknowledged_or_nothing_queued() {
        // Data in flight: smoltcp's retransmission covers it; the timer backs off unprobed.
        let mut p = connection(false, 4999, 0);
        assert!(p.next(FIRST_US, |_| true).is_none());
        assert_eq!(p.next_due(), Some(FIRST_US + 400_000));
        // Nothing queued: the flow asked about is the connection's.
        let mut p = connection(false, 5000, 0);
        let mut asked = Vec::new();
        assert!(p
            .next(FIRST_US, |flow| {
                asked.push(*flow);
                false
            })
            .is_none());
        let ours = (flow_addr(&OURS.octets()), 80, flow_addr(&PEER.octets()), 5000);
        assert_eq!(asked, [ours]);
        assert_eq!(p.next_due(), Some(FIRST_US + 400_000));
        assert!(p.next(FIRST_US + 400_000, |_| true).is_some(), "data queued later is probed");
    }

    #[test]
    fn fins_resets_and_other_connections_end_or_leave_it() {
        let fin = |v6| segment(v6, true, TcpControl::Fin, s(5001), PEER_ISN + 1, 511, &[]);
        let rst = |v6| segment(v6, false, TcpControl::Rst, PEER_ISN + 1, 0, 0, &[]);
        // Our FIN ends the probing; the connection is forgotten when the peer acknowledges it.
        let mut p = connection(false, 5000, 0);
        p.sent(&fin(false), 0);
        assert_eq!(p.next_due(), None);
        p.received(&segment(false, false, TcpControl::None, PEER_ISN + 1, s(5001), 0, &[]), 1);
        assert_eq!(p.next_due(), None, "no probe after our FIN");
        assert_eq!(p.conns.len(), 1);
        p.received(&segment(false, false, TcpControl::None, PEER_ISN + 1, s(5002), 0, &[]), 2);
        assert!(p.conns.is_empty());
        let mut p = connection(false, 5000, 0);
        p.received(&rst(false), 1);
        assert_eq!(p.next_due(), None);
        assert!(p.conns.is_empty());
        // The other address family's connection on the same ports is another one.
        let mut p = connection(false, 5000, 0);
        p.received(&segment(true, false, TcpControl::None, PEER_ISN + 1, s(5001), 1, &[]), 1);
        p.sent(&fin(true), 0);
        assert_eq!(p.next_due(), Some(FIRST_US));
    }

    #[test]
    fn the_least_recently_used_connection_is_forgotten() {
        let mut p = connection(false, 5000, 0);
        for port in 0..CONNS as u16 - 1 {
            let mut syn = segment(false, true, TcpControl::Syn, 1, 1, 100, &[]);
            syn[36..38].copy_from_slice(&(6000 + port).to_be_bytes());
            p.sent(&syn, 0);
        }
        assert_eq!(p.conns.len(), CONNS);
        assert_eq!(p.next_due(), Some(FIRST_US), "still known");
        let mut syn = segment(false, true, TcpControl::Syn, 1, 1, 100, &[]);
        syn[36..38].copy_from_slice(&7000u16.to_be_bytes());
        p.sent(&syn, 0);
        assert_eq!(p.conns.len(), CONNS);
        assert_eq!(p.next_due(), None, "forgotten");
    }

    #[test]
    fn padded_short_and_foreign_frames() {
        // Ethernet padding after a pure ACK is not part of it.
        let mut p = connection(false, 0, 65535);
        let mut padded = segment(false, false, TcpControl::None, PEER_ISN + 1, s(5001), 0, &[]);
        padded.extend_from_slice(&[0; 6]);
        p.received(&padded, 0);
        assert_eq!(p.next_due(), Some(FIRST_US));
        // Cut frames, ARP: nothing happens, nothing panics.
        let whole = segment(false, false, TcpControl::None, PEER_ISN + 1, s(5001), 5, &[1; 10]);
        for len in 0..whole.len() {
            p.received(&whole[..len], 5);
            p.sent(&whole[..len], 0);
        }
        let mut arp = vec![0u8; 42];
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        p.received(&arp, 5);
        p.sent(&arp, 0);
        assert_eq!(p.next_due(), Some(FIRST_US));
        // A peer's window on a connection we never sent on is ignored.
        let mut q = Probes::new();
        q.received(&segment(false, false, TcpControl::None, 1, 1, 0, &[]), 0);
        assert_eq!(q.next_due(), None);
    }

    /// A connection whose peer acknowledged 3000 of our 5000 bytes (window 900) at 0 µs,
    /// with nudges on.
    fn holed() -> (Probes, Vec<u8>) {
        let mut p = connection(false, 3000, 900);
        p.nudges = true;
        (p, segment(false, false, TcpControl::None, PEER_ISN + 1, s(3001), 900, &[]))
    }

    #[test]
    fn a_second_duplicate_ack_goes_to_smoltcp_again_after_50_ms() {
        let (mut p, dup) = holed();
        p.received(&dup, 10);
        assert_eq!(p.next_due(), None, "one duplicate is not enough");
        p.received(&dup, 20);
        assert_eq!(p.next_due(), Some(20 + NUDGE_US));
        assert!(p.next_nudge(20 + NUDGE_US - 1).is_none());
        assert_eq!(p.next_nudge(20 + NUDGE_US), Some((dup.clone(), 1)), "the duplicate itself, once");
        assert!(p.next_nudge(u64::MAX).is_none(), "once");
        assert_eq!(p.next_due(), None);
        assert_eq!(p.nudged, 1);
        // A third duplicate of the peer's own does not start another.
        p.received(&dup, 30);
        assert_eq!(p.next_due(), None);
    }

    #[test]
    fn progress_a_window_change_or_nothing_outstanding_means_no_nudge() {
        let progress = [
            segment(false, false, TcpControl::None, PEER_ISN + 1, s(4001), 900, &[]),
            segment(false, false, TcpControl::None, PEER_ISN + 1, s(3001), 901, &[]),
            segment(false, false, TcpControl::None, PEER_ISN + 1, s(3001), 900, &[1; 10]),
        ];
        for (i, next) in progress.into_iter().enumerate() {
            let (mut p, dup) = holed();
            p.received(&dup, 10);
            p.received(&dup, 20);
            p.received(&next, 30);
            // A pure ACK's progress starts the wait for a lost tail instead; data does not.
            let tail = i < 2;
            assert_eq!(p.next_due(), tail.then_some(30 + TAIL_US));
            assert!(p.next_nudge(30 + TAIL_US - 1).is_none());
            assert_eq!(p.next_nudge(u64::MAX), tail.then(|| (next.clone(), 3)));
            assert_eq!(p.nudged, 0);
        }
        // Everything acknowledged: duplicates are no sign of a hole.
        let mut p = connection(false, 5000, 900);
        p.nudges = true;
        let all = segment(false, false, TcpControl::None, PEER_ISN + 1, s(5001), 900, &[]);
        p.received(&all, 10);
        p.received(&all, 20);
        assert_eq!(p.next_due(), None);
        // Off (over a tap): never.
        let (mut p, dup) = holed();
        p.nudges = false;
        p.received(&dup, 10);
        p.received(&dup, 20);
        assert_eq!(p.next_due(), None);
    }

    #[test]
    fn a_lost_tail_gets_three_copies_of_the_last_ack_after_the_wait() {
        for v6 in [false, true] {
            let mut p = connection_nudged(v6, 3000, 900, true);
            let ack = segment(v6, false, TcpControl::None, PEER_ISN + 1, s(3001), 900, &[]);
            assert_eq!(p.next_due(), Some(TAIL_US));
            assert!(p.next_nudge(TAIL_US - 1).is_none());
            assert_eq!(p.next_nudge(TAIL_US), Some((ack.clone(), 3)), "the peer's ACK itself, three times");
            assert!(p.next_nudge(u64::MAX).is_none(), "once");
            assert_eq!((p.tails, p.nudged), (1, 0));
            // No more for that acknowledgement: neither its duplicates nor another wait.
            p.received(&ack, TAIL_US + 10);
            p.received(&ack, TAIL_US + 20);
            assert_eq!(p.next_due(), None);
            // Progress with data still outstanding: the wait starts anew from it.
            let more = segment(v6, false, TcpControl::None, PEER_ISN + 1, s(4001), 900, &[]);
            p.received(&more, 200_000);
            assert_eq!(p.next_due(), Some(200_000 + TAIL_US));
            p.received(&segment(v6, false, TcpControl::None, PEER_ISN + 1, s(4501), 900, &[]), 240_000);
            assert_eq!(p.next_due(), Some(240_000 + TAIL_US), "each acknowledgement restarts it");
            // Everything acknowledged: none.
            p.received(&segment(v6, false, TcpControl::None, PEER_ISN + 1, s(5001), 900, &[]), 250_000);
            assert_eq!(p.next_due(), None);
        }
    }

    #[test]
    fn no_tail_at_a_zero_window_after_data_or_over_a_tap() {
        // Window 0: the zero-window probe's case.
        let mut p = connection_nudged(false, 3000, 0, true);
        assert_eq!(p.next_due(), Some(FIRST_US));
        assert!(p.next_nudge(u64::MAX).is_none());
        // The peer's last progress carried data: no pure ACK to copy.
        let mut p = connection_nudged(false, 0, 900, true);
        p.received(&segment(false, false, TcpControl::Psh, PEER_ISN + 1, s(3001), 900, &[1; 10]), 5);
        assert_eq!(p.next_due(), None);
        // Nudges off.
        let p = connection_nudged(false, 3000, 900, false);
        assert_eq!(p.next_due(), None);
    }

    #[test]
    fn the_first_data_after_everything_was_acknowledged_starts_the_wait() {
        let mut p = connection_nudged(false, 5000, 900, true);
        let all = segment(false, false, TcpControl::None, PEER_ISN + 1, s(5001), 900, &[]);
        assert_eq!(p.next_due(), None);
        p.sent(&segment(false, true, TcpControl::Psh, s(5001), PEER_ISN + 1, 511, &[9; 100]), 1_000_000);
        assert_eq!(p.next_due(), Some(1_000_000 + TAIL_US));
        p.sent(&segment(false, true, TcpControl::Psh, s(5101), PEER_ISN + 1, 511, &[9; 100]), 1_010_000);
        assert_eq!(p.next_due(), Some(1_010_000 + TAIL_US), "from the last new segment");
        // Sent again: no new data, no new wait.
        p.sent(&segment(false, true, TcpControl::Psh, s(5101), PEER_ISN + 1, 511, &[9; 100]), 1_020_000);
        assert_eq!(p.next_due(), Some(1_010_000 + TAIL_US));
        assert!(p.next_nudge(1_010_000 + TAIL_US - 1).is_none());
        assert_eq!(p.next_nudge(1_010_000 + TAIL_US), Some((all, 3)));
    }

    #[test]
    fn a_distant_peer_waits_two_round_trips() {
        // Our SYN at 0, the peer's SYN-ACK at 80 ms: a round trip of 80 ms.
        let mut p = Probes::new();
        p.nudges = true;
        p.sent(&segment(false, true, TcpControl::Syn, s(0), 0, 65535, &[]), 0);
        p.received(&segment(false, false, TcpControl::Syn, PEER_ISN, s(1), 900, &[]), 80_000);
        p.received(&segment(false, false, TcpControl::None, PEER_ISN + 1, s(1), 900, &[]), 80_000);
        p.sent(&segment(false, true, TcpControl::Psh, s(1), PEER_ISN + 1, 511, &[7; 3000]), 100_000);
        assert_eq!(p.next_due(), Some(100_000 + 160_000));
        // Everything acknowledged 300 ms after it went: the largest round trip counts.
        p.received(&segment(false, false, TcpControl::None, PEER_ISN + 1, s(3001), 900, &[]), 400_000);
        p.sent(&segment(false, true, TcpControl::Psh, s(3001), PEER_ISN + 1, 511, &[7; 100]), 500_000);
        assert_eq!(p.next_due(), Some(500_000 + 600_000));
        // A short one takes an eighth of the difference off.
        p.received(&segment(false, false, TcpControl::None, PEER_ISN + 1, s(3101), 900, &[]), 500_000 + 20_000);
        p.sent(&segment(false, true, TcpControl::Psh, s(3101), PEER_ISN + 1, 511, &[7; 100]), 600_000);
        assert_eq!(p.next_due(), Some(600_000 + 2 * (300_000 - 280_000 / 8)));
        // Near ones wait [`TAIL_US`].
        let mut p = connection_nudged(false, 3000, 900, true);
        p.sent(&segment(false, true, TcpControl::Psh, s(5001), PEER_ISN + 1, 511, &[7; 100]), 10);
        assert_eq!(p.next_due(), Some(10 + TAIL_US));
    }

    #[test]
    fn two_duplicates_turn_the_tail_into_one_copy() {
        let mut p = connection_nudged(false, 3000, 900, true);
        let dup = segment(false, false, TcpControl::None, PEER_ISN + 1, s(3001), 900, &[]);
        p.received(&dup, 10);
        assert_eq!(p.next_due(), Some(TAIL_US), "one duplicate leaves the tail's wait");
        p.received(&dup, 20);
        assert_eq!(p.next_due(), Some(20 + NUDGE_US));
        assert_eq!(p.next_nudge(u64::MAX), Some((dup, 1)));
        assert!(p.next_nudge(u64::MAX).is_none());
        assert_eq!((p.tails, p.nudged), (0, 1));
    }

    #[test]
    fn segments_sent_again_are_counted() {
        let mut p = connection(false, 3000, 900);
        p.sent(&segment(false, true, TcpControl::None, s(3001), PEER_ISN + 1, 511, &[8; 2000]), 0);
        p.sent(&segment(false, true, TcpControl::None, s(5001), PEER_ISN + 1, 511, &[]), 0);
        assert_eq!(p.resent, 1, "the data segment, not the pure ACK");
    }

    #[test]
    fn a_forgotten_connections_segment_is_no_resend() {
        let mut p = Probes::new();
        // More connections than the table keeps, each with data after its SYN-ACK.
        for port in 0..CONNS as u16 + 4 {
            let mut syn = segment(false, true, TcpControl::Syn, s(0), PEER_ISN + 1, 65535, &[]);
            let mut data = segment(false, true, TcpControl::Psh, s(1), PEER_ISN + 1, 512, &[7; 100]);
            for frame in [&mut syn, &mut data] {
                frame[14 + 20..14 + 22].copy_from_slice(&(40000 + port).to_be_bytes());
            }
            p.sent(&syn, 0);
            // The oldest ones' entries went to later connections: their segment makes one anew.
            p.sent(&data, 0);
        }
        // The first connections' next data comes after the table forgot them.
        let mut more = segment(false, true, TcpControl::Psh, s(101), PEER_ISN + 1, 512, &[7; 100]);
        more[14 + 20..14 + 22].copy_from_slice(&40000u16.to_be_bytes());
        p.sent(&more, 0);
        assert_eq!(p.resent, 0);
    }
}
