//! The BSD socket API under the original's names (`socket`, `bind`, ..., `poll`, `select`),
//! exported by the kernel as lwIP's wrappers were: failures return -1 and set `errno`.
//! Socket descriptors carry `LWIP_FD_BIT` ([`crate::fs::fd::LWIP_FD_BIT`]); `read`, `write`,
//! `close`, `fcntl` and `dup` work on them too. Structures have lwIP's layouts
//! ([`crate::net::addr`]); the C declarations are in the toolchain's `<sys/socket.h>`,
//! `<poll.h>` and `<sys/select.h>`.
//!
//! Unlike the original: `getsockopt`/`setsockopt` report `ENOPROTOOPT` for unknown options
//! (the original returned 0), `poll` follows POSIX (the original passed descriptors with the
//! bit to lwIP and turned every positive result into -1), `select` and `poll` take any
//! descriptor (pipes, host files), and `select` handles `FD_SETSIZE` 1024 (the original 32).

use alloc::sync::Arc;
use core::ffi::{c_int, c_void};

use super::cmsg;
use super::pthread::cancel;
use super::ptr::{bytes, bytes_mut, out};
use super::sockopt;
use crate::errno::{
    Result, EAFNOSUPPORT, EBADF, EINVAL, ENOTSOCK, EOPNOTSUPP, EPIPE, EPROTONOSUPPORT, ESOCKTNOSUPPORT,
};
use crate::fs::fd::{self, Object, OPEN_MAX};
use crate::fs::unix::{addr as unix_addr, Kind as UnixKind, Rights, UnixSocket};
use crate::net::addr::{self, AF_INET, AF_INET6};
use crate::net::poll;
use crate::net::socket::{Destination, Kind, Socket, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_PEEK, MSG_TRUNC};

pub(super) type SockLen = u32;

/// `AF_UNIX` (Linux's and lwIP's 1): sockets inside the guest ([`crate::fs::unix`]).
const AF_UNIX: c_int = unix_addr::AF_UNIX as c_int;
pub(super) const SOCK_STREAM: c_int = 1;
pub(super) const SOCK_DGRAM: c_int = 2;
const SOCK_RAW: c_int = 3;
/// `SIGPIPE`, raised by a send that fails with `EPIPE`.
const SIGPIPE: i32 = 13;
/// Linux's (lwIP has none): `AF_UNIX` only.
const SOCK_SEQPACKET: c_int = 5;
/// Linux's `SOCK_NONBLOCK`/`SOCK_CLOEXEC` flags in `type` (accepted too).
const SOCK_NONBLOCK: c_int = 0o4000;
const SOCK_CLOEXEC: c_int = 0o2000000;

/// -1 with `errno`, or the value.
fn c_ret<T: Into<i64>>(result: Result<T>) -> i64 {
    match result {
        Ok(v) => v.into(),
        Err(e) => {
            crate::libc::set_errno(e);
            -1
        }
    }
}

pub(super) fn c_int_ret(result: Result<c_int>) -> c_int {
    c_ret(result) as c_int
}

/// The socket behind `fd`: `EBADF` if not open, `ENOTSOCK` if not a socket.
fn socket_of(fd: c_int) -> Result<Arc<Object>> {
    let object = fd::get(fd)?;
    match &*object {
        Object::Socket(_) => Ok(object),
        _ => Err(ENOTSOCK),
    }
}

pub(super) fn with_socket<R>(fd: c_int, f: impl FnOnce(&Socket) -> Result<R>) -> Result<R> {
    let object = socket_of(fd)?;
    let Object::Socket(socket) = &*object else { return Err(ENOTSOCK) };
    f(socket)
}

/// What the calls that take both find behind a descriptor: an Internet or a Unix socket.
enum Stream<'a> {
    Socket(&'a Socket),
    Unix(&'a UnixSocket),
}

/// `f` on the Internet or Unix socket behind `fd` (one look-up of the descriptor): `EBADF`
/// if not open, `ENOTSOCK` if neither.
fn with_stream<R>(fd: c_int, f: impl FnOnce(Stream<'_>) -> Result<R>) -> Result<R> {
    let object = fd::get(fd)?;
    match &*object {
        Object::Socket(s) => f(Stream::Socket(s)),
        Object::Unix(p) => f(Stream::Unix(p)),
        _ => Err(ENOTSOCK),
    }
}

/// `socketpair(AF_UNIX, type, 0, sv)`: a connected pair of descriptors of a stream,
/// datagram or sequenced-packet type ([`crate::fs::unix::pair`]); `SOCK_NONBLOCK` and
/// `SOCK_CLOEXEC` in `kind` as for `socket`. `AF_INET`/`AF_INET6` give `EOPNOTSUPP` as on
/// Linux, other domains `EAFNOSUPPORT`, other types `ESOCKTNOSUPPORT`.
///
/// # Safety
/// `sv` must be valid for writes of two `int`s.
#[no_mangle]
pub unsafe extern "C" fn socketpair(domain: c_int, kind: c_int, protocol: c_int, sv: *mut [c_int; 2]) -> c_int {
    let result = (|| {
        // SAFETY: forwarded from the caller.
        let sv = unsafe { out(sv) }?;
        match domain {
            AF_UNIX => {}
            // As Linux: Internet sockets have no pairs.
            d if d == c_int::from(AF_INET) || d == c_int::from(AF_INET6) => return Err(EOPNOTSUPP),
            _ => return Err(EAFNOSUPPORT),
        }
        let unix_kind = unix_kind(kind, protocol)?;
        let (a, b) = crate::fs::unix::pair(unix_kind, kind & SOCK_NONBLOCK != 0);
        let cloexec = kind & SOCK_CLOEXEC != 0;
        let first = fd::insert(Object::Unix(a), cloexec, 0)?;
        let second = match fd::insert(Object::Unix(b), cloexec, 0) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = fd::close(first);
                return Err(e);
            }
        };
        *sv = [first, second];
        Ok(0)
    })();
    c_int_ret(result)
}

/// An address argument.
///
/// # Safety
/// `addr` must be null or valid for `len` bytes.
unsafe fn sockaddr<'a>(addr: *const c_void, len: SockLen) -> Result<&'a [u8]> {
    // SAFETY: forwarded from the caller.
    unsafe { bytes(addr.cast(), len as usize) }
}

/// `ENODEV` for a `sin6_scope_id` that names no interface (as Linux's `bind`): 0, `lo`'s 1
/// and, with a NIC, `eth0`'s 2 are accepted (and otherwise ignored: each address is on one
/// interface only).
fn known_scope(addr: &[u8]) -> Result<()> {
    if crate::net::netif::scope_known(addr::scope_id(addr)) {
        Ok(())
    } else {
        Err(crate::errno::ENODEV)
    }
}

/// Writes `endpoint` to a result address (`addr`, in/out `len`); nothing if `addr` is null.
///
/// # Safety
/// `addr` must be null or valid for `*len` bytes, `len` null or valid.
unsafe fn put_sockaddr(endpoint: smoltcp::wire::IpEndpoint, addr: *mut c_void, len: *mut SockLen) -> Result<()> {
    if addr.is_null() || len.is_null() {
        return Ok(());
    }
    // SAFETY: forwarded from the caller.
    let len = unsafe { out(len) }?;
    // SAFETY: forwarded from the caller.
    let buf = unsafe { bytes_mut(addr.cast(), *len as usize) }?;
    *len = addr::format(endpoint, buf) as SockLen;
    Ok(())
}

/// Writes a Unix socket's name (unnamed: the family alone) to a result address, as
/// [`put_sockaddr`].
///
/// # Safety
/// As [`put_sockaddr`].
unsafe fn put_unix_name(name: Option<&[u8]>, addr: *mut c_void, len: *mut SockLen) -> Result<()> {
    if addr.is_null() || len.is_null() {
        return Ok(());
    }
    // SAFETY: forwarded from the caller.
    let len = unsafe { out(len) }?;
    // SAFETY: forwarded from the caller.
    let buf = unsafe { bytes_mut(addr.cast(), *len as usize) }?;
    *len = unix_addr::format(name, buf) as SockLen;
    Ok(())
}

/// The type of an `AF_UNIX` socket in `socket`'s or `socketpair`'s arguments, as Linux: its
/// protocol 0 or `PF_UNIX`, `SOCK_RAW` taken as `SOCK_DGRAM`.
fn unix_kind(kind: c_int, protocol: c_int) -> Result<UnixKind> {
    if !matches!(protocol, 0 | AF_UNIX) {
        return Err(EPROTONOSUPPORT);
    }
    match kind & !(SOCK_NONBLOCK | SOCK_CLOEXEC) {
        SOCK_STREAM => Ok(UnixKind::Stream),
        SOCK_DGRAM | SOCK_RAW => Ok(UnixKind::Datagram),
        SOCK_SEQPACKET => Ok(UnixKind::SeqPacket),
        _ => Err(ESOCKTNOSUPPORT),
    }
}

/// Creates a socket: `AF_INET`/`AF_INET6` with `SOCK_STREAM` (TCP) or `SOCK_DGRAM` (UDP), or
/// an `AF_UNIX` stream, datagram or sequenced-packet socket (without the descriptor bit, as
/// socket pairs).
#[no_mangle]
pub extern "C" fn socket(domain: c_int, kind: c_int, protocol: c_int) -> c_int {
    let result = (|| {
        let kind_only = kind & !(SOCK_NONBLOCK | SOCK_CLOEXEC);
        let v6 = match domain {
            d if d == c_int::from(AF_INET) => false,
            d if d == c_int::from(AF_INET6) => true,
            AF_UNIX => {
                let unix = UnixSocket::new(unix_kind(kind, protocol)?, kind & SOCK_NONBLOCK != 0);
                return fd::insert(Object::Unix(unix), kind & SOCK_CLOEXEC != 0, 0);
            }
            _ => return Err(EAFNOSUPPORT),
        };
        let kind_enum = match kind_only {
            SOCK_STREAM if matches!(protocol, 0 | sockopt::IPPROTO_TCP) => Kind::Stream,
            SOCK_DGRAM if matches!(protocol, 0 | 17) => Kind::Datagram,
            SOCK_STREAM | SOCK_DGRAM => return Err(EPROTONOSUPPORT),
            _ => return Err(ESOCKTNOSUPPORT),
        };
        let socket = Socket::new(kind_enum, v6);
        socket.nonblocking.store(kind & SOCK_NONBLOCK != 0, core::sync::atomic::Ordering::Relaxed);
        fd::insert(Object::Socket(socket), kind & SOCK_CLOEXEC != 0, 0)
    })();
    c_int_ret(result)
}

/// Binds `fd` to `addr`.
///
/// # Safety
/// `addr` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn bind(fd: c_int, addr: *const c_void, len: SockLen) -> c_int {
    // SAFETY: forwarded from the caller.
    let addr = unsafe { sockaddr(addr, len) };
    let result = addr.and_then(|a| {
        with_stream(fd, |stream| match stream {
            Stream::Unix(u) => u.bind(&unix_addr::parse(a)?),
            Stream::Socket(s) => {
                let endpoint = addr::parse(a)?.ok_or(EAFNOSUPPORT)?;
                known_scope(a)?;
                s.bind(endpoint)
            }
        })
        .map(|()| 0)
    });
    c_int_ret(result)
}

/// Makes `fd` a listening socket with room for `backlog` (1 to 128) pending connections.
#[no_mangle]
pub extern "C" fn listen(fd: c_int, backlog: c_int) -> c_int {
    let result = with_stream(fd, |stream| match stream {
        Stream::Unix(u) => u.listen(backlog),
        Stream::Socket(s) => s.listen(backlog),
    });
    c_int_ret(result.map(|()| 0))
}

/// Takes a pending connection: a new socket descriptor, and the peer in `addr`.
///
/// # Safety
/// `addr` must be null or valid for `*len` bytes; `len` null or valid.
#[no_mangle]
pub unsafe extern "C" fn accept(fd: c_int, addr: *mut c_void, len: *mut SockLen) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { accept4(fd, addr, len, 0) }
}

/// Linux's `accept4`: [`accept`], with `SOCK_NONBLOCK` (the new socket's `O_NONBLOCK`) and
/// `SOCK_CLOEXEC` (its descriptor's `FD_CLOEXEC`) in `flags`; other bits are `EINVAL`.
///
/// # Safety
/// `addr` must be null or valid for `*len` bytes; `len` null or valid.
#[no_mangle]
pub unsafe extern "C" fn accept4(fd: c_int, addr: *mut c_void, len: *mut SockLen, flags: c_int) -> c_int {
    if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return c_int_ret(Err(EINVAL));
    }
    let nonblocking = flags & SOCK_NONBLOCK != 0;
    let result = cancel::call(|| {
        with_stream(fd, |stream| match stream {
            Stream::Unix(u) => {
                let conn = u.accept()?;
                // SAFETY: forwarded from the caller.
                unsafe { put_unix_name(conn.peer()?.as_deref(), addr, len) }?;
                conn.nonblocking.store(nonblocking, core::sync::atomic::Ordering::Relaxed);
                fd::insert(Object::Unix(conn), flags & SOCK_CLOEXEC != 0, 0)
            }
            Stream::Socket(s) => {
                let (conn, peer) = s.accept()?;
                // SAFETY: forwarded from the caller.
                unsafe { put_sockaddr(peer, addr, len) }?;
                conn.nonblocking.store(nonblocking, core::sync::atomic::Ordering::Relaxed);
                fd::insert(Object::Socket(conn), flags & SOCK_CLOEXEC != 0, 0)
            }
        })
    });
    c_int_ret(result)
}

/// Connects `fd` to `addr` (TCP: `EINPROGRESS` when non-blocking; UDP: default peer).
///
/// # Safety
/// `addr` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn connect(fd: c_int, addr: *const c_void, len: SockLen) -> c_int {
    // SAFETY: forwarded from the caller.
    let addr = unsafe { sockaddr(addr, len) };
    let result = cancel::call(|| {
        addr.and_then(|a| {
            with_stream(fd, |stream| match stream {
                // `AF_UNSPEC`: a datagram socket forgets its peer.
                Stream::Unix(u) if a.get(1) == Some(&0) => u.disconnect(),
                Stream::Unix(u) => u.connect(&unix_addr::parse(a)?),
                Stream::Socket(s) => {
                    let endpoint = addr::parse(a)?;
                    known_scope(a)?;
                    s.connect(endpoint)
                }
            })
            .map(|()| 0)
        })
    });
    c_int_ret(result)
}

/// Sends `len` bytes (flags: `MSG_DONTWAIT`; others are ignored). A UDP datagram longer
/// than can leave fails with `EMSGSIZE` (`crate::net::Stack::datagram_too_long`); on a
/// connected UDP socket an ICMP error for an earlier datagram is returned once
/// (`crate::net::refused`).
///
/// # Safety
/// `buf` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, len: usize, flags: c_int) -> isize {
    // SAFETY: forwarded from the caller.
    unsafe { sendto(fd, buf, len, flags, core::ptr::null(), 0) }
}

/// Sends `len` bytes to `addr` (or the connected peer if `addr` is null); UDP errors as
/// [`send`].
///
/// # Safety
/// `buf` must be valid for `len` bytes, `addr` null or valid for `alen` bytes.
#[no_mangle]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: usize,
    flags: c_int,
    addr: *const c_void,
    alen: SockLen,
) -> isize {
    // SAFETY: forwarded from the caller.
    let data = unsafe { bytes(buf.cast(), len) };
    // SAFETY: forwarded from the caller.
    let result =
        cancel::call(|| data.and_then(|d| unsafe { send_with(fd, d, flags, addr, alen, cmsg::Sending::default()) }));
    c_ret(result.map(|n| n as i64)) as isize
}

/// [`sendto`] of `data` with what `sendmsg`'s control messages ask (`SCM_RIGHTS` for a Unix
/// socket, a UDP datagram's source). `EPIPE`
/// raises `SIGPIPE` in the caller first unless `flags` has `MSG_NOSIGNAL`, as on Linux (and
/// as `write` does); the original's lwIP raised none.
///
/// # Safety
/// `addr` must be null or valid for `alen` bytes.
unsafe fn send_with(
    fd: c_int,
    data: &[u8],
    flags: c_int,
    addr: *const c_void,
    alen: SockLen,
    control: cmsg::Sending,
) -> Result<usize> {
    // SAFETY: forwarded from the caller.
    let to = if addr.is_null() { None } else { Some(unsafe { sockaddr(addr, alen) }?) };
    let sent = with_stream(fd, |stream| match stream {
        // An address of length 0 is none, as Linux's Unix sockets take it.
        Stream::Unix(p) => p.send(data, control.rights, flags & MSG_DONTWAIT != 0, to.filter(|a| !a.is_empty())),
        Stream::Socket(s) => s.send(data, flags, to.map(addr::parse).transpose()?.flatten(), control.source),
    });
    if sent == Err(EPIPE) && flags & MSG_NOSIGNAL == 0 {
        // The handler runs now; without one the program ends (the signal is valid, the
        // caller exists: nothing to fail).
        let _ = crate::scheduler::kill(crate::scheduler::current_id(), SIGPIPE);
    }
    sent
}

/// Receives up to `len` bytes (flags: `MSG_DONTWAIT`, `MSG_PEEK`, `MSG_WAITALL`, and on a
/// UDP socket `MSG_TRUNC`: the datagram's whole length is returned, as Linux). A connected
/// UDP socket returns an ICMP error for its datagrams once (`crate::net::refused`).
///
/// # Safety
/// `buf` must be valid for writes of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, len: usize, flags: c_int) -> isize {
    // SAFETY: forwarded from the caller.
    unsafe { recvfrom(fd, buf, len, flags, core::ptr::null_mut(), core::ptr::null_mut()) }
}

/// Receives up to `len` bytes and the sender's address (flags and errors as [`recv`]).
///
/// # Safety
/// `buf` must be valid for writes of `len` bytes; `addr` null or valid for `*alen` bytes.
#[no_mangle]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: usize,
    flags: c_int,
    addr: *mut c_void,
    alen: *mut SockLen,
) -> isize {
    // SAFETY: forwarded from the caller.
    let data = unsafe { bytes_mut(buf.cast(), len) };
    // SAFETY: forwarded from the caller; the descriptors passed with the data are closed.
    let result = cancel::call(|| data.and_then(|d| unsafe { receive_with(fd, d, flags, addr, alen) }));
    c_ret(result.map(|(n, ..)| n as i64)) as isize
}

/// [`recvfrom`] into `data`, with the descriptions a Unix socket passed along and a UDP
/// datagram's destination.
///
/// # Safety
/// `addr` must be null or valid for writes of `*alen` bytes, `alen` null or valid.
unsafe fn receive_with(
    fd: c_int,
    d: &mut [u8],
    flags: c_int,
    addr: *mut c_void,
    alen: *mut SockLen,
) -> Result<(usize, Rights, Option<Destination>)> {
    with_stream(fd, |stream| match stream {
        Stream::Unix(p) => {
            let got = p.receive(d, flags & MSG_DONTWAIT != 0, flags & MSG_PEEK != 0)?;
            match got.from.as_deref() {
                // SAFETY: forwarded from the caller.
                Some(from) => unsafe { put_unix_name(Some(from), addr, alen) }?,
                // A stream, or an unnamed sender: no address, as Linux.
                // SAFETY: forwarded from the caller.
                None if !alen.is_null() && !addr.is_null() => *unsafe { out(alen) }? = 0,
                None => {}
            }
            // A message's whole length with `MSG_TRUNC` given, as Linux.
            Ok((if flags & MSG_TRUNC != 0 { got.whole } else { got.copied }, got.rights, None))
        }
        Stream::Socket(s) => {
            let (n, from, to) = s.recv_to(d, flags)?;
            // UDP names the sender; TCP the connected peer, if the caller asks.
            let from = from.or_else(|| (!alen.is_null() && !addr.is_null()).then(|| s.peer().ok()).flatten());
            if let Some(from) = from {
                // SAFETY: forwarded from the caller.
                unsafe { put_sockaddr(from, addr, alen) }?;
            }
            Ok((n, Rights::new(), to))
        }
    })
}

/// lwIP's `struct msghdr`.
#[repr(C)]
pub struct MsgHdr {
    name: *mut c_void,
    namelen: SockLen,
    iov: *mut IoVec,
    iovlen: c_int,
    control: *mut c_void,
    controllen: SockLen,
    flags: c_int,
}

/// `struct iovec`.
#[repr(C)]
pub struct IoVec {
    base: *mut c_void,
    len: usize,
}

/// The buffers of `msg`'s `iovec` array.
///
/// # Safety
/// `msg`'s `iov` must be valid for `iovlen` entries, each valid for its length.
unsafe fn buffers(msg: &MsgHdr) -> Result<&[IoVec]> {
    let count = msg.iovlen.max(0) as usize;
    // SAFETY: forwarded from the caller.
    let raw = unsafe { bytes(msg.iov.cast::<u8>(), count * size_of::<IoVec>()) }?;
    // SAFETY: the array is valid for `count` entries by the caller's contract (`bytes`
    // refused a null pointer), and `IoVec` is `struct iovec`.
    Ok(if count == 0 { &[] } else { unsafe { core::slice::from_raw_parts(raw.as_ptr().cast(), count) } })
}

/// Sends the buffers of `msg` as one message (gathered first), with what its control
/// messages ask ([`cmsg::sending`]: the descriptors of `SCM_RIGHTS` on a Unix socket, a UDP
/// datagram's source).
///
/// # Safety
/// `msg` must be a valid `struct msghdr` with valid buffers.
#[no_mangle]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const MsgHdr, flags: c_int) -> isize {
    let result = cancel::call(|| {
        // SAFETY: forwarded from the caller.
        let msg = unsafe { msg.as_ref() }.ok_or(crate::errno::EFAULT)?;
        let mut data = alloc::vec::Vec::new();
        // SAFETY: forwarded from the caller.
        for v in unsafe { buffers(msg) }? {
            // SAFETY: each entry is valid for its length by the caller's contract.
            data.extend_from_slice(unsafe { bytes(v.base.cast(), v.len) }?);
        }
        // SAFETY: the control buffer is valid for its length by the caller's contract.
        let control = unsafe { bytes(msg.control.cast(), msg.controllen as usize) }?;
        let carrier = match &*fd::get(fd)? {
            Object::Unix(_) => cmsg::Carrier::Unix,
            Object::Socket(s) if s.kind == Kind::Datagram => cmsg::Carrier::Udp,
            Object::Socket(_) => cmsg::Carrier::Tcp,
            _ => return Err(ENOTSOCK),
        };
        let sending = cmsg::sending(control, carrier)?;
        // SAFETY: forwarded from the caller.
        unsafe { send_with(fd, &data, flags, msg.name, msg.namelen, sending) }
    });
    c_ret(result.map(|n| n as i64)) as isize
}

/// Receives one message into the buffers of `msg` (scattered from one receive); a datagram
/// longer than the buffers sets `MSG_TRUNC` in `msg_flags` (and with `MSG_TRUNC` given, its
/// whole length is returned, as Linux). Descriptors passed over a Unix socket come as an
/// `SCM_RIGHTS` control message ([`cmsg::deliver`]; `MSG_CMSG_CLOEXEC` gives them
/// `FD_CLOEXEC`); those the control buffer cannot take are closed and `MSG_CTRUNC` is set.
///
/// # Safety
/// `msg` must be a valid `struct msghdr` with valid buffers.
#[no_mangle]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut MsgHdr, flags: c_int) -> isize {
    let result = cancel::call(|| {
        // SAFETY: forwarded from the caller.
        let msg = unsafe { msg.as_mut() }.ok_or(crate::errno::EFAULT)?;
        // SAFETY: forwarded from the caller.
        let iov = unsafe { buffers(msg) }?;
        let mut data = alloc::vec![0u8; iov.iter().map(|v| v.len).sum()];
        let mut alen = msg.namelen;
        // A datagram's whole length, to tell a truncated one (`MSG_TRUNC` in `msg_flags`).
        // And the destinations a UDP socket asked for (`IP_PKTINFO`, `IPV6_RECVPKTINFO`).
        let (datagram, pktinfo) = with_stream(fd, |stream| {
            Ok(match stream {
                Stream::Socket(s) => {
                    let options = s.options();
                    (s.kind == Kind::Datagram, (options.pktinfo, options.pktinfo6))
                }
                Stream::Unix(u) => (u.kind != UnixKind::Stream, (false, false)),
            })
        })?;
        let asked = if datagram { flags | MSG_TRUNC } else { flags };
        // SAFETY: `name` and `namelen` come from the caller.
        let (whole, rights, to) = unsafe { receive_with(fd, &mut data, asked, msg.name, &mut alen) }?;
        let n = whole.min(data.len());
        let mut rest = &data[..n];
        for v in iov {
            let take = rest.len().min(v.len);
            // SAFETY: the caller's buffer is valid for `v.len` bytes.
            unsafe { bytes_mut(v.base.cast(), take) }?.copy_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
        // SAFETY: the control buffer is valid for its length by the caller's contract.
        let control = unsafe { bytes_mut(msg.control.cast(), msg.controllen as usize) }?;
        let (used, cut) = match to.filter(|_| pktinfo.0 || pktinfo.1) {
            Some(to) => cmsg::destination(control, to, pktinfo.0, pktinfo.1),
            None => cmsg::deliver(control, rights, flags & cmsg::MSG_CMSG_CLOEXEC != 0),
        };
        msg.namelen = if msg.name.is_null() { 0 } else { alen };
        msg.controllen = used as SockLen;
        msg.flags = if n < whole { MSG_TRUNC } else { 0 } | if cut { cmsg::MSG_CTRUNC } else { 0 };
        // The datagram's length with `MSG_TRUNC` asked, as Linux; else what the buffers took.
        Ok(if flags & MSG_TRUNC != 0 { whole } else { n })
    });
    c_ret(result.map(|n| n as i64)) as isize
}

/// Ends reading (`SHUT_RD` 0), writing (`SHUT_WR` 1, sends FIN) or both (`SHUT_RDWR` 2).
#[no_mangle]
pub extern "C" fn shutdown(fd: c_int, how: c_int) -> c_int {
    let result = with_stream(fd, |stream| match stream {
        Stream::Unix(p) if (0..=2).contains(&how) => p.shutdown(how != 1, how != 0).map(|()| 0),
        Stream::Unix(_) => Err(EINVAL),
        Stream::Socket(s) => s.shutdown(how).map(|()| 0),
    });
    c_int_ret(result)
}

/// Our address.
///
/// # Safety
/// `addr` must be valid for `*len` bytes, `len` valid.
#[no_mangle]
pub unsafe extern "C" fn getsockname(fd: c_int, addr: *mut c_void, len: *mut SockLen) -> c_int {
    let result = with_stream(fd, |stream| match stream {
        // SAFETY: forwarded from the caller.
        Stream::Unix(u) => unsafe { put_unix_name(u.local().as_deref(), addr, len) },
        // SAFETY: forwarded from the caller.
        Stream::Socket(s) => unsafe { put_sockaddr(s.local()?, addr, len) },
    });
    let result = result.map(|()| 0);
    c_int_ret(result)
}

/// The peer's address (`ENOTCONN` without one).
///
/// # Safety
/// `addr` must be valid for `*len` bytes, `len` valid.
#[no_mangle]
pub unsafe extern "C" fn getpeername(fd: c_int, addr: *mut c_void, len: *mut SockLen) -> c_int {
    let result = with_stream(fd, |stream| match stream {
        // SAFETY: forwarded from the caller.
        Stream::Unix(u) => unsafe { put_unix_name(u.peer()?.as_deref(), addr, len) },
        // SAFETY: forwarded from the caller.
        Stream::Socket(s) => unsafe { put_sockaddr(s.peer()?, addr, len) },
    });
    let result = result.map(|()| 0);
    c_int_ret(result)
}

/// lwIP's `struct pollfd`.
#[repr(C)]
pub struct PollFd {
    fd: c_int,
    events: i16,
    revents: i16,
}

/// POSIX `poll`: `timeout` in milliseconds (negative: forever); descriptors of every kind.
///
/// # Safety
/// `fds` must be valid for `nfds` entries.
#[no_mangle]
pub unsafe extern "C" fn poll(fds: *mut PollFd, nfds: u32, timeout: c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    let fds = unsafe { poll_fds(fds, nfds) };
    let timeout = u64::try_from(timeout).ok().map(|ms| ms * 1_000_000);
    c_int_ret(cancel::call(|| fds.and_then(|fds| poll_ns(fds, timeout))))
}

/// The `nfds` entries at `fds` of `poll` and `ppoll`: `EINVAL` beyond [`OPEN_MAX`],
/// `EFAULT` outside the program's memory.
///
/// # Safety
/// `fds` must be valid for `nfds` entries, and not used otherwise while the slice lives.
pub(super) unsafe fn poll_fds<'a>(fds: *mut PollFd, nfds: u32) -> Result<&'a mut [PollFd]> {
    if nfds as usize > OPEN_MAX {
        return Err(EINVAL);
    }
    // SAFETY: forwarded from the caller.
    unsafe { bytes_mut(fds.cast::<u8>(), nfds as usize * size_of::<PollFd>()) }?;
    if nfds == 0 {
        return Ok(&mut []);
    }
    // SAFETY: checked above to lie in the program's memory; valid by the caller's contract.
    Ok(unsafe { core::slice::from_raw_parts_mut(fds, nfds as usize) })
}

/// [`poll`] over `fds` with the timeout in nanoseconds (`None`: forever), for `ppoll` too.
pub(super) fn poll_ns(fds: &mut [PollFd], timeout_ns: Option<u64>) -> Result<c_int> {
    let mut entries: alloc::vec::Vec<(i32, i16, i16)> = fds.iter().map(|p| (p.fd, p.events, 0)).collect();
    let n = poll::poll(&mut entries, timeout_ns)?;
    for (p, e) in fds.iter_mut().zip(&entries) {
        p.revents = e.2;
    }
    Ok(n as c_int)
}

/// `select` over `nfds` descriptors (with `LWIP_FD_BIT` stripped, at most 1024); the sets
/// are bit arrays of which only the first `nfds` bits are read and written. `timeout` null:
/// forever. The exception set reports pending socket errors.
///
/// # Safety
/// Each non-null set must be valid for `(nfds + 7) / 8` bytes, `timeout` null or a `timeval`.
#[no_mangle]
pub unsafe extern "C" fn select(
    nfds: c_int,
    readfds: *mut u8,
    writefds: *mut u8,
    exceptfds: *mut u8,
    timeout: *const [i64; 2],
) -> c_int {
    // SAFETY: forwarded from the caller.
    let timeout_ns = match unsafe { timeout.as_ref() } {
        None => Ok(None),
        Some(&[sec, usec]) if sec >= 0 && (0..1_000_000).contains(&usec) => {
            Ok(Some((sec as u64).saturating_mul(1_000_000_000).saturating_add(usec as u64 * 1000)))
        }
        Some(_) => Err(EINVAL),
    };
    // SAFETY: forwarded from the caller.
    c_int_ret(cancel::call(|| timeout_ns.and_then(|t| unsafe { select_ns(nfds, readfds, writefds, exceptfds, t) })))
}

/// [`select`] with the timeout in nanoseconds (`None`: forever), for `pselect` too.
///
/// # Safety
/// Each non-null set must be valid for `(nfds + 7) / 8` bytes.
pub(super) unsafe fn select_ns(
    nfds: c_int,
    readfds: *mut u8,
    writefds: *mut u8,
    exceptfds: *mut u8,
    timeout_ns: Option<u64>,
) -> Result<c_int> {
    let n = usize::try_from(nfds & !fd::LWIP_FD_BIT).map_err(|_| EINVAL)?;
    if n > OPEN_MAX {
        return Err(EINVAL);
    }
    let bytes_len = n.div_ceil(8);
    let set = |p: *mut u8| -> Result<Option<&mut [u8]>> {
        if p.is_null() {
            Ok(None)
        } else {
            // SAFETY: forwarded from the caller.
            unsafe { bytes_mut(p, bytes_len) }.map(Some)
        }
    };
    let (mut r, mut w, mut e) = (set(readfds)?, set(writefds)?, set(exceptfds)?);
    let bit = |s: &Option<&mut [u8]>, i: usize| s.as_ref().is_some_and(|s| s[i / 8] & (1 << (i % 8)) != 0);
    let mut entries = alloc::vec::Vec::new();
    let mut wanted = alloc::vec::Vec::new();
    for i in 0..n {
        let (want_r, want_w, want_e) = (bit(&r, i), bit(&w, i), bit(&e, i));
        if want_r || want_w || want_e {
            fd::get(i as i32).map_err(|_| EBADF)?;
            let events = if want_r { poll::POLLIN } else { 0 } | if want_w { poll::POLLOUT } else { 0 };
            entries.push((i as i32, events, 0i16));
            wanted.push((want_r, want_w, want_e));
        }
    }
    poll::poll(&mut entries, timeout_ns)?;
    for s in [&mut r, &mut w, &mut e].into_iter().flatten() {
        s.fill(0);
    }
    let mut count = 0;
    for (&(i, _, rev), &(want_r, want_w, want_e)) in entries.iter().zip(&wanted) {
        let i = i as usize;
        let mut mark = |s: &mut Option<&mut [u8]>, on: bool| {
            if let (Some(s), true) = (s.as_mut(), on) {
                s[i / 8] |= 1 << (i % 8);
                count += 1;
            }
        };
        // As on Linux: end of file, hang-up and errors make a descriptor readable.
        mark(&mut r, want_r && rev & (poll::POLLIN | poll::POLLHUP | poll::POLLERR) != 0);
        mark(&mut w, want_w && rev & (poll::POLLOUT | poll::POLLERR) != 0);
        mark(&mut e, want_e && rev & poll::POLLERR != 0);
    }
    Ok(count)
}

/// Looks `name` up in the DNS (the C library's `getaddrinfo` and `gethostbyname` call it
/// for names that are neither numeric nor "localhost"): writes up to `max` addresses of 16
/// bytes each to `out` (IPv4 in the first four) and returns their number, or `-errno`.
///
/// # Safety
/// `name` must be a NUL-terminated string, `out` valid for `16 * max` bytes.
#[no_mangle]
pub unsafe extern "C" fn sys_dns_lookup(
    name: *const core::ffi::c_char,
    v6: c_int,
    out_buf: *mut u8,
    max: c_int,
) -> c_int {
    // SAFETY: forwarded from the caller.
    let name = unsafe { super::ptr::c_str(name) };
    // SAFETY: forwarded from the caller.
    let buf = unsafe { bytes_mut(out_buf, max.max(0) as usize * 16) };
    let result = name.and_then(|n| {
        let n = n.to_str().map_err(|_| EINVAL)?;
        let buf = buf?;
        let addrs = crate::net::dns::lookup(n, v6 != 0)?;
        let mut count = 0;
        for (slot, a) in buf.chunks_exact_mut(16).zip(addrs) {
            slot.fill(0);
            match a {
                smoltcp::wire::IpAddress::Ipv4(a) => slot[..4].copy_from_slice(&a.octets()),
                smoltcp::wire::IpAddress::Ipv6(a) => slot.copy_from_slice(&a.octets()),
            }
            count += 1;
        }
        Ok(count)
    });
    super::ptr::ret_int(result)
}

/// The interfaces and their addresses for the C library's `getifaddrs`, `if_nameindex` and
/// `SIOCGIF*` ioctls ([`crate::net::netif`]): writes up to `max` records of 36 bytes to
/// `out` and returns how many there are (maybe more than `max`), or `-errno`.
///
/// # Safety
/// `out` must be valid for `36 * max` bytes.
#[no_mangle]
pub unsafe extern "C" fn sys_netif(out_buf: *mut u8, max: c_int) -> c_int {
    use crate::net::netif::Record;
    let size = core::mem::size_of::<Record>();
    // SAFETY: forwarded from the caller.
    let buf = unsafe { bytes_mut(out_buf, max.max(0) as usize * size) };
    let result = buf.map(|buf| {
        let records = crate::net::netif::current();
        for (slot, r) in buf.chunks_exact_mut(size).zip(&records) {
            let mut bytes = [0u8; 36];
            bytes[..4].copy_from_slice(&r.index.to_ne_bytes());
            bytes[4..8].copy_from_slice(&r.flags.to_ne_bytes());
            bytes[8..12].copy_from_slice(&r.mtu.to_ne_bytes());
            bytes[12] = r.family;
            bytes[13] = r.prefix_len;
            bytes[14..20].copy_from_slice(&r.mac);
            bytes[20..].copy_from_slice(&r.addr);
            slot.copy_from_slice(&bytes);
        }
        records.len() as c_int
    });
    super::ptr::ret_int(result)
}
