//! ICMP "destination unreachable" for our UDP datagrams, reported to the connected UDP socket as Linux reports it (`ECONNREFUSED` & co.).
//!
//! smoltcp hands ICMP errors to no UDP socket, so a client whose connected UDP socket sent to
//! a port nobody listens on waited for its whole timeout where Linux's `recv` (or next
//! `send`) fails at once with `ECONNREFUSED`. The device notes each such error that arrives
//! ([`Refusals::note`]: the quoted datagram's addresses and ports, ours first), and a
//! connected UDP socket's next call takes the one for its port and peer
//! ([`Refusals::take`]). Linux's mapping: port unreachable → `ECONNREFUSED`, network
//! unreachable → `ENETUNREACH`, host unreachable → `EHOSTUNREACH`, administratively
//! prohibited → `EACCES` (IPv4 codes 0, 1, 3, 13; IPv6 codes 0, 3, 4, 1). An unconnected
//! socket is told nothing, as on Linux without `IP_RECVERR`.

use alloc::collections::VecDeque;

use smoltcp::wire::{IpAddress, IpEndpoint, Ipv4Address, Ipv6Address};

use crate::errno::{Errno, EACCES, ECONNREFUSED, EHOSTUNREACH, ENETUNREACH};

/// Errors kept for sockets to take; beyond, the oldest is forgotten.
const KEPT: usize = 16;
const ETH: usize = 14;

/// ICMP errors for our UDP datagrams that no socket took yet.
#[derive(Default)]
pub struct Refusals {
    /// (our endpoint, the peer's, the error), oldest first.
    errors: VecDeque<(IpEndpoint, IpEndpoint, Errno)>,
}

impl Refusals {
    /// Notes the error an Ethernet `frame` reports, if it is an ICMP or ICMPv6 destination
    /// unreachable message quoting a UDP datagram of ours.
    pub fn note(&mut self, frame: &[u8]) {
        let Some(error) = unreachable(frame) else { return };
        if self.errors.len() >= KEPT {
            self.errors.pop_front();
        }
        self.errors.push_back(error);
    }

    /// The error noted for a datagram from port `local` to `peer`, taken (the newest).
    pub fn take(&mut self, local: u16, peer: IpEndpoint) -> Option<Errno> {
        let at = self.errors.iter().rposition(|(ours, theirs, _)| ours.port == local && *theirs == peer)?;
        self.errors.remove(at).map(|(_, _, e)| e)
    }

    /// Forgets the errors for port `local` (a socket connects anew).
    pub fn forget(&mut self, local: u16) {
        self.errors.retain(|(ours, _, _)| ours.port != local);
    }
}

/// (our endpoint, the peer's, the error) of a destination unreachable message about a UDP
/// datagram of ours in `frame`.
fn unreachable(frame: &[u8]) -> Option<(IpEndpoint, IpEndpoint, Errno)> {
    let get = |at: usize, len: usize| frame.get(at..at + len);
    match get(12, 2)? {
        [8, 0] => {
            let ihl = usize::from(*frame.get(ETH)? & 0xf) * 4;
            let icmp = ETH + ihl;
            if *frame.get(ETH + 9)? != 1 || *frame.get(icmp)? != 3 {
                return None;
            }
            let error = match frame.get(icmp + 1)? {
                0 => ENETUNREACH,
                1 => EHOSTUNREACH,
                3 => ECONNREFUSED,
                13 => EACCES,
                _ => return None,
            };
            // The quoted IPv4 header and the first 8 bytes of its payload.
            let quoted = icmp + 8;
            let quoted_ihl = usize::from(*frame.get(quoted)? & 0xf) * 4;
            if *frame.get(quoted + 9)? != 17 || quoted_ihl < 20 {
                return None;
            }
            let addr = |at: usize| -> Option<IpAddress> {
                let octets: [u8; 4] = get(at, 4)?.try_into().ok()?;
                Some(IpAddress::Ipv4(Ipv4Address::from(octets)))
            };
            endpoints(frame, addr(quoted + 12)?, addr(quoted + 16)?, quoted + quoted_ihl, error)
        }
        [0x86, 0xdd] => {
            let icmp = ETH + 40;
            if *frame.get(ETH + 6)? != 58 || *frame.get(icmp)? != 1 {
                return None;
            }
            let error = match frame.get(icmp + 1)? {
                0 => ENETUNREACH,
                1 => EACCES,
                3 => EHOSTUNREACH,
                4 => ECONNREFUSED,
                _ => return None,
            };
            let quoted = icmp + 8;
            if *frame.get(quoted + 6)? != 17 {
                return None;
            }
            let addr = |at: usize| -> Option<IpAddress> {
                let octets: [u8; 16] = get(at, 16)?.try_into().ok()?;
                Some(IpAddress::Ipv6(Ipv6Address::from(octets)))
            };
            endpoints(frame, addr(quoted + 8)?, addr(quoted + 24)?, quoted + 40, error)
        }
        _ => None,
    }
}

/// The endpoints of the UDP header at `udp` of a datagram from `src` to `dst`, with `error`.
fn endpoints(
    frame: &[u8],
    src: IpAddress,
    dst: IpAddress,
    udp: usize,
    error: Errno,
) -> Option<(IpEndpoint, IpEndpoint, Errno)> {
    let port = |at: usize| Some(u16::from_be_bytes([*frame.get(at)?, *frame.get(at + 1)?]));
    Some((IpEndpoint::new(src, port(udp)?), IpEndpoint::new(dst, port(udp + 2)?), error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// An ICMP destination unreachable of `code` from 10.0.5.1 quoting our datagram from
    /// 10.0.5.2:`sport` to 10.0.5.1:`dport`.
    fn icmp4(code: u8, sport: u16, dport: u16) -> Vec<u8> {
        let mut f = vec![0u8; ETH + 20 + 8 + 20 + 8];
        f[12..14].copy_from_slice(&[8, 0]);
        f[ETH] = 0x45;
        f[ETH + 9] = 1;
        f[ETH + 20] = 3;
        f[ETH + 21] = code;
        let q = ETH + 28;
        f[q] = 0x45;
        f[q + 9] = 17;
        f[q + 12..q + 20].copy_from_slice(&[10, 0, 5, 2, 10, 0, 5, 1]);
        f[q + 20..q + 22].copy_from_slice(&sport.to_be_bytes());
        f[q + 22..q + 24].copy_from_slice(&dport.to_be_bytes());
        f
    }

    fn peer(port: u16) -> IpEndpoint {
        IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::new(10, 0, 5, 1)), port)
    }

    #[test]
    fn a_port_unreachable_refuses_the_connected_socket_once() {
        let mut r = Refusals::default();
        r.note(&icmp4(3, 50000, 9999));
        assert_eq!(r.take(50001, peer(9999)), None, "another socket");
        assert_eq!(r.take(50000, peer(9998)), None, "another peer");
        assert_eq!(r.take(50000, peer(9999)), Some(ECONNREFUSED));
        assert_eq!(r.take(50000, peer(9999)), None, "once");
        r.note(&icmp4(1, 50000, 9999));
        assert_eq!(r.take(50000, peer(9999)), Some(EHOSTUNREACH));
        r.note(&icmp4(3, 50000, 9999));
        r.forget(50000);
        assert_eq!(r.take(50000, peer(9999)), None, "forgotten");
    }

    #[test]
    fn other_messages_and_cut_frames_are_ignored() {
        let mut r = Refusals::default();
        let mut tcp = icmp4(3, 50000, 9999);
        tcp[ETH + 28 + 9] = 6;
        r.note(&tcp);
        // Fragmentation needed: not an error for the socket.
        r.note(&icmp4(4, 50000, 9999));
        // Cut before the quoted ports end.
        let full = icmp4(3, 50000, 9999);
        for len in 0..ETH + 28 + 24 {
            r.note(&full[..len]);
        }
        assert!(r.errors.is_empty());
        for port in 0..40 {
            r.note(&icmp4(3, port, 9999));
        }
        assert_eq!(r.errors.len(), KEPT);
    }

    #[test]
    fn ipv6_port_unreachable() {
        let mut f = vec![0u8; ETH + 40 + 8 + 40 + 8];
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        f[ETH] = 0x60;
        f[ETH + 6] = 58;
        f[ETH + 40] = 1;
        f[ETH + 41] = 4;
        let q = ETH + 48;
        f[q] = 0x60;
        f[q + 6] = 17;
        f[q + 23] = 2;
        f[q + 39] = 1;
        f[q + 40..q + 42].copy_from_slice(&50000u16.to_be_bytes());
        f[q + 42..q + 44].copy_from_slice(&53u16.to_be_bytes());
        let mut r = Refusals::default();
        r.note(&f);
        let mut one = [0u8; 16];
        one[15] = 1;
        let peer = IpEndpoint::new(IpAddress::Ipv6(Ipv6Address::from(one)), 53);
        assert_eq!(r.take(50000, peer), Some(ECONNREFUSED));
    }
}
