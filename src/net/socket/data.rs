//! The data path of a socket: `send`/`sendto` and `recv`/`recvfrom`, TCP and UDP.

use smoltcp::socket::{tcp, udp};
use smoltcp::wire::{IpAddress, IpCidr, IpEndpoint, IpVersion};

use super::{
    block, refresh_error, take_pending, Destination, Kind, Socket, Tcp, MSG_PEEK, MSG_TRUNC, MSG_WAITALL, UDP_PAYLOAD,
};
use crate::errno::{Result, ECONNRESET, EDESTADDRREQ, EINVAL, EMSGSIZE, ENETUNREACH, ENOTCONN, EPIPE};
use crate::net::{self, addr};

impl Socket {
    /// `send`/`sendto`: TCP sends all of `data` (blocking) or what fits; UDP one datagram to
    /// `to` or the connected peer, from `source` if given (`sendmsg`'s `IP_PKTINFO` or
    /// `IPV6_PKTINFO`, used where its family is the destination's, as Linux; TCP ignores it).
    pub fn send(&self, data: &[u8], flags: i32, to: Option<IpEndpoint>, source: Option<IpAddress>) -> Result<usize> {
        let nonblocking = self.nonblocking(flags);
        let timeout = self.inner.lock().options.sndtimeo;
        if self.kind == Kind::Datagram {
            if data.len() > UDP_PAYLOAD - 28 {
                return Err(EMSGSIZE);
            }
            if let Some(to) = to {
                self.reachable(to)?;
            }
            net::wait_configured()?;
            // To 0.0.0.0 or `::`: to this host, as Linux.
            let to = to.map(addr::unmap).map(addr::this_host);
            let dest = to.or_else(|| self.inner.lock().peer);
            if let Some(dest) = dest {
                net::wait_routable(dest.addr)?;
            }
            return block(&self.would_block, nonblocking, timeout, |stack| {
                let mut inner = self.inner.lock();
                if let Err(e) = self.ensure_bound(stack, &mut inner) {
                    return Some(Err(e));
                }
                let Some(to) = to.or(inner.peer) else { return Some(Err(EDESTADDRREQ)) };
                // An ICMP error for the connected peer's datagrams: this send reports it.
                if let Some(e) = take_pending(stack, &mut inner) {
                    return Some(Err(e));
                }
                stack.device.resolve(to.addr, crate::time::uptime_ns());
                if stack.datagram_too_long(data.len(), to.addr) {
                    return Some(Err(EMSGSIZE));
                }
                // The source asked for, where its family is the destination's; one not ours is
                // Linux's route lookup's ENETUNREACH for IPv4, EINVAL for IPv6.
                let local_address = source.map(addr::unmap_addr).filter(|s| s.version() == to.addr.version());
                if local_address.is_some_and(|s| !stack.iface.has_ip_addr(s)) {
                    return Some(Err(if to.addr.version() == IpVersion::Ipv4 { ENETUNREACH } else { EINVAL }));
                }
                let socket = stack.sockets.get_mut::<udp::Socket>(inner.udp?);
                // A group's datagrams leave with the multicast hop limit, others with
                // `IP_TTL`'s (one limit per smoltcp socket, applied when a datagram leaves:
                // one still queued at a change leaves with the new one).
                socket.set_hop_limit(if to.addr.is_multicast() {
                    Some(inner.options.mcast_hops)
                } else {
                    inner.options.ttl
                });
                let meta = udp::UdpMetadata { endpoint: to, local_address, meta: Default::default() };
                match socket.send_slice(data, meta) {
                    Ok(()) => Some(Ok(data.len())),
                    Err(udp::SendError::BufferFull) => None,
                    Err(udp::SendError::Unaddressable) => Some(Err(ENETUNREACH)),
                }
            });
        }
        let mut done = 0;
        let result = block(&self.would_block, nonblocking, timeout, |stack| {
            let mut inner = self.inner.lock();
            let Tcp::Conn { handle, .. } = inner.tcp else { return Some(Err(ENOTCONN)) };
            if inner.shut_wr {
                return Some(Err(EPIPE));
            }
            refresh_error(stack, &mut inner);
            if let Some(e) = inner.error {
                // After part of the data went out, the count now and the error next time.
                if done > 0 {
                    return Some(Ok(done));
                }
                inner.error = None;
                return Some(Err(e));
            }
            let socket = stack.sockets.get_mut::<tcp::Socket>(handle);
            if !socket.may_send() {
                return match socket.state() {
                    tcp::State::SynSent | tcp::State::SynReceived => None,
                    _ => Some(Err(EPIPE)),
                };
            }
            let sent = socket.send_slice(&data[done..]).unwrap_or(0);
            if sent > 0 {
                if let Some(delay) = inner.ack.sent() {
                    socket.set_ack_delay(delay);
                }
            }
            done += sent;
            (done == data.len()).then_some(Ok(done))
        });
        match result {
            Err(_) if done > 0 => Ok(done),
            other => other,
        }
    }

    /// `recv`/`recvfrom`: TCP returns what is there (0 at end of stream), or with
    /// `MSG_WAITALL` on a blocking socket waits for all of `buf` (as Linux: less only at the
    /// end of the stream, an error, a signal or `SO_RCVTIMEO`, after some bytes came; before,
    /// the flag was ignored, and a short read broke programs that read fixed-size headers
    /// with it); UDP one datagram (the rest of a longer one is discarded) and its sender.
    pub fn recv(&self, buf: &mut [u8], flags: i32) -> Result<(usize, Option<IpEndpoint>)> {
        self.recv_to(buf, flags).map(|(n, from, _)| (n, from))
    }

    /// [`Socket::recv`] with a datagram's [`Destination`] (`IP_PKTINFO`).
    pub fn recv_to(&self, buf: &mut [u8], flags: i32) -> Result<(usize, Option<IpEndpoint>, Option<Destination>)> {
        let wait_all = flags & MSG_WAITALL != 0 && flags & MSG_PEEK == 0;
        if !wait_all || self.kind == Kind::Datagram || self.nonblocking(flags) {
            return self.recv_some(buf, flags);
        }
        let mut got = 0;
        while got < buf.len() {
            match self.recv_some(&mut buf[got..], flags) {
                Ok((0, ..)) => break,
                Ok((n, ..)) => got += n,
                Err(_) if got > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok((got, None, None))
    }

    /// One `recv`: what is there, or the wait for it.
    fn recv_some(&self, buf: &mut [u8], flags: i32) -> Result<(usize, Option<IpEndpoint>, Option<Destination>)> {
        let nonblocking = self.nonblocking(flags);
        let timeout = self.inner.lock().options.rcvtimeo;
        let peek = flags & MSG_PEEK != 0;
        block(&self.would_block, nonblocking, timeout, |stack| {
            let mut inner = self.inner.lock();
            if inner.shut_rd {
                return Some(Ok((0, None, None)));
            }
            if self.kind == Kind::Datagram {
                if let Err(e) = self.ensure_bound(stack, &mut inner) {
                    return Some(Err(e));
                }
                // An ICMP error for the connected peer's datagrams comes first, as on Linux.
                if let Some(e) = take_pending(stack, &mut inner) {
                    return Some(Err(e));
                }
                self.drop_unwanted(stack, &inner);
                let (len, meta) =
                    net::udpshare::next(&mut stack.sockets, &mut stack.shelves, inner.udp?, !peek, |payload, meta| {
                        let n = payload.len().min(buf.len());
                        buf[..n].copy_from_slice(&payload[..n]);
                        (if flags & MSG_TRUNC != 0 { payload.len() } else { n }, *meta)
                    })?;
                let to = meta.local_address.map(|addr| destination(stack.iface.ip_addrs(), addr));
                return Some(Ok((len, Some(self.shown(meta.endpoint)), to)));
            }
            let Tcp::Conn { handle, .. } = inner.tcp else { return Some(Err(ENOTCONN)) };
            if let Some(e) = take_pending(stack, &mut inner) {
                return Some(Err(e));
            }
            let failed = inner.failed;
            let socket = stack.sockets.get_mut::<tcp::Socket>(handle);
            let result = if peek { socket.peek_slice(buf) } else { socket.recv_slice(buf) };
            match result {
                Ok(0) if !buf.is_empty() => match socket.state() {
                    tcp::State::SynSent | tcp::State::SynReceived => None,
                    _ if socket.may_recv() => None,
                    _ => Some(Ok((0, None, None))),
                },
                Ok(n) => {
                    if n > 0 && !peek {
                        if let Some(delay) = inner.ack.received() {
                            socket.set_ack_delay(delay);
                        }
                        if inner.ack.bulk() && stack.device.has_nic() && !stack.device.offloads() {
                            net::bulk_received();
                        }
                    }
                    Some(Ok((n, None, None)))
                }
                Err(tcp::RecvError::Finished) => Some(Ok((0, None, None))),
                Err(tcp::RecvError::InvalidState) => match socket.state() {
                    tcp::State::SynSent => None,
                    // The reset was reported once (as on Linux): end of stream from then on.
                    _ if failed => Some(Ok((0, None, None))),
                    _ => Some(Err(ECONNRESET)),
                },
            }
        })
    }
}

/// The [`Destination`] of a datagram sent to `addr`: `addr` itself when it is a loopback
/// address or one of `ours`, else (a broadcast or a group) the first of `ours` of its family
/// that is not a loopback one (the NIC's), or without one the loopback address, as Linux's
/// `ipi_spec_dst`.
fn destination(ours: &[IpCidr], addr: IpAddress) -> Destination {
    let same_family = |a: &IpAddress| core::mem::discriminant(a) == core::mem::discriminant(&addr);
    let local = if addr::is_loopback(addr) || ours.iter().any(|c| c.address() == addr) {
        addr
    } else {
        let mut family = ours.iter().map(|c| c.address()).filter(same_family);
        let first = family.clone().next();
        family.find(|a| !addr::is_loopback(*a)).or(first).unwrap_or(addr)
    };
    Destination { addr, local }
}
