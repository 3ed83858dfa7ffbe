//! `setsockopt` and `getsockopt` under the original's names and lwIP's option values, for
//! Internet sockets (options kept by [`crate::net::socket`]) and Unix sockets (a few fixed
//! answers).

use core::ffi::{c_int, c_void};

use super::net::{c_int_ret, with_socket, SockLen, SOCK_DGRAM, SOCK_STREAM};
use super::ptr::{bytes, bytes_mut, out};
use crate::errno::{Result, EINVAL, ENOPROTOOPT};
use crate::fs::fd::{self, Object};
use crate::fs::unix::{Kind as UnixKind, UnixSocket};
use crate::net::socket::Kind;
use crate::net::{keepalive, multicast, netif};

pub(super) const SOL_SOCKET: c_int = 0xfff;
/// lwIP's (read only): 1 for a listening socket.
const SO_ACCEPTCONN: c_int = 0x2;
const SO_REUSEADDR: c_int = 0x4;
const SO_KEEPALIVE: c_int = 0x8;
const SO_BROADCAST: c_int = 0x20;
const SO_LINGER: c_int = 0x80;
/// lwIP's value (lwIP left it unimplemented); Linux's meaning (`crate::net::reuseport`).
const SO_REUSEPORT: c_int = 0x200;
const SO_SNDBUF: c_int = 0x1001;
const SO_RCVBUF: c_int = 0x1002;
const SO_SNDTIMEO: c_int = 0x1005;
const SO_RCVTIMEO: c_int = 0x1006;
const SO_ERROR: c_int = 0x1007;
const SO_TYPE: c_int = 0x1008;
/// Linux's 17 in lwIP's range (lwIP has none): a Unix socket's peer's `struct ucred`.
const SO_PEERCRED: c_int = 0x1011;
pub(super) const IPPROTO_IP: c_int = 0;
pub(super) const IPPROTO_TCP: c_int = 6;
pub(super) const IPPROTO_IPV6: c_int = 41;
const TCP_NODELAY: c_int = 1;
/// lwIP's `TCP_KEEPALIVE`: the idle time before keep-alive probes, in milliseconds.
const TCP_KEEPALIVE: c_int = 2;
const TCP_KEEPIDLE: c_int = 3;
const TCP_KEEPINTVL: c_int = 4;
const TCP_KEEPCNT: c_int = 5;
/// Linux's `TCP_SYNCNT` (lwIP has none; our header adds Linux's value).
const TCP_SYNCNT: c_int = 7;
/// `IPV6_V6ONLY` (Linux's and lwIP's 27).
const IPV6_V6ONLY: c_int = 27;
/// lwIP's multicast options (`crate::net::multicast`).
const IP_ADD_MEMBERSHIP: c_int = 3;
const IP_DROP_MEMBERSHIP: c_int = 4;
const IP_MULTICAST_TTL: c_int = 5;
const IP_MULTICAST_IF: c_int = 6;
const IP_MULTICAST_LOOP: c_int = 7;
const IPV6_JOIN_GROUP: c_int = 12;
const IPV6_LEAVE_GROUP: c_int = 13;
/// `IP_TTL` (lwIP's 2).
const IP_TTL: c_int = 2;
/// Linux's (lwIP has none; our header adds Linux's values).
const IPV6_UNICAST_HOPS: c_int = 16;
const IPV6_MULTICAST_IF: c_int = 17;
const IPV6_MULTICAST_HOPS: c_int = 18;
const IPV6_MULTICAST_LOOP: c_int = 19;
/// `IP_PKTINFO` (lwIP's and Linux's 8) and Linux's `IPV6_RECVPKTINFO`: `recvmsg` tells a
/// datagram's destination ([`super::cmsg::destination`]).
const IP_PKTINFO: c_int = super::cmsg::IP_PKTINFO;
const IPV6_RECVPKTINFO: c_int = 49;

fn timeval_ns(v: &[u8]) -> Result<Option<u64>> {
    let sec = i64::from_ne_bytes(v.get(..8).ok_or(EINVAL)?.try_into().map_err(|_| EINVAL)?);
    let usec = i64::from_ne_bytes(v.get(8..16).ok_or(EINVAL)?.try_into().map_err(|_| EINVAL)?);
    if sec < 0 || !(0..1_000_000).contains(&usec) {
        return Err(crate::errno::EDOM);
    }
    let ns = (sec as u64).saturating_mul(1_000_000_000).saturating_add(usec as u64 * 1000);
    Ok((ns != 0).then_some(ns))
}

/// Writes an `int` option value to `buf`; its length.
fn int(buf: &mut [u8; 16], n: c_int) -> usize {
    buf[..4].copy_from_slice(&n.to_ne_bytes());
    4
}

/// Writes a timeout (`None`: 0) as a `struct timeval` to `buf`; its length.
fn timeval(buf: &mut [u8; 16], t: Option<u64>) -> usize {
    let ns = t.unwrap_or(0);
    buf[..8].copy_from_slice(&((ns / 1_000_000_000) as i64).to_ne_bytes());
    buf[8..].copy_from_slice(&(((ns % 1_000_000_000) / 1000) as i64).to_ne_bytes());
    16
}

fn int_of(v: &[u8]) -> Result<c_int> {
    Ok(c_int::from_ne_bytes(v.get(..4).ok_or(EINVAL)?.try_into().map_err(|_| EINVAL)?))
}

/// Sets an option: `SOL_SOCKET` (`SO_REUSEADDR`, `SO_REUSEPORT`, `SO_KEEPALIVE`, `SO_BROADCAST`,
/// `SO_LINGER`, `SO_SNDBUF`, `SO_RCVBUF`, `SO_SNDTIMEO`, `SO_RCVTIMEO`), `IPPROTO_TCP`
/// (`TCP_NODELAY`, `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT`, lwIP's `TCP_KEEPALIVE` in
/// milliseconds, Linux's `TCP_SYNCNT`: `crate::net::keepalive`), `IPPROTO_IPV6`'s
/// `IPV6_V6ONLY` (`crate::net::bound`), `IP_TTL` and `IPV6_UNICAST_HOPS` (one value), the
/// multicast options of both levels
/// (`crate::net::multicast`; the IPv6 ones `ENOPROTOOPT` on an `AF_INET` socket, as Linux);
/// other `IPPROTO_IP`/`IPPROTO_IPV6` options are accepted and ignored. Buffer sizes apply to
/// connections made afterwards.
/// Deviation from the original: its lwIP accepted the keep-alive options but not
/// `TCP_SYNCNT`, and gave up a handshake after its own 6 SYN retransmissions.
///
/// # Safety
/// `value` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn setsockopt(fd: c_int, level: c_int, name: c_int, value: *const c_void, len: SockLen) -> c_int {
    // SAFETY: forwarded from the caller.
    let value = unsafe { bytes(value.cast(), len as usize) };
    let result = value.and_then(|v| {
        if let Object::Unix(u) = &*fd::get(fd)? {
            return match (level, name) {
                (SOL_SOCKET, SO_RCVTIMEO | SO_SNDTIMEO) => timeval_ns(v).map(|t| u.set_timeout(name == SO_SNDTIMEO, t)),
                // Accepted, and nothing changes (`unix_option`).
                (SOL_SOCKET, SO_SNDBUF | SO_RCVBUF | SO_REUSEADDR) => int_of(v).map(|_| ()),
                // As Linux since 6.9: only Internet sockets share ports.
                (SOL_SOCKET, SO_REUSEPORT) => match int_of(v)? {
                    0 => Ok(()),
                    _ => Err(crate::errno::EOPNOTSUPP),
                },
                _ => Err(ENOPROTOOPT),
            };
        }
        with_socket(fd, |s| {
            let buffer = |n: c_int| (n.max(2048) as usize).min(crate::net::socket::TCP_BUFFER_OFFLOAD);
            // An `int` in the range Linux accepts for the option (`EINVAL` outside).
            let ranged = |check: fn(c_int) -> Option<u32>| int_of(v).and_then(|n| check(n).ok_or(EINVAL));
            match (level, name) {
                (SOL_SOCKET, SO_REUSEADDR) => int_of(v).map(|n| s.set_options(|o| o.reuseaddr = n != 0)),
                (SOL_SOCKET, SO_REUSEPORT) => int_of(v).map(|n| s.set_options(|o| o.reuseport = n != 0)),
                (SOL_SOCKET, SO_KEEPALIVE) => int_of(v).map(|n| s.set_options(|o| o.keepalive.on = n != 0)),
                (SOL_SOCKET, SO_BROADCAST) => int_of(v).map(|n| s.set_options(|o| o.broadcast = n != 0)),
                (SOL_SOCKET, SO_LINGER) => {
                    let on = int_of(v)?;
                    let secs = int_of(v.get(4..).ok_or(EINVAL)?)?;
                    s.set_options(|o| o.linger = [on, secs]);
                    Ok(())
                }
                (SOL_SOCKET, SO_SNDBUF) => int_of(v).map(|n| s.set_options(|o| o.sndbuf = buffer(n))),
                (SOL_SOCKET, SO_RCVBUF) => int_of(v).map(|n| s.set_options(|o| o.rcvbuf = buffer(n))),
                (SOL_SOCKET, SO_SNDTIMEO) => timeval_ns(v).map(|t| s.set_options(|o| o.sndtimeo = t)),
                (SOL_SOCKET, SO_RCVTIMEO) => timeval_ns(v).map(|t| s.set_options(|o| o.rcvtimeo = t)),
                (IPPROTO_TCP, TCP_NODELAY) => int_of(v).map(|n| s.set_options(|o| o.nodelay = n != 0)),
                (IPPROTO_TCP, TCP_KEEPALIVE) => {
                    let ms = u64::try_from(int_of(v)?).map_err(|_| EINVAL)?;
                    s.set_options(|o| o.keepalive.idle_ms = ms.max(1));
                    Ok(())
                }
                (IPPROTO_TCP, TCP_KEEPIDLE) => {
                    ranged(keepalive::seconds).map(|n| s.set_options(|o| o.keepalive.idle_ms = u64::from(n) * 1000))
                }
                (IPPROTO_TCP, TCP_KEEPINTVL) => {
                    ranged(keepalive::seconds).map(|n| s.set_options(|o| o.keepalive.interval_s = n))
                }
                (IPPROTO_TCP, TCP_KEEPCNT) => {
                    ranged(keepalive::count).map(|n| s.set_options(|o| o.keepalive.count = n))
                }
                (IPPROTO_TCP, TCP_SYNCNT) => ranged(keepalive::syn_count).map(|n| s.set_options(|o| o.syn_count = n)),
                (IPPROTO_IPV6, IPV6_V6ONLY) => int_of(v).and_then(|n| s.set_v6only(n != 0)),
                (IPPROTO_IP, IP_PKTINFO) => int_of(v).map(|n| s.set_options(|o| o.pktinfo = n != 0)),
                (IPPROTO_IPV6, IPV6_RECVPKTINFO) if s.v6 => int_of(v).map(|n| s.set_options(|o| o.pktinfo6 = n != 0)),
                (IPPROTO_IPV6, IPV6_RECVPKTINFO) => Err(ENOPROTOOPT),
                (IPPROTO_IPV6, IPV6_JOIN_GROUP..=IPV6_MULTICAST_LOOP) if !s.v6 => Err(ENOPROTOOPT),
                (IPPROTO_IP, IP_TTL) | (IPPROTO_IPV6, IPV6_UNICAST_HOPS) => {
                    multicast::unicast_hops(v).map(|h| s.set_options(|o| o.ttl = h))
                }
                (IPPROTO_IP, IP_ADD_MEMBERSHIP | IP_DROP_MEMBERSHIP) => {
                    multicast::group_v4(v).and_then(|g| s.membership(g, name == IP_ADD_MEMBERSHIP))
                }
                (IPPROTO_IPV6, IPV6_JOIN_GROUP | IPV6_LEAVE_GROUP) => {
                    multicast::group_v6(v, netif::scope_known).and_then(|g| s.membership(g, name == IPV6_JOIN_GROUP))
                }
                (IPPROTO_IP, IP_MULTICAST_TTL) | (IPPROTO_IPV6, IPV6_MULTICAST_HOPS) => {
                    multicast::hops(v).map(|h| s.set_options(|o| o.mcast_hops = h))
                }
                (IPPROTO_IP, IP_MULTICAST_LOOP) | (IPPROTO_IPV6, IPV6_MULTICAST_LOOP) => {
                    multicast::int_or_byte(v).map(|n| s.set_options(|o| o.mcast_loop = n != 0))
                }
                (IPPROTO_IP, IP_MULTICAST_IF) => {
                    // An address, or `ip_mreq`'s or `ip_mreqn`'s interface address.
                    let at = if v.len() >= 8 { 4 } else { 0 };
                    let addr: [u8; 4] = v.get(at..at + 4).and_then(|a| a.try_into().ok()).ok_or(EINVAL)?;
                    s.set_multicast_if(addr)
                }
                (IPPROTO_IPV6, IPV6_MULTICAST_IF) => {
                    let index = int_of(v)? as u32;
                    if !netif::scope_known(index) {
                        return Err(crate::errno::ENODEV);
                    }
                    s.set_options(|o| o.mcast_ifindex = index);
                    Ok(())
                }
                (IPPROTO_IP | IPPROTO_IPV6, _) => Ok(()),
                _ => Err(ENOPROTOOPT),
            }
        })
    });
    c_int_ret(result.map(|()| 0))
}

/// Reads an option (those of [`setsockopt`] but the ignored IP ones and the memberships, plus
/// `SO_ERROR` and `SO_TYPE`; the IPv6 ones on `AF_INET6` sockets).
///
/// # Safety
/// `value` must be valid for `*len` bytes, `len` valid.
#[no_mangle]
pub unsafe extern "C" fn getsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    value: *mut c_void,
    len: *mut SockLen,
) -> c_int {
    if let Ok(Object::Unix(u)) = fd::get(fd).as_deref() {
        let mut buf = [0u8; 16];
        let n = match (level, name) {
            (SOL_SOCKET, SO_RCVTIMEO | SO_SNDTIMEO) => timeval(&mut buf, u.timeout(name == SO_SNDTIMEO)),
            (SOL_SOCKET, SO_PEERCRED) => peer_credentials(&mut buf, u.has_peer()),
            _ => match unix_option(u, level, name) {
                Ok(v) => int(&mut buf, v),
                Err(e) => return c_int_ret(Err(e)),
            },
        };
        // SAFETY: forwarded from the caller.
        return c_int_ret(unsafe { put_option(&buf[..n], value, len) });
    }
    let result = with_socket(fd, |s| {
        let o = s.options();
        let mut buf = [0u8; 16];
        let n = match (level, name) {
            (SOL_SOCKET, SO_REUSEADDR) => int(&mut buf, c_int::from(o.reuseaddr)),
            (SOL_SOCKET, SO_REUSEPORT) => int(&mut buf, c_int::from(o.reuseport)),
            (SOL_SOCKET, SO_KEEPALIVE) => int(&mut buf, c_int::from(o.keepalive.on)),
            (SOL_SOCKET, SO_BROADCAST) => int(&mut buf, c_int::from(o.broadcast)),
            (SOL_SOCKET, SO_LINGER) => {
                buf[..4].copy_from_slice(&o.linger[0].to_ne_bytes());
                buf[4..8].copy_from_slice(&o.linger[1].to_ne_bytes());
                8
            }
            (SOL_SOCKET, SO_SNDBUF) => int(&mut buf, o.sndbuf as c_int),
            (SOL_SOCKET, SO_RCVBUF) => int(&mut buf, o.rcvbuf as c_int),
            (SOL_SOCKET, SO_SNDTIMEO) => timeval(&mut buf, o.sndtimeo),
            (SOL_SOCKET, SO_RCVTIMEO) => timeval(&mut buf, o.rcvtimeo),
            (SOL_SOCKET, SO_ERROR) => int(&mut buf, s.take_error().map_or(0, |e| -e.neg())),
            (SOL_SOCKET, SO_TYPE) => int(&mut buf, if s.kind == Kind::Stream { SOCK_STREAM } else { SOCK_DGRAM }),
            (SOL_SOCKET, SO_ACCEPTCONN) => int(&mut buf, c_int::from(s.listening())),
            (IPPROTO_TCP, TCP_NODELAY) => int(&mut buf, c_int::from(o.nodelay)),
            (IPPROTO_TCP, TCP_KEEPALIVE) => int(&mut buf, o.keepalive.idle_ms.min(i32::MAX as u64) as c_int),
            // Linux rounds a millisecond idle time set through TCP_KEEPALIVE up to seconds.
            (IPPROTO_TCP, TCP_KEEPIDLE) => {
                int(&mut buf, o.keepalive.idle_ms.div_ceil(1000).min(i32::MAX as u64) as c_int)
            }
            (IPPROTO_TCP, TCP_KEEPINTVL) => int(&mut buf, o.keepalive.interval_s as c_int),
            (IPPROTO_TCP, TCP_KEEPCNT) => int(&mut buf, o.keepalive.count as c_int),
            (IPPROTO_TCP, TCP_SYNCNT) => int(&mut buf, o.syn_count as c_int),
            (IPPROTO_IPV6, IPV6_V6ONLY) if s.v6 => int(&mut buf, c_int::from(o.v6only)),
            (IPPROTO_IP, IP_PKTINFO) => int(&mut buf, c_int::from(o.pktinfo)),
            (IPPROTO_IPV6, IPV6_RECVPKTINFO) if s.v6 => int(&mut buf, c_int::from(o.pktinfo6)),
            (IPPROTO_IPV6, IPV6_UNICAST_HOPS..=IPV6_MULTICAST_LOOP) if !s.v6 => return Err(ENOPROTOOPT),
            (IPPROTO_IP, IP_TTL) | (IPPROTO_IPV6, IPV6_UNICAST_HOPS) => int(&mut buf, c_int::from(o.ttl.unwrap_or(64))),
            (IPPROTO_IP, IP_MULTICAST_TTL) | (IPPROTO_IPV6, IPV6_MULTICAST_HOPS) => {
                int(&mut buf, c_int::from(o.mcast_hops))
            }
            (IPPROTO_IP, IP_MULTICAST_LOOP) | (IPPROTO_IPV6, IPV6_MULTICAST_LOOP) => {
                int(&mut buf, c_int::from(o.mcast_loop))
            }
            (IPPROTO_IP, IP_MULTICAST_IF) => {
                buf[..4].copy_from_slice(&o.mcast_if);
                4
            }
            (IPPROTO_IPV6, IPV6_MULTICAST_IF) => int(&mut buf, o.mcast_ifindex as c_int),
            _ => return Err(ENOPROTOOPT),
        };
        // SAFETY: forwarded from the caller.
        unsafe { put_option(&buf[..n], value, len) }
    });
    c_int_ret(result)
}

/// Writes an option's value, cut to `*len` bytes, and its length to `len`.
///
/// # Safety
/// `value` must be valid for `*len` bytes, `len` valid.
unsafe fn put_option(bytes: &[u8], value: *mut c_void, len: *mut SockLen) -> Result<c_int> {
    // SAFETY: forwarded from the caller.
    let len = unsafe { out(len) }?;
    let take = (*len as usize).min(bytes.len());
    // SAFETY: forwarded from the caller.
    unsafe { bytes_mut(value.cast(), take) }?.copy_from_slice(&bytes[..take]);
    *len = take as SockLen;
    Ok(0)
}

/// The fixed options of a Unix socket, as `getsockopt` reads them: `SO_ERROR` 0 (a connection
/// fails in `connect` itself), `SO_TYPE`, the buffer sizes (what a direction or a datagram
/// socket's inbox holds: [`crate::fs::pipe::CAPACITY`] or
/// [`crate::fs::pipe::RECORD_CAPACITY`]), `SO_REUSEADDR` and `SO_REUSEPORT` 0 and
/// `SO_ACCEPTCONN`; `setsockopt` accepts the buffer sizes, `SO_REUSEADDR` and `SO_REUSEPORT`
/// 0 and changes nothing (`EOPNOTSUPP` to set `SO_REUSEPORT`, as Linux). Beside them only the
/// timeouts (`SO_RCVTIMEO`, `SO_SNDTIMEO`) and `SO_PEERCRED`; others are `ENOPROTOOPT`.
fn unix_option(u: &UnixSocket, level: c_int, name: c_int) -> Result<c_int> {
    match (level, name) {
        (SOL_SOCKET, SO_ERROR | SO_REUSEADDR | SO_REUSEPORT) => Ok(0),
        (SOL_SOCKET, SO_TYPE) => Ok(u.kind as c_int),
        (SOL_SOCKET, SO_ACCEPTCONN) => Ok(c_int::from(u.listening())),
        (SOL_SOCKET, SO_SNDBUF | SO_RCVBUF) => Ok(match u.kind {
            UnixKind::Stream => crate::fs::pipe::CAPACITY,
            _ => crate::fs::pipe::RECORD_CAPACITY,
        } as c_int),
        _ => Err(ENOPROTOOPT),
    }
}

/// Writes `SO_PEERCRED`'s `struct ucred` (pid, uid, gid) into `buf`; returns its length. Every
/// peer is a thread of this program: its process id (the main task's, as `getpid`), user
/// and group 0 (as `getuid`). Without a peer, Linux's: pid 0, user and group -1.
fn peer_credentials(buf: &mut [u8; 16], peer: bool) -> usize {
    let (pid, id) = if peer { (crate::scheduler::main_id(), 0) } else { (0, u32::MAX) };
    for (i, v) in [pid, id, id].into_iter().enumerate() {
        buf[i * 4..i * 4 + 4].copy_from_slice(&v.to_ne_bytes());
    }
    12
}
