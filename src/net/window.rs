//! The TCP receive window the peer sees: one scaling unit below smoltcp's, so that the right edge we advertise never retreats.
//!
//! smoltcp advertises its free receive buffer shifted right by the window scale (5 for a
//! 1 MiB buffer), which rounds it down: while the program does not read, each ACK's right
//! edge (acknowledged sequence plus window) lies anywhere up to 31 bytes below the true
//! edge, so a later ACK can offer less than an earlier one (a shrunk window, which RFC 9293
//! asks receivers not to do). A Linux sender that had already sent up to the earlier edge
//! then holds bytes beyond smoltcp's, which smoltcp drops; once its buffer is full and its
//! window 0, smoltcp takes no segment whose sequence number is not exactly its next
//! expected one, and with a zero window it ignores the acknowledgement and window of every
//! segment it does not take (RFC 9293 asks to accept them). Linux's pure ACKs carry its
//! next sequence number, beyond smoltcp's: a guest whose program waited in `send` for the
//! host's window to open never saw it open, never read, and the connection stalled for good
//! (`net.tap-echo`: 20 of 26 stalls in 2,600 echoes of 10 MiB, each 16 bytes past a
//! 64,240-byte segment's rounding).
//!
//! So every segment we send offers one unit (`1 << scale` bytes) less than smoltcp wrote.
//! The edge the peer learns is then at most the true edge less one unit, and smoltcp's own
//! edge is never more than one unit minus a byte below the true edge, which only grows: the
//! peer never sends beyond smoltcp's window, smoltcp's window never reaches 0 through the
//! peer's data, and the peer's ACKs are always in it. Without knowing the scale of a
//! connection the field is simply decremented (a byte less where there is no scaling).
//! SYN segments (whose window is never scaled) and zero windows are left as they are.

const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// Lowers the window of the TCP segment in the Ethernet `frame` (as smoltcp wrote it) by one
/// unit and adjusts its checksum to match (RFC 1624; a checksum the offloads fill in later is
/// overwritten anyway). Anything else is left alone.
pub fn hold_back_one_unit(frame: &mut [u8]) {
    let Some((l4, _, _)) = super::offload::tcp_segment(frame) else { return };
    let tcp = &mut frame[l4.offset..];
    if tcp[13] & (SYN | RST | ACK) != ACK {
        return;
    }
    let window = u16::from_be_bytes([tcp[14], tcp[15]]);
    if window == 0 {
        return;
    }
    let lower = window - 1;
    tcp[14..16].copy_from_slice(&lower.to_be_bytes());
    let checksum = u16::from_be_bytes([tcp[16], tcp[17]]);
    tcp[16..18]
        .copy_from_slice(&super::offload::adjust(checksum, &window.to_be_bytes(), &lower.to_be_bytes()).to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// An Ethernet frame with an IPv4 TCP segment (flags, window, `payload` bytes), its TCP
    /// checksum computed.
    fn segment(flags: u8, window: u16, payload: usize) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 20 + payload];
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        f[14] = 0x45;
        f[16..18].copy_from_slice(&((20 + 20 + payload) as u16).to_be_bytes());
        f[23] = 6;
        f[26..30].copy_from_slice(&[10, 0, 5, 2]);
        f[30..34].copy_from_slice(&[10, 0, 5, 1]);
        let tcp = 34;
        f[tcp..tcp + 2].copy_from_slice(&7777u16.to_be_bytes());
        f[tcp + 2..tcp + 4].copy_from_slice(&40000u16.to_be_bytes());
        f[tcp + 4..tcp + 8].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        f[tcp + 8..tcp + 12].copy_from_slice(&0x9abc_def0u32.to_be_bytes());
        f[tcp + 12] = 5 << 4;
        f[tcp + 13] = flags;
        f[tcp + 14..tcp + 16].copy_from_slice(&window.to_be_bytes());
        for (i, b) in f[tcp + 20..].iter_mut().enumerate() {
            *b = i as u8;
        }
        let sum = checksum(&f);
        f[tcp + 16..tcp + 18].copy_from_slice(&sum.to_be_bytes());
        f
    }

    /// The TCP checksum of the segment in `f` (its own field counted as 0).
    fn checksum(f: &[u8]) -> u16 {
        let mut seg = f[34..].to_vec();
        seg[16] = 0;
        seg[17] = 0;
        let mut pseudo = Vec::from(&f[26..34]);
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(seg.len() as u16).to_be_bytes());
        pseudo.extend_from_slice(&seg);
        !crate::offload::fold(crate::offload::sum(&pseudo))
    }

    fn window(f: &[u8]) -> u16 {
        u16::from_be_bytes([f[48], f[49]])
    }

    #[test]
    fn acks_offer_one_unit_less_with_a_valid_checksum() {
        for (win, payload) in [(1u16, 0), (2736, 0), (32768, 1000), (u16::MAX, 7), (0x8000, 1)] {
            let mut f = segment(ACK, win, payload);
            hold_back_one_unit(&mut f);
            assert_eq!(window(&f), win - 1);
            assert_eq!(u16::from_be_bytes([f[50], f[51]]), checksum(&f), "window {win}");
        }
    }

    #[test]
    fn syns_resets_zero_windows_and_other_frames_stay() {
        for (flags, win) in [(SYN, 64240), (SYN | ACK, 64240), (RST | ACK, 10), (ACK, 0), (0x18 | RST, 5)] {
            let f = segment(flags, win, 3);
            let mut g = f.clone();
            hold_back_one_unit(&mut g);
            assert_eq!(f, g, "flags {flags:#x}");
        }
        // Not IPv4 TCP, or not a whole packet: nothing is touched.
        let mut udp = segment(ACK, 100, 4);
        udp[23] = 17;
        let before = udp.clone();
        hold_back_one_unit(&mut udp);
        assert_eq!(udp, before);
        let mut cut = segment(ACK, 100, 4);
        cut.truncate(40);
        let before = cut.clone();
        hold_back_one_unit(&mut cut);
        assert_eq!(cut, before);
    }

    /// The edges smoltcp advertises while its buffer fills (no reads), as its ACKs after each
    /// received segment: each at most the true edge, and after holding back one unit no later
    /// edge of smoltcp's is below an earlier one the peer saw.
    #[test]
    fn the_edge_the_peer_sees_never_passes_smoltcps() {
        let (capacity, shift) = (1usize << 20, 5u32);
        let mut used = 0usize;
        let mut ack = 0usize;
        let mut seen_max = 0usize;
        for seg in [64_240usize, 64_240, 20_736, 64_240, 1_024, 64_240, 16, 64_240, 1_448].iter().cycle().take(40) {
            let free = capacity - used;
            let smoltcp_edge = ack + ((free >> shift) << shift);
            assert!(seen_max <= smoltcp_edge, "the peer may have sent past smoltcp's edge");
            let win = (free >> shift) as u16;
            let mut f = segment(ACK, win, 0);
            hold_back_one_unit(&mut f);
            let peer_edge = ack + ((window(&f) as usize) << shift);
            seen_max = seen_max.max(peer_edge);
            // The peer fills what it was offered, no more.
            let take = (*seg).min(seen_max - ack);
            used += take;
            ack += take;
        }
    }
}

/// smoltcp behind the device layer against a peer that sends as Linux does: up to the right
/// edge of the last window it saw, in bursts decided before our ACKs of the burst arrive, and
/// pure ACKs with its next sequence number.
#[cfg(test)]
mod stalls {
    use alloc::vec;
    use alloc::vec::Vec;

    use smoltcp::socket::tcp;

    use crate::tcppeer::{arp_reply, frame, Sent};

    const MSS: usize = 1460;

    /// The guest, with the tap's buffers (1 MiB each way: window scale 5) and no ACK delay.
    struct Guest(crate::tcppeer::Guest);

    impl Guest {
        fn new() -> Self {
            let mut g = crate::tcppeer::Guest::new(1 << 20, 1 << 20);
            g.socket().set_ack_delay(None);
            Self(g)
        }

        /// Takes one frame and polls; time moves 1 ms.
        fn take(&mut self, frame: Vec<u8>) {
            self.0.incoming.lock().unwrap().push_back(frame);
            self.poll();
        }

        fn poll(&mut self) {
            self.0.now += 1;
            self.0.round();
        }

        fn socket(&mut self) -> &mut tcp::Socket<'static> {
            self.0.socket()
        }

        fn sent(&mut self) -> Vec<Sent> {
            self.0.sent()
        }

        /// The peer's SYN as Linux sends it (MSS 1460, window scale 10, window 64240), after
        /// its ARP reply: the guest's SYN-ACK, our next sequence number and the peer's.
        fn accept_linux(&mut self) -> (Sent, u32, u32) {
            self.take(arp_reply());
            let isn = 1_000u32;
            self.take(frame(isn, 0, 0x02, 64240, &[2, 4, 5, 180, 1, 3, 3, 10], &[]));
            let synack = self.sent().into_iter().find(|s| s.flags & 0x12 == 0x12).expect("a SYN-ACK");
            let ours = synack.seq.wrapping_add(1);
            (synack, ours, isn.wrapping_add(1))
        }
    }

    /// The guest's program sends (its data waits for the peer's window) and does not read;
    /// the peer fills the guest's window, then opens its own. The guest must send then.
    #[test]
    fn the_peers_window_update_is_heard_when_ours_is_full() {
        let mut g = Guest::new();
        let (synack, ours, mut snd_nxt) = g.accept_linux();
        let shift = synack.options.windows(3).find(|o| o[0] == 3 && o[1] == 3).map(|o| o[2]).expect("window scale");
        assert_eq!(shift, 5);
        // The peer's receive window is full (its program lags): the guest's data waits.
        g.take(frame(snd_nxt, ours, 0x10, 0, &[], &[]));
        assert_eq!(g.socket().send_slice(&[7u8; 65536]), Ok(65536));
        g.poll();
        g.sent();
        // The peer sends up to the edge of the last window it saw; the guest's ACKs of a
        // burst reach it after the burst.
        let mut edge = snd_nxt.wrapping_add(u32::from(synack.window));
        let mut rcv_nxt_seen = snd_nxt;
        for _ in 0..10_000 {
            let room = edge.wrapping_sub(snd_nxt) as i32;
            if room <= 0 {
                break;
            }
            let mut left = room as usize;
            while left > 0 {
                let n = left.min(MSS);
                g.take(frame(snd_nxt, ours, 0x10, 0, &[], &vec![1u8; n]));
                snd_nxt = snd_nxt.wrapping_add(n as u32);
                left -= n;
            }
            for Sent { ack, flags, window: win, len, .. } in g.sent() {
                assert_eq!(flags & 0x07, 0, "no SYN, FIN or RST");
                assert_eq!(len, 0, "the guest has no window of the peer's to send in");
                rcv_nxt_seen = ack;
                edge = ack.wrapping_add(u32::from(win) << shift);
            }
        }
        assert!(g.socket().recv_queue() > (1 << 20) - 64, "the peer filled the guest's buffer");
        // Now the peer's program reads: a pure ACK with the peer's next sequence number opens
        // its window (Linux's window update).
        g.take(frame(snd_nxt, ours, 0x10, 2000, &[], &[]));
        let data: usize = g.sent().iter().map(|s| s.len).sum();
        assert!(
            data > 0,
            "the guest ignored the peer's window update (peer sent up to {snd_nxt}, the guest acknowledged {rcv_nxt_seen})"
        );
    }

    /// The peer's FIN came while the guest's program still had data to send, and the program
    /// closed its socket: the FIN waits for the data ([`crate::pool::close`]), so that the
    /// peer's window update is heard (in `LAST_ACK` smoltcp 0.13.1 ignores it).
    #[test]
    fn a_window_update_after_the_peers_fin_is_heard() {
        let mut g = Guest::new();
        let (_, ours, mut snd_nxt) = g.accept_linux();
        // The peer's window is 0; the program's data waits; the peer sends data and its FIN.
        g.take(frame(snd_nxt, ours, 0x10, 0, &[], &[]));
        assert_eq!(g.socket().send_slice(&[7u8; 4000]), Ok(4000));
        g.take(frame(snd_nxt, ours, 0x19, 0, &[], &[1u8; 1000]));
        snd_nxt = snd_nxt.wrapping_add(1001);
        let mut buf = [0u8; 2000];
        assert_eq!(g.socket().recv_slice(&mut buf), Ok(1000));
        crate::pool::close(g.socket());
        g.poll();
        g.sent();
        // The peer's program reads: its window opens with a pure ACK.
        g.take(frame(snd_nxt, ours, 0x10, 2000, &[], &[]));
        let mut sent: usize = g.sent().iter().map(|s| s.len).sum();
        assert!(sent > 0, "the guest sends its data at the peer's window update");
        // The peer acknowledges what comes (Nagle holds the last part until then); once the
        // data is out the FIN follows (as `Pool::reap` does it).
        let mut fin = false;
        for _ in 0..4 {
            g.take(frame(snd_nxt, ours.wrapping_add(sent as u32), 0x10, 2000, &[], &[]));
            crate::pool::close(g.socket());
            g.poll();
            for Sent { flags, len, .. } in g.sent() {
                sent += len;
                fin |= flags & 0x01 != 0;
            }
        }
        assert_eq!(sent, 4000);
        assert_eq!(g.socket().state(), tcp::State::LastAck);
        assert!(fin, "our FIN");
    }
}
