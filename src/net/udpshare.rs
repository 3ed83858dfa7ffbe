//! UDP sockets that share a port: each datagram goes to the socket Linux would choose, not to the first one smoltcp finds.
//!
//! smoltcp hands a datagram to the first UDP socket of its port (in the order of its socket
//! set) that is unbound or bound to the destination, whatever its family, its peer or the
//! datagram's. So of `0.0.0.0:p` and `[::]:p` with `IPV6_V6ONLY`, the way many servers
//! take both families, the second one never saw its family's datagrams: the first dropped
//! them ([`super::bound`]); of two sockets bound with `SO_REUSEADDR` only the first got a
//! group's datagrams, and a socket connected to a peer lost that peer's datagrams to an
//! unconnected one bound before it.
//!
//! Linux scores the sockets of the port instead. After each round of received frames the
//! datagrams that reached a socket of a port several sockets share are taken out of
//! smoltcp's queues and put on the shelf of the socket Linux gives them to ([`choose`]): of
//! those that take the datagram's family, its destination (bound to it or unbound) and its
//! sender (connected to it or not connected), the one bound to the address over an unbound
//! one, a connected one over one that is not, the one bound last among equals (among equals
//! that all set `SO_REUSEPORT`, the member a hash of the datagram's addresses and ports falls
//! on, [`super::reuseport`]); every one of them for a group's or a broadcast datagram
//! (Linux's `IP_MULTICAST_ALL`). `recv`, `poll`
//! and `FIONREAD` take a socket's shelf before its smoltcp queue ([`next`]). Sockets alone
//! on their port have no shelf and cost one test of an empty list per round.

use alloc::collections::btree_map::Entry;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::udp;
use smoltcp::wire::{IpAddress, IpCidr};

use super::bound::Port;
use super::pool::Pool;

/// What a UDP socket's smoltcp buffers hold each way: payload bytes and datagrams.
pub const UDP_PAYLOAD: usize = 64 << 10;
pub const UDP_PACKETS: usize = 64;

/// What a shelf holds at most, as a socket's smoltcp receive buffer (beyond it datagrams are
/// dropped, as a full buffer drops them): payload bytes and datagrams.
const SHELF_BYTES: usize = UDP_PAYLOAD;
const SHELF_DATAGRAMS: usize = UDP_PACKETS;

/// A datagram taken out of smoltcp's queue.
struct Datagram {
    payload: Vec<u8>,
    meta: udp::UdpMetadata,
}

#[derive(Default)]
struct Shelf {
    queue: VecDeque<Datagram>,
    bytes: usize,
}

/// The shelves of the sockets of shared ports, and which ports are shared.
#[derive(Default)]
pub struct Shelves {
    /// Ports that two or more UDP sockets are bound to.
    shared: Vec<u16>,
    shelves: BTreeMap<SocketHandle, Shelf>,
    /// The key of `SO_REUSEPORT`'s hash ([`super::reuseport::flow_hash`]).
    key: u64,
}

impl Shelves {
    /// No shelf yet; `key` keys `SO_REUSEPORT`'s hash (a secret of this boot).
    pub fn new(key: u64) -> Self {
        Self { key, ..Self::default() }
    }

    /// Finds the shared ports again after `ports` changed (a bind, a close, a UDP connect).
    pub fn recount(&mut self, ports: &[Port]) {
        let mut udp: Vec<u16> = ports.iter().filter(|b| b.udp.is_some()).map(|b| b.port).collect();
        udp.sort_unstable();
        self.shared = udp.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
        self.shared.dedup();
    }

    /// The socket `handle` is gone: its shelf and what it held, whose memory `pool` counted.
    pub fn forget(&mut self, handle: SocketHandle, pool: &mut Pool) {
        if self.shelves.remove(&handle).is_some() {
            pool.release(SHELF_BYTES);
        }
    }

    /// Puts `datagram` on the shelf of `handle` (made, and counted in `pool`, at its first
    /// datagram); dropped when the shelf is full or cannot be counted.
    fn put(&mut self, handle: SocketHandle, datagram: Datagram, pool: &mut Pool) {
        let shelf = match self.shelves.entry(handle) {
            Entry::Occupied(shelf) => shelf.into_mut(),
            Entry::Vacant(_) if !pool.reserve(SHELF_BYTES) => return,
            Entry::Vacant(place) => place.insert(Shelf::default()),
        };
        if shelf.queue.len() >= SHELF_DATAGRAMS || shelf.bytes + datagram.payload.len() > SHELF_BYTES {
            return;
        }
        shelf.bytes += datagram.payload.len();
        shelf.queue.push_back(datagram);
    }
}

/// After a round of received frames: moves the datagrams that reached a socket of a shared
/// port to the shelves of the sockets they belong to ([`choose`]; `addrs` are the
/// interface's, for its broadcast addresses). Whether any moved.
pub fn settle(
    sockets: &mut SocketSet<'static>,
    ports: &[Port],
    shelves: &mut Shelves,
    pool: &mut Pool,
    addrs: &[IpCidr],
) -> bool {
    let mut moved = false;
    for i in 0..shelves.shared.len() {
        let port = shelves.shared[i];
        // Most rounds bring the port nothing: no list is made for them.
        let waiting = |b: &Port| b.port == port && b.udp.is_some_and(|h| sockets.get::<udp::Socket>(h).can_recv());
        if !ports.iter().any(waiting) {
            continue;
        }
        let on_port: Vec<&Port> = ports.iter().filter(|b| b.udp.is_some() && b.port == port).collect();
        for from in on_port.iter().filter_map(|b| b.udp) {
            while let Ok((payload, meta)) = sockets.get_mut::<udp::Socket>(from).recv() {
                let datagram = Datagram { payload: payload.to_vec(), meta };
                moved = true;
                match choose(&on_port, &datagram.meta, addrs, shelves.key) {
                    Choice::One(to) => shelves.put(to, datagram, pool),
                    Choice::Each(all) => {
                        for to in all {
                            let copy = Datagram { payload: datagram.payload.clone(), meta: datagram.meta };
                            shelves.put(to, copy, pool);
                        }
                    }
                    Choice::None => {}
                }
            }
        }
    }
    moved
}

/// Where a datagram goes.
#[derive(Debug, PartialEq, Eq)]
enum Choice {
    /// To one socket (unicast).
    One(SocketHandle),
    /// A copy to each (a group's or a broadcast datagram).
    Each(Vec<SocketHandle>),
    /// To none: no socket of the port takes it.
    None,
}

/// How well the bound port `b` matches a datagram of `meta`, `None` if its socket does not
/// take it: 2 for a socket bound to the destination, 1 more for one connected to the sender.
fn score(b: &Port, meta: &udp::UdpMetadata) -> Option<u8> {
    let v6 = matches!(meta.endpoint.addr, IpAddress::Ipv6(_));
    if !b.families.takes(v6) || b.addr.is_some_and(|a| Some(a) != meta.local_address) {
        return None;
    }
    if b.peer.is_some_and(|p| p != meta.endpoint) {
        return None;
    }
    Some(2 * u8::from(b.addr.is_some()) + u8::from(b.peer.is_some()))
}

/// The sockets among `on_port` (in the order they were bound) a datagram of `meta` goes to,
/// as Linux chooses them; `addrs` give the broadcast addresses, `key` keys the hash that
/// picks among an `SO_REUSEPORT` group.
fn choose(on_port: &[&Port], meta: &udp::UdpMetadata, addrs: &[IpCidr], key: u64) -> Choice {
    let taking = on_port.iter().filter_map(|b| Some((score(b, meta)?, b.udp?, *b)));
    let to_many = meta.local_address.is_some_and(|a| {
        a.is_multicast()
            || a.is_broadcast()
            || addrs.iter().any(|c| matches!(c, IpCidr::Ipv4(c) if c.broadcast().map(IpAddress::Ipv4) == Some(a)))
    });
    if to_many {
        let all: Vec<SocketHandle> = taking.map(|(_, h, _)| h).collect();
        return if all.is_empty() { Choice::None } else { Choice::Each(all) };
    }
    // The last of the best: `max_by_key` keeps the last of equal keys.
    let Some((best, last, port)) = taking.clone().max_by_key(|(score, _, _)| *score) else { return Choice::None };
    if !port.reuse_port || port.peer.is_some() {
        return Choice::One(last);
    }
    // Its group: the unconnected equals that set SO_REUSEPORT with the same address and families.
    let group = taking
        .filter(|(score, _, b)| {
            *score == best && b.reuse_port && b.peer.is_none() && b.addr == port.addr && b.families == port.families
        })
        .map(|(_, h, _)| h);
    // The group holds `last` itself.
    let to = super::reuseport::pick(key, meta.endpoint, meta.local_address, port.port, group).unwrap_or(last);
    Choice::One(to)
}

/// The next datagram of the UDP socket `handle`: its shelf's first, else the first of its
/// smoltcp queue; `take` removes it. `f` sees its payload and metadata.
pub fn next<R>(
    sockets: &mut SocketSet<'static>,
    shelves: &mut Shelves,
    handle: SocketHandle,
    take: bool,
    f: impl FnOnce(&[u8], &udp::UdpMetadata) -> R,
) -> Option<R> {
    if let Some(shelf) = shelves.shelves.get_mut(&handle) {
        if let Some(first) = shelf.queue.front() {
            let result = f(&first.payload, &first.meta);
            if take {
                shelf.bytes -= first.payload.len();
                shelf.queue.pop_front();
            }
            return Some(result);
        }
    }
    let socket = sockets.get_mut::<udp::Socket>(handle);
    if take {
        socket.recv().ok().map(|(payload, meta)| f(payload, &meta))
    } else {
        socket.peek().ok().map(|(payload, meta)| f(payload, meta))
    }
}

/// Whether a datagram waits for the UDP socket `handle`.
pub fn waiting(sockets: &SocketSet<'static>, shelves: &Shelves, handle: SocketHandle) -> bool {
    shelves.shelves.get(&handle).is_some_and(|s| !s.queue.is_empty()) || sockets.get::<udp::Socket>(handle).can_recv()
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use smoltcp::wire::{IpEndpoint, Ipv4Address, Ipv4Cidr, Ipv6Address};

    use super::super::bound::Families;
    use super::*;

    const LO4: IpAddress = IpAddress::Ipv4(Ipv4Address::new(127, 0, 0, 1));
    const NIC4: IpAddress = IpAddress::Ipv4(Ipv4Address::new(10, 0, 5, 2));
    const LO6: IpAddress = IpAddress::Ipv6(Ipv6Address::LOCALHOST);

    /// A set with `n` UDP sockets, and their handles.
    fn sockets(n: usize) -> (SocketSet<'static>, Vec<SocketHandle>) {
        let mut set = SocketSet::new(vec![]);
        let buffer = || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0u8; 256]);
        let handles = (0..n).map(|_| set.add(udp::Socket::new(buffer(), buffer()))).collect();
        (set, handles)
    }

    /// The bound port 53 of a UDP socket of family `v6` (`IPV6_V6ONLY` on), at `addr`,
    /// connected to `peer`.
    fn bound(handle: SocketHandle, v6: bool, addr: Option<IpAddress>, peer: Option<IpEndpoint>) -> Port {
        let families = Families::of(v6, true, addr.map(|a| matches!(a, IpAddress::Ipv6(_))));
        Port {
            stream: false,
            port: 53,
            families,
            addr,
            reuse: true,
            reuse_port: false,
            listening: false,
            owner: 0,
            udp: Some(handle),
            peer,
        }
    }

    fn from(src: IpAddress, port: u16, to: IpAddress) -> udp::UdpMetadata {
        udp::UdpMetadata { endpoint: IpEndpoint::new(src, port), local_address: Some(to), meta: Default::default() }
    }

    #[test]
    fn each_family_to_its_own_socket_in_either_order() {
        let (_, h) = sockets(2);
        let v4 = bound(h[0], false, None, None);
        let v6 = bound(h[1], true, None, None);
        for on_port in [[&v4, &v6], [&v6, &v4]] {
            assert_eq!(choose(&on_port, &from(LO4, 999, LO4), &[], 0), Choice::One(h[0]));
            assert_eq!(choose(&on_port, &from(LO6, 999, LO6), &[], 0), Choice::One(h[1]));
        }
        // A dual-stack socket takes both; an IPv4 socket alone no IPv6.
        let dual = Port { families: Families::of(true, false, None), ..v6 };
        assert_eq!(choose(&[&dual], &from(LO4, 999, LO4), &[], 0), Choice::One(h[1]));
        assert_eq!(choose(&[&v4], &from(LO6, 999, LO6), &[], 0), Choice::None);
    }

    #[test]
    fn the_best_match_then_the_last_bound() {
        let (_, h) = sockets(4);
        let any = bound(h[0], false, None, None);
        let lo = bound(h[1], false, Some(LO4), None);
        let any2 = bound(h[2], false, None, None);
        let peer = IpEndpoint::new(LO4, 7);
        let connected = bound(h[3], false, None, Some(peer));
        assert_eq!(choose(&[&any, &lo, &any2], &from(LO4, 9, LO4), &[], 0), Choice::One(h[1]), "bound to it");
        assert_eq!(
            choose(&[&lo, &any, &any2], &from(LO4, 9, LO4), &[], 0),
            Choice::One(h[1]),
            "bound to it, bound first"
        );
        assert_eq!(choose(&[&any, &lo, &any2], &from(NIC4, 9, NIC4), &[], 0), Choice::One(h[2]), "the last of equals");
        assert_eq!(choose(&[&connected, &any], &from(LO4, 7, LO4), &[], 0), Choice::One(h[3]), "connected to it");
        assert_eq!(choose(&[&any, &connected], &from(LO4, 8, LO4), &[], 0), Choice::One(h[0]), "another peer's");
        assert_eq!(choose(&[&connected], &from(LO4, 8, LO4), &[], 0), Choice::None);
    }

    #[test]
    fn a_reuseport_group_shares_the_peers() {
        let (_, h) = sockets(4);
        let member = |i: usize| Port { reuse_port: true, ..bound(h[i], false, None, None) };
        let (a, b, c) = (member(0), member(1), member(2));
        let lo = Port { reuse_port: true, ..bound(h[3], false, Some(LO4), None) };
        let mut counts = [0; 4];
        for port in 1000..1300 {
            let Choice::One(to) = choose(&[&a, &b, &c], &from(NIC4, port, NIC4), &[], 5) else { panic!() };
            counts[h.iter().position(|&x| x == to).unwrap()] += 1;
        }
        assert!(counts[..3].iter().all(|&n| n > 60), "{counts:?}");
        // The socket bound to the destination beats the wildcard group; a connected member
        // takes its peer's datagrams and is left out of the group.
        assert_eq!(choose(&[&a, &lo, &b], &from(LO4, 9, LO4), &[], 5), Choice::One(h[3]));
        let peer = IpEndpoint::new(NIC4, 7);
        let connected = Port { peer: Some(peer), ..c };
        assert_eq!(choose(&[&a, &b, &connected], &from(NIC4, 7, NIC4), &[], 5), Choice::One(h[2]));
        for port in 1000..1100 {
            assert_ne!(choose(&[&a, &b, &connected], &from(NIC4, port, NIC4), &[], 5), Choice::One(h[2]));
        }
    }

    #[test]
    fn a_group_or_broadcast_datagram_to_each_that_takes_it() {
        let (_, h) = sockets(4);
        let group = IpAddress::Ipv4(Ipv4Address::new(239, 1, 2, 3));
        let any = bound(h[0], false, None, None);
        let any2 = bound(h[1], false, None, None);
        let lo = bound(h[2], false, Some(LO4), None);
        let to_group = bound(h[3], false, Some(group), None);
        let on_port = [&any, &any2, &lo, &to_group];
        assert_eq!(choose(&on_port, &from(NIC4, 9, group), &[], 0), Choice::Each(vec![h[0], h[1], h[3]]));
        let addrs = [IpCidr::Ipv4(Ipv4Cidr::new(Ipv4Address::new(10, 0, 5, 2), 24))];
        let subnet = IpAddress::Ipv4(Ipv4Address::new(10, 0, 5, 255));
        assert_eq!(choose(&on_port, &from(NIC4, 9, subnet), &addrs, 0), Choice::Each(vec![h[0], h[1]]));
        assert_eq!(choose(&on_port, &from(NIC4, 9, subnet), &[], 0), Choice::One(h[1]), "not known as a broadcast");
        assert_eq!(choose(&[&lo], &from(NIC4, 9, group), &[], 0), Choice::None);
    }

    #[test]
    fn a_round_moves_what_smoltcp_gave_the_first_socket() {
        let mut g = crate::tcppeer::Guest::new(1024, 1024);
        let ours = IpAddress::Ipv4(Ipv4Address::from(crate::nethostile::OURS));
        let buffer = || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0u8; 512]);
        let mut add = |port: u16| {
            let mut s = udp::Socket::new(buffer(), buffer());
            s.bind(port).unwrap();
            g.sockets.add(s)
        };
        let (first, second, sender) = (add(53), add(53), add(4000));
        let sent_from = IpEndpoint::new(ours, 4000);
        let ports = [bound(first, false, None, None), bound(second, false, None, Some(sent_from))];
        let mut shelves = Shelves::new(1);
        let mut pool = Pool::new(4, 4 * SHELF_BYTES);
        shelves.recount(&ports);
        g.sockets.get_mut::<udp::Socket>(sender).send_slice(b"hello", IpEndpoint::new(ours, 53)).unwrap();
        // The datagram leaves in one round and comes back through the loopback in a later one.
        for _ in 0..4 {
            g.now += 1;
            g.round();
        }
        assert!(g.sockets.get::<udp::Socket>(first).can_recv(), "smoltcp gives it to the first");
        let addrs: Vec<IpCidr> = g.iface.ip_addrs().to_vec();
        assert!(settle(&mut g.sockets, &ports, &mut shelves, &mut pool, &addrs));
        assert!(!waiting(&g.sockets, &shelves, first));
        let got = next(&mut g.sockets, &mut shelves, second, true, |p, m| (p.to_vec(), m.endpoint));
        assert_eq!(got, Some((b"hello".to_vec(), sent_from)), "the socket connected to its sender has it");
        assert!(!settle(&mut g.sockets, &ports, &mut shelves, &mut pool, &addrs), "nothing more to move");
    }

    #[test]
    fn shelves_come_first_hold_a_buffer_and_go_with_their_socket() {
        let (mut set, h) = sockets(2);
        let mut shelves = Shelves::new(1);
        let mut pool = Pool::new(4, 4 * SHELF_BYTES);
        let v4 = bound(h[0], false, None, None);
        let alone = Port { port: 54, ..bound(h[1], true, None, None) };
        shelves.recount(&[v4, alone]);
        assert!(shelves.shared.is_empty());
        shelves.recount(&[v4, bound(h[1], true, None, None), v4]);
        assert_eq!(shelves.shared, vec![53]);
        let meta = from(LO4, 9, LO4);
        for i in 0..SHELF_DATAGRAMS + 1 {
            shelves.put(h[0], Datagram { payload: vec![i as u8; 8], meta }, &mut pool);
        }
        let mut take = |take| next(&mut set, &mut shelves, h[0], take, |p, m| (p[0], p.len(), m.endpoint.port));
        assert_eq!(take(false), Some((0, 8, 9)), "a peek leaves it");
        assert_eq!(take(true), Some((0, 8, 9)));
        assert_eq!(take(true), Some((1, 8, 9)));
        assert!(waiting(&set, &shelves, h[0]) && !waiting(&set, &shelves, h[1]));
        // Full: the datagram after SHELF_DATAGRAMS was dropped.
        let held = (0..).take_while(|_| next(&mut set, &mut shelves, h[0], true, |_, _| ()).is_some()).count();
        assert_eq!(held, SHELF_DATAGRAMS - 2);
        shelves.put(h[0], Datagram { payload: vec![0; SHELF_BYTES + 1], meta }, &mut pool);
        assert!(!waiting(&set, &shelves, h[0]), "longer than a shelf holds");
        shelves.forget(h[0], &mut pool);
        shelves.forget(h[0], &mut pool);
        assert!(pool.reserve(4 * SHELF_BYTES), "the shelf's memory went back once");
    }
}
