//! The one smoltcp device: a guest loopback queue in front of an optional NIC.
//!
//! Frames to our own MAC address stay in the guest (the loopback queue); broadcast and
//! multicast frames go to both the loopback queue and the NIC (so that ARP and neighbour
//! discovery for our own addresses, 127.0.0.1 and ::1 included, are answered by ourselves);
//! every other frame goes to the NIC, or is dropped without one. Receiving drains the
//! loopback queue before the NIC.

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

use smoltcp::phy::{self, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::EthernetAddress;

/// A network card: one Ethernet frame at a time, never blocking.
pub trait Nic: Send {
    /// Sends one frame (without FCS); false if it was dropped.
    fn send(&mut self, frame: &[u8]) -> bool;
    /// Receives one frame into `buf`: its length, or `None` if none is waiting.
    fn receive(&mut self, buf: &mut [u8]) -> Option<usize>;
}

/// Largest Ethernet payload with a NIC (the tap's and passt's MTU).
pub const NIC_MTU: usize = 1500;
/// Largest IP packet on the guest loopback alone.
pub const LOOPBACK_MTU: usize = 65_535 - 14;
/// Frames the loopback queue holds before it drops (as a full NIC would).
const LOOPBACK_QUEUE: usize = 4096;

/// The loopback queue and the NIC, as one Ethernet device with address `mac`.
pub struct Device {
    mac: EthernetAddress,
    queue: VecDeque<Vec<u8>>,
    nic: Option<alloc::boxed::Box<dyn Nic>>,
    /// Frames taken from the NIC since the last [`Device::take_nic_rx`].
    nic_rx: usize,
}

impl Device {
    /// A device with hardware address `mac`, and a NIC if there is one.
    pub fn new(mac: EthernetAddress, nic: Option<alloc::boxed::Box<dyn Nic>>) -> Self {
        Self { mac, queue: VecDeque::new(), nic, nic_rx: 0 }
    }

    /// Whether a NIC is attached.
    pub fn has_nic(&self) -> bool {
        self.nic.is_some()
    }

    /// Whether frames wait in the loopback queue.
    pub fn loopback_pending(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Frames received from the NIC since the last call (and resets the count).
    pub fn take_nic_rx(&mut self) -> usize {
        core::mem::take(&mut self.nic_rx)
    }

    fn mtu(&self) -> usize {
        if self.nic.is_some() {
            NIC_MTU
        } else {
            LOOPBACK_MTU
        }
    }

    fn push_loopback(&mut self, frame: &[u8]) {
        if self.queue.len() < LOOPBACK_QUEUE {
            self.queue.push_back(frame.to_vec());
        }
    }

    fn transmit_frame(&mut self, frame: &[u8]) {
        let Some(dst) = frame.get(..6).map(EthernetAddress::from_bytes) else { return };
        if dst == self.mac {
            self.push_loopback(frame);
            return;
        }
        if !dst.is_unicast() {
            self.push_loopback(frame);
        }
        if let Some(nic) = self.nic.as_mut() {
            let _ = nic.send(frame);
        }
    }
}

/// A received frame.
pub struct RxToken(Vec<u8>);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

/// Permission to send one frame.
pub struct TxToken<'a>(&'a mut Device);

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let result = f(&mut frame);
        self.0.transmit_frame(&frame);
        result
    }
}

impl phy::Device for Device {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.mtu() + 14;
        // Loopback frames are ours: no checksums without a NIC (the original lwIP build did
        // not check them either); with one, smoltcp computes and checks them.
        if self.nic.is_none() {
            caps.checksum = ChecksumCapabilities::ignored();
        }
        caps
    }

    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken, TxToken<'_>)> {
        let frame = match self.queue.pop_front() {
            Some(frame) => frame,
            None => {
                let nic = self.nic.as_mut()?;
                let mut buf = vec![0; NIC_MTU + 14 + 4];
                let len = nic.receive(&mut buf)?;
                buf.truncate(len);
                self.nic_rx += 1;
                buf
            }
        };
        Some((RxToken(frame), TxToken(self)))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken<'_>> {
        Some(TxToken(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;
    use alloc::sync::Arc;
    use smoltcp::phy::{Device as _, RxToken as _, TxToken as _};
    use std::sync::Mutex;

    /// A NIC that records what it sent and replays `incoming`.
    struct FakeNic {
        sent: Arc<Mutex<Vec<Vec<u8>>>>,
        incoming: Vec<Vec<u8>>,
    }

    impl Nic for FakeNic {
        fn send(&mut self, frame: &[u8]) -> bool {
            self.sent.lock().unwrap().push(frame.to_vec());
            true
        }
        fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
            let frame = self.incoming.pop()?;
            buf[..frame.len()].copy_from_slice(&frame);
            Some(frame.len())
        }
    }

    const MAC: [u8; 6] = [0x52, 0x54, 0, 1, 2, 3];

    fn frame(dst: [u8; 6], tag: u8) -> Vec<u8> {
        let mut f = vec![0u8; 60];
        f[..6].copy_from_slice(&dst);
        f[6..12].copy_from_slice(&MAC);
        f[20] = tag;
        f
    }

    fn send(dev: &mut Device, f: &[u8]) {
        dev.transmit(Instant::ZERO).unwrap().consume(f.len(), |buf| buf.copy_from_slice(f));
    }

    fn receive(dev: &mut Device) -> Option<Vec<u8>> {
        dev.receive(Instant::ZERO).map(|(rx, _)| rx.consume(|b| b.to_vec()))
    }

    #[test]
    fn frames_go_where_they_belong() {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let nic = FakeNic { sent: sent.clone(), incoming: vec![frame(MAC, 9)] };
        let mut dev = Device::new(EthernetAddress(MAC), Some(Box::new(nic)));
        assert_eq!(dev.capabilities().max_transmission_unit, NIC_MTU + 14);
        assert!(dev.has_nic());
        send(&mut dev, &frame(MAC, 1)); // to ourselves: loopback only
        send(&mut dev, &frame([0xff; 6], 2)); // broadcast: both
        send(&mut dev, &frame([0x52, 0x54, 0, 9, 9, 9], 3)); // another host: NIC only
        let tags: Vec<u8> = sent.lock().unwrap().iter().map(|f| f[20]).collect();
        assert_eq!(tags, [2, 3]);
        // The loopback queue first, then the NIC.
        assert_eq!(receive(&mut dev).unwrap()[20], 1);
        assert_eq!(receive(&mut dev).unwrap()[20], 2);
        assert_eq!(dev.take_nic_rx(), 0);
        assert_eq!(receive(&mut dev).unwrap()[20], 9);
        assert_eq!(dev.take_nic_rx(), 1);
        assert!(receive(&mut dev).is_none());
    }

    #[test]
    fn loopback_alone() {
        let mut dev = Device::new(EthernetAddress(MAC), None);
        assert_eq!(dev.capabilities().max_transmission_unit, LOOPBACK_MTU + 14);
        send(&mut dev, &frame([0x52, 0x54, 0, 9, 9, 9], 3)); // nowhere to go: dropped
        send(&mut dev, &frame(MAC, 4));
        assert!(dev.loopback_pending());
        assert_eq!(receive(&mut dev).unwrap()[20], 4);
        assert!(receive(&mut dev).is_none());
    }
}
