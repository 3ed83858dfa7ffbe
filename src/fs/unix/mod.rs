//! `AF_UNIX` sockets inside the guest: stream, sequenced-packet and datagram sockets, in
//! pairs, or bound to a name ([`names`]) that threads of the program listen on, accept from,
//! connect and send to.
//!
//! A connection is two guest pipes crossed, each end reading one and writing the other. What
//! Linux's Unix stream sockets do: `read`/`recv` block until data or the peer's end of
//! writing (then 0), `write`/`send` until room, or fail with `EPIPE` once the peer stopped
//! reading; `shutdown` ends one direction or both (the peer then reads end of file, or gets
//! `EPIPE` for its writes); `O_NONBLOCK` and `MSG_DONTWAIT` give `EAGAIN`; `poll` and `epoll`
//! see readable, writable, hang-up (both directions ended) and `EPOLLRDHUP`, and a listener
//! readable while a connection waits; `MSG_PEEK` and `FIONREAD` see what waits. Writes of up
//! to `PIPE_BUF` bytes are atomic and a direction holds 64 KiB, as a pipe does. `connect`
//! completes at once while the listener's backlog has room, and otherwise waits (non-blocking:
//! `EAGAIN`, as Linux); closing a listener drops the connections nobody accepted, whose
//! clients then read end of file.
//!
//! A sequenced-packet connection is the same over pipes of records: each write is a message
//! read whole by one read, the rest of it dropped when the buffer is shorter (`MSG_TRUNC`
//! tells). Datagram sockets ([`dgram`]) each own an inbox of records, which others reach by
//! the socket's name or after `connect`. Record pipes hold 212,992 bytes, Linux's default
//! socket buffer, and charge each message 512 bytes more; a longer message fails with
//! `EMSGSIZE`.
//!
//! Every type passes open descriptions (`SCM_RIGHTS`, [`pipe::Rights`]) with a message, or
//! on a stream with the bytes of one write. Not done: credentials (`SCM_CREDENTIALS`), the
//! collection of descriptions that only the sockets they are queued on keep open (Linux's
//! garbage collector: a socket sent over itself and closed stays open), sockets of the host.

pub mod addr;
mod dgram;
pub mod names;

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::pipe::{self, End};
pub use super::pipe::{Message, Rights};
use crate::errno::{Result, EALREADY, EINVAL, EISCONN, ENOTCONN, EOPNOTSUPP, EPIPE, EPROTOTYPE};
use crate::synch::spinlock::SpinLock;
use addr::Name;
use names::Binding;

/// The type of a socket, with Linux's numbers (`SOCK_STREAM`, `SOCK_DGRAM`,
/// `SOCK_SEQPACKET`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Stream = 1,
    Datagram = 2,
    SeqPacket = 5,
}

/// An `AF_UNIX` socket.
pub struct UnixSocket {
    pub kind: Kind,
    /// The pipe this end reads (none before a connection and after `shutdown(SHUT_RD)`; a
    /// datagram socket's own inbox).
    rx: SpinLock<Option<Arc<End>>>,
    /// The pipe this end writes (none before a connection and after `shutdown(SHUT_WR)`; the
    /// inbox of the socket a datagram socket is connected to).
    tx: SpinLock<Option<Arc<End>>>,
    /// A datagram socket's write end of its own inbox, which its name leads to (none for
    /// the other types).
    inbox: Option<Arc<End>>,
    /// A datagram socket's `shutdown` of reading (0) and writing (1) ([`dgram`]).
    shut: [AtomicBool; 2],
    /// `O_NONBLOCK` of this socket (shared by its duplicates).
    pub nonblocking: AtomicBool,
    /// `SO_RCVTIMEO` and `SO_SNDTIMEO` in nanoseconds (0: none).
    timeouts: [AtomicU64; 2],
    role: SpinLock<Role>,
}

enum Role {
    /// Made by `socket`: not connected, bound to a name or not.
    Fresh(Option<Arc<Binding>>),
    /// In `connect` (another thread's `connect` gets `EALREADY`).
    Connecting,
    /// Listening for connections on its binding.
    Listening(Arc<Binding>),
    /// Connected: its name (an accepted socket's is the listener's), the peer's, and its own
    /// binding, which keeps the name taken.
    Connected { local: Option<Name>, peer: Option<Name>, _binding: Option<Arc<Binding>> },
}

/// What `poll` needs of a socket: (readable, writable, hang-up, peer ended writing).
pub type Readiness = (bool, bool, bool, bool);

/// A connected pair (`socketpair`) of type `kind`.
pub fn pair(kind: Kind, nonblocking: bool) -> (UnixSocket, UnixSocket) {
    if kind == Kind::Datagram {
        return dgram::pair(nonblocking);
    }
    let (a, b) = crossed(kind);
    (UnixSocket::with(kind, Some(a), nonblocking, unnamed()), UnixSocket::with(kind, Some(b), nonblocking, unnamed()))
}

/// The role of one of a pair: connected, both ends unnamed.
fn unnamed() -> Role {
    Role::Connected { local: None, peer: None, _binding: None }
}

/// The two ends of a connection, each (the pipe it reads, the pipe it writes).
type Ends = (End, End);

/// Two pipes crossed: the ends of a connection (pipes of records for sequenced packets).
fn crossed(kind: Kind) -> (Ends, Ends) {
    let new = || if kind == Kind::Stream { pipe::new(false) } else { pipe::records() };
    let (a_rx, b_tx) = new();
    let (b_rx, a_tx) = new();
    ((a_rx, a_tx), (b_rx, b_tx))
}

impl UnixSocket {
    /// A socket of `socket(AF_UNIX, kind)`: unnamed, unconnected.
    pub fn new(kind: Kind, nonblocking: bool) -> Self {
        if kind == Kind::Datagram {
            return dgram::socket(nonblocking, Role::Fresh(None));
        }
        Self::with(kind, None, nonblocking, Role::Fresh(None))
    }

    /// A socket with a connection's `ends` (or none), in `role`.
    fn with(kind: Kind, ends: Option<Ends>, nonblocking: bool, role: Role) -> Self {
        let (rx, tx) = ends.map_or((None, None), |(rx, tx)| (Some(Arc::new(rx)), Some(Arc::new(tx))));
        Self {
            kind,
            rx: SpinLock::new(rx),
            tx: SpinLock::new(tx),
            inbox: None,
            shut: Default::default(),
            nonblocking: AtomicBool::new(nonblocking),
            timeouts: Default::default(),
            role: SpinLock::new(role),
        }
    }

    fn nonblocking(&self, dontwait: bool) -> bool {
        dontwait || self.nonblocking.load(Ordering::Relaxed)
    }

    /// `SO_RCVTIMEO` (`send` false) or `SO_SNDTIMEO` (`send` true) in nanoseconds, if set.
    pub fn timeout(&self, send: bool) -> Option<u64> {
        Some(self.timeouts[usize::from(send)].load(Ordering::Relaxed)).filter(|&ns| ns > 0)
    }

    /// Sets a [`UnixSocket::timeout`]: reads or writes that wait longer fail with `EAGAIN`
    /// (or return what they moved), and are not restarted after a signal, as on Linux.
    pub fn set_timeout(&self, send: bool, ns: Option<u64>) {
        self.timeouts[usize::from(send)].store(ns.unwrap_or(0), Ordering::Relaxed);
    }

    /// The TSC deadline of a call that starts now under timeout `send`'s.
    fn deadline(&self, send: bool) -> Option<u64> {
        self.timeout(send).map(crate::time::deadline_after)
    }

    fn connected(&self) -> bool {
        matches!(*self.role.lock(), Role::Connected { .. })
    }

    /// Reads what the peer wrote (0 at its end of writing or after our `SHUT_RD`; `EINVAL`
    /// unconnected, as Linux); a message of a sequenced-packet or datagram socket.
    pub fn read(&self, buf: &mut [u8], dontwait: bool) -> Result<usize> {
        self.receive(buf, dontwait, false).map(|m| m.copied)
    }

    /// [`UnixSocket::read`] with the message's whole length, sender and the descriptions
    /// that came with it; `peek` leaves it for the next read (`MSG_PEEK`). A stream's reads
    /// have no sender, and their length is what they copied.
    pub fn receive(&self, buf: &mut [u8], dontwait: bool, peek: bool) -> Result<Message> {
        let rx = self.rx.lock().clone();
        let nonblocking = self.nonblocking(dontwait);
        let deadline = self.deadline(false);
        // A datagram socket keeps its inbox for good.
        let Some(rx) = rx else {
            return match self.kind {
                _ if self.connected() => Ok(Message::default()),
                Kind::SeqPacket => Err(ENOTCONN),
                _ => Err(EINVAL),
            };
        };
        if self.kind == Kind::Datagram {
            return self.receive_datagram(&rx, buf, nonblocking, peek, deadline);
        }
        if self.kind != Kind::Stream {
            return Ok(rx.take_record(buf, nonblocking, peek, deadline)?.unwrap_or_default());
        }
        rx.take(buf, nonblocking, peek, deadline)
    }

    /// Writes to the peer (`EPIPE` after our `SHUT_WR` or once the peer stopped reading,
    /// `ENOTCONN` unconnected); a message of a sequenced-packet socket. `to` is a datagram
    /// socket's receiver; a connected stream refuses one with `EISCONN`, an unconnected
    /// stream with `EOPNOTSUPP`, and a sequenced-packet socket ignores it, as Linux.
    /// `rights` go with the message, or with a stream's bytes.
    pub fn send(&self, buf: &[u8], rights: Rights, dontwait: bool, to: Option<&[u8]>) -> Result<usize> {
        let (nonblocking, deadline) = (self.nonblocking(dontwait), self.deadline(true));
        match self.kind {
            Kind::Datagram => return self.send_datagram(buf, rights, nonblocking, deadline, to),
            Kind::Stream if to.is_some() => return Err(if self.connected() { EISCONN } else { EOPNOTSUPP }),
            _ => {}
        }
        let tx = self.tx.lock().clone();
        match tx {
            Some(tx) if self.kind == Kind::SeqPacket => tx.write_record(buf, None, rights, nonblocking, deadline),
            Some(tx) => tx.write_as(buf, rights, nonblocking, deadline),
            None if self.connected() => Err(EPIPE),
            None => Err(ENOTCONN),
        }
    }

    /// [`UnixSocket::send`] to the peer (`write`).
    pub fn write(&self, buf: &[u8], dontwait: bool) -> Result<usize> {
        self.send(buf, Rights::new(), dontwait, None)
    }

    /// `shutdown`: 0 ends reading, 1 writing, 2 both (already ended directions stay so);
    /// nothing unconnected (Linux's succeeds too).
    pub fn shutdown(&self, read: bool, write: bool) -> Result<()> {
        if self.kind == Kind::Datagram {
            self.shutdown_datagram(read, write);
            return Ok(());
        }
        // Dropped outside the locks: the last reference wakes the peer.
        let rx = if read { self.rx.lock().take() } else { None };
        let tx = if write { self.tx.lock().take() } else { None };
        drop((rx, tx));
        Ok(())
    }

    /// `bind`: `EADDRINUSE` if the name is taken, else `EINVAL` if already bound or, but
    /// for a datagram socket, connected (Linux looks at the name first).
    pub fn bind(&self, name: &[u8]) -> Result<()> {
        let mut role = self.role.lock();
        let free = match &*role {
            Role::Fresh(None) => true,
            Role::Connected { _binding: None, .. } => self.kind == Kind::Datagram,
            _ => false,
        };
        if !free {
            return Err(if names::taken(name) { crate::errno::EADDRINUSE } else { EINVAL });
        }
        let binding = names::bind(name, self.kind, self.inbox.as_ref().map(Arc::downgrade))?;
        match &mut *role {
            Role::Connected { local, _binding, .. } => {
                *local = Some(binding.name().to_vec());
                *_binding = Some(binding);
            }
            other => *other = Role::Fresh(Some(binding)),
        }
        Ok(())
    }

    /// `listen`: a listener's backlog changes; `EINVAL` unbound (as Linux) or connected,
    /// `EOPNOTSUPP` for a datagram socket.
    pub fn listen(&self, backlog: i32) -> Result<()> {
        if self.kind == Kind::Datagram {
            return Err(EOPNOTSUPP);
        }
        let mut role = self.role.lock();
        let binding = match &mut *role {
            Role::Fresh(binding @ Some(_)) => binding.take().expect("matched"),
            Role::Listening(b) => b.clone(),
            Role::Fresh(None) | Role::Connecting | Role::Connected { .. } => return Err(EINVAL),
        };
        binding.listen(backlog);
        *role = Role::Listening(binding);
        Ok(())
    }

    /// `accept`: the next connection (waits for one unless non-blocking); `EINVAL` if not
    /// listening, `EOPNOTSUPP` for a datagram socket.
    pub fn accept(&self) -> Result<UnixSocket> {
        let binding = match &*self.role.lock() {
            Role::Listening(b) => b.clone(),
            _ if self.kind == Kind::Datagram => return Err(EOPNOTSUPP),
            _ => return Err(EINVAL),
        };
        binding.take(self.nonblocking(false))
    }

    /// `connect` to the socket listening on `name`: `ENOENT`/`ECONNREFUSED` without one,
    /// `EPROTOTYPE` for one of another type, `EISCONN` when connected, `EINVAL` for a
    /// listener or an empty name. A datagram socket takes `name` as its peer.
    pub fn connect(&self, name: &[u8]) -> Result<()> {
        if name.is_empty() {
            return Err(EINVAL);
        }
        if self.kind == Kind::Datagram {
            return self.connect_datagram(name);
        }
        let before = core::mem::replace(&mut *self.role.lock(), Role::Connecting);
        let own = match before {
            Role::Fresh(own) => own,
            other => {
                let e = match other {
                    Role::Connecting => EALREADY,
                    Role::Listening(_) => EINVAL,
                    _ => EISCONN,
                };
                *self.role.lock() = other;
                return Err(e);
            }
        };
        let local = own.as_ref().map(|b| b.name().to_vec());
        let attempt = names::find(name).and_then(|listener| {
            if listener.kind() != self.kind {
                return Err(EPROTOTYPE);
            }
            let role = Role::Connected { local: Some(listener.name().to_vec()), peer: local.clone(), _binding: None };
            let (client, server) = crossed(self.kind);
            listener.offer(UnixSocket::with(self.kind, Some(server), false, role), self.nonblocking(false))?;
            Ok(client)
        });
        match attempt {
            Ok((rx, tx)) => {
                *self.rx.lock() = Some(Arc::new(rx));
                *self.tx.lock() = Some(Arc::new(tx));
                *self.role.lock() = Role::Connected { local, peer: Some(name.to_vec()), _binding: own };
                Ok(())
            }
            Err(e) => {
                *self.role.lock() = Role::Fresh(own);
                Err(e)
            }
        }
    }

    /// Our name (`getsockname`), if any.
    pub fn local(&self) -> Option<Name> {
        match &*self.role.lock() {
            Role::Fresh(Some(b)) | Role::Listening(b) => Some(b.name().to_vec()),
            Role::Connected { local, .. } => local.clone(),
            Role::Fresh(None) | Role::Connecting => None,
        }
    }

    /// The peer's name (`getpeername`; `None` for an unnamed peer); `ENOTCONN` unconnected.
    pub fn peer(&self) -> Result<Option<Name>> {
        match &*self.role.lock() {
            Role::Connected { peer, .. } => Ok(peer.clone()),
            _ => Err(ENOTCONN),
        }
    }

    /// Readiness for `poll`. Connected: readable with data, at the peer's end of writing or
    /// after our `SHUT_RD`; writable with room or when a write would fail at once; hang-up
    /// once both directions ended. A listener: readable while a connection waits. An
    /// unconnected socket: writable and hung up, as on Linux.
    pub fn readiness(&self) -> Readiness {
        if self.kind == Kind::Datagram {
            return self.datagram_readiness();
        }
        match &*self.role.lock() {
            Role::Connected { .. } => {}
            Role::Listening(b) => return (b.pending(), false, false, false),
            Role::Fresh(_) | Role::Connecting => return (false, true, true, false),
        }
        let rx = self.rx.lock().clone();
        let tx = self.tx.lock().clone();
        let (readable, read_done) = rx.map_or((true, true), |rx| {
            let (r, _, hangup) = rx.readiness();
            (r, hangup)
        });
        let (writable, write_done) = tx.map_or((true, true), |tx| {
            let (_, w, hangup) = tx.readiness();
            (w, hangup)
        });
        (readable, writable, read_done && write_done, read_done)
    }

    /// How often news arrived (writes from the peer, reads of what we wrote; a listener's
    /// connections): epoll's edge-triggered entries compare it.
    pub fn news(&self) -> u32 {
        if let Role::Listening(b) = &*self.role.lock() {
            return b.news();
        }
        let rx = self.rx.lock().as_ref().map_or(0, |e| e.news());
        let tx = self.tx.lock().as_ref().map_or(0, |e| e.news());
        rx.wrapping_add(tx)
    }

    /// Bytes waiting to be read (`FIONREAD`): a datagram socket's next message's, as Linux.
    pub fn available(&self) -> usize {
        let rx = self.rx.lock();
        let Some(rx) = rx.as_ref() else { return 0 };
        match self.kind {
            Kind::Datagram => rx.next_record().unwrap_or(0),
            _ => rx.available(),
        }
    }

    /// `SO_ACCEPTCONN`: whether `listen` made this a listening socket.
    pub fn listening(&self) -> bool {
        matches!(*self.role.lock(), Role::Listening(_))
    }

    /// Whether `SO_PEERCRED` names a peer: a connected stream or sequenced-packet socket, or
    /// one of a pair (a datagram socket connected by `connect` has none, as on Linux).
    pub fn has_peer(&self) -> bool {
        match &*self.role.lock() {
            Role::Connected { peer, .. } => self.kind != Kind::Datagram || peer.is_none(),
            _ => false,
        }
    }

    /// Makes the peer's next read past the data fail with `ECONNRESET`, as Linux does when a
    /// socket is closed with data unread or before it was accepted.
    fn reset_peer(&self) {
        if let Some(tx) = self.tx.lock().as_ref() {
            tx.reset();
        }
    }
}

impl Drop for UnixSocket {
    fn drop(&mut self) {
        if let Role::Listening(b) = &*self.role.lock() {
            b.close();
        }
        if self.kind != Kind::Datagram && self.available() > 0 {
            self.reset_peer();
        }
    }
}
