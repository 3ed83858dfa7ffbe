//! Control messages of `sendmsg`/`recvmsg`: descriptors passed over Unix sockets (`SCM_RIGHTS`)
//! and the destinations of UDP datagrams (`IP_PKTINFO`, `IPV6_PKTINFO`).
//!
//! The layout is that of lwIP 2.1, the original's kernel stack (its installed headers, lwIP
//! 2.0's, declared no control messages, and the original passed none):
//! `cmsg_len` is a 4-byte `socklen_t` (Linux's is a `size_t`), then `cmsg_level` and
//! `cmsg_type`; the data starts at 16 and each message at a multiple of 8, as on Linux. The
//! checks are Linux's: a header whose length runs short or past the buffer is `EINVAL`, as are
//! more than 253 descriptors in one call and socket-level types not taken here (on a Unix
//! socket `SCM_CREDENTIALS`); a descriptor not open is `EBADF`. An Internet socket ignores
//! `SCM_RIGHTS` and `SCM_CREDENTIALS`, as Linux's do. A UDP socket's `sendmsg` takes its
//! datagram's source from `IP_PKTINFO` (`ipi_spec_dst`) or `IPV6_PKTINFO` (`ipi6_addr`) when
//! it is not the unspecified address ([`source`]), as Linux; Unix and TCP sockets ignore them,
//! as Linux's do. What a `recvmsg` control buffer cannot take whole is left out and
//! `MSG_CTRUNC` set.

use alloc::vec::Vec;

use smoltcp::wire::{IpAddress, Ipv4Address, Ipv6Address};

use super::sockopt::{IPPROTO_IP, IPPROTO_IPV6, SOL_SOCKET};
use crate::errno::{Result, EINVAL, ENODEV};
use crate::fs::fd;
use crate::fs::unix::Rights;
use crate::net::netif;
use crate::net::socket::Destination;

/// `SCM_RIGHTS`: the data is an array of descriptors (`int`).
const SCM_RIGHTS: i32 = 1;

/// `SCM_CREDENTIALS` (Linux's): a `struct ucred`, not taken here.
const SCM_CREDENTIALS: i32 = 2;

/// `IPPROTO_IP`'s `IP_PKTINFO` (lwIP's and Linux's 8): a `struct in_pktinfo`.
pub const IP_PKTINFO: i32 = 8;

/// `IPPROTO_IPV6`'s `IPV6_PKTINFO` (Linux's): a `struct in6_pktinfo`.
const IPV6_PKTINFO: i32 = 50;

/// Bytes of a header as the C structure has them (`sizeof(struct cmsghdr)`).
const HEADER: usize = 12;

/// Where a message's data starts (`CMSG_DATA`): the header rounded up to [`ALIGN`].
const DATA: usize = 16;

/// Messages start at multiples of this (`sizeof(long)`).
const ALIGN: usize = 8;

/// Descriptors one call may pass (Linux's `SCM_MAX_FD`).
const MAX_FDS: usize = 253;

/// `MSG_CMSG_CLOEXEC` (Linux's): descriptors received get `FD_CLOEXEC`.
pub const MSG_CMSG_CLOEXEC: i32 = 0x4000_0000;

/// `MSG_CTRUNC` in `msg_flags` (lwIP's 0x08): not every descriptor fit the control buffer.
pub const MSG_CTRUNC: i32 = 0x08;

fn int_at(bytes: &[u8], at: usize) -> i32 {
    i32::from_ne_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

/// Calls `each` with the level, type and data of every message in `control`, in order;
/// `EINVAL` for a header whose length runs short or past the buffer, as Linux.
fn walk(control: &[u8], mut each: impl FnMut(i32, i32, &[u8]) -> Result<()>) -> Result<()> {
    let mut at = 0;
    while control.len() - at >= HEADER {
        let len = int_at(control, at) as u32 as usize;
        if len < HEADER || len > control.len() - at {
            return Err(EINVAL);
        }
        each(int_at(control, at + 4), int_at(control, at + 8), control.get(at + DATA..at + len).unwrap_or_default())?;
        at += len.next_multiple_of(ALIGN).min(control.len() - at);
    }
    Ok(())
}

/// What the control messages of a `sendmsg` ask for.
#[derive(Default)]
pub struct Sending {
    /// Descriptors to pass (a Unix socket's `SCM_RIGHTS`).
    pub rights: Rights,
    /// The datagram's source (a UDP socket's `IP_PKTINFO`/`IPV6_PKTINFO`, [`source`]).
    pub source: Option<IpAddress>,
}

/// The kind of socket a `sendmsg` goes to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    Unix,
    Udp,
    /// TCP, which takes neither descriptors nor a source (Linux's ignores `IP_PKTINFO`).
    Tcp,
}

/// What the control messages in `control` ask of a `sendmsg` on a socket of `carrier`.
pub fn sending(control: &[u8], carrier: Carrier) -> Result<Sending> {
    let rights = rights(control, carrier == Carrier::Unix)?;
    let source = if carrier == Carrier::Udp { source(control)? } else { None };
    Ok(Sending { rights, source })
}

/// The open descriptions named by the `SCM_RIGHTS` messages of `control`, in order, for a
/// Unix socket (`unix`) or an Internet one.
fn rights(control: &[u8], unix: bool) -> Result<Rights> {
    let mut rights = Rights::new();
    walk(control, |level, kind, data| {
        if level == SOL_SOCKET && !unix && matches!(kind, SCM_RIGHTS | SCM_CREDENTIALS) {
            // Linux's Internet sockets take these for Unix sockets' business and pass over them.
        } else if level == SOL_SOCKET {
            if kind != SCM_RIGHTS {
                return Err(EINVAL);
            }
            let count = data.len() / 4;
            if rights.len() + count > MAX_FDS {
                return Err(EINVAL);
            }
            for i in 0..count {
                rights.push(fd::get(int_at(data, i * 4))?);
            }
        }
        Ok(())
    })?;
    Ok(rights)
}

/// The source a UDP datagram asks for in `control`: the address of the last `IP_PKTINFO`
/// (`struct in_pktinfo`'s `ipi_spec_dst`) or `IPV6_PKTINFO` (`struct in6_pktinfo`'s
/// `ipi6_addr`) message unless it is unspecified (`None`: the stack chooses, as without
/// one). Linux's errors: `EINVAL` for an `IP_PKTINFO` message whose length is not its
/// structure's or an `IPV6_PKTINFO` one shorter than its structure, `ENODEV` for an
/// interface index that names no interface (0 names none; the index is otherwise not used:
/// each address is on one interface), and [`walk`]'s for a bad header.
fn source(control: &[u8]) -> Result<Option<IpAddress>> {
    let mut source = None;
    walk(control, |level, kind, data| {
        let (addr, index) = match (level, kind) {
            (IPPROTO_IP, IP_PKTINFO) if data.len() == 12 => {
                let octets: [u8; 4] = data[4..8].try_into().expect("four bytes");
                (IpAddress::from(Ipv4Address::from(octets)), int_at(data, 0) as u32)
            }
            (IPPROTO_IPV6, IPV6_PKTINFO) if data.len() >= 20 => {
                let octets: [u8; 16] = data[..16].try_into().expect("sixteen bytes");
                (IpAddress::from(Ipv6Address::from(octets)), int_at(data, 16) as u32)
            }
            (IPPROTO_IP, IP_PKTINFO) | (IPPROTO_IPV6, IPV6_PKTINFO) => return Err(EINVAL),
            _ => return Ok(()),
        };
        if !netif::scope_known(index) {
            return Err(ENODEV);
        }
        source = (!addr.is_unspecified()).then_some(addr);
        Ok(())
    })?;
    Ok(source)
}

/// Puts `rights` into `control` as one `SCM_RIGHTS` message of new descriptors (with
/// `FD_CLOEXEC` if `cloexec`): (the bytes used, whether some were left out). Those that do
/// not fit, or find no free descriptor, are closed, and the caller sets `MSG_CTRUNC`.
pub fn deliver(control: &mut [u8], rights: Rights, cloexec: bool) -> (usize, bool) {
    if rights.is_empty() {
        return (0, false);
    }
    let (count, room) = (rights.len(), control.len().saturating_sub(DATA) / 4);
    let mut fds = Vec::new();
    // Those beyond the buffer, and any after the first no descriptor was free for, are
    // closed as the loop ends.
    for object in rights.into_iter().take(room) {
        match fd::insert_shared(object, cloexec) {
            Ok(fd) => fds.push(fd),
            Err(_) => break,
        }
    }
    let cut = fds.len() < count;
    if fds.is_empty() {
        return (0, true);
    }
    let data: Vec<u8> = fds.iter().flat_map(|fd| fd.to_ne_bytes()).collect();
    let mut used = 0;
    append(control, &mut used, SOL_SOCKET, SCM_RIGHTS, &data);
    (used, cut)
}

/// Puts the messages a UDP socket asked for about the datagram sent to `to` into `control`:
/// `IP_PKTINFO` (`v4`, for an IPv4 datagram: `struct in_pktinfo` in Linux's layout, its
/// interface index, the address that answers and the destination) and `IPV6_PKTINFO` (`v6`:
/// `struct in6_pktinfo`, the destination as IPv6, `::ffff:a.b.c.d` for IPv4, and the index).
/// Returns the bytes used and whether one did not fit.
pub fn destination(control: &mut [u8], to: Destination, v4: bool, v6: bool) -> (usize, bool) {
    let index = netif::index_of(to.addr);
    let (mut used, mut cut) = (0, false);
    if let (true, IpAddress::Ipv4(addr), IpAddress::Ipv4(local)) = (v4, to.addr, to.local) {
        let mut data = [0u8; 12];
        data[..4].copy_from_slice(&index.to_ne_bytes());
        data[4..8].copy_from_slice(&local.octets());
        data[8..].copy_from_slice(&addr.octets());
        cut |= !append(control, &mut used, IPPROTO_IP, IP_PKTINFO, &data);
    }
    if v6 {
        let addr = match to.addr {
            IpAddress::Ipv4(a) => a.to_ipv6_mapped(),
            IpAddress::Ipv6(a) => a,
        };
        let mut data = [0u8; 20];
        data[..16].copy_from_slice(&addr.octets());
        data[16..].copy_from_slice(&index.to_ne_bytes());
        cut |= !append(control, &mut used, IPPROTO_IPV6, IPV6_PKTINFO, &data);
    }
    (used, cut)
}

/// Appends a message of `level` and `kind` with `data` to `control` at `*used`, moving
/// `*used` past it (to its aligned end, or the buffer's); false, with nothing written, when
/// it does not fit whole.
fn append(control: &mut [u8], used: &mut usize, level: i32, kind: i32, data: &[u8]) -> bool {
    let len = DATA + data.len();
    let Some(slot) = control.get_mut(*used..*used + len) else { return false };
    slot[..DATA].fill(0);
    slot[..4].copy_from_slice(&(len as u32).to_ne_bytes());
    slot[4..8].copy_from_slice(&level.to_ne_bytes());
    slot[8..12].copy_from_slice(&kind.to_ne_bytes());
    slot[DATA..].copy_from_slice(data);
    *used = (*used + len.next_multiple_of(ALIGN)).min(control.len());
    true
}
