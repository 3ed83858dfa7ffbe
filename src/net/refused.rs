//! ICMP errors for our UDP datagrams, reported to the connected UDP socket as Linux reports them (`ECONNREFUSED` & co.).
//!
//! smoltcp hands ICMP errors to no UDP socket, so a client whose connected UDP socket sent to
//! a port nobody listens on waited for its whole timeout where Linux's `recv` (or next
//! `send`) fails at once with `ECONNREFUSED`. The device notes each such error that arrives
//! ([`Refusals::note`]: the quoted datagram's addresses and ports, ours first), and a
//! connected UDP socket's next call takes the one for its port and peer
//! ([`Refusals::take`]). Which messages count and their errors are Linux's (`icmp_err_convert`
//! and `icmpv6_err_convert`), and only those Linux calls fatal reach a socket without
//! `IP_RECVERR`: IPv4 destination unreachable codes 2 (`ENOPROTOOPT`), 3 (`ECONNREFUSED`),
//! 4 (`EMSGSIZE`, fragmentation needed), 6 and 9 (`ENETUNREACH`), 7 (`EHOSTDOWN`), 8
//! (`ENONET`), 10, 13, 14, 15 (`EHOSTUNREACH`); IPv6 destination unreachable codes 1, 5, 6
//! (`EACCES`) and 4 (`ECONNREFUSED`), and packet too big (`EMSGSIZE`). A network or host
//! that is merely unreachable (IPv4 codes 0, 1; IPv6 0, 3) is no error for the socket, as on
//! Linux. A message counts only with a right ICMP checksum and for a datagram from one of our
//! addresses. An unconnected socket is told nothing, as on Linux without `IP_RECVERR`.

use alloc::collections::VecDeque;

use hermit_interface::vnet::ETH_LEN as ETH;
use smoltcp::wire::{IpAddress, IpEndpoint, Ipv4Address, Ipv6Address};

use super::offload::{fold, sum};
use crate::errno::{Errno, EACCES, ECONNREFUSED, EHOSTDOWN, EHOSTUNREACH, EMSGSIZE, ENETUNREACH, ENONET, ENOPROTOOPT};

/// Errors kept for sockets to take; beyond, the oldest is forgotten.
const KEPT: usize = 16;

/// ICMP errors for our UDP datagrams that no socket took yet.
#[derive(Default)]
pub struct Refusals {
    /// (our endpoint, the peer's, the error), oldest first.
    errors: VecDeque<(IpEndpoint, IpEndpoint, Errno)>,
}

impl Refusals {
    /// Notes the error an Ethernet `frame` from the NIC reports, if it is an ICMP or ICMPv6
    /// error that Linux would report for a UDP datagram from one of our addresses (`ours`),
    /// with a right checksum.
    pub fn note(&mut self, frame: &[u8], ours: impl Fn(IpAddress) -> bool) {
        let Some(error) = unreachable(frame, true).filter(|(local, _, _)| ours(local.addr)) else { return };
        self.keep(error);
    }

    /// Notes the error of a frame smoltcp sent to ourselves over the guest loopback (whose
    /// checksums are not computed without a NIC).
    pub fn note_own(&mut self, frame: &[u8]) {
        if let Some(error) = unreachable(frame, false) {
            self.keep(error);
        }
    }

    fn keep(&mut self, error: (IpEndpoint, IpEndpoint, Errno)) {
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

/// Linux's error for an IPv4 destination unreachable of `code`, if it is a fatal one.
fn error_v4(code: u8) -> Option<Errno> {
    Some(match code {
        2 => ENOPROTOOPT,
        3 => ECONNREFUSED,
        4 => EMSGSIZE,
        6 | 9 => ENETUNREACH,
        7 => EHOSTDOWN,
        8 => ENONET,
        10 | 13..=15 => EHOSTUNREACH,
        _ => return None,
    })
}

/// Linux's error for an ICMPv6 error of `kind` and `code`, if it is a fatal one.
fn error_v6(kind: u8, code: u8) -> Option<Errno> {
    Some(match (kind, code) {
        (1, 1 | 5 | 6) => EACCES,
        (1, 4) => ECONNREFUSED,
        (2, _) => EMSGSIZE,
        _ => return None,
    })
}

/// (our endpoint, the peer's, the error) of an ICMP error about a UDP datagram in `frame`
/// (its ICMP checksum checked if `summed`).
fn unreachable(frame: &[u8], summed: bool) -> Option<(IpEndpoint, IpEndpoint, Errno)> {
    let end = super::offload::ip_end(frame)?;
    let frame = &frame[..end];
    let get = |at: usize, len: usize| frame.get(at..at + len);
    match get(12, 2)? {
        [8, 0] => {
            let ihl = usize::from(*frame.get(ETH)? & 0xf) * 4;
            let icmp = ETH + ihl;
            if ihl < 20 || *frame.get(ETH + 9)? != 1 || *frame.get(icmp)? != 3 {
                return None;
            }
            let error = error_v4(*frame.get(icmp + 1)?)?;
            if summed && fold(sum(frame.get(icmp..)?)) != 0xffff {
                return None;
            }
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
            if *frame.get(ETH + 6)? != 58 {
                return None;
            }
            let error = error_v6(*frame.get(icmp)?, *frame.get(icmp + 1)?)?;
            let pseudo = sum(get(ETH + 8, 32)?) + 58 + (frame.len() - icmp) as u64;
            if summed && fold(pseudo + sum(frame.get(icmp..)?)) != 0xffff {
                return None;
            }
            let addr = |at: usize| -> Option<IpAddress> {
                let octets: [u8; 16] = get(at, 16)?.try_into().ok()?;
                Some(IpAddress::Ipv6(Ipv6Address::from(octets)))
            };
            // The quoted IPv6 header, and a fragment header of a datagram of ours that left in
            // fragments (the first one's: its UDP header follows).
            let quoted = icmp + 8;
            let first_fragment =
                || frame.get(quoted + 40) == Some(&17) && matches!(get(quoted + 42, 2), Some([0, 0 | 1]));
            let udp = match *frame.get(quoted + 6)? {
                17 => quoted + 40,
                44 if first_fragment() => quoted + 48,
                _ => return None,
            };
            endpoints(frame, addr(quoted + 8)?, addr(quoted + 24)?, udp, error)
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

    const US: [u8; 4] = [10, 0, 5, 2];

    fn ours(addr: IpAddress) -> bool {
        match addr {
            IpAddress::Ipv4(a) => a.octets() == US,
            IpAddress::Ipv6(a) => a.octets()[15] == 2,
        }
    }

    /// Fills in the ICMP checksum of an IPv4 `frame`.
    fn sum4(f: &mut [u8]) {
        f[ETH + 22..ETH + 24].copy_from_slice(&[0, 0]);
        let check = !fold(sum(&f[ETH + 20..]));
        f[ETH + 22..ETH + 24].copy_from_slice(&check.to_be_bytes());
    }

    /// An ICMP destination unreachable of `code` from 10.0.5.1 quoting our datagram from
    /// 10.0.5.2:`sport` to 10.0.5.1:`dport`.
    fn icmp4(code: u8, sport: u16, dport: u16) -> Vec<u8> {
        let mut f = vec![0u8; ETH + 20 + 8 + 20 + 8];
        f[12..14].copy_from_slice(&[8, 0]);
        f[ETH] = 0x45;
        let len = (f.len() - ETH) as u16;
        f[ETH + 2..ETH + 4].copy_from_slice(&len.to_be_bytes());
        f[ETH + 9] = 1;
        f[ETH + 20] = 3;
        f[ETH + 21] = code;
        let q = ETH + 28;
        f[q] = 0x45;
        f[q + 9] = 17;
        f[q + 12..q + 16].copy_from_slice(&US);
        f[q + 16..q + 20].copy_from_slice(&[10, 0, 5, 1]);
        f[q + 20..q + 22].copy_from_slice(&sport.to_be_bytes());
        f[q + 22..q + 24].copy_from_slice(&dport.to_be_bytes());
        sum4(&mut f);
        f
    }

    fn peer(port: u16) -> IpEndpoint {
        IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::new(10, 0, 5, 1)), port)
    }

    #[test]
    fn a_port_unreachable_refuses_the_connected_socket_once() {
        let mut r = Refusals::default();
        r.note(&icmp4(3, 50000, 9999), ours);
        assert_eq!(r.take(50001, peer(9999)), None, "another socket");
        assert_eq!(r.take(50000, peer(9998)), None, "another peer");
        assert_eq!(r.take(50000, peer(9999)), Some(ECONNREFUSED));
        assert_eq!(r.take(50000, peer(9999)), None, "once");
        r.note(&icmp4(13, 50000, 9999), ours);
        assert_eq!(r.take(50000, peer(9999)), Some(EHOSTUNREACH), "administratively prohibited, as Linux");
        r.note(&icmp4(3, 50000, 9999), ours);
        r.forget(50000);
        assert_eq!(r.take(50000, peer(9999)), None, "forgotten");
    }

    #[test]
    fn what_linux_does_not_report_is_ignored() {
        let mut r = Refusals::default();
        // Network and host unreachable: not fatal on Linux.
        r.note(&icmp4(0, 50000, 9999), ours);
        r.note(&icmp4(1, 50000, 9999), ours);
        // A TCP segment quoted, a bad checksum, a datagram of another host's.
        let mut tcp = icmp4(3, 50000, 9999);
        tcp[ETH + 28 + 9] = 6;
        sum4(&mut tcp);
        r.note(&tcp, ours);
        let mut bad = icmp4(3, 50000, 9999);
        bad[ETH + 30] ^= 1;
        r.note(&bad, ours);
        let mut theirs = icmp4(3, 50000, 9999);
        theirs[ETH + 28 + 15] = 7;
        sum4(&mut theirs);
        r.note(&theirs, ours);
        // Cut before the quoted ports end.
        let full = icmp4(3, 50000, 9999);
        for len in 0..ETH + 28 + 24 {
            r.note(&full[..len], ours);
        }
        assert!(r.errors.is_empty());
        for port in 0..40 {
            r.note(&icmp4(3, port, 9999), ours);
        }
        assert_eq!(r.errors.len(), KEPT);
    }

    /// An ICMPv6 error of `kind` and `code` quoting our datagram from ...::2 port 50000 to
    /// ::1 port 53, behind a first fragment's header if `fragment`.
    fn icmp6(kind: u8, code: u8, fragment: bool) -> Vec<u8> {
        let extra = if fragment { 8 } else { 0 };
        let mut f = vec![0u8; ETH + 40 + 8 + 40 + extra + 8];
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        f[ETH] = 0x60;
        let len = (f.len() - ETH - 40) as u16;
        f[ETH + 4..ETH + 6].copy_from_slice(&len.to_be_bytes());
        f[ETH + 6] = 58;
        f[ETH + 23] = 1;
        f[ETH + 39] = 2;
        f[ETH + 40] = kind;
        f[ETH + 41] = code;
        let q = ETH + 48;
        f[q] = 0x60;
        f[q + 6] = if fragment { 44 } else { 17 };
        f[q + 23] = 2;
        f[q + 39] = 1;
        if fragment {
            f[q + 40] = 17;
            f[q + 43] = 1;
        }
        let udp = q + 40 + extra;
        f[udp..udp + 2].copy_from_slice(&50000u16.to_be_bytes());
        f[udp + 2..udp + 4].copy_from_slice(&53u16.to_be_bytes());
        let pseudo = sum(&f[ETH + 8..ETH + 40]) + 58 + (f.len() - ETH - 40) as u64;
        let check = !fold(pseudo + sum(&f[ETH + 40..]));
        f[ETH + 42..ETH + 44].copy_from_slice(&check.to_be_bytes());
        f
    }

    #[test]
    fn ipv6_errors() {
        let mut one = [0u8; 16];
        one[15] = 1;
        let peer = IpEndpoint::new(IpAddress::Ipv6(Ipv6Address::from(one)), 53);
        let mut r = Refusals::default();
        r.note(&icmp6(1, 4, false), ours);
        assert_eq!(r.take(50000, peer), Some(ECONNREFUSED));
        r.note(&icmp6(1, 4, true), ours);
        assert_eq!(r.take(50000, peer), Some(ECONNREFUSED), "a datagram that left in fragments");
        r.note(&icmp6(2, 0, false), ours);
        assert_eq!(r.take(50000, peer), Some(EMSGSIZE), "packet too big");
        r.note(&icmp6(1, 3, false), ours);
        let mut bad = icmp6(1, 4, false);
        bad[ETH + 60] ^= 1;
        r.note(&bad, ours);
        assert_eq!(r.take(50000, peer), None, "address unreachable is not fatal; a bad checksum");
    }
}
