//! The interfaces as a Linux guest names them, for `getifaddrs`, `if_nametoindex` and the
//! `SIOCGIF*` ioctls of the C library: `lo` (index 1) and, with a NIC, `eth0` (index 2).
//!
//! 127.0.0.0/8 and ::1 are `lo`'s, every other address of the smoltcp interface (the NIC's
//! IPv4 address, the link-local and SLAAC ones) `eth0`'s. One record per interface (family
//! `AF_UNSPEC`: flags, MTU, MAC) comes before its addresses' records.

use alloc::vec::Vec;

#[cfg(not(test))]
use smoltcp::wire::HardwareAddress;
use smoltcp::wire::{IpAddress, IpCidr};

use super::addr::{AF_INET, AF_INET6, AF_UNSPEC};

/// `lo`'s index.
pub const LO_INDEX: u32 = 1;
/// `eth0`'s index.
pub const ETH0_INDEX: u32 = 2;

/// Linux's `IFF_UP`.
const IFF_UP: u32 = 0x1;
/// Linux's `IFF_BROADCAST`.
const IFF_BROADCAST: u32 = 0x2;
/// Linux's `IFF_LOOPBACK`.
const IFF_LOOPBACK: u32 = 0x8;
/// Linux's `IFF_RUNNING`.
const IFF_RUNNING: u32 = 0x40;
/// Linux's `IFF_MULTICAST`.
const IFF_MULTICAST: u32 = 0x1000;

/// One record as `sys_netif` writes it (C: `struct hermit_netif` in the glue's `ifaddrs.c`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// The interface's index ([`LO_INDEX`], [`ETH0_INDEX`]).
    pub index: u32,
    /// Its `IFF_*` flags.
    pub flags: u32,
    /// Its MTU.
    pub mtu: u32,
    /// `AF_UNSPEC` for the interface itself, else the address's family.
    pub family: u8,
    /// The address's prefix length.
    pub prefix_len: u8,
    /// The interface's MAC (zero for `lo`, as on Linux).
    pub mac: [u8; 6],
    /// The address (IPv4 in the first four bytes).
    pub addr: [u8; 16],
}

/// Whether `cidr` is `lo`'s.
fn on_lo(cidr: &IpCidr) -> bool {
    super::addr::is_loopback(cidr.address())
}

/// The index of the interface that `addr` of ours belongs to (`IP_PKTINFO`).
pub fn index_of(addr: IpAddress) -> u32 {
    if super::addr::is_loopback(addr) {
        LO_INDEX
    } else {
        ETH0_INDEX
    }
}

/// The records of the interfaces and their addresses (`nic_mtu` `None`: no NIC).
pub fn records(addrs: &[IpCidr], mac: [u8; 6], lo_mtu: usize, nic_mtu: Option<usize>) -> Vec<Record> {
    let mut out = Vec::new();
    let lo =
        Record { index: LO_INDEX, flags: IFF_UP | IFF_LOOPBACK | IFF_RUNNING, mtu: lo_mtu as u32, ..Record::default() };
    let eth0 = nic_mtu.map(|mtu| Record {
        index: ETH0_INDEX,
        flags: IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST,
        mtu: mtu as u32,
        mac,
        ..Record::default()
    });
    for (iface, lo_side) in [(Some(lo), true), (eth0, false)] {
        let Some(iface) = iface else { continue };
        out.push(Record { family: AF_UNSPEC, ..iface });
        for cidr in addrs.iter().filter(|c| on_lo(c) == lo_side) {
            let mut record = Record { prefix_len: cidr.prefix_len(), ..iface };
            match cidr.address() {
                IpAddress::Ipv4(a) => {
                    record.family = AF_INET;
                    record.addr[..4].copy_from_slice(&a.octets());
                }
                IpAddress::Ipv6(a) => {
                    record.family = AF_INET6;
                    record.addr = a.octets();
                }
            }
            out.push(record);
        }
    }
    out
}

#[cfg(not(test))]
/// The records of the stack's interfaces now (makes the stack if there is none yet).
pub fn current() -> Vec<Record> {
    super::with_stack(|stack| {
        let mac = match stack.iface.hardware_addr() {
            HardwareAddress::Ethernet(mac) => mac.0,
            #[allow(unreachable_patterns)]
            _ => [0; 6],
        };
        records(stack.iface.ip_addrs(), mac, super::device::LOOPBACK_MTU, stack.device.nic_mtu())
    })
    .0
}

#[cfg(not(test))]
/// Whether `scope_id` names an interface there is (0: none named), as `bind` and `connect`
/// accept it in a `sockaddr_in6`.
pub fn scope_known(scope_id: u32) -> bool {
    scope_id == 0
        || scope_id == LO_INDEX
        || (scope_id == ETH0_INDEX && super::with_stack(|s| s.device.nic_mtu().is_some()).0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::Ipv6Address;

    #[test]
    fn lo_and_eth0_get_their_addresses_in_order() {
        let ll = crate::addr::link_local([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        let addrs = [
            IpCidr::new(IpAddress::v4(10, 0, 5, 2), 24),
            IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8),
            IpCidr::new(IpAddress::Ipv6(Ipv6Address::LOCALHOST), 128),
            IpCidr::new(IpAddress::Ipv6(ll), 64),
        ];
        let mac = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
        let r = records(&addrs, mac, 65521, Some(1500));
        let seen: Vec<(u32, u8, u8)> = r.iter().map(|r| (r.index, r.family, r.prefix_len)).collect();
        assert_eq!(
            seen,
            [
                (1, AF_UNSPEC, 0),
                (1, AF_INET, 8),
                (1, AF_INET6, 128),
                (2, AF_UNSPEC, 0),
                (2, AF_INET, 24),
                (2, AF_INET6, 64)
            ]
        );
        assert_eq!(r[0].flags, 0x49);
        assert_eq!(r[0].mac, [0; 6]);
        assert_eq!(r[3].flags, 0x1043);
        assert_eq!((r[3].mac, r[3].mtu), (mac, 1500));
        assert_eq!(&r[4].addr[..4], &[10, 0, 5, 2]);
        assert_eq!(r[5].addr, ll.octets());
        // Without a NIC only lo.
        assert_eq!(records(&addrs[1..3], mac, 65521, None).len(), 3);
    }

    #[test]
    fn an_address_belongs_to_the_interface_its_record_lists_it_under() {
        assert_eq!(index_of(IpAddress::v4(127, 0, 0, 1)), LO_INDEX);
        assert_eq!(index_of(IpAddress::v4(127, 9, 9, 9)), LO_INDEX);
        assert_eq!(index_of(IpAddress::Ipv6(Ipv6Address::LOCALHOST)), LO_INDEX);
        assert_eq!(index_of(IpAddress::v4(10, 0, 5, 2)), ETH0_INDEX);
        assert_eq!(index_of(IpAddress::v4(239, 5, 5, 5)), ETH0_INDEX);
    }

    #[test]
    fn the_record_has_the_glue_layout() {
        assert_eq!(core::mem::size_of::<Record>(), 36);
    }
}
