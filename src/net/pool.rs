//! A bounded pool of ended TCP sockets, whose buffers new connections and listeners reuse.
//!
//! A smoltcp TCP socket owns its receive and send buffers for its whole life (there is no
//! way to hand it others), and with the tap's offloads they are 1 MiB each: allocating and
//! zeroing 2 MiB for every accepted connection's fresh listener cost about a quarter of
//! the connection rate. smoltcp resets a socket that is `Closed` or in `TIME_WAIT` when it
//! listens or connects again (its own examples reuse sockets so), so a socket that ended is
//! kept here whole and handed to the next listener ([`super::listen`]) or `connect` that
//! asks for the same buffer sizes: no allocation, and the old bytes are not zeroed (smoltcp reads
//! only what it wrote; the data of an earlier connection of the same program stays in the
//! program's memory, as it did before in freed memory; smoltcp also keeps the old
//! connection's duplicate-ACK and SACK bookkeeping, which only a new connection's first
//! segments could meet, by sequence-number coincidence, as one duplicate ACK of three). At
//! most [`POOL_BYTES`] of buffers wait here; a socket beyond that is dropped and its memory
//! given back.

use alloc::vec::Vec;

use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::socket::{tcp, Socket};
use smoltcp::time::{Duration, Instant};

use super::ack::ACK_DELAY;

/// The most buffer bytes ended sockets keep in the pool: four connections with the tap's
/// 1 MiB buffers, sixteen with 256 KiB ones.
pub const POOL_BYTES: usize = 8 << 20;

/// Closes the sending side of a connection the program closed or shut down for writing:
/// at once, except in `CLOSE_WAIT` (the peer sent its FIN) while data waits to be sent,
/// whose FIN [`Pool::reap`] sends once the data is out. smoltcp 0.13.1 in `LAST_ACK` answers
/// a segment that acknowledges nothing new with a challenge ACK and ignores its window: a
/// peer whose window was 0 opened it with pure ACKs that went unheard, and the rest of the
/// data waited for the zero-window probe, 1 s (`net.tap-echo`: 25 of 1,000 echoes of 10 MiB
/// took 1.1 s instead of 0.07, the peer's FIN having come before the echo's end).
pub fn close(socket: &mut tcp::Socket<'_>) {
    if socket.state() == tcp::State::CloseWait && socket.send_queue() > 0 {
        return;
    }
    socket.close();
}

/// How a new TCP socket is made: its buffer sizes and the options smoltcp keeps.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Receive buffer bytes (`SO_RCVBUF`).
    pub rx: usize,
    /// Send buffer bytes (`SO_SNDBUF`).
    pub tx: usize,
    /// `TCP_NODELAY`.
    pub nodelay: bool,
    /// smoltcp's keep-alive interval and timeout (`SO_KEEPALIVE` and the `TCP_KEEP*`
    /// options, [`super::keepalive`]), if keep-alive is on.
    pub keepalive: Option<(Duration, Duration)>,
    /// `IP_TTL`/`IPV6_UNICAST_HOPS` (`None`: smoltcp's 64).
    pub hops: Option<u8>,
}

/// Ended TCP sockets that wait to be reused.
pub struct Pool {
    idle: Vec<tcp::Socket<'static>>,
    bytes: usize,
    limit: usize,
    /// Buffer bytes of the sockets taken and not given back (in the stack's set), and the
    /// most they may reach ([`Self::take`]).
    live: usize,
    budget: usize,
    /// Sockets taken from the pool, and made new (for tests and `HERMIT_VERBOSE`).
    pub reused: u64,
    /// Sockets allocated because none of the size waited.
    pub made: u64,
    /// A set for one socket at a time, to ask the interface when that socket needs a poll
    /// ([`Self::owes_ack`]).
    alone: Option<SocketSet<'static>>,
}

/// `n` copies of `value`, or `None` if the memory cannot be had.
pub fn filled<T: Clone>(n: usize, value: T) -> Option<Vec<T>> {
    let mut items = Vec::new();
    items.try_reserve_exact(n).ok()?;
    items.resize(n, value);
    Some(items)
}

/// `n` zero bytes, or `None` if the memory cannot be had.
fn zeroed(n: usize) -> Option<Vec<u8>> {
    filled(n, 0)
}

/// The buffer bytes of `socket`.
fn size(socket: &tcp::Socket<'_>) -> usize {
    socket.recv_capacity() + socket.send_capacity()
}

impl Pool {
    /// An empty pool that keeps at most `limit` buffer bytes, and hands out sockets whose
    /// buffers take at most `budget` bytes together ([`Self::take`]).
    pub const fn new(limit: usize, budget: usize) -> Self {
        Self { idle: Vec::new(), bytes: 0, limit, live: 0, budget, reused: 0, made: 0, alone: None }
    }

    /// A closed socket with a receive buffer of `rx` and a send buffer of `tx` bytes: one
    /// that ended, if one of those sizes waits, else a new one (zeroed buffers). Its
    /// connection state is reset by the `listen` or `connect` that follows; its options are
    /// the caller's to set (an ended socket keeps those it had). `None` when the sockets
    /// out of the pool would take more than the budget, or memory for the buffers cannot
    /// be had: a connection's buffers are whole from its SYN on (1 MiB each way with the
    /// tap's offloads), and making them regardless of memory ended the guest with a kernel
    /// panic ("memory allocation of 1048576 bytes failed") when about 250 clients
    /// connected at once to a guest of 512 MiB.
    pub fn take(&mut self, rx: usize, tx: usize) -> Option<tcp::Socket<'static>> {
        if !self.reserve(rx + tx) {
            return None;
        }
        if let Some(i) = self.idle.iter().rposition(|s| s.recv_capacity() == rx && s.send_capacity() == tx) {
            self.bytes -= rx + tx;
            self.reused += 1;
            return Some(self.idle.swap_remove(i));
        }
        let Some((rx_buffer, tx_buffer)) = zeroed(rx).and_then(|r| Some((r, zeroed(tx)?))) else {
            self.release(rx + tx);
            return None;
        };
        self.made += 1;
        Some(tcp::Socket::new(tcp::SocketBuffer::new(rx_buffer), tcp::SocketBuffer::new(tx_buffer)))
    }

    /// A closed TCP socket made as `spec` says ([`Self::take`]). `listener`: it will listen,
    /// and delays its ACKs from the start ([`super::ack`]: what a client sends before
    /// `accept`, its FIN among it, is acknowledged with the answer); a connecting socket
    /// acknowledges the handshake at once and delays once established.
    pub fn tcp(&mut self, spec: &Spec, listener: bool) -> Option<tcp::Socket<'static>> {
        let mut socket = self.take(spec.rx, spec.tx)?;
        socket.set_ack_delay(listener.then_some(ACK_DELAY));
        socket.set_nagle_enabled(!spec.nodelay);
        socket.set_keep_alive(spec.keepalive.map(|(probe, _)| probe));
        // A reused socket had the close's timeout; keep-alive's abort, or none.
        socket.set_timeout(spec.keepalive.map(|(_, abort)| abort));
        socket.set_hop_limit(spec.hops);
        Some(socket)
    }

    /// Counts `bytes` of buffers (a TCP socket's in [`Self::take`], a UDP socket's) within
    /// the budget; false if they do not fit ([`Self::release`] gives them back).
    pub fn reserve(&mut self, bytes: usize) -> bool {
        let fits = self.live + bytes <= self.budget;
        if fits {
            self.live += bytes;
        }
        fits
    }

    /// Gives back `bytes` that [`Self::reserve`] counted.
    pub fn release(&mut self, bytes: usize) {
        self.live = self.live.saturating_sub(bytes);
    }

    /// Takes back a socket that ended (`Closed` or `TIME_WAIT`; anything else, and a socket
    /// beyond the pool's limit, is dropped). A `Closed` socket must have sent its reset, if
    /// it had one to send (smoltcp forgets the peer once it did).
    pub fn give(&mut self, socket: tcp::Socket<'static>) {
        let ended = !socket.is_open();
        let bytes = size(&socket);
        self.live = self.live.saturating_sub(bytes);
        if ended && self.bytes + bytes <= self.limit {
            self.bytes += bytes;
            self.idle.push(socket);
        }
    }

    /// Takes the sockets of `closing` that ended out of `sockets`, into the pool: `Closed`
    /// ones, and those in `TIME_WAIT` (no 2 MSL wait) that owe their peer no ACK; sends the
    /// FIN of those [`close`] left in `CLOSE_WAIT` once their data is out. `now`: the time
    /// of the poll round that just sent what was due.
    pub fn reap(
        &mut self,
        iface: &mut Interface,
        sockets: &mut SocketSet<'static>,
        closing: &mut Vec<SocketHandle>,
        now: Instant,
    ) {
        closing.retain_mut(|handle| {
            let socket = sockets.get_mut::<tcp::Socket>(*handle);
            close(socket);
            let state = socket.state();
            if !matches!(state, tcp::State::Closed | tcp::State::TimeWait) {
                return true;
            }
            let Socket::Tcp(socket) = sockets.remove(*handle) else { return false };
            let (socket, owes) = match state {
                tcp::State::TimeWait => self.owes_ack(iface, socket, now),
                _ => (socket, false),
            };
            if owes {
                *handle = sockets.add(socket);
            } else {
                self.give(socket);
            }
            owes
        });
    }

    /// `socket` (in `TIME_WAIT`) back, and whether it may still owe its peer the ACK of its
    /// FIN: smoltcp delays that ACK like any other (up to [`ACK_DELAY`]) and sends it only
    /// from the set. A socket taken out before never sent it, and a peer in `LAST_ACK` sent
    /// its FIN again after its retransmission timeout (1 s for smoltcp's: a loopback
    /// server's `SO_LINGER` close and the program's exit waited that long). smoltcp keeps
    /// its delayed-ACK timer to itself, but the interface tells when a set of sockets next
    /// needs a poll: asked for this socket alone, that is now or within [`ACK_DELAY`] only
    /// for an ACK (its other timers, `TIME_WAIT`'s end and the close's timeout, are seconds
    /// away). The interface's own timers (SLAAC's) can make a socket wait a round longer.
    fn owes_ack(
        &mut self,
        iface: &mut Interface,
        socket: tcp::Socket<'static>,
        now: Instant,
    ) -> (tcp::Socket<'static>, bool) {
        let alone = self.alone.get_or_insert_with(|| SocketSet::new(Vec::with_capacity(1)));
        let handle = alone.add(socket);
        let due = iface.poll_at(now, alone);
        let Socket::Tcp(socket) = alone.remove(handle) else { unreachable!("the set holds one TCP socket") };
        (socket, due.is_some_and(|at| at <= now + ACK_DELAY))
    }

    /// Whether any of the sockets of `closing` waits to send an ACK it owes ([`Self::reap`]).
    pub fn acknowledging(sockets: &SocketSet<'static>, closing: &[SocketHandle]) -> bool {
        closing.iter().any(|&handle| sockets.get::<tcp::Socket>(handle).state() == tcp::State::TimeWait)
    }

    /// Buffer bytes waiting in the pool.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Sockets waiting in the pool.
    pub fn len(&self) -> usize {
        self.idle.len()
    }

    /// Whether no socket waits.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.idle.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ended_socket_is_reused_for_the_same_sizes_only() {
        let mut pool = Pool::new(1 << 20, usize::MAX);
        let mut socket = pool.take(1000, 2000).unwrap();
        assert_eq!((pool.made, pool.reused), (1, 0));
        socket.listen(80).unwrap();
        socket.abort();
        pool.give(socket);
        assert_eq!((pool.len(), pool.bytes()), (1, 3000));
        // Other sizes: a new socket, the ended one stays.
        let other = pool.take(2000, 1000).unwrap();
        assert_eq!((other.recv_capacity(), other.send_capacity()), (2000, 1000));
        assert_eq!((pool.made, pool.reused, pool.len()), (2, 0, 1));
        let mut again = pool.take(1000, 2000).unwrap();
        assert_eq!((pool.made, pool.reused, pool.len(), pool.bytes()), (2, 1, 0, 0));
        assert_eq!((again.recv_capacity(), again.send_capacity()), (1000, 2000));
        // smoltcp takes a socket that ended for a new listen.
        again.listen(81).unwrap();
        assert_eq!(again.state(), tcp::State::Listen);
    }

    #[test]
    fn the_default_pool_keeps_four_connections_with_the_taps_buffers() {
        let mut pool = Pool::new(POOL_BYTES, usize::MAX);
        let sockets: Vec<_> = (0..5).map(|_| pool.take(1 << 20, 1 << 20).unwrap()).collect();
        for socket in sockets {
            pool.give(socket);
        }
        assert_eq!((pool.len(), pool.bytes()), (4, 8 << 20));
    }

    #[test]
    fn open_sockets_and_sockets_beyond_the_limit_are_dropped() {
        let mut pool = Pool::new(5000, usize::MAX);
        let mut open = pool.take(1000, 1000).unwrap();
        open.listen(80).unwrap();
        pool.give(open);
        assert!(pool.is_empty(), "a listening socket is not taken");
        for _ in 0..3 {
            let socket = pool.take(1000, 1000).unwrap();
            pool.give(socket);
            let socket = pool.take(1000, 1000).unwrap();
            let second = pool.take(1000, 1000).unwrap();
            pool.give(socket);
            pool.give(second);
        }
        assert_eq!((pool.len(), pool.bytes()), (2, 4000));
        let mut take = || pool.take(1000, 1000).unwrap();
        let (a, b, c) = (take(), take(), take());
        pool.give(a);
        pool.give(b);
        pool.give(c);
        assert_eq!((pool.len(), pool.bytes()), (2, 4000), "the third is beyond 5000 bytes");
    }

    #[test]
    fn no_socket_beyond_the_budget_until_one_comes_back() {
        let mut pool = Pool::new(1 << 20, 5000);
        let a = pool.take(1000, 1000).unwrap();
        let b = pool.take(1000, 1000).unwrap();
        assert!(pool.take(1000, 1000).is_none(), "6,000 bytes would be out");
        let c = pool.take(500, 500).unwrap();
        pool.give(a);
        assert!(pool.take(1000, 1000).is_some(), "the one given back is taken again");
        pool.give(b);
        pool.give(c);
        // Other buffers count against the same budget.
        assert!(pool.reserve(1000));
        assert!(!pool.reserve(3000), "4,000 bytes are out");
        pool.release(1000);
        assert!(pool.reserve(3000));
    }
}
