//! Bound ports, and Linux's `bind` conflicts between them by address and family (`IPV6_V6ONLY`).
//!
//! As Linux: an `AF_INET` socket takes IPv4, an `AF_INET6` socket IPv6 and,
//! bound to `::` without `IPV6_V6ONLY`, IPv4 too (dual stack). Two sockets of one protocol
//! conflict on a port when their families meet, unless both set `SO_REUSEADDR` and the one
//! already there does not listen (so of two such sockets only one can listen). So
//! `0.0.0.0:p` and `[::]:p` with `IPV6_V6ONLY` coexist (each family's listener gets its
//! family's connections, [`super::listen`]), while a dual-stack `[::]:p` beside
//! `0.0.0.0:p` is `EADDRINUSE`. Sockets that all set `SO_REUSEPORT` never conflict, listening
//! or not ([`super::reuseport`] shares the port's connections and datagrams among them).
//! Two different specific addresses never conflict, so
//! `127.0.0.1:p` and `10.0.0.2:p` coexist (smoltcp hands each socket bound to an address
//! only what is sent to that address), while a wildcard conflicts with every address of its
//! families. TCP's listeners are sorted by family ([`super::listen`]); UDP's datagrams are
//! sorted among the sockets of a port after smoltcp gave them to the first
//! ([`super::udpshare`]).

use smoltcp::iface::SocketHandle;
use smoltcp::wire::{IpAddress, IpEndpoint};

/// The address families a socket takes.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Families {
    /// IPv4 (also as `::ffff:a.b.c.d` on a dual-stack socket).
    pub v4: bool,
    /// IPv6.
    pub v6: bool,
}

impl Families {
    /// What a socket of family `v6` with `IPV6_V6ONLY` `v6only` takes bound to an address
    /// of family `addr_v6` (after unmapping) or unspecified (`None`).
    pub fn of(v6: bool, v6only: bool, addr_v6: Option<bool>) -> Self {
        match (v6, addr_v6) {
            (false, _) | (true, Some(false)) => Self { v4: true, v6: false },
            (true, Some(true)) => Self { v4: false, v6: true },
            (true, None) => Self { v4: !v6only, v6: true },
        }
    }

    /// Whether an address of this family (`v6`) belongs.
    pub fn takes(self, v6: bool) -> bool {
        if v6 {
            self.v6
        } else {
            self.v4
        }
    }

    fn meet(self, other: Self) -> bool {
        (self.v4 && other.v4) || (self.v6 && other.v6)
    }
}

/// One socket's port.
#[derive(Clone, Copy, Debug)]
pub struct Port {
    /// TCP (UDP's ports are apart).
    pub stream: bool,
    /// The port.
    pub port: u16,
    /// The families it takes.
    pub families: Families,
    /// The address it is bound to (IPv4 ones unmapped), `None` for a wildcard.
    pub addr: Option<IpAddress>,
    /// `SO_REUSEADDR` when bound.
    pub reuse: bool,
    /// `SO_REUSEPORT` when bound (or when it began to listen).
    pub reuse_port: bool,
    /// Listening.
    pub listening: bool,
    /// The socket (its address).
    pub owner: usize,
    /// A UDP socket's smoltcp socket ([`super::udpshare`]).
    pub udp: Option<SocketHandle>,
    /// A UDP socket's connected peer.
    pub peer: Option<IpEndpoint>,
}

impl Port {
    /// Whether `self` keeps `other` (another socket, binding or starting to listen) off the
    /// port: Linux lets both have it with `SO_REUSEADDR` while `self` does not listen, and
    /// with `SO_REUSEPORT` on both in any state.
    pub fn conflicts(&self, other: &Port) -> bool {
        self.stream == other.stream
            && self.port == other.port
            && self.owner != other.owner
            && self.families.meet(other.families)
            && (self.addr.is_none() || other.addr.is_none() || self.addr == other.addr)
            && !(self.reuse && other.reuse && !self.listening)
            && !(self.reuse_port && other.reuse_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(owner: usize, v6: bool, v6only: bool, reuse: bool, listening: bool) -> Port {
        Port {
            stream: true,
            port: 80,
            families: Families::of(v6, v6only, None),
            addr: None,
            reuse,
            reuse_port: false,
            listening,
            owner,
            udp: None,
            peer: None,
        }
    }

    fn at(owner: usize, addr: IpAddress) -> Port {
        let v6 = matches!(addr, IpAddress::Ipv6(_));
        let families = Families::of(v6, false, Some(v6));
        Port {
            stream: true,
            port: 80,
            families,
            addr: Some(addr),
            reuse: false,
            reuse_port: false,
            listening: true,
            owner,
            udp: None,
            peer: None,
        }
    }

    #[test]
    fn different_addresses_share_a_port_and_a_wildcard_takes_them_all() {
        let lo = at(1, IpAddress::v4(127, 0, 0, 1));
        assert!(!lo.conflicts(&at(2, IpAddress::v4(10, 0, 5, 2))));
        assert!(lo.conflicts(&at(2, IpAddress::v4(127, 0, 0, 1))));
        assert!(lo.conflicts(&port(2, false, false, false, false)));
        assert!(port(2, true, false, false, true).conflicts(&lo), "dual-stack [::] takes 127.0.0.1 too");
        assert!(!port(2, true, true, false, true).conflicts(&lo), "a v6-only [::] does not");
    }

    #[test]
    fn v6only_sockets_share_a_port_with_ipv4_ones_and_dual_stack_ones_do_not() {
        let v4 = port(1, false, false, false, true);
        assert!(!v4.conflicts(&port(2, true, true, false, false)));
        assert!(v4.conflicts(&port(2, true, false, false, false)));
        assert!(v4.conflicts(&port(2, false, false, false, false)));
    }

    #[test]
    fn reuseaddr_lets_sockets_bind_while_neither_listens() {
        let a = port(1, false, false, true, false);
        assert!(!a.conflicts(&port(2, true, false, true, false)));
        assert!(a.conflicts(&port(2, true, false, false, false)));
        let listening = port(1, false, false, true, true);
        assert!(listening.conflicts(&port(2, true, false, true, false)));
    }

    #[test]
    fn reuseport_lets_sockets_bind_and_listen_when_all_set_it() {
        let with = |owner, listening| Port { reuse_port: true, ..port(owner, false, false, false, listening) };
        assert!(!with(1, true).conflicts(&with(2, true)), "both listen");
        assert!(!with(1, false).conflicts(&Port { addr: Some(IpAddress::v4(127, 0, 0, 1)), ..with(2, false) }));
        assert!(with(1, true).conflicts(&port(2, false, false, false, false)), "the newcomer lacks it");
        assert!(port(1, false, false, false, false).conflicts(&with(2, false)), "the one bound lacks it");
        assert!(!with(1, false).conflicts(&Port { stream: false, ..with(2, false) }), "UDP ports are apart");
    }

    #[test]
    fn a_specific_address_takes_its_family_only() {
        assert_eq!(Families::of(true, false, Some(false)), Families { v4: true, v6: false });
        assert_eq!(Families::of(true, false, Some(true)), Families { v4: false, v6: true });
        assert_eq!(Families::of(false, false, None), Families { v4: true, v6: false });
    }
}
