//! `AF_UNIX` stream sockets inside the guest: socket pairs, and sockets that threads of the
//! program bind to a name ([`names`]), listen on, accept from and connect to.
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
//! clients then read end of file. Not done: datagram and sequenced-packet sockets, passing
//! descriptors or credentials, sockets of the host.

pub mod addr;
pub mod names;

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::pipe::{self, End};
use crate::errno::{Result, EALREADY, EINVAL, EISCONN, ENOTCONN, EPIPE};
use crate::synch::spinlock::SpinLock;
use addr::Name;
use names::Binding;

/// An `AF_UNIX` stream socket.
pub struct UnixSocket {
    /// The pipe this end reads (none before a connection and after `shutdown(SHUT_RD)`).
    rx: SpinLock<Option<Arc<End>>>,
    /// The pipe this end writes (none before a connection and after `shutdown(SHUT_WR)`).
    tx: SpinLock<Option<Arc<End>>>,
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

/// A connected pair (`socketpair`).
pub fn pair(nonblocking: bool) -> (UnixSocket, UnixSocket) {
    let unnamed = || Role::Connected { local: None, peer: None, _binding: None };
    let (a, b) = crossed();
    (UnixSocket::with(Some(a), nonblocking, unnamed()), UnixSocket::with(Some(b), nonblocking, unnamed()))
}

/// The two ends of a connection, each (the pipe it reads, the pipe it writes).
type Ends = (End, End);

/// Two pipes crossed: the ends of a connection.
fn crossed() -> (Ends, Ends) {
    let (a_rx, b_tx) = pipe::new(false);
    let (b_rx, a_tx) = pipe::new(false);
    ((a_rx, a_tx), (b_rx, b_tx))
}

impl UnixSocket {
    /// A socket of `socket(AF_UNIX, SOCK_STREAM)`: unnamed, unconnected.
    pub fn new(nonblocking: bool) -> Self {
        Self::with(None, nonblocking, Role::Fresh(None))
    }

    /// A socket with a connection's `ends` (or none), in `role`.
    fn with(ends: Option<Ends>, nonblocking: bool, role: Role) -> Self {
        let (rx, tx) = ends.map_or((None, None), |(rx, tx)| (Some(Arc::new(rx)), Some(Arc::new(tx))));
        Self {
            rx: SpinLock::new(rx),
            tx: SpinLock::new(tx),
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
    /// unconnected, as Linux).
    pub fn read(&self, buf: &mut [u8], dontwait: bool) -> Result<usize> {
        self.receive(buf, dontwait, false)
    }

    /// [`UnixSocket::read`] that leaves the bytes for the next read (`MSG_PEEK`).
    pub fn peek(&self, buf: &mut [u8], dontwait: bool) -> Result<usize> {
        self.receive(buf, dontwait, true)
    }

    fn receive(&self, buf: &mut [u8], dontwait: bool, peek: bool) -> Result<usize> {
        let rx = self.rx.lock().clone();
        let nonblocking = self.nonblocking(dontwait);
        let deadline = self.deadline(false);
        match rx {
            Some(rx) if peek => rx.peek_as(buf, nonblocking, deadline),
            Some(rx) => rx.read_as(buf, nonblocking, deadline),
            None if self.connected() => Ok(0),
            None => Err(EINVAL),
        }
    }

    /// Writes to the peer (`EPIPE` after our `SHUT_WR` or once the peer stopped reading,
    /// `ENOTCONN` unconnected).
    pub fn write(&self, buf: &[u8], dontwait: bool) -> Result<usize> {
        let tx = self.tx.lock().clone();
        match tx {
            Some(tx) => tx.write_as(buf, self.nonblocking(dontwait), self.deadline(true)),
            None if self.connected() => Err(EPIPE),
            None => Err(ENOTCONN),
        }
    }

    /// `shutdown`: 0 ends reading, 1 writing, 2 both (already ended directions stay so);
    /// nothing unconnected (Linux's succeeds too).
    pub fn shutdown(&self, read: bool, write: bool) -> Result<()> {
        // Dropped outside the locks: the last reference wakes the peer.
        let rx = if read { self.rx.lock().take() } else { None };
        let tx = if write { self.tx.lock().take() } else { None };
        drop((rx, tx));
        Ok(())
    }

    /// `bind`: `EADDRINUSE` if the name is taken, else `EINVAL` if already bound or
    /// connected (Linux looks at the name first).
    pub fn bind(&self, name: &[u8]) -> Result<()> {
        let mut role = self.role.lock();
        let Role::Fresh(None) = &*role else {
            return Err(if names::taken(name) { crate::errno::EADDRINUSE } else { EINVAL });
        };
        *role = Role::Fresh(Some(names::bind(name)?));
        Ok(())
    }

    /// `listen`: a listener's backlog changes; `EINVAL` unbound (as Linux) or connected.
    pub fn listen(&self, backlog: i32) -> Result<()> {
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
    /// listening.
    pub fn accept(&self) -> Result<UnixSocket> {
        let binding = match &*self.role.lock() {
            Role::Listening(b) => b.clone(),
            _ => return Err(EINVAL),
        };
        binding.take(self.nonblocking(false))
    }

    /// `connect` to the socket listening on `name`: `ENOENT`/`ECONNREFUSED` without one,
    /// `EISCONN` when connected, `EINVAL` for a listener or an empty name.
    pub fn connect(&self, name: &[u8]) -> Result<()> {
        if name.is_empty() {
            return Err(EINVAL);
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
            let role = Role::Connected { local: Some(listener.name().to_vec()), peer: local.clone(), _binding: None };
            let (client, server) = crossed();
            listener.offer(UnixSocket::with(Some(server), false, role), self.nonblocking(false))?;
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

    /// Bytes waiting to be read.
    pub fn available(&self) -> usize {
        self.rx.lock().as_ref().map_or(0, |e| e.available())
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
        if self.available() > 0 {
            self.reset_peer();
        }
    }
}
