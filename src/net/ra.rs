//! What smoltcp's SLAAC lacks: router advertisements screened before it sees them (one prefix each, none that would crash it, no short lifetime for our prefixes), and its routes beside an IPv4 default route.
//!
//! smoltcp (0.13, `proto-ipv6-slaac`) keeps only the last prefix information option of an
//! advertisement, so of a router that advertises two prefixes (a global one and a ULA, as
//! home routers do) the guest formed one address. And for a prefix with the autonomous flag
//! it panics on a prefix length above 128 (`Ipv6Cidr::new`), or makes an address of a
//! multicast prefix and then panics in its own check that interface addresses are unicast:
//! one frame from the segment ended the guest. The device therefore hands smoltcp an
//! advertisement with several prefix options as copies with one each (the other options in
//! every copy, at most [`MAX_PREFIXES`]), and drops an advertisement that offers such a
//! prefix for addresses ([`screen`]). And it takes any valid lifetime for a prefix it formed
//! an address in, so one forged advertisement with lifetime 0 took the guest's address away:
//! as RFC 4862 (5.5.3 e) says, a lifetime below two hours for such a prefix becomes two hours
//! (the RFC keeps a remaining lifetime below two hours as it is; smoltcp does not tell it, so
//! such a prefix may live up to two hours longer). Everything else, malformed advertisements
//! included, is smoltcp's (it checks lengths and the checksum).
//!
//! And SLAAC adds a default route only to a route table without IPv4 routes (its check that
//! a route is new counts every IPv4 route as the same one): behind a static or DHCP gateway
//! the guest never got an IPv6 default route. [`maintain`] sets the IPv4 default route aside
//! while smoltcp applies what SLAAC learned.

use alloc::vec::Vec;

use smoltcp::iface::Interface;
use smoltcp::time::Instant;
use smoltcp::wire::{IpAddress, Ipv4Address};

use super::neighbors6::icmpv6_checksum;

/// Copies made of one advertisement at most; smoltcp holds 4 prefixes (`Cargo.toml`).
pub const MAX_PREFIXES: usize = 8;

/// The shortest valid lifetime (s) an advertisement may give a prefix we have an address in.
pub const MIN_VALID_S: u32 = 7200;

/// What to do with a frame from the NIC.
#[derive(Debug, PartialEq, Eq)]
pub enum Screen {
    /// Hand it to smoltcp as it is.
    Pass,
    /// Drop it.
    Drop,
    /// Hand smoltcp these frames instead.
    Split(Vec<Vec<u8>>),
}

/// The offset of the ICMPv6 message in `frame` (an Ethernet frame) past the IPv6 header and
/// its hop-by-hop, routing and destination options headers, with the message's end.
fn icmpv6(frame: &[u8]) -> Option<(usize, usize)> {
    if frame.get(12..14)? != [0x86, 0xdd] {
        return None;
    }
    let end = 54 + usize::from(u16::from_be_bytes([*frame.get(18)?, *frame.get(19)?]));
    if end > frame.len() {
        return None;
    }
    let (mut next, mut at) = (frame[20], 54);
    for _ in 0..8 {
        match next {
            58 => return Some((at, end)),
            0 | 43 | 60 => {
                next = *frame.get(at)?;
                at += (usize::from(*frame.get(at + 1)?) + 1) * 8;
                if at > end {
                    return None;
                }
            }
            _ => return None,
        }
    }
    None
}

/// What to do with `frame` (an Ethernet frame from the NIC) before smoltcp sees it; `ours`
/// tells whether a /64 prefix (its first 8 bytes) is one we have an address in.
pub fn screen(frame: &[u8], ours: &dyn Fn(&[u8]) -> bool) -> Screen {
    let Some((at, end)) = icmpv6(frame) else { return Screen::Pass };
    let icmp = &frame[at..end];
    if icmp.len() < 16 || icmp[0] != 134 || icmp[1] != 0 {
        return Screen::Pass;
    }
    // The options, as (offset in `icmp`, length); a malformed list is smoltcp's to drop.
    let mut options = Vec::new();
    let mut o = 16;
    while o < icmp.len() {
        let len = usize::from(*icmp.get(o + 1).unwrap_or(&0)) * 8;
        if len == 0 || o + len > icmp.len() {
            return Screen::Pass;
        }
        options.push((o, len));
        o += len;
    }
    let prefix = |&(o, len): &(usize, usize)| icmp[o] == 3 && len == 32;
    let prefixes: Vec<(usize, usize)> = options.iter().copied().filter(prefix).collect();
    if prefixes.iter().any(|&(o, _)| icmp[o + 3] & 0x40 != 0 && (icmp[o + 16] == 0xff || icmp[o + 2] > 128)) {
        return Screen::Drop;
    }
    // Our prefixes whose valid lifetime is to be raised (autonomous, /64).
    let short = |&(o, _): &(usize, usize)| {
        icmp[o + 2] == 64 && icmp[o + 3] & 0x40 != 0 && ours(&icmp[o + 16..o + 24]) && {
            let valid = u32::from_be_bytes([icmp[o + 4], icmp[o + 5], icmp[o + 6], icmp[o + 7]]);
            valid < MIN_VALID_S
        }
    };
    if prefixes.len() < 2 && !prefixes.iter().any(short) {
        return Screen::Pass;
    }
    let src: [u8; 16] = frame[22..38].try_into().unwrap_or_default();
    let dst: [u8; 16] = frame[38..54].try_into().unwrap_or_default();
    let mut checked = icmp.to_vec();
    checked[2..4].fill(0);
    if icmpv6_checksum(&src, &dst, &checked).to_be_bytes() != icmp[2..4] {
        return Screen::Pass;
    }
    let others: Vec<(usize, usize)> = options.iter().copied().filter(|opt| !prefix(opt)).collect();
    let copies = prefixes
        .iter()
        .take(MAX_PREFIXES)
        .map(|&one| {
            let mut msg = icmp[..16].to_vec();
            msg[2..4].fill(0);
            for &(o, len) in others.iter().chain([one].iter()) {
                msg.extend_from_slice(&icmp[o..o + len]);
            }
            if short(&one) {
                let valid = msg.len() - 32 + 4;
                msg[valid..valid + 4].copy_from_slice(&MIN_VALID_S.to_be_bytes());
            }
            let sum = icmpv6_checksum(&src, &dst, &msg);
            msg[2..4].copy_from_slice(&sum.to_be_bytes());
            let mut copy = frame[..at].to_vec();
            let payload = (at - 54 + msg.len()) as u16;
            copy[18..20].copy_from_slice(&payload.to_be_bytes());
            copy.extend_from_slice(&msg);
            copy
        })
        .collect();
    Screen::Split(copies)
}

/// smoltcp's `poll_maintenance` (which applies what SLAAC learned), with the IPv4 default
/// route taken out of the table while it runs and put back after.
pub fn maintain(iface: &mut Interface, now: Instant) {
    let v4 = iface.routes_mut().remove_default_ipv4_route();
    iface.poll_maintenance(now);
    if let Some(IpAddress::Ipv4(gateway)) = v4.map(|route| route.via_router) {
        add_ipv4_gateway(iface, gateway);
    }
}

/// Adds the default IPv4 route via `gateway`. SLAAC's routes share smoltcp's table (4
/// entries): if a flood of router advertisements filled it, an IPv6 route makes room.
pub fn add_ipv4_gateway(iface: &mut Interface, gateway: Ipv4Address) {
    if iface.routes_mut().add_default_ipv4_route(gateway).is_ok() {
        return;
    }
    iface.routes_mut().update(|routes| {
        if let Some(i) = routes.iter().position(|r| matches!(r.via_router, IpAddress::Ipv6(_))) {
            routes.remove(i);
        }
    });
    if iface.routes_mut().add_default_ipv4_route(gateway).is_err() {
        log::warn!("net: no room for the default route via {gateway}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use smoltcp::wire::{
        EthernetFrame, Icmpv6Packet, Icmpv6Repr, Ipv6Address, Ipv6Packet, NdiscPrefixInfoFlags, NdiscRepr,
    };

    const ROUTER: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const ALL_NODES: [u8; 16] = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

    fn prefix_option(prefix: [u8; 8], len: u8, flags: u8) -> Vec<u8> {
        let mut o = vec![3, 4, len, flags, 0, 0, 0x1c, 0x20, 0, 0, 0x0e, 0x10, 0, 0, 0, 0];
        o.extend_from_slice(&prefix);
        o.extend_from_slice(&[0; 8]);
        o
    }

    /// A router advertisement (lifetime 1800 s) with `options`, its checksum right.
    fn ra(options: &[Vec<u8>], hbh: bool) -> Vec<u8> {
        let mut icmp = vec![134, 0, 0, 0, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
        for o in options {
            icmp.extend_from_slice(o);
        }
        let sum = icmpv6_checksum(&ROUTER, &ALL_NODES, &icmp);
        icmp[2..4].copy_from_slice(&sum.to_be_bytes());
        let ext: &[u8] = if hbh { &[58, 0, 1, 4, 0, 0, 0, 0] } else { &[] };
        let mut f = vec![0x33, 0x33, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1, 0x86, 0xdd, 0x60, 0, 0, 0];
        f.extend_from_slice(&((ext.len() + icmp.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[if hbh { 0 } else { 58 }, 255]);
        f.extend_from_slice(&ROUTER);
        f.extend_from_slice(&ALL_NODES);
        f.extend_from_slice(ext);
        f.extend_from_slice(&icmp);
        f
    }

    /// The prefix smoltcp reads from `frame` (and that it parses and checks the frame), whose
    /// ICMPv6 message follows `skip` bytes of extension headers.
    fn parsed_prefix(frame: &[u8], skip: usize) -> Option<Ipv6Address> {
        let eth = EthernetFrame::new_checked(frame).unwrap();
        let ip = Ipv6Packet::new_checked(eth.payload()).unwrap();
        let icmp = Icmpv6Packet::new_checked(&ip.payload()[skip..]).unwrap();
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        assert!(icmp.verify_checksum(&src, &dst), "checksum");
        match Icmpv6Repr::parse(&src, &dst, &icmp, &Default::default()).unwrap() {
            Icmpv6Repr::Ndisc(NdiscRepr::RouterAdvert { prefix_info, lladdr, .. }) => {
                assert!(lladdr.is_some(), "the other options are kept");
                let info = prefix_info?;
                assert!(info.flags.contains(NdiscPrefixInfoFlags::ADDRCONF));
                Some(info.prefix)
            }
            other => panic!("{other:?}"),
        }
    }

    const LLADDR: [u8; 8] = [1, 1, 2, 0, 0, 0, 0, 1];

    /// [`screen`] without addresses of ours.
    fn screen_none(frame: &[u8]) -> Screen {
        screen(frame, &|_| false)
    }
    const GLOBAL: [u8; 8] = [0x20, 1, 0xd, 0xb8, 0, 1, 0, 0];
    const ULA: [u8; 8] = [0xfd, 0, 0, 0, 0, 0, 0, 0];

    #[test]
    fn several_prefixes_become_one_advertisement_each() {
        let f = ra(&[LLADDR.to_vec(), prefix_option(GLOBAL, 64, 0xc0), prefix_option(ULA, 64, 0xc0)], false);
        let Screen::Split(copies) = screen_none(&f) else { panic!("not split") };
        let prefixes: Vec<_> = copies.iter().map(|c| parsed_prefix(c, 0).unwrap().octets()[..8].to_vec()).collect();
        assert_eq!(prefixes, [GLOBAL.to_vec(), ULA.to_vec()]);
        let many: Vec<Vec<u8>> = (0..12u8).map(|i| prefix_option([0x20, 1, 0xd, 0xb8, 0, i, 0, 0], 64, 0xc0)).collect();
        let Screen::Split(copies) = screen_none(&ra(&[vec![LLADDR.to_vec()], many].concat(), true)) else { panic!() };
        assert_eq!(copies.len(), MAX_PREFIXES);
        assert!(copies.iter().all(|c| parsed_prefix(c, 8).is_some()), "behind a hop-by-hop header too");
    }

    #[test]
    fn a_multicast_prefix_for_addresses_is_dropped() {
        let bad = prefix_option([0xff, 2, 0, 0, 0, 0, 0, 0], 64, 0xc0);
        assert_eq!(screen_none(&ra(&[LLADDR.to_vec(), bad.clone()], false)), Screen::Drop);
        assert_eq!(screen_none(&ra(&[prefix_option(GLOBAL, 64, 0xc0), bad.clone()], true)), Screen::Drop);
        let on_link_only = prefix_option([0xff, 2, 0, 0, 0, 0, 0, 0], 64, 0x80);
        assert_eq!(screen_none(&ra(&[LLADDR.to_vec(), on_link_only], false)), Screen::Pass);
        assert_eq!(screen_none(&ra(&[prefix_option(GLOBAL, 129, 0xc0)], false)), Screen::Drop, "a length past 128");
        assert_eq!(screen_none(&ra(&[prefix_option(GLOBAL, 128, 0xc0)], false)), Screen::Pass);
    }

    #[test]
    fn a_short_lifetime_for_our_prefix_becomes_two_hours() {
        let ours = |p: &[u8]| p == GLOBAL;
        let mut zero = prefix_option(GLOBAL, 64, 0xc0);
        zero[4..12].fill(0);
        let Screen::Split(copies) = screen(&ra(&[LLADDR.to_vec(), zero.clone()], false), &ours) else { panic!() };
        let lifetimes = |c: &[u8]| {
            let o = c.len() - 32;
            (
                u32::from_be_bytes(c[o + 4..o + 8].try_into().unwrap()),
                u32::from_be_bytes(c[o + 8..o + 12].try_into().unwrap()),
            )
        };
        assert_eq!(copies.len(), 1);
        assert_eq!(lifetimes(&copies[0]), (MIN_VALID_S, 0), "valid two hours, preferred as it was");
        assert!(parsed_prefix(&copies[0], 0).is_some(), "checksum right");
        let two = ra(&[zero.clone(), prefix_option(ULA, 64, 0xc0)], false);
        let Screen::Split(copies) = screen(&two, &ours) else { panic!() };
        assert_eq!(lifetimes(&copies[0]).0, MIN_VALID_S);
        assert_eq!(lifetimes(&copies[1]).0, 7200, "another prefix as it came");
        assert_eq!(screen(&ra(&[zero.clone()], false), &|_| false), Screen::Pass, "not ours: as it came");
        assert_eq!(screen(&ra(&[prefix_option(GLOBAL, 64, 0xc0)], false), &ours), Screen::Pass, "long enough");
    }

    #[test]
    fn everything_else_is_left_to_smoltcp() {
        let one = ra(&[LLADDR.to_vec(), prefix_option(GLOBAL, 64, 0xc0)], false);
        assert_eq!(screen_none(&one), Screen::Pass);
        let two = ra(&[prefix_option(GLOBAL, 64, 0xc0), prefix_option(ULA, 64, 0xc0)], false);
        let mut bad_sum = two.clone();
        bad_sum[57] ^= 1;
        assert_eq!(screen_none(&bad_sum), Screen::Pass, "a wrong checksum: smoltcp drops it");
        let mut zero_len = two.clone();
        zero_len[54 + 16 + 1] = 0;
        assert_eq!(screen_none(&zero_len), Screen::Pass);
        for cut in 0..two.len() {
            assert!(!matches!(screen_none(&two[..cut]), Screen::Split(_)), "{cut} bytes");
        }
        let mut echo = two.clone();
        echo[54] = 128;
        assert_eq!(screen_none(&echo), Screen::Pass);
    }
}
