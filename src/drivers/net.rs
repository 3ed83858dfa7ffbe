//! uhyve-net: the original's network hypercalls (`NETSTAT`, `NETINFO`, `NETWRITE`,
//! `NETREAD`), one Ethernet frame per call, through [`super::hypercall::call`] (the fast
//! channel when the loader offers it). Memory is identity-mapped, so a buffer's address is
//! its guest-physical address.

use hermit_interface::hypercall::{port, NetInfo, NetRead, NetStat, NetWrite};

use crate::net::device::Nic;

/// The uhyve-net card.
pub struct UhyveNet;

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
}
