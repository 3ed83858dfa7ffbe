//! Multicast group membership for UDP sockets: `IP_ADD_MEMBERSHIP`, `IPV6_JOIN_GROUP` and their kin, on smoltcp's IGMP and MLD.
//!
//! The original's lwIP was built with IGMP and MLD (`LWIP_IGMP`, `LWIP_IPV6_MLD`) and took
//! these options with its constants (`IP_ADD_MEMBERSHIP` 3, `IP_DROP_MEMBERSHIP` 4,
//! `IP_MULTICAST_TTL` 5, `IP_MULTICAST_IF` 6, `IP_MULTICAST_LOOP` 7, `IPV6_JOIN_GROUP` 12,
//! `IPV6_LEAVE_GROUP` 13); before this the kernel accepted and ignored them, so a program
//! that joined a group waited for ever. Memberships are per socket, as on Linux (a socket
//! joins a group once, `EADDRINUSE` the second time; at most [`SOCKET_GROUPS_MAX`] groups a
//! socket, Linux's `igmp_max_memberships`; leaving one it did not join is
//! `EADDRNOTAVAIL`; closing the socket leaves its groups), and counted per group in the
//! stack ([`Memberships`]): smoltcp's interface joins a group at its first member (and sends
//! an IGMPv2 or MLDv2 report) and leaves it at its last.

use alloc::collections::BTreeMap;

use smoltcp::iface::Interface;
use smoltcp::wire::{IpAddress, Ipv4Address, Ipv6Address};

use crate::errno::{Errno, EADDRNOTAVAIL, EINVAL, ENOBUFS};

/// Groups one socket may join (Linux's `igmp_max_memberships`).
pub const SOCKET_GROUPS_MAX: usize = 20;
/// The hop limit of multicast datagrams unless set (Linux's and POSIX's 1: the segment).
pub const DEFAULT_HOPS: u8 = 1;

/// The stack's groups and how many sockets joined each.
#[derive(Default)]
pub struct Memberships {
    members: BTreeMap<IpAddress, usize>,
}

impl Memberships {
    /// One more member of `group`: the interface joins it at the first (`ENOBUFS` if its
    /// table of groups is full).
    pub fn join(&mut self, iface: &mut Interface, group: IpAddress) -> Result<(), Errno> {
        if !self.members.contains_key(&group) {
            iface.join_multicast_group(group).map_err(|_| ENOBUFS)?;
        }
        *self.members.entry(group).or_insert(0) += 1;
        Ok(())
    }

    /// One member of `group` fewer: the interface leaves it after the last.
    pub fn leave(&mut self, iface: &mut Interface, group: IpAddress) {
        let Some(count) = self.members.get_mut(&group) else { return };
        *count -= 1;
        if *count == 0 {
            self.members.remove(&group);
            let _ = iface.leave_multicast_group(group);
        }
    }
}

/// The group of an `IP_ADD_MEMBERSHIP`/`IP_DROP_MEMBERSHIP` argument: `struct ip_mreq`
/// (group, interface address) or Linux's `struct ip_mreqn` (with an interface index); the
/// interface is not looked at (the guest has one NIC). `EINVAL` for a short argument or a
/// group that is no multicast address.
pub fn group_v4(value: &[u8]) -> Result<IpAddress, Errno> {
    let octets: [u8; 4] = value.get(..4).and_then(|g| g.try_into().ok()).filter(|_| value.len() >= 8).ok_or(EINVAL)?;
    let group = Ipv4Address::from(octets);
    if !group.is_multicast() {
        return Err(EINVAL);
    }
    Ok(IpAddress::Ipv4(group))
}

/// The group of an `IPV6_JOIN_GROUP`/`IPV6_LEAVE_GROUP` argument (`struct ipv6_mreq`: the
/// group, an interface index: 0 or one of ours, else `ENODEV` as `bind` says of a scope id).
/// `EINVAL` for a short argument or a group that is no multicast address.
pub fn group_v6(value: &[u8], interface_ok: impl Fn(u32) -> bool) -> Result<IpAddress, Errno> {
    let octets: [u8; 16] = value.get(..16).and_then(|g| g.try_into().ok()).ok_or(EINVAL)?;
    let index = value.get(16..20).and_then(|i| i.try_into().ok()).map(u32::from_ne_bytes).ok_or(EINVAL)?;
    let group = Ipv6Address::from(octets);
    if !group.is_multicast() {
        return Err(EINVAL);
    }
    if index != 0 && !interface_ok(index) {
        return Err(crate::errno::ENODEV);
    }
    Ok(IpAddress::Ipv6(group))
}

/// Adds `group` to a socket's `groups` (`EADDRINUSE` if it is there, `ENOBUFS` beyond
/// [`SOCKET_GROUPS_MAX`]); the caller then joins it in the stack.
pub fn add(groups: &mut alloc::vec::Vec<IpAddress>, group: IpAddress) -> Result<(), Errno> {
    if groups.contains(&group) {
        return Err(crate::errno::EADDRINUSE);
    }
    if groups.len() >= SOCKET_GROUPS_MAX {
        return Err(ENOBUFS);
    }
    groups.push(group);
    Ok(())
}

/// Takes `group` from a socket's `groups` (`EADDRNOTAVAIL` if it is not there); the caller
/// then leaves it in the stack.
pub fn remove(groups: &mut alloc::vec::Vec<IpAddress>, group: IpAddress) -> Result<(), Errno> {
    let at = groups.iter().position(|g| *g == group).ok_or(EADDRNOTAVAIL)?;
    groups.swap_remove(at);
    Ok(())
}

/// The value of a multicast hop limit option (`IP_MULTICAST_TTL`, `IPV6_MULTICAST_HOPS`):
/// an `int` (or, for `IP_MULTICAST_TTL`, a single byte, as Linux takes it) of 1-255, or -1
/// for the default; `EINVAL` otherwise. **Deviation:** Linux also takes 0 (the host's own
/// sockets only); smoltcp sends no packet with a hop limit of 0 (it panics on one), and the
/// device could not tell such datagrams apart for IPv6, so 0 is refused.
pub fn hops(value: &[u8]) -> Result<u8, Errno> {
    match int_or_byte(value)? {
        -1 => Ok(DEFAULT_HOPS),
        n @ 1..=255 => Ok(n as u8),
        _ => Err(EINVAL),
    }
}

/// The value of a multicast option that Linux takes as an `int` or a single byte
/// (`IP_MULTICAST_TTL`, `IP_MULTICAST_LOOP`); `EINVAL` if empty.
pub fn int_or_byte(value: &[u8]) -> Result<i32, Errno> {
    match value {
        [] => Err(EINVAL),
        [byte, ..] if value.len() < 4 => Ok(i32::from(*byte)),
        _ => Ok(i32::from_ne_bytes([value[0], value[1], value[2], value[3]])),
    }
}

/// The value of `IP_TTL` or `IPV6_UNICAST_HOPS`: an `int` of 1-255, or -1 for the default
/// (`None`: 64); `EINVAL` otherwise (Linux also takes 0 for IPv6; smoltcp panics on it).
/// Kept here beside the multicast limit, which is parsed alike.
pub fn unicast_hops(value: &[u8]) -> Result<Option<u8>, Errno> {
    let n = i32::from_ne_bytes(value.get(..4).ok_or(EINVAL)?.try_into().map_err(|_| EINVAL)?);
    match n {
        -1 => Ok(None),
        1..=255 => Ok(Some(n as u8)),
        _ => Err(EINVAL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    #[test]
    fn group_arguments() {
        assert_eq!(group_v4(&[239, 1, 2, 3, 0, 0, 0, 0]), Ok(IpAddress::Ipv4(Ipv4Address::new(239, 1, 2, 3))));
        assert_eq!(group_v4(&[239, 1, 2, 3, 0, 0, 0, 0, 2, 0, 0, 0]).map(|_| ()), Ok(()), "ip_mreqn");
        assert_eq!(group_v4(&[10, 0, 0, 1, 0, 0, 0, 0]), Err(EINVAL), "not multicast");
        assert_eq!(group_v4(&[239, 1, 2, 3]), Err(EINVAL), "short");
        let mut v6 = vec![0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42];
        v6.extend(2u32.to_ne_bytes());
        assert!(group_v6(&v6, |i| i <= 2).is_ok());
        assert_eq!(group_v6(&v6, |i| i == 1), Err(crate::errno::ENODEV));
        assert_eq!(group_v6(&v6[..16], |_| true), Err(EINVAL));
        v6[0] = 0xfe;
        assert_eq!(group_v6(&v6, |_| true), Err(EINVAL));
    }

    #[test]
    fn a_socket_joins_a_group_once_and_leaves_what_it_joined() {
        let g = |n: u8| IpAddress::Ipv4(Ipv4Address::new(239, 0, 0, n));
        let mut groups = Vec::new();
        assert_eq!(add(&mut groups, g(1)), Ok(()));
        assert_eq!(add(&mut groups, g(1)), Err(crate::errno::EADDRINUSE));
        assert_eq!(remove(&mut groups, g(2)), Err(EADDRNOTAVAIL));
        assert_eq!(remove(&mut groups, g(1)), Ok(()));
        for n in 0..SOCKET_GROUPS_MAX as u8 {
            assert_eq!(add(&mut groups, g(n)), Ok(()));
        }
        assert_eq!(add(&mut groups, g(200)), Err(ENOBUFS));
    }

    #[test]
    fn the_interface_joins_at_the_first_member_and_leaves_after_the_last() {
        use smoltcp::iface::Config;
        use smoltcp::time::Instant;
        use smoltcp::wire::{EthernetAddress, HardwareAddress};
        let mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
        let mut device = crate::netdevice::Device::new(mac, None);
        let mut iface = Interface::new(Config::new(HardwareAddress::Ethernet(mac)), &mut device, Instant::ZERO);
        let mut members = Memberships::default();
        let g = |n: u8| IpAddress::Ipv4(Ipv4Address::new(239, 0, 0, n));
        assert_eq!(members.join(&mut iface, g(1)), Ok(()));
        assert_eq!(members.join(&mut iface, g(1)), Ok(()));
        members.leave(&mut iface, g(1));
        assert!(iface.has_multicast_group(g(1)), "one member left");
        members.leave(&mut iface, g(1));
        assert!(!iface.has_multicast_group(g(1)));
        members.leave(&mut iface, g(1));
        // The interface's table (32 groups) fills: ENOBUFS, nothing counted.
        let joined = (0..40).take_while(|&n| members.join(&mut iface, g(n)).is_ok()).count();
        assert!((30..=32).contains(&joined), "{joined}");
        assert_eq!(members.join(&mut iface, g(100)), Err(ENOBUFS));
        assert!(!members.members.contains_key(&g(100)));
    }

    #[test]
    fn hop_limits() {
        assert_eq!(hops(&5i32.to_ne_bytes()), Ok(5));
        assert_eq!(hops(&(-1i32).to_ne_bytes()), Ok(DEFAULT_HOPS));
        assert_eq!(hops(&256i32.to_ne_bytes()), Err(EINVAL));
        assert_eq!(hops(&0i32.to_ne_bytes()), Err(EINVAL), "smoltcp panics on a hop limit of 0");
        assert_eq!(hops(&[7]), Ok(7));
        assert_eq!(hops(&[]), Err(EINVAL));
        assert_eq!(unicast_hops(&33i32.to_ne_bytes()), Ok(Some(33)));
        assert_eq!(unicast_hops(&(-1i32).to_ne_bytes()), Ok(None));
        assert_eq!(unicast_hops(&0i32.to_ne_bytes()), Err(EINVAL));
        assert_eq!(unicast_hops(&[5]), Err(EINVAL));
    }
}
