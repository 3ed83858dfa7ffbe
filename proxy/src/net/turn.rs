//! How long the host peer of a request/response exchange takes to answer: from a small frame the proxy sent until the next small frame it received.
//!
//! On a 2-CPU host the peer's answer is fast (about 8 us) when the host scheduler runs the
//! peer beside the channel's poller and slow (25-60 us) when it runs it beside a spinning
//! vCPU, which must be left first; the scheduler keeps the peer where it last ran for
//! hundreds of milliseconds (ARCHITECTURE.md, "Who gets the host's two CPUs"). The poller
//! asks for a verdict on the last [`SAMPLES`] turnarounds and, when most were slow, trades
//! CPUs with the vCPU (`crate::channel`). Only small frames count: in a stream the
//! turnaround is the host's TCP stack pacing, not the peer's placement.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use hermit_interface::vnet;

/// Frames up to this many bytes (the virtio-net header included) count as a request or
/// an answer.
pub const SMALL: usize = 256;

/// A turnaround longer than this is slow: above the peer's answer beside the poller (about
/// 8 us), below one that waits for a spinning vCPU's CPU (the host takes 10-25 us to
/// switch to a thread woken there).
const SLOW_NS: u64 = 25_000;

/// Turnarounds per verdict.
pub const SAMPLES: u32 = 32;

/// The counters (shared by the threads that send and receive).
pub struct Turnarounds {
    epoch: Instant,
    /// When the last small frame was sent, in nanoseconds after `epoch` (0: none pending).
    sent_at: AtomicU64,
    slow: AtomicU32,
    all: AtomicU32,
    /// The last frame sent was large: the guest streams to the host.
    large_out: AtomicBool,
}

impl Default for Turnarounds {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            sent_at: AtomicU64::new(0),
            slow: AtomicU32::new(0),
            all: AtomicU32::new(0),
            large_out: AtomicBool::new(false),
        }
    }
}

impl Turnarounds {
    fn now(&self) -> u64 {
        (self.epoch.elapsed().as_nanos() as u64).max(1)
    }

    /// Frames were sent: the last of `len` bytes starts a turnaround if it is small, and a
    /// large one cancels the pending one.
    pub fn sent(&self, len: usize) {
        self.large_out.store(len > SMALL, Ordering::Relaxed);
        self.sent_at.store(if len <= SMALL { self.now() } else { 0 }, Ordering::Relaxed);
    }

    /// A frame of `len` bytes was received: a small one ends the pending turnaround, unless
    /// it is a bare TCP acknowledgement (`bare_ack`), which the host's kernel sends at once
    /// without the peer program running: the answer is the next frame.
    pub fn got(&self, len: usize, bare_ack: bool) {
        if bare_ack && len <= SMALL {
            return;
        }
        let sent = self.sent_at.swap(0, Ordering::Relaxed);
        if sent == 0 || len > SMALL {
            return;
        }
        if self.now().saturating_sub(sent) > SLOW_NS {
            self.slow.fetch_add(1, Ordering::Relaxed);
        }
        self.all.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the last frame sent was large: the guest streams to the host (its host
    /// reader's placement is judged by [`super::starve`]).
    pub fn streaming_out(&self) -> bool {
        self.large_out.load(Ordering::Relaxed)
    }

    /// Whether a small frame was sent and its answer has not come yet: the host peer has
    /// to run before anything more happens.
    pub fn awaiting(&self) -> bool {
        self.sent_at.load(Ordering::Relaxed) != 0
    }

    /// Whether the Ethernet frame of `len` bytes whose first bytes are `head` is a TCP
    /// segment (IPv4 or IPv6, found as the offload check finds it: `vnet::locate_l4`) with
    /// no data and none of SYN, FIN or RST: an acknowledgement only.
    pub fn bare_ack(head: &[u8], len: usize) -> bool {
        let Some(l4) = vnet::locate_l4(head, len).filter(|l4| l4.proto == vnet::PROTO_TCP) else { return false };
        let Some(doff) = vnet::tcp_header_len(head, l4.offset) else { return false };
        // FIN 0x01, SYN 0x02, RST 0x04.
        l4.offset + doff == len && head[l4.offset + 13] & 0x07 == 0
    }

    /// After [`SAMPLES`] turnarounds: whether three quarters of them were slow (and a new
    /// count starts); `None` before.
    pub fn verdict(&self) -> Option<bool> {
        let all = self.all.load(Ordering::Relaxed);
        if all < SAMPLES {
            return None;
        }
        let slow = self.slow.swap(0, Ordering::Relaxed);
        self.all.store(0, Ordering::Relaxed);
        Some(u64::from(slow) * 4 >= u64::from(all) * 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_exchanges_are_judged_large_frames_are_not() {
        let t = Turnarounds::default();
        for _ in 0..SAMPLES - 1 {
            t.sent(70);
            t.got(70, false);
        }
        assert_eq!(t.verdict(), None, "too few");
        t.sent(70);
        t.got(70, false);
        assert_eq!(t.verdict(), Some(false), "answered at once");
        // A stream: large frames either way start or end nothing.
        for _ in 0..100 {
            t.sent(65_000);
            std::thread::sleep(std::time::Duration::from_micros(30));
            t.got(70, false);
            t.sent(70);
            t.got(9000, false);
        }
        assert_eq!(t.verdict(), None);
        for _ in 0..SAMPLES {
            t.sent(70);
            std::thread::sleep(std::time::Duration::from_micros(30));
            t.got(70, false);
        }
        assert_eq!(t.verdict(), Some(true), "every answer slow");
        assert!(!t.awaiting(), "answered");
        t.sent(70);
        assert!(t.awaiting(), "a small frame waits for its answer");
        t.got(9000, false);
        assert!(!t.awaiting(), "a large frame ends the wait too");
        t.sent(65_000);
        assert!(!t.awaiting(), "a large frame starts none");
        assert!(t.streaming_out(), "the last frame sent was large");
        assert_eq!(t.verdict(), None, "a new count");
        t.sent(70);
        assert!(!t.streaming_out(), "an acknowledgement or a request is no stream");
        t.got(66, true);
        assert!(t.awaiting(), "a bare acknowledgement is no answer");
        t.got(67, false);
        assert!(!t.awaiting(), "answered");
    }

    #[test]
    fn bare_acks_are_told_from_answers() {
        // Ethernet (IPv4), a 20-byte IP header, a 32-byte TCP header (timestamps).
        let mut f = vec![0u8; 14 + 20 + 32];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&52u16.to_be_bytes());
        f[23] = 6;
        f[14 + 20 + 12] = 8 << 4;
        f[14 + 20 + 13] = 0x10;
        assert!(Turnarounds::bare_ack(&f, f.len()), "ACK only");
        f[14 + 20 + 13] = 0x11;
        assert!(!Turnarounds::bare_ack(&f, f.len()), "FIN");
        f[14 + 20 + 13] = 0x12;
        assert!(!Turnarounds::bare_ack(&f, f.len()), "SYN-ACK");
        f[14 + 20 + 13] = 0x10;
        f[16..18].copy_from_slice(&53u16.to_be_bytes());
        f.push(b'x');
        assert!(!Turnarounds::bare_ack(&f, f.len()), "one byte of data");
        f[23] = 17;
        assert!(!Turnarounds::bare_ack(&f, f.len()), "UDP");
        assert!(!Turnarounds::bare_ack(&f[..20], f.len()), "cut short");
        // IPv6: a 40-byte header, a 20-byte TCP header.
        let mut f = vec![0u8; 14 + 40 + 20];
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        f[14] = 0x60;
        f[18..20].copy_from_slice(&20u16.to_be_bytes());
        f[20] = 6;
        f[14 + 40 + 12] = 5 << 4;
        f[14 + 40 + 13] = 0x10;
        assert!(Turnarounds::bare_ack(&f, f.len()), "IPv6 ACK only");
        f[14 + 40 + 13] = 0x18;
        assert!(Turnarounds::bare_ack(&f, f.len()), "IPv6 ACK with PSH, no data");
        f[14 + 40 + 13] = 0x14;
        assert!(!Turnarounds::bare_ack(&f, f.len()), "IPv6 RST");
        assert!(!Turnarounds::bare_ack(&f[..14 + 40 + 10], f.len()), "TCP header cut short");
    }
}
