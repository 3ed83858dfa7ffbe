//! The descriptor rings' data path on the proxy's side: frames between the device and the guest's ring buffers.

use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;

use hermit_interface::vnet::HDR_LEN;

use super::device::{FRAME, NO_OFFLOAD};
use super::{ring, turn, Backend, Nic, RxIrq};
use crate::guest::GuestError;
use crate::host::Host;

impl Nic {
    /// Fills the receive ring from the device ([`ring::Ring::fill_rx`] with
    /// [`Nic::receive_into`]), announcing frames to the guest as `irq` says.
    pub(super) fn fill_ring(&self, ring: &ring::Ring, irq: &RxIrq) -> Result<ring::Filled, GuestError> {
        ring.fill_rx(|addr, cap| self.receive_into(ring, addr, cap), || self.announce(irq))
    }

    /// Receives one frame into the guest buffer at `addr` of `cap` bytes: straight from the
    /// tap with one `read`, through the proxy's buffer from passt's stream. Its length (a
    /// longer frame is cut to the buffer), or `None` when none waits.
    pub(super) fn receive_into(&self, ring: &ring::Ring, addr: u64, cap: u32) -> Result<Option<u32>, GuestError> {
        let Some((n, skip)) = self.receive_frame(ring, addr, cap)? else { return Ok(None) };
        // An Ethernet header, the largest IP header and the largest TCP header.
        let mut head = [0u8; 14 + 60 + 60];
        let len = (n as usize).saturating_sub(skip);
        let seen = len.min(head.len());
        let bare = n as usize <= turn::SMALL
            && ring.ram().read_bytes(addr + skip as u64, &mut head[..seen]).is_ok()
            && turn::Turnarounds::bare_ack(&head[..seen], len);
        self.turns.got(n as usize, bare);
        Ok(Some(n))
    }

    /// Receives one frame into the guest buffer at `addr`: its length in the buffer and
    /// where the Ethernet frame starts there (after the virtio-net header the ring carries,
    /// if it does).
    fn receive_frame(&self, ring: &ring::Ring, addr: u64, cap: u32) -> Result<Option<(u32, usize)>, GuestError> {
        let ram = ring.ram();
        let n = match &self.backend {
            // The ring carries the header: the tap's frame with it, straight into the buffer.
            Backend::Tap { fd, vnet: true } if ring.vnet() => {
                match ram.read_fd_phys(addr, u64::from(cap), fd.as_raw_fd())? {
                    Ok(n) if n > HDR_LEN => {
                        let mut hdr = [0u8; HDR_LEN];
                        ram.read_bytes(addr, &mut hdr)?;
                        ring.count_rx_header(&hdr);
                        if self.capture.is_some() {
                            let mut frame = vec![0u8; n - HDR_LEN];
                            ram.read_bytes(addr + HDR_LEN as u64, &mut frame)?;
                            self.capture(&frame);
                        }
                        return Ok(Some((n as u32, HDR_LEN)));
                    }
                    _ => return Ok(None),
                }
            }
            // The tap's header (no offloads: nothing in it) into the proxy.
            Backend::Tap { fd, vnet: true } => {
                let mut hdr = [0u8; HDR_LEN];
                match ram.readv_fd_phys(&mut hdr, addr, u64::from(cap), fd.as_raw_fd())? {
                    Ok(n) if n > HDR_LEN => n - HDR_LEN,
                    _ => return Ok(None),
                }
            }
            Backend::Tap { fd, vnet: false } => match ram.read_fd_phys(addr, u64::from(cap), fd.as_raw_fd())? {
                Ok(n) if n > 0 => n,
                _ => return Ok(None),
            },
            // From passt's stream, in place in the proxy's buffer, straight into the ring.
            Backend::Stream { .. } => {
                let got = self.receive_stream(|frame| {
                    self.capture(frame);
                    let n = frame.len().min(cap as usize);
                    ram.write_bytes(addr, &frame[..n]).map(|()| n)
                });
                return got.transpose().map(|n| n.map(|n| (n as u32, 0)));
            }
        };
        if self.capture.is_some() {
            let mut frame = vec![0u8; n];
            ram.read_bytes(addr, &mut frame)?;
            self.capture(&frame);
        }
        Ok(Some((n as u32, 0)))
    }

    /// Sends what the guest published in the transmit ring (`wait`: also if another thread
    /// is at it, see [`ring::Ring::drain_tx`]); the entries taken.
    pub(super) fn drain_ring(&self, ring: &ring::Ring, wait: bool) -> Result<u32, GuestError> {
        self.drain_ring_between(ring, wait, || {})
    }

    /// [`Nic::drain_ring`], running `between` before each frame sent (the poller beats its
    /// heartbeat and serves file calls there).
    pub(super) fn drain_ring_between(
        &self,
        ring: &ring::Ring,
        wait: bool,
        mut between: impl FnMut(),
    ) -> Result<u32, GuestError> {
        ring.drain_tx(wait, |head, rest, rest_len| {
            between();
            self.send_parts(ring, head, rest, rest_len)
        })
    }

    /// Sends a transmit entry: its first bytes `head` (copied and checked by the ring) and
    /// `rest_len` more at guest-physical `rest`. To a tap with one `writev` from guest
    /// memory (the header as the ring has it, a zero one, or none); to passt, and for the
    /// capture, through the proxy's buffer. False if the device dropped it.
    fn send_parts(&self, ring: &ring::Ring, head: &[u8], rest: u64, rest_len: usize) -> Result<bool, GuestError> {
        let sent = self.send_entry(ring, head, rest, rest_len)?;
        self.turns.sent(head.len() + rest_len);
        Ok(sent)
    }

    fn send_entry(&self, ring: &ring::Ring, head: &[u8], rest: u64, rest_len: usize) -> Result<bool, GuestError> {
        let ram = ring.ram();
        let sent = match &self.backend {
            Backend::Tap { fd, vnet } => {
                let hdr: &[u8] = if *vnet && !ring.vnet() { &NO_OFFLOAD } else { &[] };
                let total = hdr.len() + head.len() + rest_len;
                let sent = ram.writev_fd_phys(&[hdr, head], rest, rest_len as u64, fd.as_raw_fd())?;
                if self.capture.is_none() || sent != Ok(total) {
                    return Ok(sent == Ok(total));
                }
                true
            }
            Backend::Stream { .. } => false,
        };
        FRAME.with(|buf| {
            let mut buf = buf.borrow_mut();
            let skip = if ring.vnet() { HDR_LEN } else { 0 };
            let len = head.len() + rest_len;
            buf[..head.len()].copy_from_slice(head);
            ram.read_bytes(rest, &mut buf[head.len()..len])?;
            let frame = &buf[skip..len];
            let sent = sent || self.send(frame);
            if sent {
                self.capture(frame);
            }
            Ok(sent)
        })
    }
}

/// The rings' line for `HERMIT_VERBOSE`, if the guest used them.
pub fn ring_summary(host: &Host) -> Option<String> {
    let nic = host.net.get()?;
    let [irq, polled] = &nic.announced;
    let idle = nic.idle_rx.summary().map_or(String::new(), |line| format!("; {line}"));
    Some(format!(
        "{} ({} by the receive interrupt, {} to a polling guest core){idle}",
        nic.ring.get()?.summary(),
        irq.load(Ordering::Relaxed),
        polled.load(Ordering::Relaxed)
    ))
}
