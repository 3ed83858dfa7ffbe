//! Fuzz target: the NIC's descriptor rings (`net::ring::Ring`) against a hostile guest.
//!
//! Each input announces a ring area (good or bad address, entry count and buffer size, with
//! or without the virtio-net header), then runs a sequence of guest actions: publish a
//! transmit entry (raw bytes, or an IPv4/IPv6 TCP frame with a header that is often nearly
//! right), set a control word to any value, drain the transmit ring, fill the receive ring.
//! While the proxy sends an entry, the guest writes over it (its header, its length and the
//! producer index), as another vCPU could. Properties: `Ring::new` accepts exactly the areas
//! the protocol allows; drains and fills either work or fail with a ring error, never panic;
//! each drain takes at most one ring of entries; what is handed to the device lies in the
//! entry's buffer, its head is at most `TX_HEAD` bytes and, with the header, passes the check
//! as handed over (the copy, not guest memory read again); receive buffers lie in the
//! receive ring; the guard pages around the area are never written.

use arbitrary::{Arbitrary, Unstructured};
use hermit_interface::netring::{control, Layout, MAX_BUF, MAX_SLOTS, MIN_BUF, MIN_SLOTS};
use hermit_interface::vnet;
use hermit_interface::PAGE_SIZE;

use super::engine::{self, signature, Failure, Target};
use crate::guest::GuestRam;
use crate::net::ring::{Ring, TX_HEAD};

const RAM: u64 = 16 << 20;
/// Where a well-placed area goes; a guard page lies below it and after its end.
const AREA: u64 = 0x10_0000;
/// The guard pattern.
const GUARD: u8 = 0xa5;

#[derive(Arbitrary, Debug)]
enum Gpa {
    Good,
    Unaligned(u16),
    NearEnd(u8),
    Raw(u64),
}

#[derive(Arbitrary, Debug)]
enum Slots {
    Good(u8),
    Raw(u32),
}

#[derive(Arbitrary, Debug)]
enum Buf {
    Min,
    Max,
    Good(u8),
    Raw(u32),
}

/// A frame's first bytes.
#[derive(Arbitrary, Debug)]
enum Frame {
    /// Any bytes.
    Raw(Vec<u8>),
    /// A TCP segment over IPv4 (`ipv6` false) or IPv6 of `payload` bytes, `doff` the TCP
    /// data offset in words.
    Tcp { ipv6: bool, payload: u16, ip_len: IpLen, ihl: u8, doff: u8 },
}

/// The IP length field.
#[derive(Arbitrary, Debug)]
enum IpLen {
    /// The packet's.
    Match,
    /// The packet's plus this.
    Off(i8),
    /// A small value, whatever the packet.
    Raw(u8),
}

#[derive(Arbitrary, Debug)]
enum Len {
    /// The frame as built (with the header, if any); twice as likely.
    Built,
    Built2,
    /// A small length.
    Small(u8),
    /// Any length one time in eight (it stops the ring for good), else one that fits the
    /// buffer.
    Raw(u32),
    /// The Ethernet header plus the IP length field (and the virtio-net header, if any):
    /// the frame cut or padded to what its IP header says.
    FromIp,
}

/// A virtio-net header: none at all, one that fits the frame (checksum offload, maybe
/// GSO) with a field changed, or raw bytes.
#[derive(Arbitrary, Debug)]
enum Hdr {
    Zero,
    Fitting { gso: bool, gso_size: u16, tweak: u8, value: u16 },
    Raw([u8; vnet::HDR_LEN]),
}

#[derive(Arbitrary, Debug)]
enum Word {
    TxProd,
    RxCons,
    RxWant,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// Publishes an entry at the guest's producer index (and moves it on).
    Tx { hdr: Hdr, frame: Frame, len: Len },
    /// Sets a control word: to any `value` one time in eight (by `how`), else to its value
    /// plus `value % 4`.
    Set { word: Word, how: u8, value: u32 },
    /// Drains the transmit ring; `race` (one time in four) makes the guest write over the
    /// entry while it is sent; `wait` as a kick.
    Drain { wait: bool, race: u8 },
    /// Fills the receive ring with up to `frames` frames of `len` bytes.
    Fill { frames: u8, len: u32 },
}

/// The area; the rest of the input is the guest's actions, one per [`OP_BYTES`] bytes.
#[derive(Arbitrary, Debug)]
struct Input {
    gpa: Gpa,
    slots: Slots,
    buf: Buf,
    vnet: bool,
}

/// Input bytes per action (the last may be shorter: `arbitrary` fills in zeros).
const OP_BYTES: usize = 48;

/// The state of the target: 16 MiB of guest RAM, and counts of what was sent.
pub struct Harness {
    ram: GuestRam,
    /// Entries handed to the device, and of these entries whose header asks for an offload.
    sent: u64,
    offloads: u64,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

/// The bytes of `frame` (with `hdr` in front when `with_hdr`).
fn build(hdr: &Hdr, frame: &Frame, with_hdr: bool) -> Vec<u8> {
    let mut f = match frame {
        Frame::Raw(bytes) => bytes.iter().copied().take(200).collect(),
        Frame::Tcp { ipv6, payload, ip_len: field, ihl, doff } => {
            // Mostly a frame that fits the smallest buffer.
            let payload = usize::from(if *payload & 0x8000 == 0 { *payload % 1400 } else { *payload % 9000 });
            let doff = usize::from(5 + doff % 11);
            let (ip_hdr, ethertype) = if *ipv6 { (40, [0x86, 0xdd]) } else { (4 * usize::from(5 + ihl % 3), [8, 0]) };
            let mut f = vec![0u8; 14 + ip_hdr + 4 * doff + payload];
            f[12..14].copy_from_slice(&ethertype);
            let ip_len = if *ipv6 { 4 * doff + payload } else { ip_hdr + 4 * doff + payload };
            let ip_len = match field {
                IpLen::Match => ip_len as u16,
                IpLen::Off(off) => (ip_len as i64 + i64::from(*off)) as u16,
                IpLen::Raw(v) => u16::from(*v),
            };
            if *ipv6 {
                f[14] = 0x60;
                f[18..20].copy_from_slice(&ip_len.to_be_bytes());
                f[20] = vnet::PROTO_TCP;
            } else {
                f[14] = 0x40 | (ip_hdr / 4) as u8;
                f[16..18].copy_from_slice(&ip_len.to_be_bytes());
                f[23] = vnet::PROTO_TCP;
            }
            f[14 + ip_hdr + 12] = (doff as u8) << 4;
            f
        }
    };
    if !with_hdr {
        return f;
    }
    let h = match hdr {
        Hdr::Zero => [0; vnet::HDR_LEN],
        Hdr::Raw(bytes) => *bytes,
        Hdr::Fitting { gso, gso_size, tweak, value } => {
            let l4 = vnet::locate_l4(&f, f.len());
            let offset = l4.map_or(34, |l| l.offset);
            let doff = l4.and_then(|l| vnet::tcp_header_len(&f, l.offset)).unwrap_or(20);
            let ipv6 = l4.is_some_and(|l| l.ipv6);
            let mut h = vnet::VnetHdr {
                flags: vnet::F_NEEDS_CSUM,
                csum_start: offset as u16,
                csum_offset: 16,
                ..Default::default()
            };
            if *gso {
                h.gso_type = if ipv6 { vnet::GSO_TCPV6 } else { vnet::GSO_TCPV4 };
                h.hdr_len = (offset + doff) as u16;
                h.gso_size = *gso_size;
            }
            match tweak % 16 {
                0 => h.flags = *value as u8,
                1 => h.gso_type = *value as u8,
                2 => h.hdr_len = *value,
                3 => h.csum_start = *value,
                4 => h.csum_offset = *value,
                5 => h.num_buffers = *value,
                _ => {}
            }
            h.to_bytes()
        }
    };
    let mut out = h.to_vec();
    out.append(&mut f);
    out
}

impl Harness {
    /// A fresh harness.
    pub fn new() -> Self {
        Self { ram: GuestRam::new(RAM, false).expect("guest RAM for the harness"), sent: 0, offloads: 0 }
    }

    fn word(&self, gpa: u64, offset: u64) -> &std::sync::atomic::AtomicU32 {
        self.ram.atomic_u32(gpa + offset).expect("a control word of an accepted area")
    }

    /// Runs one input.
    pub fn exec(&mut self, data: &[u8]) -> Result<u64, Failure> {
        use std::sync::atomic::Ordering::SeqCst;
        let mut u = Unstructured::new(data);
        let Ok(input) = Input::arbitrary(&mut u) else { return Ok(0) };
        let ops: Vec<Op> =
            u.take_rest().chunks(OP_BYTES).filter_map(|c| Op::arbitrary(&mut Unstructured::new(c)).ok()).collect();
        let gpa = match input.gpa {
            Gpa::Good => AREA,
            Gpa::Unaligned(n) => AREA + 1 + u64::from(n % 4095),
            Gpa::NearEnd(n) => RAM.wrapping_sub(PAGE_SIZE * u64::from(n % 64)),
            Gpa::Raw(a) => a,
        };
        let slots = match input.slots {
            Slots::Good(n) => MIN_SLOTS << (n % 4),
            Slots::Raw(n) => n,
        };
        let buf = match input.buf {
            Buf::Min => MIN_BUF,
            Buf::Max => MAX_BUF,
            Buf::Good(n) => MIN_BUF + 64 * u32::from(n),
            Buf::Raw(n) => n,
        };
        let layout = Layout::new(slots, buf);
        let fits = layout
            .is_some_and(|l| gpa.is_multiple_of(PAGE_SIZE) && gpa.checked_add(l.size).is_some_and(|end| end <= RAM));
        let ring = match (Ring::new(&self.ram, gpa, slots, buf, input.vnet), fits) {
            (Ok(ring), true) => ring,
            (Err(_), false) => return Ok(signature(("refused", layout.is_some(), gpa % PAGE_SIZE == 0))),
            (Ok(_), false) => return Err(format!("Ring::new accepted an impossible area: {gpa:#x}, {slots} x {buf}")),
            (Err(e), true) => return Err(format!("Ring::new refused a good area {gpa:#x}, {slots} x {buf}: {e}")),
        };
        let layout = layout.expect("checked");
        // Only areas small enough to guard and clear (every accepted one below 9 MiB).
        if slots > 64 || gpa < PAGE_SIZE || gpa + layout.size + PAGE_SIZE > RAM {
            return Ok(signature("large"));
        }
        let (below, above) = (gpa - PAGE_SIZE, gpa + layout.size);
        for page in [below, above] {
            self.ram.write_bytes(page, &[GUARD; PAGE_SIZE as usize]).map_err(|e| e.to_string())?;
        }
        ring.start().map_err(|e| format!("start: {e}"))?;
        let mut seen = Vec::new();
        let mut prod = 0u32;
        for op in ops.iter().take(64) {
            match op {
                Op::Tx { hdr, frame, len } => {
                    let entry = build(hdr, frame, input.vnet);
                    let n = entry.len().min(buf as usize);
                    let len = match len {
                        Len::Built | Len::Built2 => n as u32,
                        Len::Small(s) => u32::from(*s),
                        Len::Raw(r) if r % 8 == 0 => *r,
                        Len::Raw(r) => r % (buf + 1),
                        Len::FromIp => {
                            let at = if input.vnet { vnet::HDR_LEN } else { 0 } + 12;
                            let be = |i: usize| u32::from(u16::from_be_bytes([entry[i], entry[i + 1]]));
                            let ip = match entry.get(at..at + 2).map(|_| be(at)) {
                                Some(0x0800) if entry.len() >= at + 6 => be(at + 4),
                                Some(0x86dd) if entry.len() >= at + 8 => 40 + be(at + 6),
                                _ => 0,
                            };
                            (at + 2) as u32 + ip
                        }
                    };
                    let at = gpa + layout.tx_buf_at(prod);
                    self.ram.write_bytes(at, &entry[..n]).map_err(|e| e.to_string())?;
                    self.ram.write(gpa + layout.tx_len_at(prod), len).map_err(|e| e.to_string())?;
                    prod = prod.wrapping_add(1);
                    self.word(gpa, control::TX_PROD).store(prod, SeqCst);
                    seen.push(0u8);
                }
                Op::Set { word, how, value } => {
                    let offset = match word {
                        Word::TxProd => control::TX_PROD,
                        Word::RxCons => control::RX_CONS,
                        Word::RxWant => control::RX_WANT_SIGNAL,
                    };
                    let w = self.word(gpa, offset);
                    let v = if how % 8 != 0 { w.load(SeqCst).wrapping_add(*value % 4) } else { *value };
                    w.store(v, SeqCst);
                    if matches!(word, Word::TxProd) {
                        prod = v;
                    }
                    seen.push(1);
                }
                Op::Drain { wait, race } => {
                    let mut bad = None;
                    let (sent, offloads) = (&mut self.sent, &mut self.offloads);
                    let ram = &self.ram;
                    let result = ring.drain_tx(*wait, |head, rest, rest_len| {
                        *sent += 1;
                        let len = head.len() + rest_len;
                        // The entry's buffer: `rest` follows the head in one of them.
                        let off = rest.wrapping_sub(head.len() as u64).wrapping_sub(gpa + layout.tx_buf);
                        let index = (off / u64::from(buf)) as u32;
                        let buf_at = gpa + layout.tx_buf_at(index);
                        if head.len() > TX_HEAD || head.len() < len.min(TX_HEAD) {
                            bad = Some(format!("a head of {} bytes of a {len}-byte entry", head.len()));
                        } else if off % u64::from(buf) != 0 || index >= slots || len > buf as usize {
                            bad = Some(format!("{rest_len} bytes at {rest:#x} after a head of {}", head.len()));
                        } else if input.vnet {
                            let h = vnet::VnetHdr::parse(head);
                            let ok = h.is_some_and(|h| {
                                vnet::check_tx(&h, &head[vnet::HDR_LEN..], len - vnet::HDR_LEN).is_ok()
                            });
                            if !ok {
                                bad = Some(format!("entry {index}: a refused header was sent: {h:?}"));
                            }
                            *offloads += u64::from(head[0] != 0);
                        }
                        if race % 4 == 0 {
                            // The guest writes over what was taken: the header, the length
                            // and the producer index.
                            let _ = ram.write_bytes(buf_at, &[0xff; 40]);
                            let _ = ram.write(gpa + layout.tx_len_at(index), u32::MAX);
                            if let Ok(w) = ram.atomic_u32(gpa + control::TX_PROD) {
                                w.fetch_add(1000, SeqCst);
                            }
                        }
                        Ok(rest_len % 3 != 0)
                    });
                    if let Some(bad) = bad {
                        return Err(format!("drain: {bad}"));
                    }
                    match result {
                        Ok(n) if n > slots => return Err(format!("drain: {n} entries from a ring of {slots}")),
                        Ok(n) => seen.push(2 + u8::from(n > 0)),
                        Err(e) if e.to_string().starts_with("bad network ring") => seen.push(4),
                        Err(e) => return Err(format!("drain: an error that is no ring error: {e}")),
                    }
                }
                Op::Fill { frames, len } => {
                    let mut left = *frames % 70;
                    let mut bad = None;
                    let result = ring.fill_rx(
                        |addr, cap| {
                            let lo = gpa + layout.rx_buf;
                            if cap != buf || addr < lo || addr + u64::from(cap) > gpa + layout.size {
                                bad = Some(format!("a receive buffer of {cap} bytes at {addr:#x}"));
                            }
                            if left == 0 {
                                return Ok(None);
                            }
                            left -= 1;
                            Ok(Some(*len))
                        },
                        || {},
                    );
                    if let Some(bad) = bad {
                        return Err(format!("fill: {bad}"));
                    }
                    match result {
                        Ok(f) if f.got > slots => return Err(format!("fill: {} frames into {slots} entries", f.got)),
                        Ok(f) => seen.push(5 + u8::from(f.full)),
                        Err(e) if e.to_string().starts_with("bad network ring") => seen.push(7),
                        Err(e) => return Err(format!("fill: an error that is no ring error: {e}")),
                    }
                }
            }
        }
        for page in [below, above] {
            let mut bytes = [0u8; PAGE_SIZE as usize];
            self.ram.read_bytes(page, &mut bytes).map_err(|e| e.to_string())?;
            if let Some(i) = bytes.iter().position(|b| *b != GUARD) {
                return Err(format!("guard written: {:#x}", page + i as u64));
            }
        }
        // Clear the area for the next input.
        let zero = vec![0u8; layout.size as usize];
        self.ram.write_bytes(gpa, &zero).map_err(|e| e.to_string())?;
        let s = &ring.stats;
        let n = |c: &std::sync::atomic::AtomicU64| c.load(SeqCst).min(4);
        Ok(signature((input.vnet, seen, n(&s.tx_dropped), n(&s.tx_bad_header), n(&s.tx_gso), n(&s.rx_full))))
    }
}

/// An input of `len` random bytes that mostly announces a good area (arbitrary picks an
/// enum's variant from a 32-bit value's top bits: 0 is the first, `0x8000_0000` the third
/// of four): a good address, `8 << (n % 4)` entries, a buffer of 1536 + 64 n bytes.
fn seed(rng: &mut engine::Rng, len: usize) -> Vec<u8> {
    let mut input: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
    if !rng.one_in(4) && len > 16 {
        let prefix = [0, 0, 0, 0, 0, 0, 0, 0, rng.next() as u8, 0, 0, 0, 0x80, rng.next() as u8, rng.next() as u8];
        input[..prefix.len()].copy_from_slice(&prefix);
    }
    input
}

/// The target.
pub fn target() -> Target<impl FnMut(&[u8]) -> Result<u64, Failure>> {
    let mut harness = Harness::new();
    let mut rng = engine::Rng::new(23);
    let seeds = (0..64).map(|_| seed(&mut rng, 512)).collect();
    Target { name: "net_ring", seeds, max_len: 2048, focus: 0, exec: move |d: &[u8]| harness.exec(d) }
}

const _: () = assert!(MAX_SLOTS >= 64);

#[cfg(test)]
mod tests {
    use super::*;

    /// Crash inputs found by this target, replayed (each must now pass).
    const REGRESSIONS: &[&str] = &[
        // A checksum-offload header and a 22-byte IPv4 frame whose total length (8) matched
        // it: `locate_l4` read the protocol byte past the head and the proxy aborted.
        "ffff000000000000130000002fc5c5cec5c5c5c5c5d3397a8aabc5c5c0ce928072bead8c23ad987e3bb5a7f56f27946f6cee\
         6fd1f65790ff0f000004628cd2ecd714eda54363b4a611c76bbc91b9c2ac23ad987e3bb565f55a10140006628b8770dba72a\
         28c8faf99032be18315f5186163755ae238c314245f396adaf7eadadadeb8453535353535350538f5380060000006cce28e0\
         e1e891aa58c6eb98fcd4f1e80198d8acf87f7f00807f427f37742024e7083984000000efd943a9a94094b22c27f529256b1c\
         d18ae7101414146ade1414140000000000001300c029232ed743bdfb4ed7e5286dd7d7d7d7d7c3d74fe111e2ead0f4c9c406\
         61bf2117287895f0f8ffba701d1d1c66c194cf50beaf488ee3eb028b9b2d5450007000008000000000e8f600000080020000\
         801d1d1c66c194cf50beaf488efa00028b9b2d8f4b455450000000008000000000e8f600000080060000006cce28e0e1e891\
         16d2833924e9b8a36b6d486b3bc1b931f0f8ca2c37742024e7083925e38246efd943a9a94094b22c277bfa8a6d620f135a4c\
         16b701",
    ];

    #[test]
    fn regressions() {
        let mut h = Harness::new();
        engine::replay(|input| h.exec(input), REGRESSIONS);
    }

    /// A bounded, deterministic run in every `cargo test`: random inputs from a fixed seed,
    /// each mutated a few times.
    #[test]
    fn bounded_run() {
        let mut harness = Harness::new();
        let mut rng = engine::Rng::new(0x5eed);
        let mut kinds = std::collections::HashSet::new();
        for _ in 0..2000 {
            let len = 64 + rng.below(900);
            let mut input = seed(&mut rng, len);
            for _ in 0..4 {
                match harness.exec(&input) {
                    Ok(sig) => kinds.insert(sig),
                    Err(e) => panic!("{e}\ninput: {}", input.iter().map(|b| format!("{b:02x}")).collect::<String>()),
                };
                engine::mutate(&mut rng, &mut input, &[], 2048, 0);
            }
        }
        let (sent, offloads) = (harness.sent, harness.offloads);
        assert!(
            kinds.len() > 80 && sent > 1000 && offloads > 20,
            "{} behaviours, {sent} sent, {offloads} offloads",
            kinds.len()
        );
    }

    #[test]
    #[ignore = "fuzzing: run with --ignored, HERMIT_FUZZ_SECONDS sets the time"]
    fn fuzz_net_ring() {
        let report = engine::run(target(), engine::budget());
        assert!(report.crashes.is_empty(), "crashes: {:#?}", report.crashes);
    }
}
