//! Socket addresses in the original's (lwIP's) layout, with `sin_len` first:
//! `sockaddr_in` {u8 len, u8 family, u16 port, u32 addr, u8 zero[8]} (16 bytes),
//! `sockaddr_in6` {u8 len, u8 family, u16 port, u32 flowinfo, u8 addr[16], u32 scope_id}
//! (28 bytes); ports and addresses in network byte order.

use smoltcp::wire::{IpAddress, IpEndpoint, Ipv4Address, Ipv6Address};

use crate::errno::{Result, EAFNOSUPPORT, EINVAL};

/// `AF_UNSPEC`.
pub const AF_UNSPEC: u8 = 0;
/// `AF_INET`.
pub const AF_INET: u8 = 2;
/// `AF_INET6` (lwIP's 10).
pub const AF_INET6: u8 = 10;
/// `sizeof(struct sockaddr_in)`.
pub const SOCKADDR_IN_LEN: usize = 16;
/// `sizeof(struct sockaddr_in6)`.
pub const SOCKADDR_IN6_LEN: usize = 28;

/// Whether `addr` is a loopback address (127.0.0.0/8, `::1`): `lo`'s.
pub fn is_loopback(addr: IpAddress) -> bool {
    match addr {
        IpAddress::Ipv4(a) => a.is_loopback(),
        IpAddress::Ipv6(a) => a.is_loopback(),
    }
}

/// An endpoint from a C `struct sockaddr` of `bytes.len()` bytes; port 0 and the unspecified
/// address are allowed (bind). `AF_UNSPEC` gives `None` (UDP `connect` dissolves).
pub fn parse(bytes: &[u8]) -> Result<Option<IpEndpoint>> {
    let family = *bytes.get(1).ok_or(EINVAL)?;
    match family {
        AF_UNSPEC => Ok(None),
        AF_INET => {
            let b = bytes.get(..8).filter(|_| bytes.len() >= SOCKADDR_IN_LEN - 8).ok_or(EINVAL)?;
            let port = u16::from_be_bytes([b[2], b[3]]);
            Ok(Some(IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::new(b[4], b[5], b[6], b[7])), port)))
        }
        AF_INET6 => {
            let b = bytes.get(..24).ok_or(EINVAL)?;
            let port = u16::from_be_bytes([b[2], b[3]]);
            let mut octets = [0; 16];
            octets.copy_from_slice(&b[8..24]);
            Ok(Some(IpEndpoint::new(IpAddress::Ipv6(Ipv6Address::from(octets)), port)))
        }
        _ => Err(EAFNOSUPPORT),
    }
}

/// The `sin6_scope_id` of a C `struct sockaddr_in6` (0 for anything else).
pub fn scope_id(bytes: &[u8]) -> u32 {
    match bytes.get(24..28) {
        Some(b) if bytes.get(1) == Some(&AF_INET6) => u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
        _ => 0,
    }
}

/// Writes `endpoint` as a C `struct sockaddr` into `out` (truncated to its length, as
/// POSIX says) and returns the full length.
pub fn format(endpoint: IpEndpoint, out: &mut [u8]) -> usize {
    let mut buf = [0u8; SOCKADDR_IN6_LEN];
    let port = endpoint.port.to_be_bytes();
    let len = match endpoint.addr {
        IpAddress::Ipv4(a) => {
            buf[..4].copy_from_slice(&[SOCKADDR_IN_LEN as u8, AF_INET, port[0], port[1]]);
            buf[4..8].copy_from_slice(&a.octets());
            SOCKADDR_IN_LEN
        }
        IpAddress::Ipv6(a) => {
            buf[..4].copy_from_slice(&[SOCKADDR_IN6_LEN as u8, AF_INET6, port[0], port[1]]);
            buf[8..24].copy_from_slice(&a.octets());
            SOCKADDR_IN6_LEN
        }
    };
    let n = out.len().min(len);
    out[..n].copy_from_slice(&buf[..n]);
    len
}

/// `endpoint` as an `AF_INET6` socket shows it: an IPv4 address as its IPv4-mapped IPv6
/// address (`::ffff:a.b.c.d`, RFC 4291), as Linux and the original's lwIP show the IPv4
/// peers of a dual-stack socket.
pub fn map(endpoint: IpEndpoint) -> IpEndpoint {
    match endpoint.addr {
        IpAddress::Ipv4(a) => {
            let o = a.octets();
            let v6 = Ipv6Address::new(
                0,
                0,
                0,
                0,
                0,
                0xffff,
                u16::from_be_bytes([o[0], o[1]]),
                u16::from_be_bytes([o[2], o[3]]),
            );
            IpEndpoint::new(IpAddress::Ipv6(v6), endpoint.port)
        }
        IpAddress::Ipv6(_) => endpoint,
    }
}

/// The IPv4 endpoint an IPv4-mapped IPv6 address stands for; any other endpoint unchanged.
pub fn unmap(endpoint: IpEndpoint) -> IpEndpoint {
    IpEndpoint::new(unmap_addr(endpoint.addr), endpoint.port)
}

/// The IPv4 address an IPv4-mapped IPv6 address stands for; any other address unchanged.
pub fn unmap_addr(addr: IpAddress) -> IpAddress {
    match addr {
        IpAddress::Ipv6(a) => {
            let o = a.octets();
            if o[..10].iter().all(|&b| b == 0) && o[10] == 0xff && o[11] == 0xff {
                IpAddress::Ipv4(Ipv4Address::new(o[12], o[13], o[14], o[15]))
            } else {
                addr
            }
        }
        IpAddress::Ipv4(_) => addr,
    }
}

/// A destination of the unspecified address (`0.0.0.0`, `::`) as Linux takes it: this host,
/// the loopback address of its family; any other endpoint unchanged.
pub fn this_host(endpoint: IpEndpoint) -> IpEndpoint {
    match endpoint.addr {
        IpAddress::Ipv4(a) if a.is_unspecified() => IpEndpoint::new(IpAddress::v4(127, 0, 0, 1), endpoint.port),
        IpAddress::Ipv6(a) if a.is_unspecified() => {
            IpEndpoint::new(IpAddress::Ipv6(smoltcp::wire::Ipv6Address::LOCALHOST), endpoint.port)
        }
        _ => endpoint,
    }
}

/// The prefix length of netmask `mask` (leading ones; 24 for 255.255.255.0).
pub fn prefix_len(mask: [u8; 4]) -> u8 {
    u32::from_be_bytes(mask).leading_ones() as u8
}

/// The IPv6 link-local address of `mac` (modified EUI-64, RFC 4291).
pub fn link_local(mac: [u8; 6]) -> Ipv6Address {
    let mut o = [0u8; 16];
    o[0] = 0xfe;
    o[1] = 0x80;
    o[8..11].copy_from_slice(&[mac[0] ^ 2, mac[1], mac[2]]);
    o[11] = 0xff;
    o[12] = 0xfe;
    o[13..].copy_from_slice(&mac[3..]);
    Ipv6Address::from(o)
}

/// `"xx:xx:xx:xx:xx:xx"` (what `NETINFO` returns, NUL-terminated) as six bytes.
pub fn parse_mac(text: &[u8; 18]) -> Option<[u8; 6]> {
    let text = core::str::from_utf8(&text[..17]).ok()?;
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_mapped_addresses() {
        let v4 = IpEndpoint::new(IpAddress::v4(10, 0, 5, 1), 80);
        let mapped = map(v4);
        let mut out = [0; SOCKADDR_IN6_LEN];
        assert_eq!(format(mapped, &mut out), SOCKADDR_IN6_LEN);
        assert_eq!(out[1], AF_INET6);
        assert_eq!(&out[8..24], &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 5, 1]);
        assert_eq!(unmap(mapped), v4);
        // Neither IPv6 addresses nor IPv4 ones change otherwise.
        let v6 = IpEndpoint::new(IpAddress::Ipv6(Ipv6Address::LOCALHOST), 80);
        assert_eq!(map(v6), v6);
        assert_eq!(unmap(v6), v6);
        assert_eq!(unmap(v4), v4);
        // ::ffff:0:a.b.c.d (SIIT) and ::a.b.c.d (deprecated compatible) are not mapped.
        let siit = IpEndpoint::new(IpAddress::Ipv6(Ipv6Address::new(0, 0, 0, 0, 0xffff, 0, 0x0a00, 0x0501)), 1);
        assert_eq!(unmap(siit), siit);
        let compatible = IpEndpoint::new(IpAddress::Ipv6(Ipv6Address::new(0, 0, 0, 0, 0, 0, 0x0a00, 0x0501)), 1);
        assert_eq!(unmap(compatible), compatible);
    }

    #[test]
    fn unspecified_destinations_are_this_host() {
        let any4 = IpEndpoint::new(IpAddress::v4(0, 0, 0, 0), 9);
        assert_eq!(this_host(any4), IpEndpoint::new(IpAddress::v4(127, 0, 0, 1), 9));
        let any6 = IpEndpoint::new(IpAddress::Ipv6(Ipv6Address::UNSPECIFIED), 9);
        assert_eq!(this_host(any6), IpEndpoint::new(IpAddress::Ipv6(Ipv6Address::LOCALHOST), 9));
        let other = IpEndpoint::new(IpAddress::v4(10, 0, 5, 1), 9);
        assert_eq!(this_host(other), other);
    }

    #[test]
    fn ipv4_round_trip() {
        let sa = [16, AF_INET, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        let ep = parse(&sa).unwrap().unwrap();
        assert_eq!(ep, IpEndpoint::new(IpAddress::v4(127, 0, 0, 1), 8080));
        let mut out = [0xaa; 16];
        assert_eq!(format(ep, &mut out), 16);
        assert_eq!(out, sa);
        // A short buffer gets a truncated address and the full length.
        let mut short = [0; 4];
        assert_eq!(format(ep, &mut short), 16);
        assert_eq!(short, [16, AF_INET, 0x1f, 0x90]);
    }

    #[test]
    fn ipv6_and_errors() {
        let mut sa = [0u8; 28];
        sa[1] = AF_INET6;
        sa[3] = 7;
        sa[23] = 1;
        let ep = parse(&sa).unwrap().unwrap();
        assert_eq!(ep, IpEndpoint::new(IpAddress::Ipv6(Ipv6Address::LOCALHOST), 7));
        assert_eq!(parse(&sa[..20]), Err(EINVAL));
        assert_eq!(parse(&[0, 1, 0, 0]), Err(EAFNOSUPPORT));
        assert_eq!(parse(&[0, AF_UNSPEC]), Ok(None));
        assert_eq!(parse(&[16]), Err(EINVAL));
        assert_eq!(scope_id(&sa), 0);
        sa[24..].copy_from_slice(&2u32.to_ne_bytes());
        assert_eq!(scope_id(&sa), 2);
        assert_eq!(scope_id(&sa[..24]), 0);
    }

    #[test]
    fn masks_macs_and_link_local() {
        assert_eq!(prefix_len([255, 255, 255, 0]), 24);
        assert_eq!(prefix_len([0, 0, 0, 0]), 0);
        assert_eq!(parse_mac(b"52:54:00:12:34:5f\0"), Some([0x52, 0x54, 0, 0x12, 0x34, 0x5f]));
        assert_eq!(parse_mac(&[0; 18]), None);
        let ll = link_local([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        assert_eq!(ll.octets()[8..], [0x50, 0x54, 0, 0xff, 0xfe, 0x12, 0x34, 0x56]);
    }
}
