//! BSD sockets on smoltcp: TCP (a listening socket's smoltcp listeners are the stack's,
//! [`super::listen`]) and UDP, with blocking, non-blocking and timed calls.
//!
//! Every operation runs under the stack's lock ([`super::with_stack`], which polls before
//! it when something may wait, and after it) and then under the socket's own lock, in that
//! order. A blocking call that
//! cannot finish sleeps in [`super::wait`] and tries again; a signal ends it with `EINTR`,
//! a timeout (`SO_RCVTIMEO`/`SO_SNDTIMEO`) with `EAGAIN`, as on Linux.
//!
//! The data path (`send`, `recv`) is in [`data`].
//!
//! Deviations: a closed TCP socket in `TIME_WAIT` is freed as soon as it sent the ACK it
//! may owe (no 2 MSL wait, [`super::pool::Pool::reap`]); closing with unread data resets
//! the connection (as Linux does, and as `SO_LINGER` with a time of 0 does).

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use alloc::vec::Vec;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::{tcp, udp};
use smoltcp::time::Duration;
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint, Ipv4Address};

use super::ack::Ack;
use super::addr;
use super::bound::{Families, Port};
use super::keepalive::{self, KeepAlive};
use super::listen::Shared;
use super::pool::Spec;
use super::{udpshare, with_stack, Stack, EVENTS};
use crate::errno::{
    Errno, Result, EADDRINUSE, EAFNOSUPPORT, EAGAIN, EALREADY, ECONNREFUSED, ECONNRESET, EINPROGRESS, EINVAL, EISCONN,
    ENETUNREACH, ENOBUFS, ENOTCONN, EOPNOTSUPP, ETIMEDOUT,
};
use crate::synch::spinlock::SpinLock;

mod data;

/// Default receive/send buffer of a TCP socket. 256 KiB (with window scaling): with 64 KiB
/// the window closed at every burst of jumbo frames, and Debian 12's passt then waited
/// 100-200 ms on a timer after the guest's window update (user-mode host->guest 10-22 MiB/s,
/// 40-43 with 256 KiB; tap streams gained 1.4-2.3x as well, quiet single runs). With 512 KiB
/// or 1 MiB the same passt took host->guest streams at 0.5-1.2 MiB/s while its end of the
/// socket pair had the default send buffer; where the proxy got a larger one it asks for
/// 1 MiB ([`nic_buffer`]).
pub const TCP_BUFFER: usize = 256 << 10;
/// The default TCP buffer without offloads when the loader asks for `requested` bytes over
/// its NIC (`net_tcp_buffer`): that, within 64 KiB and [`NIC_BUFFER_MAX`]; 0 (no request):
/// [`TCP_BUFFER`]. It is the receive buffer; the send buffer stays within
/// [`TCP_BUFFER_OFFLOAD`]. Behind passt our proxy asks for 1 or 4 MiB where its socket pair
/// to passt carries such a window whole: with 256 KiB every window was one stop-and-wait
/// round through passt and the guest.
pub fn nic_buffer(requested: u64) -> usize {
    match requested {
        0 => TCP_BUFFER,
        n => usize::try_from(n).unwrap_or(usize::MAX).clamp(64 << 10, NIC_BUFFER_MAX),
    }
}

/// Default TCP buffer with the tap's offloads ([`super::offload`]): 1 MiB. There a 256 KiB
/// window is four 64 KiB segments, and a tap stream waited for the round trip (64 KiB
/// writes, load 5-7: host->guest 300 -> 467 MiB/s, guest->host 289 -> 657; 4 MiB gave no
/// more). The cost is memory and connection setup: both buffers are allocated (and zeroed)
/// with the socket (or reused from the pool of ended ones), 2 MiB per connection, pending or
/// accepted, and 2 MiB for an idle listening socket whatever its backlog
/// ([`super::listen`]). Also the largest `SO_RCVBUF`/`SO_SNDBUF`.
pub const TCP_BUFFER_OFFLOAD: usize = 1 << 20;
/// Largest receive buffer the loader may ask for (`net_tcp_buffer`). Behind passt a 1 MiB
/// window was used up often, and the small windows the guest then advertised stalled the
/// host's sender for about 205 ms (passt's window clamp, [`super::floor`], which now keeps
/// them from passt; host->guest 64 KiB writes 69-124 MiB/s with 1 MiB, 261-442 with 4 MiB,
/// 3 interleaved pairs at load 4, before the floor). The cost: 5 MiB per
/// connection, and 5 MiB for an idle listening socket whatever its backlog (it held 160 MiB
/// for a backlog of 32 while every backlog listener was made at `listen`).
pub const NIC_BUFFER_MAX: usize = 4 << 20;
/// Most pending connections (in handshake, or waiting for `accept`) of one listening
/// socket: Linux's `SOMAXCONN` before 5.4 (the original lwIP's was 255). Fewer where their
/// buffers would take more than [`PENDING_SHARE`] of guest memory, but never fewer than
/// [`BACKLOG_FLOOR`] ([`backlog_limit`]). It was 32 for every socket: 64 concurrent clients
/// of a server overflowed it.
pub const BACKLOG_MAX: usize = 128;
/// Pending connections a listening socket may always hold, whatever their buffers (the
/// limit before: 160 MiB behind passt).
const BACKLOG_FLOOR: usize = 32;
/// The share of guest memory (1 / this) the buffers of one listening socket's pending
/// connections may take beyond [`BACKLOG_FLOOR`]: a SYN flood from hosts that never end the
/// handshake holds them for 20 s ([`super::Stack`]'s sweep), and a smoltcp connection owns
/// its buffers from its SYN on.
const PENDING_SHARE: u64 = 4;

/// How many pending connections a listening socket asked for `backlog` holds, with
/// `buffers` bytes each, in `ram` bytes of guest memory ([`BACKLOG_MAX`]).
fn backlog_limit(backlog: i32, buffers: usize, ram: u64) -> usize {
    let fits = ram / PENDING_SHARE / (buffers.max(1) as u64);
    let most = usize::try_from(fits).unwrap_or(usize::MAX).clamp(BACKLOG_FLOOR, BACKLOG_MAX);
    usize::try_from(backlog).unwrap_or(0).clamp(1, most)
}
pub(super) use super::udpshare::{UDP_PACKETS, UDP_PAYLOAD};

/// `SOCK_STREAM` or `SOCK_DGRAM`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// TCP.
    Stream,
    /// UDP.
    Datagram,
}

/// Options set with `setsockopt`.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// `SO_RCVBUF` (applies to sockets created afterwards: connect, listen).
    pub rcvbuf: usize,
    /// `SO_SNDBUF`.
    pub sndbuf: usize,
    /// `SO_RCVTIMEO` in nanoseconds (`None`: forever).
    pub rcvtimeo: Option<u64>,
    /// `SO_SNDTIMEO` in nanoseconds.
    pub sndtimeo: Option<u64>,
    /// `TCP_NODELAY`.
    pub nodelay: bool,
    /// `SO_KEEPALIVE`, `TCP_KEEPIDLE` (lwIP's `TCP_KEEPALIVE`), `TCP_KEEPINTVL`, `TCP_KEEPCNT`.
    pub keepalive: KeepAlive,
    /// `TCP_SYNCNT`: SYN retransmissions before `connect` gives up with `ETIMEDOUT`.
    pub syn_count: u32,
    /// `SO_REUSEADDR`.
    pub reuseaddr: bool,
    /// `SO_REUSEPORT` ([`super::reuseport`]).
    pub reuseport: bool,
    /// `SO_BROADCAST` (stored, not acted on).
    pub broadcast: bool,
    /// `SO_LINGER` as given (`l_onoff`, `l_linger`): acted on at the close of a connection.
    pub linger: [i32; 2],
    /// `IPV6_V6ONLY` (`AF_INET6` sockets): IPv6 peers only ([`super::bound`]).
    pub v6only: bool,
    /// `IP_MULTICAST_TTL`, `IPV6_MULTICAST_HOPS` (one value for both): the hop limit of
    /// datagrams to multicast groups ([`super::multicast`]).
    pub mcast_hops: u8,
    /// `IP_MULTICAST_LOOP`, `IPV6_MULTICAST_LOOP`: whether the socket gets its own datagrams
    /// to a group it joined (other sockets of the guest get them either way).
    pub mcast_loop: bool,
    /// `IP_MULTICAST_IF` (an IPv4 address, stored: the guest has one NIC).
    pub mcast_if: [u8; 4],
    /// `IPV6_MULTICAST_IF` (an interface index, stored).
    pub mcast_ifindex: u32,
    /// `IP_TTL`, `IPV6_UNICAST_HOPS` (one value for both; `None`: smoltcp's and Linux's 64):
    /// the hop limit of what is not sent to a multicast group.
    pub ttl: Option<u8>,
    /// `IP_PKTINFO`: `recvmsg` tells an IPv4 datagram's destination ([`Destination`]).
    pub pktinfo: bool,
    /// `IPV6_RECVPKTINFO` (`AF_INET6` sockets): the same for every datagram, as IPv6.
    pub pktinfo6: bool,
}

/// Where a received datagram went (`IP_PKTINFO`, `IPV6_PKTINFO`): the destination in its
/// header, and the address of ours that answers for it (the destination itself, or for a
/// broadcast or a group the interface's address of that family).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Destination {
    pub addr: IpAddress,
    pub local: IpAddress,
}

enum Tcp {
    /// Created or bound, neither listening nor connected.
    Fresh,
    /// Listening: the stack's listening socket of this id ([`super::listen`]).
    Listening { id: u64 },
    /// Connecting or connected.
    Conn { handle: SocketHandle, established: bool },
}

struct Inner {
    tcp: Tcp,
    udp: Option<SocketHandle>,
    /// `bind`'s address (port 0 until one is chosen).
    local: Option<IpListenEndpoint>,
    /// UDP `connect`'s peer.
    peer: Option<IpEndpoint>,
    /// The pending error `SO_ERROR` reports.
    error: Option<Errno>,
    shut_rd: bool,
    shut_wr: bool,
    /// The connection failed or was reset, and `error` got that once.
    failed: bool,
    options: Options,
    /// How the connection acknowledges what it receives.
    ack: Ack,
    /// The multicast groups the socket joined ([`super::multicast`]).
    groups: Vec<IpAddress>,
    /// Uptime (ns) when `connect` sent its SYN (a handshake that ends without an answer
    /// after `TCP_SYNCNT`'s time timed out rather than was refused) or `accept` took the
    /// connection.
    connect_at: u64,
}

impl Inner {
    /// The connection's age (since [`Inner::connect_at`]), in microseconds: smoltcp's
    /// timeouts count from the peer's last segment, which came no earlier.
    fn age_us(&self) -> u64 {
        crate::time::uptime_ns().saturating_sub(self.connect_at) / 1000
    }
}

/// A socket; the descriptor table holds it, the last reference closes it.
pub struct Socket {
    /// TCP or UDP.
    pub kind: Kind,
    /// `AF_INET6` rather than `AF_INET`.
    pub v6: bool,
    /// `O_NONBLOCK`.
    pub nonblocking: AtomicBool,
    /// Calls that returned `EAGAIN`: after one, an edge-triggered epoll entry reports the
    /// socket's next readiness even if it looks as it did at the last report.
    pub would_block: AtomicU32,
    inner: SpinLock<Inner>,
}

/// What `poll` and `select` need.
#[derive(Clone, Copy, Default, Debug)]
pub struct Readiness {
    /// Data, a connection, end of file or an error waits.
    pub readable: bool,
    /// A send would not block.
    pub writable: bool,
    /// The connection is gone (`POLLHUP`).
    pub hangup: bool,
    /// An error is pending (`POLLERR`).
    pub error: bool,
    /// The peer sent its FIN (`EPOLLRDHUP`).
    pub rdhup: bool,
}

/// How the TCP sockets of a socket with `options` are made.
fn spec(options: &Options) -> Spec {
    Spec {
        rx: options.rcvbuf,
        tx: options.sndbuf,
        nodelay: options.nodelay,
        keepalive: options.keepalive.timers(),
        hops: options.ttl,
    }
}

/// The bytes of a UDP socket's buffers, both ways.
const UDP_BYTES: usize = 2 * (UDP_PAYLOAD + UDP_PACKETS * core::mem::size_of::<udp::PacketMetadata>());

/// A UDP socket, its buffers counted in the budget of `pool` ([`super::pool::Pool::reserve`]);
/// `ENOBUFS` when they do not fit or cannot be had (before, a failed allocation ended the
/// guest with a kernel panic).
fn udp_socket(pool: &mut super::pool::Pool) -> Result<udp::Socket<'static>> {
    use super::pool::filled;
    if !pool.reserve(UDP_BYTES) {
        return Err(ENOBUFS);
    }
    let buffer =
        || Some(udp::PacketBuffer::new(filled(UDP_PACKETS, udp::PacketMetadata::EMPTY)?, filled(UDP_PAYLOAD, 0u8)?));
    match (buffer(), buffer()) {
        (Some(rx), Some(tx)) => Ok(udp::Socket::new(rx, tx)),
        _ => {
            pool.release(UDP_BYTES);
            Err(ENOBUFS)
        }
    }
}

fn port_used(stack: &Stack, port: u16, kind: Kind) -> bool {
    stack.ports.iter().any(|b| b.stream == (kind == Kind::Stream) && b.port == port)
}

/// Waits with `timeout_ns` (or forever) until `f` gives a result; `EAGAIN` at once if
/// `nonblocking`, and when the timeout passes (each `EAGAIN` counted in `would_block`).
fn block<T>(
    would_block: &AtomicU32,
    nonblocking: bool,
    timeout_ns: Option<u64>,
    mut f: impl FnMut(&mut Stack) -> Option<Result<T>>,
) -> Result<T> {
    let deadline = timeout_ns.map(crate::time::deadline_after);
    loop {
        let seen = EVENTS.load(Ordering::SeqCst);
        let (result, delay) = with_stack(&mut f);
        if let Some(result) = result {
            return result;
        }
        if nonblocking {
            would_block.fetch_add(1, Ordering::SeqCst);
            return Err(EAGAIN);
        }
        match super::wait(seen, delay, deadline) {
            Err(ETIMEDOUT) => {
                would_block.fetch_add(1, Ordering::SeqCst);
                return Err(EAGAIN);
            }
            Err(e) => return Err(e),
            Ok(()) => {}
        }
    }
}

impl Socket {
    /// A new socket of `kind`.
    pub fn new(kind: Kind, v6: bool) -> Self {
        let buffer = super::tcp_buffer();
        let options = Options {
            rcvbuf: buffer,
            sndbuf: buffer.min(TCP_BUFFER_OFFLOAD),
            rcvtimeo: None,
            sndtimeo: None,
            nodelay: false,
            keepalive: KeepAlive::default(),
            syn_count: keepalive::SYN_COUNT,
            reuseaddr: false,
            reuseport: false,
            broadcast: false,
            linger: [0; 2],
            v6only: false,
            mcast_hops: super::multicast::DEFAULT_HOPS,
            mcast_loop: true,
            mcast_if: [0; 4],
            mcast_ifindex: 0,
            ttl: None,
            pktinfo: false,
            pktinfo6: false,
        };
        let inner = Inner {
            tcp: Tcp::Fresh,
            udp: None,
            local: None,
            peer: None,
            error: None,
            shut_rd: false,
            shut_wr: false,
            failed: false,
            options,
            ack: Ack::default(),
            groups: Vec::new(),
            connect_at: 0,
        };
        Self {
            kind,
            v6,
            nonblocking: AtomicBool::new(false),
            would_block: AtomicU32::new(0),
            inner: SpinLock::new(inner),
        }
    }

    fn nonblocking(&self, flags: i32) -> bool {
        self.nonblocking.load(Ordering::Relaxed) || flags & MSG_DONTWAIT != 0
    }

    /// `endpoint` as this TCP socket takes it: its own family (`EAFNOSUPPORT` otherwise), an
    /// IPv4-mapped address (`::ffff:a.b.c.d`) on an `AF_INET6` socket as that IPv4 address
    /// (dual stack, as Linux and the original's lwIP).
    fn own(&self, endpoint: IpEndpoint) -> Result<IpEndpoint> {
        match (endpoint.addr, self.v6) {
            (IpAddress::Ipv4(_), false) => Ok(endpoint),
            (IpAddress::Ipv6(_), true) => Ok(addr::unmap(endpoint)),
            _ => Err(EAFNOSUPPORT),
        }
    }

    /// `endpoint` as this socket shows it: on an `AF_INET6` socket an IPv4 peer or address
    /// (a dual-stack socket's) as its IPv4-mapped address.
    fn shown(&self, endpoint: IpEndpoint) -> IpEndpoint {
        if self.v6 {
            addr::map(endpoint)
        } else {
            endpoint
        }
    }

    /// The families this socket takes bound to `addr` (`None`: unspecified), [`super::bound`].
    fn families(&self, options: &Options, addr: Option<IpAddress>) -> Families {
        Families::of(self.v6, options.v6only, addr.map(|a| matches!(a, IpAddress::Ipv6(_))))
    }

    /// Whether this socket takes a peer at `addr` (IPv4 as such, not mapped).
    fn takes(&self, inner: &Inner, addr: IpAddress) -> bool {
        let local = inner.local.and_then(|l| l.addr);
        self.families(&inner.options, local).takes(matches!(addr, IpAddress::Ipv6(_)))
    }

    /// Drops the datagrams at the head of this UDP socket's queue that `recv` does not
    /// return: not from the connected peer, of a family the socket does not take, or not for
    /// it ([`Socket::takes_datagram`]); what waits after is one `recv` returns (so `poll` and
    /// `FIONREAD` see what `recv` will).
    fn drop_unwanted(&self, stack: &mut Stack, inner: &Inner) {
        let Some(handle) = inner.udp else { return };
        let (sockets, shelves) = (&mut stack.sockets, &mut stack.shelves);
        while let Some(meta) = udpshare::next(sockets, shelves, handle, false, |_, meta| *meta) {
            let wanted = inner.peer.is_none_or(|p| p == meta.endpoint)
                && self.takes(inner, meta.endpoint.addr)
                && self.takes_datagram(inner, &meta, |a| stack.iface.has_ip_addr(a));
            if wanted {
                return;
            }
            udpshare::next(sockets, shelves, handle, true, |_, _| ());
        }
    }

    /// Whether this UDP socket takes a datagram of `meta` (smoltcp gives a socket bound to
    /// an address every broadcast and multicast datagram of its port too): one bound to an
    /// address only those sent to that address, as on Linux (bound to a group: the group's);
    /// with `IP_MULTICAST_LOOP` off not its own to a group (from one of `ours`, its port).
    fn takes_datagram(&self, inner: &Inner, meta: &udp::UdpMetadata, ours: impl Fn(IpAddress) -> bool) -> bool {
        let Some(local) = inner.local else { return true };
        if local.addr.is_some_and(|a| meta.local_address.is_some_and(|to| to != a)) {
            return false;
        }
        let to_group = meta.local_address.is_some_and(|a| a.is_multicast());
        inner.options.mcast_loop || !to_group || meta.endpoint.port != local.port || !ours(meta.endpoint.addr)
    }

    /// `IP_MULTICAST_IF`: 0.0.0.0 or an address of ours (`EADDRNOTAVAIL` otherwise), kept for
    /// `getsockopt` (the guest has one NIC).
    pub fn set_multicast_if(&self, addr: [u8; 4]) -> Result<()> {
        let ours = addr == [0; 4] || with_stack(|s| s.iface.has_ip_addr(IpAddress::from(Ipv4Address::from(addr)))).0;
        if !ours {
            return Err(crate::errno::EADDRNOTAVAIL);
        }
        self.set_options(|o| o.mcast_if = addr);
        Ok(())
    }

    /// `IP_ADD_MEMBERSHIP`/`IPV6_JOIN_GROUP` (`join`) or `IP_DROP_MEMBERSHIP`/
    /// `IPV6_LEAVE_GROUP` of `group` ([`super::multicast`]); `EPROTO` on a TCP socket, as
    /// Linux.
    pub fn membership(&self, group: IpAddress, join: bool) -> Result<()> {
        if self.kind == Kind::Stream {
            return Err(crate::errno::EPROTO);
        }
        with_stack(|stack| {
            let mut inner = self.inner.lock();
            if !join {
                super::multicast::remove(&mut inner.groups, group)?;
                stack.memberships.leave(&mut stack.iface, group);
                return Ok(());
            }
            super::multicast::add(&mut inner.groups, group)?;
            let joined = stack.memberships.join(&mut stack.iface, group);
            if joined.is_err() {
                inner.groups.pop();
            }
            joined
        })
        .0
    }

    /// `ENETUNREACH` for an IPv4-mapped destination (`::ffff:a.b.c.d`) of an `IPV6_V6ONLY`
    /// socket, as on Linux.
    fn reachable(&self, to: IpEndpoint) -> Result<()> {
        let mapped = self.v6 && matches!(addr::unmap(to).addr, IpAddress::Ipv4(_));
        if mapped && self.inner.lock().options.v6only {
            return Err(ENETUNREACH);
        }
        Ok(())
    }

    /// This socket's entry in the stack's bound ports.
    fn port(&self, options: &Options, addr: Option<IpAddress>, port: u16) -> Port {
        let families = self.families(options, addr);
        Port {
            stream: self.kind == Kind::Stream,
            port,
            families,
            addr,
            reuse: options.reuseaddr,
            reuse_port: options.reuseport,
            listening: false,
            owner: self.owner(),
            udp: None,
            peer: None,
        }
    }

    /// This socket's identity in the stack's bound ports (its address: it does not move).
    fn owner(&self) -> usize {
        self as *const Self as usize
    }

    /// `IPV6_V6ONLY`: `ENOPROTOOPT` on an `AF_INET` socket, `EINVAL` once bound (as Linux).
    pub fn set_v6only(&self, on: bool) -> Result<()> {
        if !self.v6 {
            return Err(crate::errno::ENOPROTOOPT);
        }
        let mut inner = self.inner.lock();
        if inner.local.is_some() {
            return Err(EINVAL);
        }
        inner.options.v6only = on;
        Ok(())
    }

    /// Reads the options.
    pub fn options(&self) -> Options {
        with_stack(|_| self.inner.lock().options).0
    }

    /// Changes the options; a change of TCP_NODELAY or of the keep-alive options also acts on
    /// a connected socket (other options leave its timers alone).
    pub fn set_options(&self, f: impl FnOnce(&mut Options)) {
        with_stack(|stack| {
            let mut inner = self.inner.lock();
            let before = inner.options;
            f(&mut inner.options);
            match inner.tcp {
                Tcp::Conn { handle, .. } => {
                    let socket = stack.sockets.get_mut::<tcp::Socket>(handle);
                    if before.nodelay != inner.options.nodelay {
                        socket.set_nagle_enabled(!inner.options.nodelay);
                    }
                    if before.ttl != inner.options.ttl {
                        socket.set_hop_limit(inner.options.ttl);
                    }
                    if before.keepalive == inner.options.keepalive {
                        return;
                    }
                    let keepalive = inner.options.keepalive;
                    socket.set_keep_alive(keepalive.timers().map(|(probe, _)| probe));
                    if let Some(waiting) = stack.handshakes.iter_mut().find(|(h, _)| *h == handle) {
                        // The handshake's timeout stays; this one follows it.
                        waiting.1 = keepalive.timers().map(|(_, abort)| abort);
                    } else {
                        let age = inner.age_us();
                        socket.set_timeout(keepalive.abort_after(&before.keepalive, Duration::from_micros(age)));
                    }
                }
                Tcp::Listening { id } => stack.listens.set_spec(id, spec(&inner.options)),
                Tcp::Fresh => {}
            }
        });
    }

    /// `SO_ACCEPTCONN`: whether `listen` made this a listening socket.
    pub fn listening(&self) -> bool {
        matches!(self.inner.lock().tcp, Tcp::Listening { .. })
    }

    /// `SO_ERROR`: the pending error, cleared.
    pub fn take_error(&self) -> Option<Errno> {
        with_stack(|stack| take_pending(stack, &mut self.inner.lock())).0
    }

    /// `bind`: port 0 picks an ephemeral port; `EADDRINUSE` if another socket has the port
    /// (unless `SO_REUSEADDR` or `SO_REUSEPORT` let them share it, [`super::bound`]).
    pub fn bind(&self, endpoint: IpEndpoint) -> Result<()> {
        let endpoint = self.own(endpoint)?;
        with_stack(|stack| {
            let mut inner = self.inner.lock();
            if inner.local.is_some() {
                return Err(EINVAL);
            }
            let addr = (!endpoint.addr.is_unspecified()).then_some(endpoint.addr);
            let port = if endpoint.port == 0 {
                stack.ephemeral_port(|s, p| port_used(s, p, self.kind))
            } else {
                endpoint.port
            };
            let entry = self.port(&inner.options, addr, port);
            if stack.ports.iter().any(|b| b.conflicts(&entry)) {
                return Err(EADDRINUSE);
            }
            if let Some(a) = addr {
                // A UDP socket may be bound to a group, to take only the group's datagrams.
                let group = self.kind == Kind::Datagram && a.is_multicast();
                if !group && !stack.iface.has_ip_addr(a) {
                    return Err(crate::errno::EADDRNOTAVAIL);
                }
            }
            self.bind_to(stack, &mut inner, entry)
        })
        .0
    }

    /// Binds the socket to an ephemeral port if it is not bound yet (`ENOBUFS`: no memory
    /// for a UDP socket's buffers).
    fn ensure_bound(&self, stack: &mut Stack, inner: &mut Inner) -> Result<()> {
        if inner.local.is_some() {
            return Ok(());
        }
        let port = stack.ephemeral_port(|s, p| port_used(s, p, self.kind));
        let entry = self.port(&inner.options, None, port);
        self.bind_to(stack, inner, entry)
    }

    /// Takes the bound port `entry` (checked by the caller), with a UDP socket's smoltcp
    /// socket bound to it (`ENOBUFS`, and nothing taken, if its buffers cannot be had).
    fn bind_to(&self, stack: &mut Stack, inner: &mut Inner, mut entry: Port) -> Result<()> {
        let udp = if self.kind == Kind::Datagram { Some(udp_socket(&mut stack.pool)?) } else { None };
        let local = IpListenEndpoint { addr: entry.addr, port: entry.port };
        inner.local = Some(local);
        if let Some(mut udp) = udp {
            // Bound to a group, the smoltcp socket takes any address (it would send from the
            // group); `takes_datagram` keeps the group's datagrams.
            let unicast = IpListenEndpoint { addr: local.addr.filter(|a| !a.is_multicast()), port: local.port };
            let _ = udp.bind(unicast);
            let handle = stack.sockets.add(udp);
            inner.udp = Some(handle);
            entry.udp = Some(handle);
        }
        let may_share = entry.udp.is_some();
        stack.ports.push(entry);
        // Only UDP sockets share ports ([`super::udpshare`]).
        if may_share {
            stack.ports_changed();
        }
        Ok(())
    }

    /// `listen`: a listening socket for `backlog` (1..=[`BACKLOG_MAX`], [`backlog_limit`])
    /// connections on the bound port, with one smoltcp listener armed ([`super::listen`]);
    /// a connection beyond them waits for room, as on Linux
    /// ([`super::listen::Listens::turn_away`]). Waits for DHCP first (at most 5 s, as a connect does): a server that says it listens is
    /// reachable then (behind passt a connection that came before the address hung, and
    /// Debian 12's passt then resets or stalls it).
    pub fn listen(&self, backlog: i32) -> Result<()> {
        if self.kind != Kind::Stream {
            return Err(EOPNOTSUPP);
        }
        super::wait_configured()?;
        with_stack(|stack| {
            let mut inner = self.inner.lock();
            match inner.tcp {
                Tcp::Fresh => {}
                Tcp::Listening { .. } => return Ok(()),
                Tcp::Conn { .. } => return Err(EISCONN),
            }
            self.ensure_bound(stack, &mut inner)?;
            let endpoint = inner.local.unwrap_or_default();
            // As Linux: sockets bound together with SO_REUSEADDR cannot both listen; those
            // that set SO_REUSEPORT (now: it may come after `bind`) can.
            let mut entry = self.port(&inner.options, endpoint.addr, endpoint.port);
            entry.listening = true;
            if stack.ports.iter().any(|b| b.conflicts(&entry)) {
                return Err(EADDRINUSE);
            }
            let spec = spec(&inner.options);
            let count = backlog_limit(backlog, spec.rx + spec.tx, crate::mm::ram_bytes());
            let shared = Shared { families: entry.families, reuse_port: entry.reuse_port };
            let id = stack.listens.open(&mut stack.sockets, &mut stack.pool, endpoint, count, spec, shared);
            let id = id.ok_or(ENOBUFS)?;
            if let Some(b) = stack.ports.iter_mut().find(|b| b.owner == entry.owner && b.port == endpoint.port) {
                b.listening = true;
                b.reuse_port = entry.reuse_port;
            }
            inner.tcp = Tcp::Listening { id };
            Ok(())
        })
        .0
    }

    /// `accept`: an established connection and its peer.
    pub fn accept(&self) -> Result<(Socket, IpEndpoint)> {
        let nonblocking = self.nonblocking(0);
        let timeout = self.inner.lock().options.rcvtimeo;
        block(&self.would_block, nonblocking, timeout, |stack| {
            let inner = self.inner.lock();
            let options = inner.options;
            let Tcp::Listening { id } = inner.tcp else { return Some(Err(EINVAL)) };
            let handle = stack.listens.accept(id, &mut stack.sockets, &mut stack.pool)?;
            let peer = stack
                .sockets
                .get::<tcp::Socket>(handle)
                .remote_endpoint()
                .unwrap_or(IpEndpoint::new(IpAddress::v4(0, 0, 0, 0), 0));
            let conn = Socket::new(Kind::Stream, self.v6);
            {
                let mut c = conn.inner.lock();
                c.tcp = Tcp::Conn { handle, established: true };
                c.options = options;
                c.connect_at = crate::time::uptime_ns();
                if let Some(delay) = c.ack.established() {
                    stack.sockets.get_mut::<tcp::Socket>(handle).set_ack_delay(Some(delay));
                }
            }
            Some(Ok((conn, self.shown(peer))))
        })
    }

    /// `connect`: TCP waits for the handshake (`EINPROGRESS` if non-blocking); UDP sets the
    /// default peer (`None`: dissolves it).
    pub fn connect(&self, remote: Option<IpEndpoint>) -> Result<()> {
        if self.kind == Kind::Datagram {
            if let Some(remote) = remote {
                self.reachable(remote)?;
            }
            return with_stack(|stack| {
                let mut inner = self.inner.lock();
                self.ensure_bound(stack, &mut inner)?;
                inner.peer = remote.map(addr::unmap).map(addr::this_host);
                // Errors for the old peer's datagrams are not the new one's.
                inner.error = None;
                if let Some(local) = inner.local {
                    stack.device.refused.forget(local.port);
                    let owner = self.owner();
                    if let Some(b) = stack.ports.iter_mut().find(|b| b.owner == owner && b.port == local.port) {
                        b.peer = inner.peer;
                    }
                    stack.ports_changed();
                }
                Ok(())
            })
            .0;
        }
        let remote = remote.ok_or(EAFNOSUPPORT)?;
        self.reachable(remote)?;
        // To 0.0.0.0 or `::`: to this host, as Linux.
        let remote = addr::this_host(self.own(remote)?);
        // No TCP to a group or the broadcast address: ENETUNREACH at once, as Linux's route
        // lookup answers (smoltcp sent a SYN nobody answers, and the connect waited for its
        // handshake timeout: libevent's http/connection_fail).
        if remote.addr.is_multicast() || remote.addr.is_broadcast() {
            return Err(ENETUNREACH);
        }
        super::wait_configured()?;
        super::wait_routable(remote.addr)?;
        let started = with_stack(|stack| {
            let mut inner = self.inner.lock();
            match inner.tcp {
                Tcp::Fresh => {}
                Tcp::Listening { .. } => return Err(EISCONN),
                Tcp::Conn { established: true, .. } => return Err(EISCONN),
                Tcp::Conn { .. } => return Err(EALREADY),
            }
            self.ensure_bound(stack, &mut inner)?;
            let local = inner.local.unwrap_or_default();
            let mut socket = stack.pool.tcp(&spec(&inner.options), false).ok_or(ENOBUFS)?;
            stack.device.resolve(remote.addr, crate::time::uptime_ns());
            // smoltcp would take the first IPv4 address (the NIC's) as the source: a
            // connection to the loopback comes from the loopback, as on Linux.
            let mut local = local;
            if local.addr.is_none() && addr::is_loopback(remote.addr) {
                local.addr = Some(remote.addr);
            }
            if socket.connect(stack.iface.context(), remote, local).is_err() {
                stack.pool.give(socket);
                return Err(ENETUNREACH);
            }
            // No answer within TCP_SYNCNT's time: smoltcp gives up (ETIMEDOUT, below). The
            // stack's poll replaces that timeout when the handshake ends.
            socket.set_timeout(Some(keepalive::syn_timeout(inner.options.syn_count)));
            inner.connect_at = crate::time::uptime_ns();
            let handle = stack.sockets.add(socket);
            stack.handshakes.push((handle, inner.options.keepalive.timers().map(|(_, abort)| abort)));
            inner.tcp = Tcp::Conn { handle, established: false };
            Ok(())
        })
        .0;
        started?;
        if self.nonblocking.load(Ordering::Relaxed) {
            return Err(EINPROGRESS);
        }
        let timeout = self.inner.lock().options.sndtimeo;
        let result = block(&self.would_block, false, timeout, |stack| {
            let mut inner = self.inner.lock();
            if let Some(e) = take_pending(stack, &mut inner) {
                return Some(Err(e));
            }
            matches!(inner.tcp, Tcp::Conn { established: true, .. }).then_some(Ok(()))
        });
        result.map_err(|e| if e == EAGAIN { ETIMEDOUT } else { e })
    }

    /// `shutdown`: `SHUT_RD` (0) ends reading, `SHUT_WR` (1) sends FIN, `SHUT_RDWR` (2) both.
    pub fn shutdown(&self, how: i32) -> Result<()> {
        if !(0..=2).contains(&how) {
            return Err(EINVAL);
        }
        with_stack(|stack| {
            let mut inner = self.inner.lock();
            let Tcp::Conn { handle, .. } = inner.tcp else {
                return if self.kind == Kind::Datagram { Ok(()) } else { Err(ENOTCONN) };
            };
            if how != 1 {
                inner.shut_rd = true;
            }
            if how != 0 {
                inner.shut_wr = true;
                stack.sockets.get_mut::<tcp::Socket>(handle).close();
            }
            Ok(())
        })
        .0
    }

    /// Our address (`getsockname`).
    pub fn local(&self) -> Result<IpEndpoint> {
        with_stack(|stack| {
            let inner = self.inner.lock();
            if let Tcp::Conn { handle, .. } = inner.tcp {
                if let Some(ep) = stack.sockets.get::<tcp::Socket>(handle).local_endpoint() {
                    return Ok(self.shown(ep));
                }
            }
            let any = if self.v6 {
                IpAddress::Ipv6(smoltcp::wire::Ipv6Address::UNSPECIFIED)
            } else {
                IpAddress::v4(0, 0, 0, 0)
            };
            let local = inner.local.unwrap_or_default();
            Ok(self.shown(IpEndpoint::new(local.addr.unwrap_or(any), local.port)))
        })
        .0
    }

    /// The peer (`getpeername`); `ENOTCONN` without one.
    pub fn peer(&self) -> Result<IpEndpoint> {
        with_stack(|stack| {
            let inner = self.inner.lock();
            match inner.tcp {
                Tcp::Conn { handle, established: true } => {
                    stack.sockets.get::<tcp::Socket>(handle).remote_endpoint().ok_or(ENOTCONN)
                }
                _ => inner.peer.ok_or(ENOTCONN),
            }
            .map(|ep| self.shown(ep))
        })
        .0
    }

    /// `FIONREAD`: a TCP connection's received bytes not yet read (0 before one, `EINVAL`
    /// while listening, as Linux), a UDP socket's next datagram from its peer (0 without one;
    /// datagrams from others are dropped, as `recv` drops them).
    pub fn readable_bytes(&self) -> Result<usize> {
        with_stack(|stack| {
            let inner = self.inner.lock();
            if let Some(handle) = inner.udp {
                self.drop_unwanted(stack, &inner);
                return Ok(
                    udpshare::next(&mut stack.sockets, &mut stack.shelves, handle, false, |p, _| p.len()).unwrap_or(0)
                );
            }
            match inner.tcp {
                Tcp::Listening { .. } => Err(EINVAL),
                Tcp::Conn { handle, .. } => Ok(stack.sockets.get::<tcp::Socket>(handle).recv_queue()),
                Tcp::Fresh => Ok(0),
            }
        })
        .0
    }

    /// Readiness for `poll`/`select`, on the stack the caller holds.
    pub fn readiness(&self, stack: &mut Stack) -> Readiness {
        let mut inner = self.inner.lock();
        refresh_error(stack, &mut inner);
        let mut r = Readiness { error: inner.error.is_some(), ..Readiness::default() };
        if let Some(handle) = inner.udp {
            self.drop_unwanted(stack, &inner);
            r.readable = udpshare::waiting(&stack.sockets, &stack.shelves, handle) || inner.shut_rd;
            r.writable = stack.sockets.get::<udp::Socket>(handle).can_send();
            return r;
        }
        if self.kind == Kind::Datagram {
            r.writable = true;
            return r;
        }
        match &inner.tcp {
            Tcp::Fresh => r.hangup = true,
            Tcp::Listening { id } => r.readable = stack.listens.ready(*id, &stack.sockets),
            Tcp::Conn { handle, established } => {
                let socket = stack.sockets.get::<tcp::Socket>(*handle);
                let state = socket.state();
                let connecting = matches!(state, tcp::State::SynSent | tcp::State::SynReceived);
                r.readable = socket.can_recv() || (!connecting && !socket.may_recv()) || inner.shut_rd;
                r.writable = (*established && socket.can_send()) || (!connecting && !socket.may_send());
                r.hangup = state == tcp::State::Closed || (!socket.may_recv() && !socket.may_send() && !connecting);
                r.rdhup = !connecting && !socket.may_recv();
            }
        }
        r
    }
}

/// The pending error ([`refresh_error`] first), taken: `recv`, `send`, `connect` and
/// `SO_ERROR` report it once.
fn take_pending(stack: &mut Stack, inner: &mut Inner) -> Option<Errno> {
    refresh_error(stack, inner);
    inner.error.take()
}

/// Notes the end of a handshake (established, or failed: `ECONNREFUSED` into `error`) and a
/// reset of an established connection (`ECONNRESET` into `error`, once: as on Linux, `poll`
/// reports `POLLERR` and `SO_ERROR`, `recv` or `send` the error until one of them took it).
fn refresh_error(stack: &mut Stack, inner: &mut Inner) {
    // A connected UDP socket: an ICMP error for its datagrams ([`super::refused`]).
    if let (Some(_), Some(peer), Some(local)) = (inner.udp, inner.peer, inner.local) {
        if inner.error.is_none() {
            inner.error = stack.device.refused.take(local.port, peer);
        }
        return;
    }
    let Tcp::Conn { handle, established } = &mut inner.tcp else { return };
    if inner.failed {
        return;
    }
    let socket = stack.sockets.get_mut::<tcp::Socket>(*handle);
    if !*established {
        match socket.state() {
            tcp::State::SynSent | tcp::State::SynReceived => {}
            tcp::State::Closed => {
                *established = true;
                inner.failed = true;
                // smoltcp closes on a reset and on its timeout alike: the clock tells them apart.
                let waited = inner.age_us();
                let timeout = keepalive::syn_timeout(inner.options.syn_count).total_micros();
                inner.error = Some(if waited >= timeout { ETIMEDOUT } else { ECONNREFUSED });
            }
            _ => {
                *established = true;
                if let Some(delay) = inner.ack.established() {
                    socket.set_ack_delay(Some(delay));
                }
            }
        }
    } else if socket.state() == tcp::State::Closed
        && matches!(socket.recv_slice(&mut []), Err(tcp::RecvError::InvalidState))
    {
        // Closed without the peer's FIN: reset, or given up by the keep-alive's timeout
        // (`ETIMEDOUT`, as Linux). smoltcp closes on both alike; its timeout counts from the
        // peer's last segment, which came no earlier than the connection: a connection
        // younger than the timeout was reset.
        inner.failed = true;
        let age = inner.age_us();
        let timed_out = socket.timeout().is_some_and(|t| age >= t.total_micros());
        inner.error = Some(if timed_out { ETIMEDOUT } else { ECONNRESET });
    }
}

impl Socket {
    /// `SO_LINGER` with a time, at the close of a connection: sends the FIN and waits until
    /// the peer acknowledged it (and so all data) or the time passed, as Linux's `close`
    /// does. Only the closing thread waits, outside every lock.
    fn linger(&self) {
        let (handle, secs) = {
            let inner = self.inner.lock();
            match (&inner.tcp, inner.options.linger) {
                (&Tcp::Conn { handle, .. }, [on, secs]) if on != 0 && secs > 0 => (handle, secs),
                _ => return,
            }
        };
        let timeout = u64::try_from(secs).unwrap_or(0).saturating_mul(1_000_000_000);
        let _ = block(&self.would_block, false, Some(timeout), |stack| {
            let socket = stack.sockets.get_mut::<tcp::Socket>(handle);
            match socket.state() {
                // Unread data: the close resets the connection (below), no wait.
                _ if socket.recv_queue() > 0 => Some(Ok(())),
                tcp::State::Established | tcp::State::CloseWait => {
                    super::pool::close(socket);
                    None
                }
                tcp::State::FinWait1 | tcp::State::Closing | tcp::State::LastAck => None,
                _ => Some(Ok(())),
            }
        });
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.linger();
        let owner = self.owner();
        let (local, tcp, udp, linger, groups) = {
            let mut inner = self.inner.lock();
            let linger = inner.options.linger;
            let groups = core::mem::take(&mut inner.groups);
            (inner.local, core::mem::replace(&mut inner.tcp, Tcp::Fresh), inner.udp.take(), linger, groups)
        };
        with_stack(|stack| {
            for group in groups {
                stack.memberships.leave(&mut stack.iface, group);
            }
            if let Some(local) = local {
                // `remove`, not `swap_remove`: the order of binding decides between equals
                // ([`super::udpshare`]).
                if let Some(i) = stack.ports.iter().position(|b| b.owner == owner && b.port == local.port) {
                    stack.ports.remove(i);
                }
            }
            if let Some(handle) = udp {
                stack.sockets.remove(handle);
                stack.pool.release(UDP_BYTES);
                stack.shelves.forget(handle, &mut stack.pool);
                stack.ports_changed();
            }
            match tcp {
                Tcp::Fresh => {}
                Tcp::Listening { id } => {
                    for handle in stack.listens.close(id, &mut stack.pool) {
                        stack.sockets.get_mut::<tcp::Socket>(handle).abort();
                        stack.closing.push(handle);
                    }
                }
                Tcp::Conn { handle, .. } => {
                    stack.handshakes.retain(|&(h, _)| h != handle);
                    let socket = stack.sockets.get_mut::<tcp::Socket>(handle);
                    // Unread data, or `SO_LINGER` on with a time of 0: a reset, as Linux.
                    if socket.recv_queue() > 0 || (linger[0] != 0 && linger[1] == 0) {
                        socket.abort();
                    } else {
                        super::pool::close(socket);
                    }
                    // A peer that never answers our FIN does not keep the buffers forever.
                    socket.set_timeout(Some(Duration::from_secs(60)));
                    stack.closing.push(handle);
                }
            }
        });
    }
}

/// `MSG_PEEK` (lwIP's value).
pub const MSG_PEEK: i32 = 0x01;
/// `MSG_WAITALL` (lwIP's value).
pub const MSG_WAITALL: i32 = 0x02;
/// `MSG_DONTWAIT` (lwIP's value).
pub const MSG_DONTWAIT: i32 = 0x08;
/// `MSG_NOSIGNAL` (lwIP's value): a send that fails with `EPIPE` raises no `SIGPIPE`.
pub const MSG_NOSIGNAL: i32 = 0x20;
/// `MSG_TRUNC` (lwIP's `msg_flags` value, which is also its `MSG_OOB`): in `recvmsg`'s
/// `msg_flags`, a datagram was longer than the buffers; given to a UDP socket's `recv`, the
/// datagram's length is returned whatever the buffer took, as on Linux (out-of-band data
/// means nothing to UDP).
pub const MSG_TRUNC: i32 = 0x04;
