//! A floor under the TCP windows the guest advertises behind passt: below it, zero.
//!
//! passt copies every window the guest advertises onto its host socket
//! (`TCP_WINDOW_CLAMP`), and Linux (6.x) then lowers that socket's `rcv_ssthresh` to it and
//! does not raise it again when the guest's window reopens. After a small window (the guest
//! took a whole window in one poll and its program had not read yet: 33-68 KB seen) the
//! socket offered the host's sender windows below its MSS (65,483 bytes on loopback), which
//! that sender does not fill: it waited for its persist timer, about 205 ms, while passt's
//! queue ran dry (ARCHITECTURE.md, "Host networking", user mode). Linux refuses a clamp of
//! 0, so a zero window leaves the socket as it was. smoltcp has no receiver-side silly
//! window avoidance (RFC 1122, 4.2.3.3), so the device applies it to the frames smoltcp
//! wrote: a non-zero window below [`Floor`]'s bytes goes out as zero (checksum adjusted,
//! RFC 1624), and smoltcp's next window update at or above the floor reopens it. The
//! window field is scaled, so the floor needs each connection's scale, learnt from its SYN
//! or SYN-ACK that we send (an unknown connection is left alone), and only once the
//! connection advertised a window at or above the floor (a socket whose buffer is smaller,
//! `SO_RCVBUF`, never reaches it and is left alone). For at most [`HOLD_US`]
//! in a row: in Debian 12's passt (its source) a zero window with nothing acknowledged
//! counts a retry at each 2 s ACK timeout, and after the last retry passt resets the
//! connection, so a program that reads slowly gets its small windows after that, as before.

use alloc::collections::VecDeque;

use super::offload::{self, Flow};

/// Connections whose window scale is remembered (the oldest is forgotten first).
const SCALES: usize = 64;

/// How long a connection's small windows go out as zero in a row, in microseconds: a bulk
/// receiver's program reads the floor's worth within a millisecond or two.
pub const HOLD_US: u64 = 100_000;

/// What the floor knows of one connection.
#[derive(Clone, Copy)]
struct Conn {
    key: Flow,
    /// Its window scale (from our SYN or SYN-ACK).
    scale: u8,
    /// It advertised a window at or above the floor.
    armed: bool,
    /// Since when (µs) its small windows have gone out as zero, if they do.
    zero_since: Option<u64>,
}

/// The floor and what it knows of the connections.
pub struct Floor {
    /// Windows below this many bytes, other than zero, are advertised as zero.
    bytes: u64,
    /// Our recent connections, newest last.
    conns: VecDeque<Conn>,
    /// Windows advertised as zero instead.
    pub zeroed: u64,
}

/// The TCP segment of an Ethernet frame: where its header starts, its length, and the
/// connection (ours first).
fn segment(frame: &[u8]) -> Option<(usize, usize, Flow)> {
    let (l4, doff, _) = offload::tcp_segment(frame)?;
    Some((l4.offset, doff, offload::flow(frame, &l4, true)))
}

impl Floor {
    /// A floor of `bytes` (0: never rewrites).
    pub fn new(bytes: u64) -> Self {
        Self { bytes, conns: VecDeque::new(), zeroed: 0 }
    }

    /// The floor in bytes (0: off).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Looks at a frame we send at `now` (µs; Ethernet, no virtio-net header): remembers the
    /// window scale of a SYN, and advertises a window below the floor as zero. Every window goes
    /// out a 64th and a unit smaller than smoltcp made it, so that passt never sends past what
    /// smoltcp accepts: passt keeps the window it stored when a new one differs by less than
    /// 1% (`tcp_clamp_window`) and adds it to the newer acknowledgement, up to 1% past our
    /// edge (3,072 bytes in one capture); and smoltcp rounds its free space down to the scale
    /// at each acknowledgement, so the edge it accepts up to moves back by up to 127 bytes
    /// when one leaves before the program reads (43 bytes in another). smoltcp cut the
    /// overhang, and passt resent its whole window at the duplicate ACKs, or, when its fast
    /// retransmit missed them (it compares their window with the stored one), after its 2 s
    /// ACK timeout. True if it set the window of an acknowledgement (its margin includes the
    /// unit [`super::window`] holds back elsewhere); false if it left the frame alone.
    pub fn apply(&mut self, frame: &mut [u8], now: u64) -> bool {
        if self.bytes == 0 {
            return false;
        }
        let Some((tcp, doff, key)) = segment(frame) else { return false };
        let flags = frame[tcp + 13];
        if flags & 0x02 != 0 {
            let scale = offload::tcp_option(frame, tcp, doff, 3, 3).map_or(0, |at| frame[at].min(14));
            self.conns.retain(|c| c.key != key);
            if self.conns.len() == SCALES {
                self.conns.pop_front();
            }
            self.conns.push_back(Conn { key, scale, armed: false, zero_since: None });
            return false;
        }
        // An ACK that is not a reset.
        if flags & 0x14 != 0x10 {
            return false;
        }
        let window = u16::from_be_bytes([frame[tcp + 14], frame[tcp + 15]]);
        if window == 0 {
            return false;
        }
        let Some(conn) = self.conns.iter_mut().rev().find(|c| c.key == key) else { return false };
        // A 64th and a unit less than smoltcp offers ([`Floor::apply`]'s edge rule).
        let offered = window - (window / 64 + 1);
        let sent = if u64::from(offered) << conn.scale >= self.bytes {
            conn.armed = true;
            conn.zero_since = None;
            offered
        } else if !conn.armed || now.saturating_sub(*conn.zero_since.get_or_insert(now)) >= HOLD_US {
            offered
        } else {
            self.zeroed += 1;
            0
        };
        if sent != window {
            let sum = u16::from_be_bytes([frame[tcp + 16], frame[tcp + 17]]);
            frame[tcp + 14..tcp + 16].copy_from_slice(&sent.to_be_bytes());
            frame[tcp + 16..tcp + 18].copy_from_slice(
                &super::offload::adjust(sum, &window.to_be_bytes(), &sent.to_be_bytes()).to_be_bytes(),
            );
        }
        true
    }
}

/// The floor for connections whose receive buffer is `buffer` bytes: a sixteenth of it, at
/// least two of the host's largest loopback segments with room to spare (160 KiB), at most
/// half of it. With a quarter (1 MiB of 4 MiB) passt waited for the program to read that
/// much before it sent more (host -> guest 64 KiB writes 709-915 against 882-1,295 MiB/s
/// with 256 KiB, 6 interleaved pairs at load 4.4-4.6).
pub fn bytes(buffer: usize) -> u64 {
    (buffer as u64 / 16).max(160 << 10).min(buffer as u64 / 2)
}

#[cfg(test)]
mod tests {
    use alloc::vec;
    use alloc::vec::Vec;

    use smoltcp::wire::{IpAddress, Ipv4Address, Ipv6Address, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber};

    use super::*;

    const OURS: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);
    const PASST: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);
    const OURS6: Ipv6Address = Ipv6Address::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 15);
    const PASST6: Ipv6Address = Ipv6Address::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

    /// A segment of ours from port 80 to `to` (`syn` with window scale 7), window `window`.
    fn segment(v6: bool, to: u16, control: TcpControl, syn: bool, window: u16) -> Vec<u8> {
        let tcp = TcpRepr {
            src_port: 80,
            dst_port: to,
            control,
            seq_number: TcpSeqNumber(1),
            ack_number: (!syn).then_some(TcpSeqNumber(7)),
            window_len: window,
            window_scale: syn.then_some(7),
            max_seg_size: syn.then_some(65480),
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: b"data",
        };
        let (src, dst) =
            if v6 { (IpAddress::Ipv6(OURS6), IpAddress::Ipv6(PASST6)) } else { (OURS.into(), PASST.into()) };
        crate::tcppeer::emit([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1], src, dst, &tcp)
    }

    /// The window field of a frame, and whether its TCP checksum holds.
    fn window(frame: &[u8]) -> (u16, bool) {
        let v6 = frame[12..14] == [0x86, 0xdd];
        let (at, src, dst) =
            if v6 { (54, IpAddress::Ipv6(OURS6), IpAddress::Ipv6(PASST6)) } else { (34, OURS.into(), PASST.into()) };
        let tcp = TcpPacket::new_checked(&frame[at..]).unwrap();
        (tcp.window_len(), tcp.verify_checksum(&src, &dst))
    }

    fn window_of(frame: &[u8]) -> u16 {
        window(frame).0
    }

    #[test]
    fn small_windows_go_out_as_zero_with_a_valid_checksum() {
        for v6 in [false, true] {
            let mut floor = Floor::new(1 << 20);
            let mut syn = segment(v6, 5000, TcpControl::Syn, true, 65535);
            floor.apply(&mut syn, 0);
            assert_eq!(window(&syn), (65535, true), "a SYN is left alone");
            let mut small = segment(v6, 5000, TcpControl::None, false, 536);
            floor.apply(&mut small, 0);
            assert_eq!(window(&small), (527, true), "a 64th and a unit less, not zero before the floor");
            let mut open = segment(v6, 5000, TcpControl::None, false, 32767);
            floor.apply(&mut open, 0);
            assert_eq!(window(&open), (32767 - 511 - 1, true));
            // 536 << 7 = 68,608 bytes (seen behind passt), below 1 MiB: zero.
            let mut small = segment(v6, 5000, TcpControl::None, false, 536);
            floor.apply(&mut small, 0);
            assert_eq!(window(&small), (0, true));
            // 8322 units less 131 are 8191 << 7, just below 1 MiB: zero; 8323 less 131 is 1 MiB.
            let mut below = segment(v6, 5000, TcpControl::None, false, 8322);
            floor.apply(&mut below, 0);
            assert_eq!(window(&below), (0, true));
            let mut large = segment(v6, 5000, TcpControl::None, false, 8323);
            floor.apply(&mut large, 0);
            assert_eq!(window(&large), (8192, true));
            assert_eq!(floor.zeroed, 2);
        }
    }

    /// A floor of 1 MiB that knows port 5000's connection (scale 7) at its 4 MiB window.
    fn armed() -> Floor {
        let mut floor = Floor::new(1 << 20);
        floor.apply(&mut segment(false, 5000, TcpControl::Syn, true, 65535), 0);
        floor.apply(&mut segment(false, 5000, TcpControl::None, false, 32767), 0);
        floor
    }

    #[test]
    fn unknown_connections_zero_windows_and_resets_are_left_alone() {
        let mut floor = armed();
        let mut syn = segment(false, 5000, TcpControl::Syn, true, 65535);
        for mut frame in [
            segment(false, 5001, TcpControl::None, false, 536),
            segment(false, 5000, TcpControl::Rst, false, 536),
            segment(false, 5000, TcpControl::None, false, 0),
        ] {
            let before = frame.clone();
            floor.apply(&mut frame, 0);
            assert_eq!(frame, before);
        }
        let mut off = Floor::new(0);
        let mut small = segment(false, 5000, TcpControl::None, false, 1);
        off.apply(&mut syn, 0);
        off.apply(&mut small, 0);
        assert_eq!(window(&small).0, 1, "a floor of 0 never rewrites");
    }

    #[test]
    fn a_new_syn_replaces_the_scale_and_old_connections_are_forgotten() {
        let mut floor = armed();
        let mut again = segment(false, 5000, TcpControl::Syn, true, 65535);
        floor.apply(&mut again, 0);
        let mut small = segment(false, 5000, TcpControl::None, false, 536);
        floor.apply(&mut small, 0);
        assert_eq!(window(&small).0, 527, "a new connection on the same ports starts unarmed");
        floor.apply(&mut segment(false, 5000, TcpControl::None, false, 32767), 0);
        for port in 6000..6000 + SCALES as u16 {
            floor.apply(&mut segment(false, port, TcpControl::Syn, true, 65535), 0);
        }
        let mut small = segment(false, 5000, TcpControl::None, false, 536);
        floor.apply(&mut small, 0);
        assert_eq!(window(&small).0, 536, "forgotten after {SCALES} newer connections");
        assert_eq!(floor.conns.len(), SCALES);
    }

    #[test]
    fn truncated_and_foreign_frames_are_left_alone() {
        let mut floor = Floor::new(1 << 20);
        let syn = segment(false, 5000, TcpControl::Syn, true, 65535);
        for len in 0..syn.len() {
            let mut cut = syn[..len].to_vec();
            floor.apply(&mut cut, 0);
        }
        let mut arp = vec![0u8; 42];
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        floor.apply(&mut arp, 0);
        assert_eq!(arp[12..14], [0x08, 0x06]);
    }

    #[test]
    fn small_windows_pass_after_the_hold_until_one_reaches_the_floor() {
        let mut floor = armed();
        let sent = |floor: &mut Floor, window, now| {
            let mut frame = segment(false, 5000, TcpControl::None, false, window);
            floor.apply(&mut frame, now);
            window_of(&frame)
        };
        assert_eq!(sent(&mut floor, 536, 1_000), 0);
        assert_eq!(sent(&mut floor, 1072, 1_000 + HOLD_US - 1), 0);
        assert_eq!(sent(&mut floor, 1072, 1_000 + HOLD_US), 1055, "a slow reader gets its small windows");
        assert_eq!(sent(&mut floor, 2144, 1_000 + 2 * HOLD_US), 2110);
        assert_eq!(sent(&mut floor, 8323, 1_000 + 2 * HOLD_US), 8192);
        // A window at the floor starts the hold anew.
        assert_eq!(sent(&mut floor, 536, 5 * HOLD_US), 0);
    }

    #[test]
    fn every_window_goes_out_a_64th_and_a_unit_smaller() {
        let mut floor = armed();
        let mut sent = segment(false, 5000, TcpControl::None, false, 32768);
        floor.apply(&mut sent, 0);
        assert_eq!(window(&sent), (32768 - 512 - 1, true));
        // passt keeps a stored window within 1% of the new one: even then its edge (the
        // acknowledgement plus the stored window) stays at or below smoltcp's.
        for w in [1u32, 2, 3, 100, 177, 178, 1000, 32768, 65535] {
            let advertised = w - (w / 64 + 1);
            assert!(advertised * 101 / 100 < w, "{w}: {advertised}");
        }
        let mut unscaled = Floor::new(1 << 20);
        let mut syn = segment(false, 5000, TcpControl::Syn, true, 65535);
        let at = (54..syn.len() - 2).find(|&i| syn[i] == 3 && syn[i + 1] == 3 && syn[i + 2] == 7).unwrap();
        syn[at + 2] = 0;
        unscaled.apply(&mut syn, 0);
        let mut plain = segment(false, 5000, TcpControl::None, false, 600);
        unscaled.apply(&mut plain, 0);
        assert_eq!(window(&plain).0, 600 - 9 - 1, "without a scale in bytes");
    }

    #[test]
    fn the_floor_follows_the_buffer() {
        assert_eq!(bytes(4 << 20), 256 << 10);
        assert_eq!(bytes(1 << 20), 160 << 10);
        assert_eq!(bytes(256 << 10), 128 << 10);
        assert_eq!(Floor::new(bytes(4 << 20)).bytes(), 256 << 10);
    }
}
