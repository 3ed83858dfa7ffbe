//! Listening TCP sockets: one armed smoltcp listener each, and another armed as soon as a
//! connection takes it.
//!
//! A smoltcp listener is a whole TCP socket: it owns its receive and send buffers from its
//! creation on (the receive buffer fixes the window scale its SYN-ACK announces, so they
//! cannot come later). Making all `backlog` of them at `listen` held 32 connections' buffers
//! before any client came (160 MiB behind passt with 4 MiB receive buffers). Here a listening
//! socket holds one listener in `Listen` state (armed) and the listeners SYNs took
//! (handshaking, or established and waiting for `accept`). The stack's poll hands smoltcp
//! the received frames one by one ([`poll_round`]) and arms another listener after each
//! frame that took the armed one, so a burst of SYNs in one poll still finds one listener
//! each (smoltcp answers a SYN that finds none with a reset). While `backlog` listeners are
//! taken, a SYN that takes the armed one is dropped before anything answers it
//! ([`Listens::turn_away`]): the client sends it again, as when Linux's accept queue is full.
//! A listener comes from the pool of ended sockets when one of its size waits there.
//!
//! smoltcp hands a SYN to the first armed listener of its port, whatever the family and
//! however many listen there. [`Listens::sort`] moves it to the listening socket Linux would
//! give it to: one that takes its family, bound to its address before a wildcard one, and
//! within an `SO_REUSEPORT` group the member a hash of the connection falls on
//! ([`super::reuseport`]).

use alloc::vec::Vec;

use smoltcp::iface::{Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet};
use smoltcp::phy::Device;
use smoltcp::socket::{tcp, Socket};
use smoltcp::time::Instant;
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint};

use super::bound::Families;
use super::pool::{Pool, Spec};

/// Which connections a listening socket shares its port for.
#[derive(Clone, Copy, Debug)]
pub struct Shared {
    /// The peers' families it takes (`IPV6_V6ONLY`, [`super::bound`]).
    pub families: Families,
    /// `SO_REUSEPORT`.
    pub reuse_port: bool,
}

/// One listening socket's smoltcp listeners.
struct Listen {
    id: u64,
    endpoint: IpListenEndpoint,
    backlog: usize,
    /// How new listeners are made (the listening socket's options).
    spec: Spec,
    /// The peers' families it takes (`IPV6_V6ONLY`, [`super::bound`]).
    families: Families,
    /// `SO_REUSEPORT`: one of a group that shares connections ([`super::reuseport`]).
    reuse_port: bool,
    /// The listener the next SYN finds (`None` only if making one failed).
    armed: Option<SocketHandle>,
    /// Listeners SYNs took, oldest first: handshaking, or waiting for `accept`.
    taken: Vec<SocketHandle>,
    /// The next listener, made (outside the set) before a SYN that took the armed one is
    /// answered ([`Listens::turn_away`]).
    spare: Option<tcp::Socket<'static>>,
}

/// Whether a taken listener holds a connection for `accept`: established, or one that ended
/// before `accept` came (as before: `accept` returns it, and reading tells).
fn acceptable(sockets: &SocketSet<'static>, handle: SocketHandle, families: Families) -> bool {
    !matches!(sockets.get::<tcp::Socket>(handle).state(), tcp::State::Listen | tcp::State::SynReceived)
        && !empty(sockets, handle)
        && !misfit(sockets, handle, families)
}

/// Whether a listener holds a peer of a family its listening socket does not take: a SYN
/// that a taken listener, back in `Listen` after a reset handshake, took before it was armed
/// again ([`Listens::sort`] sees the armed ones only). Never for `accept`.
fn misfit(sockets: &SocketSet<'static>, handle: SocketHandle, families: Families) -> bool {
    let remote = sockets.get::<tcp::Socket>(handle).remote_endpoint();
    remote.is_some_and(|r| !families.takes(matches!(r.addr, IpAddress::Ipv6(_))))
}

/// Whether a taken listener holds nothing: smoltcp sent it back to `Listen` (the client
/// reset the handshake), or reset it without a connection, its listening endpoint with it
/// (a SYN to a broadcast or multicast address of the interface: smoltcp took it, then found
/// that the connection's local address is none of its own; `accept` had returned that as a
/// connection from 0.0.0.0:0), or a listener [`Listens::sort`] aborted that still
/// holds its peer because the reset could not be sent (no neighbour for its address:
/// `accept` returned that as an IPv6 connection of an `AF_INET` socket, from a mutated SYN of
/// `net.hostile-frames`).
fn empty(sockets: &SocketSet<'static>, handle: SocketHandle) -> bool {
    matches!(sockets.get::<tcp::Socket>(handle).state(), tcp::State::Listen | tcp::State::Closed)
}

/// Makes `socket` (closed, or listening already) listen on `endpoint`; whether it does. One
/// that listens on another endpoint (a listener [`Listens::sort`] moved between a socket bound
/// to an address and a wildcard one) listens again.
fn listen_on(socket: &mut tcp::Socket<'static>, endpoint: IpListenEndpoint) -> bool {
    if socket.state() == tcp::State::Listen && socket.listen_endpoint() != endpoint {
        socket.abort();
    }
    socket.listen(endpoint).is_ok()
}

impl Listen {
    /// Arms a listener if none is (also with `backlog` taken: a SYN then finds it and is
    /// turned away, [`Listens::turn_away`], where finding none it was reset). A taken
    /// listener that holds nothing ([`empty`]) is armed again (listening again if smoltcp
    /// reset it), or, with one armed already, closed into the pool: an idle listening socket
    /// keeps one.
    fn arm(&mut self, sockets: &mut SocketSet<'static>, pool: &mut Pool) {
        let mut i = 0;
        while i < self.taken.len() {
            let handle = self.taken[i];
            if misfit(sockets, handle, self.families) {
                sockets.get_mut::<tcp::Socket>(handle).abort();
            }
            if !empty(sockets, handle) {
                i += 1;
                continue;
            }
            self.taken.remove(i);
            let socket = sockets.get_mut::<tcp::Socket>(handle);
            if self.armed.is_none() && listen_on(socket, self.endpoint) {
                self.armed = Some(handle);
            } else if let Socket::Tcp(mut socket) = sockets.remove(handle) {
                socket.abort();
                pool.give(socket);
            }
        }
        if self.armed.is_some() {
            return;
        }
        // Without memory for it none is armed, and smoltcp resets the next SYN.
        let Some(mut socket) = self.spare.take().or_else(|| pool.tcp(&self.spec, true)) else { return };
        // The endpoint has a port and the socket is closed: smoltcp takes it.
        match socket.listen(self.endpoint) {
            Ok(()) => self.armed = Some(sockets.add(socket)),
            Err(_) => pool.give(socket),
        }
    }
}

/// Every listening socket of the stack.
pub struct Listens {
    list: Vec<Listen>,
    next_id: u64,
    /// The key of `SO_REUSEPORT`'s hash ([`super::reuseport::flow_hash`]).
    key: u64,
    /// Listeners armed because a SYN took the armed one (`HERMIT_VERBOSE`).
    pub rearmed: u64,
    /// The most listeners SYNs took in one poll of the stack (`HERMIT_VERBOSE`).
    pub burst: usize,
    /// SYNs dropped for a full backlog ([`Self::turn_away`], `HERMIT_VERBOSE`).
    pub turned_away: u64,
    /// SYNs dropped because the next listener's buffers could not be had.
    pub short_of_memory: u64,
}

impl Listens {
    /// No listening socket; `key` keys `SO_REUSEPORT`'s hash (a secret of this boot).
    pub const fn new(key: u64) -> Self {
        Self { list: Vec::new(), next_id: 0, key, rearmed: 0, burst: 0, turned_away: 0, short_of_memory: 0 }
    }

    fn get(&mut self, id: u64) -> Option<&mut Listen> {
        self.list.iter_mut().find(|l| l.id == id)
    }

    /// A new listening socket on `endpoint` (with its port) for `backlog` (at least 1)
    /// connections, with one listener armed; its id, or `None` if no memory for the
    /// listener could be had ([`Pool::take`]).
    pub fn open(
        &mut self,
        sockets: &mut SocketSet<'static>,
        pool: &mut Pool,
        endpoint: IpListenEndpoint,
        backlog: usize,
        spec: Spec,
        shared: Shared,
    ) -> Option<u64> {
        self.next_id += 1;
        let id = self.next_id;
        let backlog = backlog.max(1);
        let Shared { families, reuse_port } = shared;
        let mut listen =
            Listen { id, endpoint, backlog, spec, families, reuse_port, armed: None, taken: Vec::new(), spare: None };
        listen.arm(sockets, pool);
        listen.armed?;
        self.list.push(listen);
        Some(id)
    }

    /// Whether a SYN took an armed listener.
    pub fn any_taken(&self, sockets: &SocketSet<'static>) -> bool {
        self.list.iter().any(|l| l.armed.is_some_and(|h| sockets.get::<tcp::Socket>(h).state() != tcp::State::Listen))
    }

    /// After a received frame, before the SYN-ACK leaves: a SYN that took the armed listener
    /// of one listening socket moves to the armed listener of the one Linux gives it to
    /// ([`Self::home`]), which takes its place, with that socket's options; a SYN no
    /// listening socket takes (an IPv4 peer of an `IPV6_V6ONLY` socket alone on its port) is
    /// reset, as Linux resets a SYN nobody listens for.
    pub fn sort(&mut self, sockets: &mut SocketSet<'static>) {
        for i in 0..self.list.len() {
            let Some(handle) = self.list[i].armed else { continue };
            let socket = sockets.get::<tcp::Socket>(handle);
            let Some(remote) = socket.remote_endpoint().filter(|_| socket.state() != tcp::State::Listen) else {
                continue;
            };
            let local = socket.local_endpoint().map(|l| l.addr);
            match self.home(i, sockets, remote, local) {
                Some(j) if j == i => {}
                Some(j) => {
                    let free = self.list[j].armed.replace(handle);
                    if let Some(free) = free {
                        // Armed by `j`: it listens on `i`'s endpoint now.
                        listen_on(sockets.get_mut::<tcp::Socket>(free), self.list[i].endpoint);
                    }
                    self.list[i].armed = free;
                    let spec = self.list[j].spec;
                    let socket = sockets.get_mut::<tcp::Socket>(handle);
                    socket.set_nagle_enabled(!spec.nodelay);
                    socket.set_keep_alive(spec.keepalive.map(|(probe, _)| probe));
                    socket.set_timeout(spec.keepalive.map(|(_, abort)| abort));
                }
                None => sockets.get_mut::<tcp::Socket>(handle).abort(),
            }
        }
    }

    /// The listening socket (an index) that gets a SYN from `remote` to our `local` address,
    /// which listening socket `taker` took: of those on its port that take the peer's family
    /// and its address (`taker`, or one with an armed listener free), the one bound to the
    /// address before a wildcard one, and for an IPv4 peer an IPv4 socket before a
    /// dual-stack one (Linux's score); among equals the taker, else the first; if that one
    /// set `SO_REUSEPORT`, the member of its group (the equals with its address and
    /// families that set it too) the connection's hash falls on.
    fn home(
        &self,
        taker: usize,
        sockets: &SocketSet<'static>,
        remote: IpEndpoint,
        local: Option<IpAddress>,
    ) -> Option<usize> {
        let v6 = matches!(remote.addr, IpAddress::Ipv6(_));
        let port = self.list[taker].endpoint.port;
        let free = |l: &Listen| l.armed.is_some_and(|h| sockets.get::<tcp::Socket>(h).state() == tcp::State::Listen);
        let score = |l: &Listen| 2 * u8::from(l.endpoint.addr.is_some()) + u8::from(!v6 && !l.families.v6);
        let candidates = self.list.iter().enumerate().filter(|&(j, l)| {
            l.endpoint.port == port
                && l.families.takes(v6)
                && l.endpoint.addr.is_none_or(|a| Some(a) == local)
                && (j == taker || free(l))
        });
        let best = candidates.clone().map(|(_, l)| score(l)).max()?;
        let equals = candidates.filter(|&(_, l)| score(l) == best);
        let first = equals.clone().find(|&(j, _)| j == taker).or_else(|| equals.clone().next())?;
        let (home, chosen) = first;
        if !chosen.reuse_port {
            return Some(home);
        }
        let group = |(_, l): &(usize, &Listen)| {
            l.reuse_port && l.families == chosen.families && l.endpoint.addr == chosen.endpoint.addr
        };
        super::reuseport::pick(self.key, remote, local, port, equals.filter(group)).map(|(j, _)| j)
    }

    /// After a received frame, before the SYN-ACK leaves: a SYN that took the armed listener
    /// of a listening socket with `backlog` listeners taken is dropped, as Linux drops a SYN
    /// for a full accept queue. The listener listens again in place: smoltcp forgets the peer
    /// and sends nothing (no SYN-ACK, no reset), and the client sends its SYN again after
    /// its retransmission timeout, when `accept` may have made room. Before, the SYN found
    /// no listener and smoltcp reset it: the client's `connect` failed with
    /// `ECONNREFUSED` (of 3,200 requests of 64 concurrent clients to an epoll server over a
    /// tap, 1,934). The same when the listener that would take its place cannot be made
    /// ([`Pool::take`]: the connections' buffers at their budget, or the memory gone): the
    /// client tries again once connections ended, where the next SYN found no listener and
    /// was reset.
    pub fn turn_away(&mut self, sockets: &mut SocketSet<'static>, pool: &mut Pool) {
        for listen in &mut self.list {
            let Some(handle) = listen.armed else { continue };
            if sockets.get::<tcp::Socket>(handle).state() == tcp::State::Listen {
                continue;
            }
            let full = listen.taken.len() >= listen.backlog;
            if !full && listen.spare.is_none() {
                listen.spare = pool.tcp(&listen.spec, true);
            }
            if !full && listen.spare.is_some() {
                continue;
            }
            let socket = sockets.get_mut::<tcp::Socket>(handle);
            socket.abort();
            if socket.listen(listen.endpoint).is_ok() {
                *if full { &mut self.turned_away } else { &mut self.short_of_memory } += 1;
            }
        }
    }

    /// After a received frame and the answers: an armed listener a SYN took joins the taken
    /// ones, and its spare ([`Self::turn_away`]) is armed. How many were taken.
    pub fn rearm(&mut self, sockets: &mut SocketSet<'static>, pool: &mut Pool) -> usize {
        let mut count = 0;
        for listen in &mut self.list {
            let Some(handle) = listen.armed else { continue };
            if sockets.get::<tcp::Socket>(handle).state() == tcp::State::Listen {
                continue;
            }
            listen.taken.push(handle);
            listen.armed = None;
            listen.arm(sockets, pool);
            count += 1;
        }
        self.rearmed += count as u64;
        count
    }

    /// Arms again or closes every taken listener that holds nothing ([`Listen::arm`]): after
    /// [`super::Stack`]'s sweep of half-open ones (at most once a second), so that one smoltcp
    /// reset without a connection listens again even while neither a SYN nor `accept` comes.
    pub fn tidy(&mut self, sockets: &mut SocketSet<'static>, pool: &mut Pool) {
        for listen in &mut self.list {
            listen.arm(sockets, pool);
        }
    }

    /// The end of a poll of the stack, in which SYNs took `taken` listeners.
    pub fn polled(&mut self, taken: usize) {
        self.burst = self.burst.max(taken);
    }

    /// Takes the oldest connection of listening socket `id` that `accept` can have (and
    /// tidies, [`Listen::arm`]).
    pub fn accept(&mut self, id: u64, sockets: &mut SocketSet<'static>, pool: &mut Pool) -> Option<SocketHandle> {
        let listen = self.get(id)?;
        let ready = listen.taken.iter().position(|&h| acceptable(sockets, h, listen.families));
        let handle = ready.map(|i| listen.taken.remove(i));
        listen.arm(sockets, pool);
        handle
    }

    /// Whether `accept` on `id` has a connection.
    pub fn ready(&self, id: u64, sockets: &SocketSet<'static>) -> bool {
        let listen = self.list.iter().find(|l| l.id == id);
        listen.is_some_and(|l| l.taken.iter().any(|&h| acceptable(sockets, h, l.families)))
    }

    /// How listeners of `id` made from now on are made.
    pub fn set_spec(&mut self, id: u64, spec: Spec) {
        if let Some(listen) = self.get(id) {
            listen.spec = spec;
        }
    }

    /// Ends listening socket `id`: its listeners, armed and taken, for the caller to close
    /// (its spare goes back to `pool`).
    pub fn close(&mut self, id: u64, pool: &mut Pool) -> Vec<SocketHandle> {
        let Some(i) = self.list.iter().position(|l| l.id == id) else { return Vec::new() };
        let mut listen = self.list.swap_remove(i);
        if let Some(spare) = listen.spare.take() {
            pool.give(spare);
        }
        listen.armed.into_iter().chain(listen.taken).collect()
    }
}

/// One round of the interface, as smoltcp's `Interface::poll` makes it (maintenance, every
/// received frame, then sending until nothing is left), except that listeners are armed
/// again after each received frame ([`Listens::rearm`]). Whether a socket may have changed,
/// and how many listeners SYNs took.
pub fn poll_round<D: Device + ?Sized>(
    iface: &mut Interface,
    now: Instant,
    device: &mut D,
    sockets: &mut SocketSet<'static>,
    listens: &mut Listens,
    pool: &mut Pool,
    closing: &mut Vec<SocketHandle>,
) -> (bool, usize) {
    let mut changed = false;
    let mut taken = 0;
    super::ra::maintain(iface, now);
    loop {
        match iface.poll_ingress_single(now, device, sockets) {
            PollIngressSingleResult::None => break,
            PollIngressSingleResult::PacketProcessed => {}
            PollIngressSingleResult::SocketStateChanged => changed = true,
        }
        if listens.any_taken(sockets) {
            // The next listeners come from the pool after the sockets of `closing` that ended
            // went there (the same frames may have ended the connection that came before).
            pool.reap(iface, sockets, closing, now);
            listens.sort(sockets);
            listens.turn_away(sockets, pool);
            // The SYN-ACK leaves before the next listener is armed (it was made, or taken
            // from the pool, just before: a SYN without one to follow it is dropped).
            while iface.poll_egress(now, device, sockets) == PollResult::SocketStateChanged {
                changed = true;
            }
            taken += listens.rearm(sockets, pool);
        }
    }
    while iface.poll_egress(now, device, sockets) == PollResult::SocketStateChanged {
        changed = true;
    }
    (changed, taken)
}

#[cfg(test)]
mod tests {
    use alloc::collections::VecDeque;
    use alloc::vec;

    use smoltcp::iface::Config;
    use smoltcp::phy::{DeviceCapabilities, Medium, RxToken, TxToken};
    use smoltcp::wire::{
        ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr,
        HardwareAddress, IpAddress, IpCidr, IpProtocol, Ipv4Address, Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket,
        TcpRepr, TcpSeqNumber,
    };

    use super::*;

    const OURS: Ipv4Address = Ipv4Address::new(10, 0, 0, 2);
    const PEER: Ipv4Address = Ipv4Address::new(10, 0, 0, 1);

    /// Frames to receive, and the frames sent.
    #[derive(Default)]
    struct Wire {
        rx: VecDeque<Vec<u8>>,
        tx: Vec<Vec<u8>>,
    }

    struct Rx(Vec<u8>);
    struct Tx<'a>(&'a mut Vec<Vec<u8>>);

    impl RxToken for Rx {
        fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
            f(&self.0)
        }
    }

    impl TxToken for Tx<'_> {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
            let mut frame = vec![0; len];
            let r = f(&mut frame);
            self.0.push(frame);
            r
        }
    }

    impl Device for Wire {
        type RxToken<'a> = Rx;
        type TxToken<'a> = Tx<'a>;

        fn receive(&mut self, _: Instant) -> Option<(Rx, Tx<'_>)> {
            let frame = self.rx.pop_front()?;
            Some((Rx(frame), Tx(&mut self.tx)))
        }

        fn transmit(&mut self, _: Instant) -> Option<Tx<'_>> {
            Some(Tx(&mut self.tx))
        }

        fn capabilities(&self) -> DeviceCapabilities {
            let mut caps = DeviceCapabilities::default();
            caps.medium = Medium::Ethernet;
            caps.max_transmission_unit = 1514;
            caps
        }
    }

    const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
    const OUR_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

    /// The peer's ARP request for our address (smoltcp learns the peer's from it).
    fn arp() -> Vec<u8> {
        let arp = ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Request,
            source_hardware_addr: PEER_MAC,
            source_protocol_addr: PEER,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: OURS,
        };
        let eth =
            EthernetRepr { src_addr: PEER_MAC, dst_addr: EthernetAddress::BROADCAST, ethertype: EthernetProtocol::Arp };
        let mut frame = vec![0; eth.buffer_len() + arp.buffer_len()];
        let mut e = EthernetFrame::new_unchecked(&mut frame[..]);
        eth.emit(&mut e);
        arp.emit(&mut ArpPacket::new_unchecked(e.payload_mut()));
        frame
    }

    /// A SYN from the peer's port `from` to our `port`.
    fn syn(from: u16, port: u16) -> Vec<u8> {
        segment(from, port, TcpControl::Syn, 1000)
    }

    /// A segment without data from the peer's port `from` to our `port`.
    fn segment(from: u16, port: u16, control: TcpControl, seq: i32) -> Vec<u8> {
        segment_to(OURS, from, port, control, seq)
    }

    /// The same to address `dst` of ours.
    fn segment_to(dst: Ipv4Address, from: u16, port: u16, control: TcpControl, seq: i32) -> Vec<u8> {
        let tcp = TcpRepr {
            src_port: from,
            dst_port: port,
            control,
            seq_number: TcpSeqNumber(seq),
            ack_number: None,
            window_len: 65535,
            window_scale: Some(7),
            max_seg_size: Some(1460),
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &[],
        };
        let ip = Ipv4Repr {
            src_addr: PEER,
            dst_addr: dst,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let eth = EthernetRepr { src_addr: PEER_MAC, dst_addr: OUR_MAC, ethertype: EthernetProtocol::Ipv4 };
        let mut frame = vec![0; eth.buffer_len() + ip.buffer_len() + tcp.buffer_len()];
        let mut e = EthernetFrame::new_unchecked(&mut frame[..]);
        eth.emit(&mut e);
        let mut p = Ipv4Packet::new_unchecked(e.payload_mut());
        ip.emit(&mut p, &Default::default());
        let mut t = TcpPacket::new_unchecked(p.payload_mut());
        tcp.emit(&mut t, &IpAddress::Ipv4(PEER), &IpAddress::Ipv4(dst), &Default::default());
        frame
    }

    struct Net {
        iface: Interface,
        wire: Wire,
        sockets: SocketSet<'static>,
        listens: Listens,
        pool: Pool,
        closing: Vec<SocketHandle>,
    }

    impl Net {
        fn new() -> Self {
            let mut wire = Wire::default();
            let config = Config::new(HardwareAddress::Ethernet(OUR_MAC));
            let mut iface = Interface::new(config, &mut wire, Instant::ZERO);
            iface.update_ip_addrs(|a| a.push(IpCidr::new(IpAddress::Ipv4(OURS), 24)).unwrap());
            let mut net = Self {
                iface,
                wire,
                sockets: SocketSet::new(vec![]),
                listens: Listens::new(3),
                pool: Pool::new(1 << 20, usize::MAX),
                closing: Vec::new(),
            };
            net.round([arp()]);
            net.wire.tx.clear();
            net
        }

        fn open(&mut self, port: u16, backlog: usize) -> u64 {
            self.open_for(port, backlog, Families { v4: true, v6: true })
        }

        fn open_for(&mut self, port: u16, backlog: usize, families: Families) -> u64 {
            let spec = Spec { rx: 64 << 10, tx: 16 << 10, nodelay: false, keepalive: None, hops: None };
            let shared = Shared { families, reuse_port: false };
            self.listens.open(&mut self.sockets, &mut self.pool, port.into(), backlog, spec, shared).unwrap()
        }

        /// Receives `frames` in one round; how many listeners they took.
        fn round(&mut self, frames: impl IntoIterator<Item = Vec<u8>>) -> usize {
            self.wire.rx.extend(frames);
            let (iface, wire, sockets) = (&mut self.iface, &mut self.wire, &mut self.sockets);
            let (listens, pool, closing) = (&mut self.listens, &mut self.pool, &mut self.closing);
            let taken = poll_round(iface, Instant::ZERO, wire, sockets, listens, pool, closing).1;
            self.listens.polled(taken);
            taken
        }

        /// (listeners in `Listen`, in `SynReceived`) of all sockets.
        fn states(&self) -> (usize, usize) {
            let state = |s: tcp::State| {
                self.sockets
                    .iter()
                    .filter(|(_, socket)| matches!(socket, smoltcp::socket::Socket::Tcp(t) if t.state() == s))
                    .count()
            };
            (state(tcp::State::Listen), state(tcp::State::SynReceived))
        }
    }

    #[test]
    fn an_ipv4_syn_that_an_ipv6_only_listener_took_goes_to_the_ipv4_one() {
        let mut net = Net::new();
        // The IPv6-only socket listens first: smoltcp hands it the SYN.
        let v6 = net.open_for(80, 4, Families { v4: false, v6: true });
        let v4 = net.open_for(80, 4, Families { v4: true, v6: false });
        assert_eq!(net.round([syn(1000, 80)]), 1);
        let flags = |net: &Net, want: u8| net.wire.tx.iter().filter(|f| f.len() >= 54 && f[47] & 0x16 == want).count();
        assert_eq!((flags(&net, 0x12), flags(&net, 0x14)), (1, 0), "a SYN-ACK, no reset");
        let taken = |net: &mut Net, id| net.listens.get(id).map(|l| l.taken.len());
        assert_eq!((taken(&mut net, v4), taken(&mut net, v6)), (Some(1), Some(0)), "the IPv4 socket has it");
        assert_eq!(net.states(), (2, 1), "both armed again");
    }

    #[test]
    fn syns_spread_over_an_so_reuseport_group_and_a_specific_address_comes_first() {
        let mut net = Net::new();
        let spec = Spec { rx: 16 << 10, tx: 4 << 10, nodelay: false, keepalive: None, hops: None };
        let shared = Shared { families: Families { v4: true, v6: false }, reuse_port: true };
        let open = |net: &mut Net, addr: Option<IpAddress>| {
            let endpoint = IpListenEndpoint { addr, port: 80 };
            net.listens.open(&mut net.sockets, &mut net.pool, endpoint, 64, spec, shared).unwrap()
        };
        let (a, b) = (open(&mut net, None), open(&mut net, None));
        net.round((2000..2040).map(|from| syn(from, 80)));
        let taken = |net: &mut Net, id| net.listens.get(id).map_or(0, |l| l.taken.len());
        let (to_a, to_b) = (taken(&mut net, a), taken(&mut net, b));
        assert_eq!(to_a + to_b, 40);
        assert!(to_a >= 8 && to_b >= 8, "{to_a} and {to_b}");
        // A third member bound to our address takes every SYN sent to it.
        let ours = open(&mut net, Some(IpAddress::Ipv4(OURS)));
        net.round((3000..3010).map(|from| syn(from, 80)));
        assert_eq!((taken(&mut net, a) + taken(&mut net, b), taken(&mut net, ours)), (40, 10));
        // The wildcard members still listen on every address: the listeners that moved
        // between them and the specific one listen again where they belong.
        let other = Ipv4Address::new(10, 0, 0, 3);
        net.iface.update_ip_addrs(|a| a.push(IpCidr::new(IpAddress::Ipv4(other), 24)).unwrap());
        net.wire.tx.clear();
        net.round((4000..4010).map(|from| segment_to(other, from, 80, TcpControl::Syn, 1000)));
        let resets = net.wire.tx.iter().filter(|f| f.len() >= 54 && f[47] & 0x04 != 0).count();
        assert_eq!((taken(&mut net, a) + taken(&mut net, b), taken(&mut net, ours), resets), (50, 10, 0));
    }

    #[test]
    fn an_ipv4_syn_to_an_ipv6_only_listener_alone_is_reset() {
        let mut net = Net::new();
        let v6 = net.open_for(80, 4, Families { v4: false, v6: true });
        net.round([syn(1000, 80)]);
        let flags = |want: u8| net.wire.tx.iter().filter(|f| f.len() >= 54 && f[47] & 0x16 == want).count();
        assert_eq!((flags(0x12), flags(0x14)), (0, 1), "a reset, no SYN-ACK");
        assert!(!net.listens.ready(v6, &net.sockets));
        net.round([]);
        assert_eq!(net.states(), (1, 0), "listening again");
    }

    #[test]
    fn an_idle_listening_socket_holds_one_listener() {
        let mut net = Net::new();
        net.open(80, 32);
        assert_eq!(net.states(), (1, 0));
        assert_eq!(net.pool.made, 1);
    }

    #[test]
    fn a_burst_of_syns_in_one_round_finds_a_listener_each_up_to_the_backlog() {
        let mut net = Net::new();
        net.open(80, 4);
        let other = net.open(81, 8);
        // Six SYNs to port 80 and two to 81 in one round: four listeners of 80 and two of
        // 81 taken, the last two of 80 dropped (its armed listener listens again), 81 armed
        // again.
        let frames = (0..6).map(|i| syn(1000 + i, 80)).chain((0..2).map(|i| syn(2000 + i, 81)));
        assert_eq!(net.round(frames), 6);
        assert_eq!(net.states(), (2, 6), "80 full with one armed, 81 armed");
        assert_eq!((net.pool.made, net.listens.rearmed, net.listens.burst), (8, 6, 6));
        assert_eq!(net.listens.turned_away, 2);
        // TCP flags: byte 13 of the TCP header, after 14 bytes of Ethernet and 20 of IPv4.
        let flags = |want: u8| net.wire.tx.iter().filter(|f| f.len() >= 54 && f[47] & 0x16 == want).count();
        assert_eq!(flags(0x12), 6, "a SYN-ACK for each SYN a listener took");
        assert_eq!(flags(0x14), 0, "no reset for a SYN beyond the backlog: it is dropped");
        assert_eq!(net.wire.tx.len(), 6, "nothing else answers them");
        // Handshakes under way are not for accept yet; closing gives every listener back.
        assert!(!net.listens.ready(other, &net.sockets));
        assert_eq!(net.listens.accept(other, &mut net.sockets, &mut net.pool), None);
        assert_eq!(net.listens.close(other, &mut net.pool).len(), 3);
    }

    #[test]
    fn a_listener_armed_after_a_syn_reuses_a_socket_that_ended_before() {
        let mut net = Net::new();
        net.open(80, 4);
        // A connection closed earlier and ended (here: aborted) since the last poll.
        let spec = Spec { rx: 64 << 10, tx: 16 << 10, nodelay: false, keepalive: None, hops: None };
        let ended = net.pool.tcp(&spec, false).unwrap();
        net.closing.push(net.sockets.add(ended));
        assert_eq!((net.pool.made, net.pool.reused), (2, 0));
        net.round([syn(1000, 80)]);
        assert_eq!((net.pool.made, net.pool.reused, net.closing.len()), (2, 1, 0));
        assert_eq!(net.states(), (1, 1));
    }

    #[test]
    fn a_listener_a_reset_handshake_sent_back_to_listen_is_not_kept_beside_the_armed_one() {
        let mut net = Net::new();
        let id = net.open(80, 4);
        net.round([syn(1000, 80)]);
        assert_eq!(net.states(), (1, 1));
        // The client resets its handshake: smoltcp sends that listener back to `Listen`.
        net.round([segment(1000, 80, TcpControl::Rst, 1001)]);
        assert_eq!(net.states(), (2, 0));
        // The next `accept` (nothing to take) closes it into the pool.
        assert_eq!(net.listens.accept(id, &mut net.sockets, &mut net.pool), None);
        assert_eq!((net.states(), net.pool.len()), ((1, 0), 1));
    }

    #[test]
    fn later_listeners_take_the_options_set_after_listen() {
        let mut net = Net::new();
        let id = net.open(80, 4);
        net.listens.set_spec(id, Spec { rx: 128 << 10, tx: 8 << 10, nodelay: true, keepalive: None, hops: None });
        net.round([syn(1000, 80)]);
        let sizes: Vec<_> = net
            .sockets
            .iter()
            .filter_map(|(_, s)| match s {
                smoltcp::socket::Socket::Tcp(t) => Some((t.state(), t.recv_capacity(), t.send_capacity())),
                _ => None,
            })
            .collect();
        assert!(sizes.contains(&(tcp::State::SynReceived, 64 << 10, 16 << 10)));
        assert!(sizes.contains(&(tcp::State::Listen, 128 << 10, 8 << 10)));
    }

    #[test]
    fn a_syn_whose_next_listener_cannot_be_made_is_dropped_and_the_listener_stays() {
        let mut net = Net::new();
        // Buffers for the armed listener only (64 + 16 KiB).
        net.pool = Pool::new(1 << 20, 80 << 10);
        let id = net.open(80, 4);
        assert_eq!(net.round([syn(1000, 80)]), 0);
        assert_eq!((net.listens.short_of_memory, net.listens.turned_away), (1, 0));
        assert!(net.wire.tx.is_empty(), "no SYN-ACK and no reset: the client sends its SYN again");
        assert_eq!(net.states(), (1, 0), "listening still");
        assert!(!net.listens.ready(id, &net.sockets));
    }

    #[test]
    fn a_syn_to_the_broadcast_address_leaves_no_connection_and_no_lost_listener() {
        let mut net = Net::new();
        let id = net.open(80, 1);
        let frame = segment_to(Ipv4Address::new(10, 0, 0, 255), 1000, 80, TcpControl::Syn, 1000);
        // smoltcp takes the SYN, then resets the listener, endpoint and all, when it would
        // answer (its sends come before the arming): the backlog of 1 is not used up by it,
        // the listener listens again, and accept finds no connection.
        assert_eq!(net.round([frame]), 1);
        assert_eq!(net.states(), (1, 0), "listening again");
        assert!(!net.listens.ready(id, &net.sockets));
        net.listens.tidy(&mut net.sockets, &mut net.pool);
        assert_eq!(net.states(), (1, 0));
        assert_eq!(net.listens.accept(id, &mut net.sockets, &mut net.pool), None);
        net.round([syn(1001, 80)]);
        assert_eq!(net.states(), (1, 1), "a real client's SYN finds it (and one is armed again)");
    }

    #[test]
    fn without_rearming_between_frames_the_second_syn_is_reset() {
        // What a plain `Interface::poll` did with one armed listener: the reason for the
        // rearming between frames.
        let mut net = Net::new();
        net.open(80, 4);
        net.wire.rx.extend([syn(1000, 80), syn(1001, 80)]);
        net.iface.poll(Instant::ZERO, &mut net.wire, &mut net.sockets);
        assert_eq!(net.states(), (0, 1));
    }

    /// A smoltcp stack of its own at `PEER`, wired to a [`Net`] by [`Peer::exchange`].
    struct Peer {
        iface: Interface,
        wire: Wire,
        sockets: SocketSet<'static>,
    }

    impl Peer {
        fn new() -> Self {
            let mut wire = Wire::default();
            let mut iface = Interface::new(Config::new(HardwareAddress::Ethernet(PEER_MAC)), &mut wire, Instant::ZERO);
            iface.update_ip_addrs(|a| a.push(IpCidr::new(IpAddress::Ipv4(PEER), 24)).unwrap());
            Self { iface, wire, sockets: SocketSet::new(vec![]) }
        }

        /// Four rounds at `now` of both stacks (ours as the kernel polls it, its closed
        /// sockets reaped after each), the frames carried across.
        fn exchange(&mut self, net: &mut Net, now: Instant) {
            for _ in 0..4 {
                let (iface, wire, sockets) = (&mut net.iface, &mut net.wire, &mut net.sockets);
                let (listens, pool, closing) = (&mut net.listens, &mut net.pool, &mut net.closing);
                poll_round(iface, now, wire, sockets, listens, pool, closing);
                net.pool.reap(&mut net.iface, &mut net.sockets, &mut net.closing, now);
                self.wire.rx.extend(net.wire.tx.drain(..));
                self.iface.poll(now, &mut self.wire, &mut self.sockets);
                net.wire.rx.extend(self.wire.tx.drain(..));
            }
        }

        fn state(&self, handle: SocketHandle) -> tcp::State {
            self.sockets.get::<tcp::Socket>(handle).state()
        }
    }

    #[test]
    fn a_closed_socket_in_time_wait_sends_its_delayed_ack_before_it_goes_to_the_pool() {
        use super::super::ack::ACK_DELAY;
        // Our stack is the client, the peer's smoltcp the server.
        let mut net = Net::new();
        let mut peer = Peer::new();
        let mut server = tcp::Socket::new(tcp::SocketBuffer::new(vec![0; 8192]), tcp::SocketBuffer::new(vec![0; 8192]));
        server.listen(80).unwrap();
        let server = peer.sockets.add(server);
        let spec = Spec { rx: 8192, tx: 8192, nodelay: false, keepalive: None, hops: None };
        let mut client = net.pool.tcp(&spec, false).unwrap();
        client.connect(net.iface.context(), (IpAddress::Ipv4(PEER), 80), 50000).unwrap();
        let client = net.sockets.add(client);
        let start = Instant::from_millis(1000);
        peer.exchange(&mut net, start);
        assert_eq!(net.sockets.get::<tcp::Socket>(client).state(), tcp::State::Established);
        // Established: ACKs are delayed. The program closes; the server answers with its
        // last bytes, the FIN in the same segment, and waits in LAST_ACK for the ACK.
        let socket = net.sockets.get_mut::<tcp::Socket>(client);
        socket.set_ack_delay(Some(ACK_DELAY));
        socket.close();
        net.closing.push(client);
        peer.exchange(&mut net, start);
        assert_eq!(peer.state(server), tcp::State::CloseWait);
        let s = peer.sockets.get_mut::<tcp::Socket>(server);
        s.send_slice(&[7; 1000]).unwrap();
        s.close();
        peer.exchange(&mut net, start);
        assert_eq!(net.sockets.get::<tcp::Socket>(net.closing[0]).state(), tcp::State::TimeWait);
        assert_eq!(peer.state(server), tcp::State::LastAck);
        assert_eq!(net.pool.len(), 0, "the ACK of the FIN is still owed");
        assert!(Pool::acknowledging(&net.sockets, &net.closing));
        // Once the delay ran out, the ACK leaves and the socket goes to the pool.
        peer.exchange(&mut net, start + ACK_DELAY);
        assert_eq!(peer.state(server), tcp::State::Closed);
        assert!(net.closing.is_empty());
        assert_eq!(net.pool.len(), 1);
    }
}
