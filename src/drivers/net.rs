//! uhyve-net: the original's network hypercalls (`NETSTAT`, `NETINFO`, `NETWRITE`,
//! `NETREAD`), one Ethernet frame per call, through [`super::hypercall::call`] (the fast
//! channel when the loader offers it); with this project's loader
//! ([`header::FEATURE_NET_BATCH`]) whole batches of frames per call (`NETWRITEV`,
//! `NETREADV`), and with [`header::FEATURE_NET_RING`] shared-memory descriptor rings
//! ([`super::net_ring`]) that move frames without host calls. Memory is identity-mapped,
//! so a buffer's address is its guest-physical address.

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use hermit_interface::header;
use hermit_interface::hypercall::{
    port, NetBatch, NetFrame, NetInfo, NetMtu, NetRead, NetStat, NetWrite, NET_BATCH_MAX, NET_MTU_MAX,
};

use crate::net::device::Nic;

/// The uhyve-net card.
pub struct UhyveNet {
    /// The loader serves the batched calls.
    batch: bool,
    /// The MTU the loader reports (`NETMTU`), else 1500.
    mtu: usize,
    /// The receive buffers of a batch, one after the other (allocated at the first receive,
    /// never cleared: each frame is copied out at its length).
    rx_area: Vec<u8>,
    /// The batch table handed to `NETREADV`.
    rx_table: Vec<NetFrame>,
    /// The descriptor rings, when the loader serves them (then the batched calls are not
    /// used).
    rings: Option<super::net_ring::NetRings>,
}

/// Whether the loader has a NIC for us, and its MAC address (`NETINFO` also arms the
/// receive interrupt, vector [`port::NET_RX_VECTOR`]).
pub fn probe() -> Option<[u8; 6]> {
    let mut stat = NetStat::default();
    super::hypercall::call(port::NETSTAT, &mut stat);
    let status = stat.status;
    if status != 1 {
        return None;
    }
    // Under QEMU the receive interrupt comes through a PCI device set up before NETINFO arms it.
    if super::hypercall::has_feature(hermit_interface::header::FEATURE_QEMU) {
        if let Err(why) = super::ivshmem::init() {
            log::warn!("net: {why}; no receive interrupt (the network is polled)");
        }
    }
    let mut info = NetInfo::default();
    super::hypercall::call(port::NETINFO, &mut info);
    crate::net::addr::parse_mac(&info.mac_str)
}

impl UhyveNet {
    /// The card, batching when the loader offers it.
    pub fn new() -> Self {
        let mut mtu = crate::net::device::NIC_MTU;
        if super::hypercall::has_feature(header::FEATURE_NET_NOTIFY) {
            let mut req = NetMtu::default();
            super::hypercall::call(port::NETMTU, &mut req);
            let (ret, got) = (req.ret, req.mtu);
            if ret == 0 && (576..=NET_MTU_MAX).contains(&got) {
                mtu = got as usize;
            }
        }
        Self {
            batch: super::hypercall::has_feature(header::FEATURE_NET_BATCH),
            mtu,
            rx_area: Vec::new(),
            rx_table: Vec::new(),
            rings: super::net_ring::NetRings::new(crate::net::device::nic_frame(mtu), true),
        }
    }
}

/// One batched call of `port` over `frames` (at most [`NET_BATCH_MAX`]): its `ret`.
fn batch_call(port: u16, frames: &mut [NetFrame]) -> i32 {
    let mut req = NetBatch { frames: frames.as_mut_ptr() as u64, count: frames.len() as u32, ret: 0 };
    super::hypercall::call(port, &mut req);
    req.ret
}

impl Nic for UhyveNet {
    fn send(&mut self, frame: &[u8]) -> bool {
        let mut req = NetWrite { data: frame.as_ptr() as u64, len: frame.len() as u64, ret: 0 };
        super::hypercall::call(port::NETWRITE, &mut req);
        let ret = req.ret;
        ret == 0
    }

    fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
        let mut req = NetRead { data: buf.as_mut_ptr() as u64, len: buf.len() as u64, ret: 0 };
        super::hypercall::call(port::NETREAD, &mut req);
        let (ret, len) = (req.ret, req.len);
        (ret == 0).then(|| (len as usize).min(buf.len()))
    }

    fn send_batch(&mut self, frames: &[Vec<u8>]) -> usize {
        if let Some(rings) = self.rings.as_mut() {
            return rings.send(frames);
        }
        if !self.batch {
            return frames.iter().filter(|f| self.send(f)).count();
        }
        let mut sent = 0;
        for chunk in frames.chunks(NET_BATCH_MAX as usize) {
            let mut table: Vec<NetFrame> =
                chunk.iter().map(|f| NetFrame { data: f.as_ptr() as u64, len: f.len() as u32, reserved: 0 }).collect();
            sent += batch_call(port::NETWRITEV, &mut table).max(0) as usize;
        }
        sent
    }

    fn receive_batch(&mut self, max: usize, frame: usize, out: &mut VecDeque<Vec<u8>>) -> usize {
        if let Some(rings) = self.rings.as_mut() {
            return rings.receive(max, out);
        }
        if !self.batch {
            return crate::net::device::receive_each(self, max, frame, out);
        }
        let n = max.min(NET_BATCH_MAX as usize);
        if self.rx_area.len() < n * frame {
            self.rx_area = vec![0; n * frame];
        }
        let base = self.rx_area.as_mut_ptr() as u64;
        self.rx_table.clear();
        self.rx_table.extend((0..n).map(|i| NetFrame {
            data: base + (i * frame) as u64,
            len: frame as u32,
            reserved: 0,
        }));
        let got = batch_call(port::NETREADV, &mut self.rx_table).clamp(0, n as i32) as usize;
        for (i, entry) in self.rx_table.iter().enumerate().take(got) {
            let at = i * frame;
            out.push_back(self.rx_area[at..at + (entry.len as usize).min(frame)].to_vec());
        }
        got
    }

    fn tx_lend(&mut self, len: usize) -> Option<&mut [u8]> {
        self.rings.as_mut()?.lend_tx(len)
    }

    fn tx_publish(&mut self, len: usize) {
        if let Some(rings) = self.rings.as_mut() {
            rings.publish_tx(len);
        }
    }

    fn tx_done(&mut self) {
        if let Some(rings) = self.rings.as_mut() {
            rings.tx_done();
        }
    }

    fn rx_lend(&mut self) -> Option<crate::net::device::Lent> {
        self.rings.as_mut()?.lend_rx()
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn rx_cheap(&self) -> bool {
        self.rings.is_some()
    }

    fn vnet(&self) -> bool {
        self.rings.as_ref().is_some_and(super::net_ring::NetRings::vnet)
    }
}

/// The header extension's `net_rx_signal` and `net_rx_polling` words, when the loader
/// offers [`header::FEATURE_NET_NOTIFY`].
fn notify_words() -> Option<(&'static AtomicU32, &'static AtomicU32)> {
    if !super::hypercall::has_feature(header::FEATURE_NET_NOTIFY) {
        return None;
    }
    let ext = super::hypercall::header_ext()?;
    // SAFETY: both are naturally aligned u32 fields of the extension block, which lives for
    // the whole run; the loader and the kernel access them only atomically.
    let words = unsafe {
        (
            AtomicU32::from_ptr(core::ptr::addr_of!(ext.net_rx_signal).cast_mut()),
            AtomicU32::from_ptr(core::ptr::addr_of!(ext.net_rx_polling).cast_mut()),
        )
    };
    Some(words)
}

/// Takes the loader's signal that received frames wait (`net_rx_signal`): true if it was set.
pub fn take_rx_signal() -> bool {
    notify_words()
        .is_some_and(|(signal, _)| signal.load(Ordering::Relaxed) != 0 && signal.swap(0, Ordering::SeqCst) != 0)
}

/// Starts polling the signal on this core: the loader raises no receive interrupt while any
/// core polls. False (nothing to poll) without [`header::FEATURE_NET_NOTIFY`].
pub fn start_polling() -> bool {
    notify_words().is_some_and(|(_, polling)| {
        polling.fetch_add(1, Ordering::SeqCst);
        true
    })
}

/// Stops polling (after [`start_polling`] returned true); then takes the signal a last time
/// (the decrement is a full fence: a frame the loader announced meanwhile without an
/// interrupt is seen here). True if it was set.
pub fn stop_polling() -> bool {
    if let Some((_, polling)) = notify_words() {
        polling.fetch_sub(1, Ordering::SeqCst);
    }
    take_rx_signal()
}
