//! Host test of the device layer's zero-window probes and copies of the peer's ACKs (`net/probe.rs`) with smoltcp behind it, in simulated time.
//!
//! The peer acts as Debian 12's passt: it acknowledges everything with a window of 0, sends
//! no window update when its buffer drains and answers the guest's next segment with its
//! window then; or it drops what follows a hole and sends two duplicate ACKs, then nothing;
//! or it drops the tail of what the guest sent and sends nothing more.
//! Each test also runs without the device's help, where smoltcp waits its 1 s.

use alloc::vec;
use alloc::vec::Vec;

use crate::tcppeer::{arp_reply, frame as peer_frame, Guest, Sent};

/// A segment of the peer's without data.
fn frame(seq: u32, ack: u32, flags: u8, window: u16, options: &[u8]) -> Vec<u8> {
    peer_frame(seq, ack, flags, window, options, &[])
}

/// The guest, with the device's help (`nudges` behind passt, and the probes) or without.
fn guest(help: bool) -> Guest {
    let mut g = Guest::new(65536, 1 << 20);
    g.probes = help;
    g.device.probes.nudges = help;
    g
}

/// Takes `frames` and polls once at the current time.
fn poll(g: &mut Guest, frames: Vec<Vec<u8>>) {
    g.incoming.lock().unwrap().extend(frames);
    g.round();
}

/// The handshake with the peer's window `window` (no scaling, MSS 1460) and 256 KiB queued
/// by the guest's program: our next sequence number and the peer's.
fn connect(g: &mut Guest, window: u16) -> (u32, u32) {
    connect_queued(g, window, 256 << 10)
}

/// [`connect`] with `queued` bytes queued by the guest's program.
fn connect_queued(g: &mut Guest, window: u16, queued: usize) -> (u32, u32) {
    poll(g, vec![arp_reply()]);
    let isn = 1_000u32;
    poll(g, vec![frame(isn, 0, 0x02, window, &[2, 4, 0x05, 0xb4, 1, 3, 3, 0])]);
    let synack = g.sent().into_iter().find(|s| s.flags & 0x12 == 0x12).expect("a SYN-ACK");
    let ours = synack.seq.wrapping_add(1);
    let rcv = isn.wrapping_add(1);
    poll(g, vec![frame(rcv, ours, 0x10, window, &[])]);
    assert_eq!(g.socket().send_slice(&vec![5u8; queued]), Ok(queued));
    (ours, rcv)
}

/// How long (ms, up to 3 s) until the guest sends the segment at `hole` again.
fn resent_after(g: &mut Guest, hole: u32) -> Option<i64> {
    let at = g.now;
    for _ in 0..3000 {
        g.now += 1;
        poll(g, vec![]);
        if g.sent().iter().any(|s| s.seq == hole && s.len > 0) {
            return Some(g.now - at);
        }
    }
    None
}

/// Runs a stream through a hole: the peer takes the first 10 segments and acknowledges
/// them, drops the rest (its socket was full) and sends two duplicate ACKs, then nothing
/// (as passt). Returns when (ms) the guest sent the lost segment again.
fn hole(nudges: bool) -> Option<i64> {
    let mut g = guest(nudges);
    let (ours, rcv) = connect(&mut g, 30_000);
    g.now += 1;
    poll(&mut g, vec![]);
    let burst = g.sent();
    assert!(burst.iter().filter(|s| s.len > 0).count() > 12, "a window's worth sent");
    let hole = ours.wrapping_add(10 * 1460);
    let ack = frame(rcv, hole, 0x10, 30_000, &[]);
    poll(&mut g, vec![ack.clone(), ack.clone(), ack]);
    resent_after(&mut g, hole)
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
    let mut g = guest(nudges);
    let (ours, rcv) = connect_queued(&mut g, 65535, 20 * 1460);
    if fin {
        g.socket().close();
    }
    g.now += 1;
    poll(&mut g, vec![]);
    let burst = g.sent();
    assert_eq!(burst.iter().map(|s| s.len).sum::<usize>(), 20 * 1460, "everything sent");
    assert_eq!(burst.iter().any(|s| s.flags & 0x01 != 0), fin, "our FIN with it");
    let hole = ours.wrapping_add(10 * 1460);
    poll(&mut g, vec![frame(rcv, hole, 0x10, 65535, &[])]);
    resent_after(&mut g, hole)
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
    let mut g = guest(probes);
    let (ours, rcv) = connect(&mut g, 65535);
    // The peer takes what comes, up to 64 KiB, acknowledging each segment with what is
    // left of its 64 KiB buffer: 0 at the end.
    let mut taken = 0u32;
    for _ in 0..200 {
        g.now += 1;
        poll(&mut g, vec![]);
        let acks: Vec<_> = g
            .sent()
            .into_iter()
            .filter(|s| s.len > 0)
            .map(|s| {
                taken = s.seq.wrapping_add(s.len as u32).wrapping_sub(ours);
                frame(rcv, ours.wrapping_add(taken), 0x10, (65535 - taken.min(65535)) as u16, &[])
            })
            .collect();
        poll(&mut g, acks);
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
        poll(&mut g, vec![]);
        let drained = g.now - zero_at >= 60;
        let mut answer = None;
        for Sent { seq, flags, len, .. } in g.sent() {
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
            poll(&mut g, vec![answer]);
            assert!(g.sent().iter().any(|s| s.len > 0), "the guest sends at the open window");
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
