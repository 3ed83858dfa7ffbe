//! The host side of the NIC's descriptor rings (`hermit_interface::netring`): the transmit
//! consumer (the fast channel's poller, or a kick) and the receive producer (the network
//! receive thread), both treating every index and length in guest memory as hostile.

use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

use hermit_interface::netring::{control, pending, Layout};
use hermit_interface::vnet;

use crate::guest::{GuestError, GuestRam};

use super::frames::MIN_FRAME;

/// What the rings did, for `HERMIT_VERBOSE`'s summary (and the tests that check that the
/// rings carried the traffic).
#[derive(Debug, Default)]
pub struct RingStats {
    /// Frames taken from the transmit ring by the poller's scans.
    pub tx_polled: AtomicU64,
    /// Frames taken from the transmit ring by kicks.
    pub tx_kicked: AtomicU64,
    /// Kicks.
    pub kicks: AtomicU64,
    /// Transmit entries dropped (too short, or refused by the device).
    pub tx_dropped: AtomicU64,
    /// Frames put into the receive ring.
    pub rx: AtomicU64,
    /// Of these, frames the poller read (the rest: the receive thread).
    pub rx_polled: AtomicU64,
    /// Times the receive thread found frames in the tap because the poller that had taken it
    /// did not read it for a while.
    pub rx_stalls: AtomicU64,
    /// Times the receive ring was full when a frame waited.
    pub rx_full: AtomicU64,
    /// Announcements (the guest had asked for one: `rx_want_signal`).
    pub signals: AtomicU64,
    /// With offloads: frames sent that the host cut into segments (GSO).
    pub tx_gso: AtomicU64,
    /// With offloads: transmit entries dropped for a header the proxy refused (counted in
    /// `tx_dropped` too).
    pub tx_bad_header: AtomicU64,
    /// With offloads: received GSO frames (larger than the MTU).
    pub rx_gso: AtomicU64,
    /// With offloads: received frames with a partial checksum (`NEEDS_CSUM`).
    pub rx_partial: AtomicU64,
}

/// Bytes of a transmit entry the proxy copies (the virtio-net header and room for a frame's
/// Ethernet, IP and TCP headers with options); the rest goes to the device from guest
/// memory.
pub const TX_HEAD: usize = vnet::HDR_LEN + 14 + 60 + 60 + 6;

/// What one [`Ring::fill_rx`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Filled {
    /// Frames published.
    pub got: u32,
    /// The ring filled up (a frame may still wait in the device); otherwise the device had
    /// no frame left.
    pub full: bool,
    /// The guest had asked to be told and was (`announce` was called at least once).
    pub announced: bool,
}

/// One announced ring area.
pub struct Ring {
    ram: GuestRam,
    gpa: u64,
    layout: Layout,
    /// The transmit consumer index: the proxy's own copy (the shared word is only written).
    tx_cons: Mutex<u32>,
    /// The receive producer index, likewise (one thread produces).
    rx_prod: Mutex<u32>,
    /// Frames moved by other threads than the poller (received, or sent by a kick) since
    /// the poller last looked ([`Ring::take_activity`]).
    activity: AtomicU32,
    /// Every frame in both rings is preceded by a virtio-net header (`NETRING_F_VNET_HDR`).
    vnet: bool,
    /// Counters.
    pub stats: RingStats,
}

/// A ring error: the guest broke the protocol.
fn bad(what: String) -> GuestError {
    GuestError::Invalid(format!("bad network ring: {what}"))
}

impl Ring {
    /// Checks an area the guest announced (`NETRING_SETUP`): a valid layout, 4 KiB-aligned,
    /// entirely in guest RAM; `vnet`: frames carry the virtio-net header. The indices start
    /// at 0.
    pub fn new(ram: &GuestRam, gpa: u64, slots: u32, buf: u32, vnet: bool) -> Result<Ring, GuestError> {
        let layout = Layout::new(slots, buf).ok_or_else(|| {
            bad(format!("{slots} entries of {buf} bytes (a power of two of entries, 64-byte buffers)"))
        })?;
        if !gpa.is_multiple_of(hermit_interface::PAGE_SIZE) {
            return Err(bad(format!("area at unaligned address {gpa:#x}")));
        }
        ram.check(gpa, layout.size)?;
        let ring = Ring {
            ram: ram.clone(),
            gpa,
            layout,
            tx_cons: Mutex::new(0),
            rx_prod: Mutex::new(0),
            activity: AtomicU32::new(0),
            vnet,
            stats: RingStats::default(),
        };
        Ok(ring)
    }

    /// Takes the area into use: the shared copies of the proxy's indices start at 0.
    pub fn start(&self) -> Result<(), GuestError> {
        self.word(control::TX_CONS)?.store(0, Ordering::Release);
        self.word(control::RX_PROD)?.store(0, Ordering::Release);
        Ok(())
    }

    /// The guest RAM the area lies in.
    pub fn ram(&self) -> &GuestRam {
        &self.ram
    }

    fn word(&self, offset: u64) -> Result<&AtomicU32, GuestError> {
        self.ram.atomic_u32(self.gpa + offset)
    }

    /// Whether published transmit frames wait (one load; for the poller's scans).
    pub fn tx_waiting(&self) -> bool {
        let Ok(prod) = self.word(control::TX_PROD) else { return false };
        let Ok(cons) = self.tx_cons.try_lock() else { return false };
        prod.load(Ordering::Acquire) != *cons
    }

    /// Sends every frame published in the transmit ring with `send(head, rest, rest_len)`
    /// (false: the device dropped it), in order, storing the consumer index after each; how
    /// many entries were taken. `head` is the entry's first [`TX_HEAD`] bytes (at most),
    /// copied into the proxy: with the virtio-net header ([`Ring::vnet`]) they hold it and
    /// the frame's own headers, checked here ([`vnet::check_tx`]: a frame with a bad header
    /// is dropped and counted, not sent); `rest` is the guest-physical address of the
    /// remaining `rest_len` bytes, which the sender takes straight from guest memory. With
    /// `wait` false (the poller's scans) nothing is done while another thread drains (it
    /// takes what was published before it stops); a kick waits for it.
    pub fn drain_tx(
        &self,
        wait: bool,
        mut send: impl FnMut(&[u8], u64, usize) -> Result<bool, GuestError>,
    ) -> Result<u32, GuestError> {
        let mut cons = if wait {
            self.tx_cons.lock().unwrap_or_else(|e| e.into_inner())
        } else {
            match self.tx_cons.try_lock() {
                Ok(cons) => cons,
                Err(_) => return Ok(0),
            }
        };
        let (prod_word, cons_word) = (self.word(control::TX_PROD)?, self.word(control::TX_CONS)?);
        let slots = self.layout.slots;
        // One pass over what is published now (a guest that keeps publishing cannot hold
        // the thread here; what comes later is taken at the next scan or kick).
        let prod = prod_word.load(Ordering::Acquire);
        let n = pending(prod, *cons, slots).ok_or_else(|| {
            bad(format!("transmit producer index {prod} is not within {slots} entries of the consumer's {}", *cons))
        })?;
        let skip = if self.vnet { vnet::HDR_LEN } else { 0 };
        let mut head = [0u8; TX_HEAD];
        for _ in 0..n {
            let len = self.ram.read::<u32>(self.gpa + self.layout.tx_len_at(*cons))?;
            if len > self.layout.buf {
                return Err(bad(format!("a transmit frame of {len} bytes in a {}-byte buffer", self.layout.buf)));
            }
            let len = len as usize;
            let at = self.gpa + self.layout.tx_buf_at(*cons);
            let h = len.min(TX_HEAD);
            let sent = if len < skip + MIN_FRAME {
                false
            } else {
                self.ram.read_bytes(at, &mut head[..h])?;
                match self.check_header(&head[..h], len) {
                    Ok(gso) => {
                        let sent = send(&head[..h], at + h as u64, len - h)?;
                        if sent && gso {
                            self.stats.tx_gso.fetch_add(1, Ordering::Relaxed);
                        }
                        sent
                    }
                    Err(_) => {
                        self.stats.tx_bad_header.fetch_add(1, Ordering::Relaxed);
                        false
                    }
                }
            };
            if !sent {
                self.stats.tx_dropped.fetch_add(1, Ordering::Relaxed);
            }
            *cons = cons.wrapping_add(1);
            cons_word.store(*cons, Ordering::Release);
        }
        Ok(n)
    }

    /// Checks the virtio-net header at the start of a transmit entry of `len` bytes whose
    /// first bytes are `head` (nothing to check without the header): whether it asks for
    /// segmentation.
    fn check_header(&self, head: &[u8], len: usize) -> Result<bool, vnet::Refusal> {
        if !self.vnet {
            return Ok(false);
        }
        let hdr = vnet::VnetHdr::parse(head).ok_or("no header")?;
        vnet::check_tx(&hdr, &head[vnet::HDR_LEN..], len - vnet::HDR_LEN)?;
        Ok(hdr.gso_type != vnet::GSO_NONE)
    }

    /// Whether every frame carries the virtio-net header (offloads negotiated).
    pub fn vnet(&self) -> bool {
        self.vnet
    }

    /// Counts a received frame's virtio-net header `hdr` (with [`Ring::vnet`]).
    pub fn count_rx_header(&self, hdr: &[u8]) {
        if let Some(hdr) = vnet::VnetHdr::parse(hdr) {
            if hdr.gso_type != vnet::GSO_NONE {
                self.stats.rx_gso.fetch_add(1, Ordering::Relaxed);
            }
            if hdr.flags & vnet::F_NEEDS_CSUM != 0 {
                self.stats.rx_partial.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Counts `frames` moved by another thread than the poller.
    pub fn add_activity(&self, frames: u32) {
        if frames > 0 {
            self.activity.fetch_add(frames, Ordering::Relaxed);
        }
    }

    /// Frames moved by other threads since the last call: the poller counts them as work,
    /// as it counted each batched call (the network is busy, stay on the CPU).
    pub fn take_activity(&self) -> u32 {
        if self.activity.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        self.activity.swap(0, Ordering::Relaxed)
    }

    /// Free receive entries: the guest's consumer index is checked against ours.
    #[cfg(test)]
    pub fn rx_room(&self) -> Result<u32, GuestError> {
        let prod = *self.rx_prod.lock().unwrap_or_else(|e| e.into_inner());
        self.room_after(prod)
    }

    /// Free receive entries after the producer index `prod`.
    fn room_after(&self, prod: u32) -> Result<u32, GuestError> {
        let cons = self.word(control::RX_CONS)?.load(Ordering::Acquire);
        let slots = self.layout.slots;
        let used = pending(prod, cons, slots).ok_or_else(|| {
            bad(format!("receive consumer index {cons} is not within {slots} entries of the producer's {prod}"))
        })?;
        Ok(slots - used)
    }

    /// Fills free receive entries with `receive(buffer address, its size)` (the frame's
    /// length, at most the size, or `None` when none waits), publishing each; as soon as a
    /// published frame finds the guest's request (`rx_want_signal`) it takes it and calls
    /// `announce`, before it reads the next frame (the read that finds the device empty
    /// costs a system call, several microseconds on this host: not on the way to the guest).
    pub fn fill_rx(
        &self,
        mut receive: impl FnMut(u64, u32) -> Result<Option<u32>, GuestError>,
        mut announce: impl FnMut(),
    ) -> Result<Filled, GuestError> {
        // The room is computed under the producer's lock: with two producers (the receive
        // thread and a poller) neither may count entries the other is filling.
        let mut prod = self.rx_prod.lock().unwrap_or_else(|e| e.into_inner());
        let mut room = self.room_after(*prod)?;
        let prod_word = self.word(control::RX_PROD)?;
        let want = self.word(control::RX_WANT_SIGNAL)?;
        let mut filled = Filled::default();
        while room > 0 {
            let Some(len) = receive(self.gpa + self.layout.rx_buf_at(*prod), self.layout.buf)? else { break };
            self.ram.write(self.gpa + self.layout.rx_len_at(*prod), len.min(self.layout.buf))?;
            *prod = prod.wrapping_add(1);
            prod_word.store(*prod, Ordering::Release);
            room -= 1;
            filled.got += 1;
            // Publish, full fence, then look at the guest's request (it stores the request,
            // fences and looks at the producer index): one of the two sees the other.
            fence(Ordering::SeqCst);
            // Every request is answered: a guest that took the first frames of this fill and
            // found the ring empty again asks anew, and without an answer it would not look
            // until the next fill (behind passt, a stream then stalled until passt's
            // retransmission timer: host->guest fell from 45 to 3 MiB/s).
            if want.load(Ordering::SeqCst) != 0 && want.swap(0, Ordering::SeqCst) != 0 {
                filled.announced = true;
                self.stats.signals.fetch_add(1, Ordering::Relaxed);
                announce();
            }
        }
        drop(prod);
        filled.full = room == 0;
        if filled.full {
            self.stats.rx_full.fetch_add(1, Ordering::Relaxed);
        }
        self.stats.rx.fetch_add(u64::from(filled.got), Ordering::Relaxed);
        self.add_activity(filled.got);
        Ok(filled)
    }

    /// One line for `HERMIT_VERBOSE`.
    pub fn summary(&self) -> String {
        let s = &self.stats;
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let offloads = if self.vnet {
            format!(
                "; offloads: {} GSO frames sent, {} bad headers refused, {} GSO frames received, {} with a \
                 partial checksum",
                n(&s.tx_gso),
                n(&s.tx_bad_header),
                n(&s.rx_gso),
                n(&s.rx_partial)
            )
        } else {
            String::new()
        };
        format!(
            "network rings: {} frames sent ({} taken by the poller, {} by {} kicks, {} dropped), {} frames \
             received ({} read by the poller, which stalled {} times; {} times the ring was full), {} \
             announcements{offloads}",
            n(&s.tx_polled) + n(&s.tx_kicked),
            n(&s.tx_polled),
            n(&s.tx_kicked),
            n(&s.kicks),
            n(&s.tx_dropped),
            n(&s.rx),
            n(&s.rx_polled),
            n(&s.rx_stalls),
            n(&s.rx_full),
            n(&s.signals)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hermit_interface::netring::MAX_BUF;

    const RAM: u64 = 16 << 20;
    const AREA: u64 = 0x10_0000;

    fn ram() -> GuestRam {
        GuestRam::new(RAM, false).unwrap()
    }

    /// The whole frame a drain hands over: its head and the rest from guest memory.
    fn whole(ram: &GuestRam, head: &[u8], rest: u64, n: usize) -> Vec<u8> {
        let mut frame = head.to_vec();
        let mut tail = vec![0u8; n];
        ram.read_bytes(rest, &mut tail).unwrap();
        frame.extend(tail);
        frame
    }

    fn publish_tx(ram: &GuestRam, ring: &Ring, index: u32, frame: &[u8]) {
        ram.write(AREA + ring.layout.tx_len_at(index), frame.len() as u32).unwrap();
        ram.write_bytes(AREA + ring.layout.tx_buf_at(index), frame).unwrap();
        ram.atomic_u32(AREA + control::TX_PROD).unwrap().store(index + 1, Ordering::Release);
    }

    #[test]
    fn areas_are_checked() {
        let ram = ram();
        assert!(Ring::new(&ram, AREA, 12, 2048, false).is_err(), "not a power of two");
        assert!(Ring::new(&ram, AREA, 16, 1000, false).is_err(), "buffer too small");
        assert!(Ring::new(&ram, AREA + 64, 16, 2048, false).is_err(), "unaligned");
        assert!(Ring::new(&ram, RAM - 0x1000, 16, 2048, false).is_err(), "outside RAM");
        assert!(Ring::new(&ram, !0xfff, 1024, MAX_BUF, false).is_err(), "wraps");
        let err = Ring::new(&ram, AREA, 12, 2048, false).err().unwrap().to_string();
        assert!(err.starts_with("bad network ring: 12 entries"), "{err}");
        assert!(Ring::new(&ram, AREA, 16, 2048, false).is_ok());
    }

    #[test]
    fn frames_go_out_in_order_and_bad_ones_are_refused() {
        let ram = ram();
        let ring = Ring::new(&ram, AREA, 8, 2048, false).unwrap();
        let mut sent = Vec::new();
        assert_eq!(
            ring.drain_tx(true, |h, rest, n| {
                sent.push(whole(&ram, h, rest, n));
                Ok(true)
            })
            .unwrap(),
            0
        );
        publish_tx(&ram, &ring, 0, &[1; 60]);
        publish_tx(&ram, &ring, 1, &[2; 10]); // too short: dropped, but consumed
        publish_tx(&ram, &ring, 2, &[3; 2048]);
        assert!(ring.tx_waiting());
        assert_eq!(
            ring.drain_tx(false, |h, rest, n| {
                sent.push(whole(&ram, h, rest, n));
                Ok(true)
            })
            .unwrap(),
            3
        );
        assert_eq!(sent, vec![vec![1; 60], vec![3; 2048]]);
        assert_eq!(ram.atomic_u32(AREA + control::TX_CONS).unwrap().load(Ordering::Relaxed), 3);
        assert_eq!(ring.stats.tx_dropped.load(Ordering::Relaxed), 1);
        assert!(!ring.tx_waiting());
        // A length beyond the buffer stops the run.
        ram.write(AREA + ring.layout.tx_len_at(3), 2049u32).unwrap();
        ram.atomic_u32(AREA + control::TX_PROD).unwrap().store(4, Ordering::Release);
        assert!(ring.drain_tx(true, |_, _, _| Ok(true)).is_err());
        // A producer index more than a ring ahead, or behind the consumer, likewise.
        for prod in [3 + 9, 2, u32::MAX] {
            ram.atomic_u32(AREA + control::TX_PROD).unwrap().store(prod, Ordering::Release);
            let err = ring.drain_tx(true, |_, _, _| Ok(true)).unwrap_err().to_string();
            assert!(err.contains("transmit producer index"), "{err}");
        }
    }

    #[test]
    fn received_frames_are_published_and_announced_once_asked() {
        let ram = ram();
        let ring = Ring::new(&ram, AREA, 8, 2048, false).unwrap();
        let mut waiting: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 60 + usize::from(i)]).collect();
        waiting.reverse();
        let mut receive = |addr: u64, cap: u32| -> Result<Option<u32>, GuestError> {
            let Some(f) = waiting.pop() else { return Ok(None) };
            ram.write_bytes(addr, &f[..f.len().min(cap as usize)])?;
            Ok(Some(f.len() as u32))
        };
        // Not asked: published without an announcement; the ring fills at 8.
        let filled = |got, full, announced| Filled { got, full, announced };
        let mut told = 0;
        assert_eq!(ring.fill_rx(&mut receive, || told += 1).unwrap(), filled(8, true, false));
        assert_eq!(ring.rx_room().unwrap(), 0);
        assert_eq!(ram.atomic_u32(AREA + control::RX_PROD).unwrap().load(Ordering::Relaxed), 8);
        assert_eq!(ram.read::<u32>(AREA + ring.layout.rx_len_at(7)).unwrap(), 67);
        // The guest took three and asked to be told: the next frames are announced, once.
        ram.atomic_u32(AREA + control::RX_CONS).unwrap().store(3, Ordering::Release);
        ram.atomic_u32(AREA + control::RX_WANT_SIGNAL).unwrap().store(1, Ordering::SeqCst);
        assert_eq!(ring.fill_rx(&mut receive, || told += 1).unwrap(), filled(2, false, true));
        assert_eq!(told, 1);
        assert_eq!(ram.read::<u32>(AREA + ring.layout.rx_len_at(9)).unwrap(), 69);
        assert_eq!(ram.read::<u8>(AREA + ring.layout.rx_buf_at(8)).unwrap(), 8);
        assert_eq!(ring.fill_rx(&mut receive, || told += 1).unwrap(), filled(0, false, false));
        assert_eq!(told, 1);
        // A consumer index the producer never gave out stops the run.
        for cons in [11, 1, u32::MAX] {
            ram.atomic_u32(AREA + control::RX_CONS).unwrap().store(cons, Ordering::Release);
            let err = ring.fill_rx(&mut receive, || {}).unwrap_err().to_string();
            assert!(err.contains("receive consumer index"), "{err}");
        }
    }

    /// Random hostile control words and lengths: every drain and fill either works within
    /// the ring or fails with a ring error; nothing panics and nothing outside the area is
    /// touched.
    #[test]
    fn hostile_indices_never_panic() {
        let ram = ram();
        let ring = Ring::new(&ram, AREA, 16, 1536, false).unwrap();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let sentinel = AREA + ring.layout.size;
        ram.write(sentinel, 0xdead_beefu32).unwrap();
        for _ in 0..20_000 {
            let r = next();
            let word = [control::TX_PROD, control::RX_CONS, control::RX_WANT_SIGNAL][(r % 3) as usize];
            let value = match (r >> 8) % 4 {
                0 => (r >> 16) as u32,
                1 => (r >> 16) as u32 % 40,
                _ => ram.atomic_u32(AREA + word).unwrap().load(Ordering::Relaxed).wrapping_add((r >> 16) as u32 % 5),
            };
            ram.atomic_u32(AREA + word).unwrap().store(value, Ordering::SeqCst);
            let len_at = AREA + ring.layout.tx_len_at((r >> 40) as u32);
            ram.write(len_at, if r & 0x10 != 0 { (r >> 20) as u32 % 2000 } else { (r >> 20) as u32 }).unwrap();
            let mut sent = 0usize;
            match ring.drain_tx(r & 1 != 0, |h, rest, n| {
                assert!(rest >= AREA + ring.layout.tx_buf && rest + n as u64 <= AREA + ring.layout.rx_buf);
                sent += h.len() + n;
                Ok(true)
            }) {
                Ok(n) => assert!(n <= 16, "{n} entries"),
                Err(e) => assert!(e.to_string().starts_with("bad network ring"), "{e}"),
            }
            let filled = ring.fill_rx(
                |addr, cap| {
                    assert!(addr >= AREA + ring.layout.rx_buf && addr + u64::from(cap) <= sentinel);
                    Ok((r & 0x20 != 0).then_some(60))
                },
                || {},
            );
            if let Err(e) = filled {
                assert!(e.to_string().starts_with("bad network ring"), "{e}");
            }
        }
        assert_eq!(ram.read::<u32>(sentinel).unwrap(), 0xdead_beef);
    }

    /// Offloads on: an entry of a checksum-offload header and a 22-byte IPv4 frame whose
    /// total length (8) matches it is refused and counted (its protocol byte lies past the
    /// copied head: reading it aborted the proxy).
    #[test]
    fn a_frame_cut_before_its_protocol_byte_is_refused() {
        let ram = ram();
        let ring = Ring::new(&ram, AREA, 16, 2048, true).unwrap();
        let hdr = vnet::VnetHdr { flags: vnet::F_NEEDS_CSUM, csum_start: 34, csum_offset: 16, ..Default::default() };
        let mut entry = hdr.to_bytes().to_vec();
        entry.extend_from_slice(&[0; 12]);
        entry.extend_from_slice(&[8, 0, 0x45, 0, 0, 8, 0, 0, 0, 0]);
        assert_eq!(entry.len(), vnet::HDR_LEN + 22);
        publish_tx(&ram, &ring, 0, &entry);
        assert_eq!(ring.drain_tx(true, |_, _, _| panic!("sent")).unwrap(), 1);
        assert_eq!(ring.stats.tx_bad_header.load(Ordering::Relaxed), 1);
    }

    /// Offloads on: random virtio-net headers in front of real frame headers. A frame is
    /// sent only with a header the check accepts (its checksum field and headers inside the
    /// frame), every other is dropped and counted; nothing panics or leaves the area.
    #[test]
    fn hostile_vnet_headers_are_dropped_and_counted() {
        let ram = ram();
        let ring = Ring::new(&ram, AREA, 16, MAX_BUF, true).unwrap();
        let mut x = 0x0123_4567_89ab_cdefu64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut sent, mut published) = (0u64, 0u64);
        for prod in 0..3000u32 {
            let r = next();
            let payload = (r >> 8) as usize % 66_000;
            let len = (vnet::HDR_LEN + 54 + payload).min(MAX_BUF as usize);
            let mut entry = vec![0u8; len];
            // An IPv4 TCP frame whose IP length matches, mostly.
            entry[vnet::HDR_LEN + 12..vnet::HDR_LEN + 14].copy_from_slice(&[8, 0]);
            entry[vnet::HDR_LEN + 14] = 0x45;
            let ip_len = (len - vnet::HDR_LEN - 14 + usize::from(r & 0x100 != 0)) as u16;
            entry[vnet::HDR_LEN + 16..vnet::HDR_LEN + 18].copy_from_slice(&ip_len.to_be_bytes());
            entry[vnet::HDR_LEN + 23] = vnet::PROTO_TCP;
            entry[vnet::HDR_LEN + 46] = if r & 0x8000 != 0 { 5 << 4 } else { (5 + (r >> 30) as u8 % 11) << 4 };
            let mut hdr = vnet::VnetHdr {
                flags: if r & 0x10000 != 0 { vnet::F_NEEDS_CSUM } else { (r >> 40) as u8 % 4 },
                gso_type: if r & 0x20000 != 0 { 1 } else { [0, 1, 3, 4, 0x81][(r >> 44) as usize % 5] },
                hdr_len: if r & 0x200 != 0 { 54 } else { (r >> 48) as u16 },
                gso_size: (r >> 16) as u16 % 10_000,
                csum_start: if r & 0x400 != 0 { 34 } else { (r >> 20) as u16 },
                csum_offset: if r & 0x800 != 0 { 16 } else { (r >> 36) as u16 % 32 },
                num_buffers: u16::from(r & 0x1000 != 0 && r & 0x2000 != 0),
            };
            if r & 0x4000 != 0 {
                hdr = vnet::VnetHdr::default();
            }
            entry[..vnet::HDR_LEN].copy_from_slice(&hdr.to_bytes());
            publish_tx(&ram, &ring, prod, &entry);
            published += 1;
            let drained = ring.drain_tx(r & 1 != 0, |head, rest, n| {
                let frame_len = head.len() + n - vnet::HDR_LEN;
                let h = vnet::VnetHdr::parse(head).unwrap();
                assert_eq!(vnet::check_tx(&h, &head[vnet::HDR_LEN..], frame_len), Ok(()));
                assert!(rest + n as u64 <= AREA + ring.layout.rx_buf);
                sent += 1;
                Ok(true)
            });
            assert_eq!(drained.unwrap(), 1);
        }
        let s = &ring.stats;
        let (dropped, bad) = (s.tx_dropped.load(Ordering::Relaxed), s.tx_bad_header.load(Ordering::Relaxed));
        assert_eq!(sent + dropped, published);
        assert_eq!(dropped, bad, "every drop was a refused header");
        assert!(sent > 100 && bad > 100, "both kinds: {sent} sent, {bad} refused");
        assert!(s.tx_gso.load(Ordering::Relaxed) > 0);
    }
}
