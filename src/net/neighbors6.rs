//! IPv6 neighbours on the NIC's segment, resolved beside smoltcp's cache as [`super::neighbors`] does for IPv4.
//!
//! smoltcp learns a neighbour's MAC address only from neighbour solicitations and
//! advertisements, and sends at most one solicitation a second for its whole cache: a packet
//! to a second unknown host within that second waits it out, as with ARP. The device
//! therefore, for the IPv6 addresses of the segment (link-local ones and those of the
//! prefixes the guest has addresses in):
//! - hands smoltcp a neighbour advertisement (override flag, the sender's MAC as its target
//!   link-layer address) when a packet from such a host comes to one of our addresses (or to
//!   all nodes: a router's advertisement, whose link-layer option smoltcp ignores) and the
//!   table has not seen that host lately ([`Neighbors6::learn`]);
//! - sends a neighbour solicitation of its own, to the target's solicited-node multicast
//!   address, when a socket is about to talk to such a host, or beyond the segment through
//!   the default router, that the table does not know ([`Neighbors6::ask`]); smoltcp takes
//!   the advertisement that answers it whatever its rate limit.
//!
//! Neighbour messages that carry the sender's link-layer address are only noted: smoltcp
//! learns from them itself. Frames that claim our own or loopback addresses never get here
//! ([`super::martian`]).

use alloc::vec::Vec;

use super::hosts::Hosts;
#[cfg(test)]
use super::hosts::{ASK_NS, CAPACITY, REFRESH_NS};
use super::route::LOCALHOST6;

/// ICMPv6 types of the neighbour discovery messages.
const NEIGHBOR_SOLICIT: u8 = 135;
const NEIGHBOR_ADVERT: u8 = 136;
/// The all-nodes multicast address, ff02::1.
const ALL_NODES: [u8; 16] = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/// The IPv6 hosts of the NIC's segment the device saw.
pub struct Neighbors6 {
    mac: [u8; 6],
    /// Our IPv6 addresses on the NIC and their prefix lengths: the link-local one first.
    addrs: Vec<([u8; 16], u8)>,
    /// The default router (a link-local address), if any.
    router: Option<[u8; 16]>,
    hosts: Hosts<16>,
    /// Neighbour advertisements handed to smoltcp (`HERMIT_VERBOSE`).
    pub fed: u64,
    /// Neighbour solicitations of ours sent (`HERMIT_VERBOSE`).
    pub asks: u64,
}

/// Whether the first `len` bits of `a` and `b` are equal.
fn same_prefix(a: &[u8; 16], b: &[u8; 16], len: u8) -> bool {
    let len = usize::from(len.min(128));
    let (bytes, bits) = (len / 8, len % 8);
    a[..bytes] == b[..bytes] && (bits == 0 || (a[bytes] ^ b[bytes]) >> (8 - bits) == 0)
}

/// The folded one's complement sum of the ICMPv6 message `icmp` from `src` to `dst` (its
/// checksum field zero), as the checksum field wants it: the pseudo-header (addresses,
/// length, next header 58) and the message, with the offloads' sums.
pub fn icmpv6_checksum(src: &[u8; 16], dst: &[u8; 16], icmp: &[u8]) -> u16 {
    use super::offload::{fold, sum};
    !fold(sum(src) + sum(dst) + icmp.len() as u64 + 58 + sum(icmp))
}

/// An ICMPv6 neighbour message in an Ethernet frame: `kind` (solicitation or
/// advertisement) with `flags` (the first byte after the checksum), `target` and a
/// link-layer option of type `option` carrying `ll`.
#[allow(clippy::too_many_arguments)]
fn ndisc(
    eth: ([u8; 6], [u8; 6]),
    src: [u8; 16],
    dst: [u8; 16],
    kind: u8,
    flags: u8,
    target: [u8; 16],
    option: u8,
    ll: [u8; 6],
) -> Vec<u8> {
    let mut icmp = Vec::with_capacity(32);
    icmp.extend_from_slice(&[kind, 0, 0, 0, flags, 0, 0, 0]);
    icmp.extend_from_slice(&target);
    icmp.extend_from_slice(&[option, 1]);
    icmp.extend_from_slice(&ll);
    let sum = icmpv6_checksum(&src, &dst, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut f = Vec::with_capacity(14 + 40 + 32);
    f.extend_from_slice(&eth.0);
    f.extend_from_slice(&eth.1);
    f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, 32, 58, 255]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&icmp);
    f
}

impl Neighbors6 {
    /// No host known yet; `mac` is ours, `link_local` our link-local address.
    pub fn new(mac: [u8; 6], link_local: [u8; 16]) -> Self {
        Self { mac, addrs: alloc::vec![(link_local, 64)], router: None, hosts: Hosts::new(), fed: 0, asks: 0 }
    }

    /// Our IPv6 addresses on the NIC (prefix lengths beside them; loopback left out), the
    /// link-local one first.
    pub fn set_addrs(&mut self, addrs: impl IntoIterator<Item = ([u8; 16], u8)>) {
        let mut addrs: Vec<([u8; 16], u8)> = addrs.into_iter().collect();
        addrs.sort_by_key(|(a, _)| !(a[0] == 0xfe && a[1] & 0xc0 == 0x80));
        self.addrs = addrs;
    }

    /// Our addresses, the link-local one first.
    pub fn addrs(&self) -> impl Iterator<Item = &[u8; 16]> {
        self.addrs.iter().map(|(a, _)| a)
    }

    /// The default router, through which the hosts beyond the segment are reached.
    pub fn set_router(&mut self, router: Option<[u8; 16]>) {
        self.router = router;
    }

    /// Forgets every host (smoltcp flushed its cache: its addresses changed).
    pub fn forget(&mut self) {
        self.hosts.clear();
    }

    /// Our address whose prefix holds `ip`, if `ip` is another unicast host of the segment.
    fn on_link(&self, ip: &[u8; 16]) -> Option<[u8; 16]> {
        if ip[0] == 0xff || *ip == [0; 16] || self.addrs.iter().any(|(a, _)| a == ip) {
            return None;
        }
        self.addrs.iter().rev().find(|(a, len)| same_prefix(a, ip, *len)).map(|&(a, _)| a)
    }

    /// Looks at `frame`, received from the NIC at uptime `now` (ns): a neighbour
    /// advertisement from its sender for smoltcp, if it is an IPv6 packet from a host of the
    /// segment to us that smoltcp may not know.
    pub fn learn(&mut self, frame: &[u8], now: u64) -> Option<Vec<u8>> {
        if frame.get(12..14)? != [0x86, 0xdd] {
            return None;
        }
        let src_mac: [u8; 6] = frame.get(6..12)?.try_into().ok()?;
        let src: [u8; 16] = frame.get(22..38)?.try_into().ok()?;
        let dst: [u8; 16] = frame.get(38..54)?.try_into().ok()?;
        if src_mac[0] & 1 != 0 || !(dst == ALL_NODES || self.addrs.iter().any(|(a, _)| *a == dst)) {
            return None;
        }
        self.on_link(&src)?;
        if frame[20] == 58 && matches!(frame.get(54), Some(&(NEIGHBOR_SOLICIT | NEIGHBOR_ADVERT))) {
            // smoltcp learns from the message's link-layer option, if it has one.
            if matches!(frame.get(78..80), Some([1 | 2, 1])) && frame.get(80..86) == Some(&src_mac[..]) {
                self.hosts.remember(src, src_mac, now);
                return None;
            }
        }
        if self.hosts.fresh(&src, Some(src_mac), now) {
            return None;
        }
        self.hosts.remember(src, src_mac, now);
        self.fed += 1;
        let ours = self.addrs.first()?.0;
        Some(ndisc((self.mac, src_mac), src, ours, NEIGHBOR_ADVERT, 0x20, src, 2, src_mac))
    }

    /// A neighbour solicitation to send if a socket is about to talk to `ip` at uptime
    /// `now`: for `ip` if it is a host of the segment, else for the default router, when the
    /// table does not know that host (at most one per host every [`ASK_NS`](super::hosts::ASK_NS)).
    pub fn ask(&mut self, ip: [u8; 16], now: u64) -> Option<Vec<u8>> {
        let (target, ours) = match self.on_link(&ip) {
            Some(ours) => (ip, ours),
            None if self.addrs.iter().any(|(a, _)| *a == ip) || ip[0] == 0xff || ip == LOCALHOST6 => return None,
            None => {
                let router = self.router?;
                (router, self.on_link(&router)?)
            }
        };
        if !self.hosts.may_ask(target, now) {
            return None;
        }
        self.asks += 1;
        let mut group = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0];
        group[13..].copy_from_slice(&target[13..]);
        let eth_dst = [0x33, 0x33, 0xff, target[13], target[14], target[15]];
        Some(ndisc((eth_dst, self.mac), ours, group, NEIGHBOR_SOLICIT, 0, target, 1, self.mac))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const OURS: [u8; 6] = [2, 0, 0, 0, 5, 2];
    const HOST: [u8; 6] = [2, 0, 0, 0, 5, 1];
    const LL: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 5, 2];
    const GLOBAL: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 5, 2];

    fn addr(prefix: [u8; 8], host: u8) -> [u8; 16] {
        let mut a = [0; 16];
        a[..8].copy_from_slice(&prefix);
        a[15] = host;
        a
    }
    const LL_NET: [u8; 8] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0];
    const NET: [u8; 8] = [0x20, 1, 0xd, 0xb8, 0, 1, 0, 0];

    fn ipv6(src_mac: [u8; 6], src: [u8; 16], dst: [u8; 16], next: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 54];
        f[..6].copy_from_slice(&OURS);
        f[6..12].copy_from_slice(&src_mac);
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        f[14] = 0x60;
        f[18..20].copy_from_slice(&(payload.len() as u16).to_be_bytes());
        f[20] = next;
        f[21] = 64;
        f[22..38].copy_from_slice(&src);
        f[38..54].copy_from_slice(&dst);
        f.extend_from_slice(payload);
        f
    }

    fn table() -> Neighbors6 {
        let mut n = Neighbors6::new(OURS, LL);
        n.set_addrs([(GLOBAL, 64), (LL, 64)]);
        n
    }

    /// Whether smoltcp finds the frame's ICMPv6 checksum right.
    fn checksum_ok(f: &[u8]) -> bool {
        use smoltcp::wire::{Icmpv6Packet, Ipv6Address};
        let src = Ipv6Address::from(<[u8; 16]>::try_from(&f[22..38]).unwrap());
        let dst = Ipv6Address::from(<[u8; 16]>::try_from(&f[38..54]).unwrap());
        Icmpv6Packet::new_checked(&f[54..]).unwrap().verify_checksum(&src, &dst)
    }

    #[test]
    fn the_checksum_is_the_ones_complement_sum() {
        // An echo request fe80::1 -> fe80::2 (id 1, seq 1, no data), as Linux sends it.
        let (a, b) = (addr(LL_NET, 1), addr(LL_NET, 2));
        assert_eq!(icmpv6_checksum(&a, &b, &[128, 0, 0, 0, 0, 1, 0, 1]), 0x82b6);
    }

    #[test]
    fn a_new_host_of_the_segment_is_advertised_to_smoltcp_once() {
        let mut n = table();
        let host = addr(NET, 0x11);
        let na = n.learn(&ipv6(HOST, host, GLOBAL, 6, &[0; 20]), 0).expect("an advertisement for smoltcp");
        assert_eq!((&na[..6], &na[6..12], &na[12..14]), (&OURS[..], &HOST[..], &[0x86, 0xdd][..]));
        assert_eq!(na.len(), 14 + 40 + 32);
        assert_eq!((na[18], na[19], na[20], na[21]), (0, 32, 58, 255), "ICMPv6, hop limit 255");
        assert_eq!((&na[22..38], &na[38..54]), (&host[..], &LL[..]), "from the host to our link-local address");
        assert_eq!((na[54], na[55], na[58]), (136, 0, 0x20), "an advertisement with the override flag");
        assert_eq!(na[62..78], host, "its target");
        assert_eq!((&na[78..80], &na[80..86]), (&[2, 1][..], &HOST[..]), "the target link-layer address");
        assert!(checksum_ok(&na));
        assert!(n.learn(&ipv6(HOST, host, GLOBAL, 6, &[0; 20]), 1_000).is_none(), "known");
        assert!(n.learn(&ipv6(HOST, host, GLOBAL, 6, &[0; 20]), REFRESH_NS).is_some(), "again after the refresh time");
        let ll_host = addr(LL_NET, 0x11);
        assert!(n.learn(&ipv6(HOST, ll_host, LL, 17, &[0; 8]), 0).is_some(), "a link-local host");
        assert!(
            n.learn(&ipv6(HOST, addr(LL_NET, 1), ALL_NODES, 58, &[134; 16]), 0).is_some(),
            "a router's advertisement"
        );
        assert_eq!(n.fed, 4);
    }

    #[test]
    fn only_unicast_hosts_of_the_segment_to_us_count() {
        let mut n = table();
        let host = addr(NET, 0x11);
        let tcp = [0u8; 20];
        assert!(
            n.learn(&ipv6(HOST, addr([0x20, 1, 0xd, 0xb8, 0, 2, 0, 0], 1), GLOBAL, 6, &tcp), 0).is_none(),
            "routed"
        );
        assert!(n.learn(&ipv6(HOST, host, addr(NET, 0x33), 6, &tcp), 0).is_none(), "not to us");
        assert!(n.learn(&ipv6(HOST, [0; 16], ALL_NODES, 58, &[143; 8]), 0).is_none(), "unspecified source");
        assert!(n.learn(&ipv6(HOST, GLOBAL, GLOBAL, 6, &tcp), 0).is_none(), "ourselves");
        assert!(n.learn(&ipv6([3, 0, 0, 0, 0, 1], host, GLOBAL, 6, &tcp), 0).is_none(), "a multicast MAC");
        for cut in 0..54 {
            assert!(n.learn(&ipv6(HOST, host, GLOBAL, 6, &tcp)[..cut], 0).is_none(), "{cut} bytes");
        }
        let mut v4 = ipv6(HOST, host, GLOBAL, 6, &tcp);
        v4[12..14].copy_from_slice(&[8, 0]);
        assert!(n.learn(&v4, 0).is_none(), "IPv4");
    }

    #[test]
    fn neighbour_messages_with_a_link_layer_address_are_left_to_smoltcp() {
        let mut n = table();
        let host = addr(NET, 0x11);
        let mut ns = vec![135, 0, 0, 0, 0, 0, 0, 0];
        ns.extend_from_slice(&GLOBAL);
        ns.extend_from_slice(&[1, 1]);
        ns.extend_from_slice(&HOST);
        assert!(n.learn(&ipv6(HOST, host, GLOBAL, 58, &ns), 0).is_none());
        assert!(n.ask(host, 1).is_none(), "noted");
        let bare = &ns[..24];
        let other = addr(NET, 0x12);
        assert!(n.learn(&ipv6(HOST, other, GLOBAL, 58, bare), 0).is_some(), "no option: advertised");
    }

    #[test]
    fn an_unknown_host_is_solicited_at_most_every_ask_time() {
        let mut n = table();
        let host = addr(NET, 0x12);
        let ns = n.ask(host, 0).expect("a solicitation");
        assert_eq!(ns[..6], [0x33, 0x33, 0xff, 0, 0, 0x12], "to the solicited-node group");
        assert_eq!(ns[6..12], OURS);
        assert_eq!(
            (&ns[22..38], &ns[38..54]),
            (&GLOBAL[..], &[0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0x12][..])
        );
        assert_eq!((ns[21], ns[54], ns[55]), (255, 135, 0));
        assert_eq!(ns[62..78], host);
        assert_eq!((&ns[78..80], &ns[80..86]), (&[1, 1][..], &OURS[..]), "our link-layer address");
        assert!(checksum_ok(&ns));
        assert!(n.ask(host, ASK_NS - 1).is_none());
        assert!(n.ask(host, ASK_NS).is_some());
        let ll_ns = n.ask(addr(LL_NET, 7), 0).expect("a link-local host");
        assert_eq!(ll_ns[22..38], LL, "from our link-local address");
        assert!(n.ask(addr([0x20, 1, 0xd, 0xb8, 0, 2, 0, 0], 1), 0).is_none(), "routed, and no router");
        assert!(n.ask(GLOBAL, 0).is_none(), "ourselves");
        assert!(n.ask(ALL_NODES, 0).is_none(), "multicast");
        n.set_router(Some(addr(LL_NET, 1)));
        assert!(n.ask(LOCALHOST6, 0).is_none(), "loopback");
        n.learn(&ipv6(HOST, host, GLOBAL, 6, &[0; 20]), ASK_NS + 1);
        assert!(n.ask(host, 2 * ASK_NS).is_none(), "answered");
        assert_eq!(n.asks, 3);
    }

    #[test]
    fn a_host_beyond_the_segment_solicits_the_router() {
        let mut n = table();
        let router = addr(LL_NET, 1);
        n.set_router(Some(router));
        let ns = n.ask(addr([0x20, 1, 0xd, 0xb8, 0, 9, 0, 0], 7), 0).expect("a solicitation for the router");
        assert_eq!((&ns[22..38], &ns[62..78]), (&LL[..], &router[..]));
        assert!(n.ask(addr([0x20, 1, 0xd, 0xb8, 0, 8, 0, 0], 7), 1).is_none(), "asked already");
        n.forget();
        assert!(n.ask(addr([0x20, 1, 0xd, 0xb8, 0, 8, 0, 0], 7), 2).is_some(), "forgotten");
    }

    #[test]
    fn prefixes_and_the_table_keep_their_bounds() {
        assert!(same_prefix(&GLOBAL, &addr(NET, 1), 88), "they differ in bit 88");
        assert!(!same_prefix(&GLOBAL, &addr(NET, 1), 89));
        assert!(same_prefix(&GLOBAL, &addr([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0], 1), 47));
        assert!(!same_prefix(&GLOBAL, &addr([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0], 1), 48));
        assert!(same_prefix(&GLOBAL, &[0; 16], 0) && same_prefix(&GLOBAL, &GLOBAL, 200));
        let mut n = table();
        for i in 0..=CAPACITY as u64 {
            assert!(n.learn(&ipv6(HOST, addr(NET, 10 + i as u8), GLOBAL, 17, &[0; 8]), i).is_some());
        }
        assert_eq!(n.hosts.len(), CAPACITY);
        assert!(n.learn(&ipv6(HOST, addr(NET, 10), GLOBAL, 17, &[0; 8]), 100).is_some(), "the first one went");
    }
}
