//! `AF_UNIX` datagram sockets: each owns an inbox of messages that others reach by its name
//! (`sendto`) or, once connected to it, by `send`.
//!
//! As Linux's: a message goes whole into the receiver's inbox or waits there for room
//! (non-blocking: `EAGAIN`); `recvfrom` names the sender when it is bound (an address of
//! length 0 otherwise); a socket connected to another takes messages from that one only
//! (others get `EPERM`); a send to a connected peer that was closed fails once with
//! `ECONNREFUSED` and forgets the peer (then `ENOTCONN`), as does a `connect` with
//! `AF_UNSPEC`; `poll` sees a message waiting, and room in the connected peer's inbox.
//! After `shutdown(SHUT_RD)` the messages already there are still read, then end of file
//! (0), and senders get `EPIPE`; after `SHUT_WR` the socket's own sends do.

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use super::{addr, names, Message, Readiness, Rights, Role, UnixSocket};
use crate::errno::{Result, EAGAIN, ECONNREFUSED, EINVAL, ENOTCONN, EPERM, EPIPE};
use crate::fs::pipe::{self, End};
use crate::synch::spinlock::SpinLock;

/// A datagram socket with an empty inbox, in `role`.
pub(super) fn socket(nonblocking: bool, role: Role) -> UnixSocket {
    let (rx, inbox) = pipe::records();
    let mut socket = UnixSocket::with(super::Kind::Datagram, None, nonblocking, role);
    socket.rx = SpinLock::new(Some(Arc::new(rx)));
    socket.inbox = Some(Arc::new(inbox));
    socket
}

/// Two unnamed datagram sockets connected to each other (`socketpair`).
pub(super) fn pair(nonblocking: bool) -> (UnixSocket, UnixSocket) {
    let a = socket(nonblocking, super::unnamed());
    let b = socket(nonblocking, super::unnamed());
    a.link(b.inbox.clone());
    b.link(a.inbox.clone());
    (a, b)
}

impl UnixSocket {
    /// The write end of this datagram socket's own inbox.
    fn own(&self) -> &End {
        self.inbox.as_deref().expect("a datagram socket's inbox")
    }

    /// Sends to `peer`'s inbox from now on (none: to nobody), and takes messages from that
    /// socket only (none: from anyone).
    fn link(&self, peer: Option<Arc<End>>) {
        self.own().only_from(peer.as_deref());
        *self.tx.lock() = peer;
    }

    /// `connect`: `name`'s socket becomes the peer (`ENOENT`/`ECONNREFUSED` without one,
    /// `EPROTOTYPE` for a socket of another type, `EPERM` for one connected to another);
    /// connecting again changes it.
    pub(super) fn connect_datagram(&self, name: &[u8]) -> Result<()> {
        let peer = names::find(name)?.inbox()?;
        if !peer.accepts(self.own()) {
            return Err(EPERM);
        }
        self.link(Some(peer));
        let mut role = self.role.lock();
        let own = take_binding(&mut role);
        let local = own.as_ref().map(|b| b.name().to_vec());
        *role = Role::Connected { local, peer: Some(name.to_vec()), _binding: own };
        Ok(())
    }

    /// `connect` with `AF_UNSPEC`: a datagram socket forgets its peer; `EINVAL` for the
    /// other types, as Linux.
    pub fn disconnect(&self) -> Result<()> {
        if self.kind != super::Kind::Datagram {
            return Err(EINVAL);
        }
        self.link(None);
        let mut role = self.role.lock();
        let own = take_binding(&mut role);
        *role = Role::Fresh(own);
        Ok(())
    }

    /// Sends `buf` as one message to the socket named by the address `to`, or to the
    /// connected peer: `EPIPE` after `shutdown(SHUT_WR)`, `EINVAL` for an address without
    /// a name, `ENOTCONN` without either, `EPERM` when the receiver is connected to another.
    pub(super) fn send_datagram(
        &self,
        buf: &[u8],
        rights: Rights,
        nonblocking: bool,
        deadline: Option<u64>,
        to: Option<&[u8]>,
    ) -> Result<usize> {
        if self.shut[1].load(Ordering::Relaxed) {
            return Err(EPIPE);
        }
        let peer = match to {
            Some(to) => {
                let name = addr::parse(to)?;
                if name.is_empty() {
                    return Err(EINVAL);
                }
                names::find(&name)?.inbox()?
            }
            None => self.tx.lock().clone().ok_or(ENOTCONN)?,
        };
        if !peer.accepts(self.own()) {
            return Err(EPERM);
        }
        match peer.write_record(buf, self.local(), rights, nonblocking, deadline) {
            // The receiver shut reading.
            Err(EPIPE) if peer.refusing() => Err(EPIPE),
            // The receiver was closed.
            Err(EPIPE) => {
                let connected = self.tx.lock().as_ref().is_some_and(|p| Arc::ptr_eq(p, &peer));
                if connected {
                    self.disconnect()?;
                }
                Err(ECONNREFUSED)
            }
            other => other,
        }
    }

    /// `shutdown`: reading (the inbox refuses new messages) or writing, or both.
    pub(super) fn shutdown_datagram(&self, read: bool, write: bool) {
        if read {
            self.shut[0].store(true, Ordering::Relaxed);
            self.own().refuse();
        }
        if write {
            self.shut[1].store(true, Ordering::Relaxed);
        }
    }

    /// The next message of the inbox `rx`; after `SHUT_RD` what is left, then end of file.
    pub(super) fn receive_datagram(
        &self,
        rx: &End,
        buf: &mut [u8],
        nonblocking: bool,
        peek: bool,
        deadline: Option<u64>,
    ) -> Result<Message> {
        if !self.shut[0].load(Ordering::Relaxed) {
            return Ok(rx.take_record(buf, nonblocking, peek, deadline)?.unwrap_or_default());
        }
        match rx.take_record(buf, true, peek, None) {
            Err(EAGAIN) => Ok(Message::default()),
            other => Ok(other?.unwrap_or_default()),
        }
    }

    /// Readiness for `poll`: readable with a message waiting or after `SHUT_RD`, writable
    /// while the connected peer's inbox has room (always unconnected), hang-up once both
    /// directions are shut.
    pub(super) fn datagram_readiness(&self) -> Readiness {
        let read_shut = self.shut[0].load(Ordering::Relaxed);
        let readable = read_shut || self.rx.lock().as_ref().is_some_and(|rx| rx.readiness().0);
        let writable = self.tx.lock().as_ref().is_none_or(|tx| tx.readiness().1);
        let both_shut = read_shut && self.shut[1].load(Ordering::Relaxed);
        (readable, writable, both_shut, read_shut)
    }
}

/// The binding a datagram socket's role holds (it keeps its name when it connects or
/// disconnects); leaves the role unbound.
fn take_binding(role: &mut Role) -> Option<Arc<names::Binding>> {
    match core::mem::replace(role, Role::Fresh(None)) {
        Role::Fresh(own) | Role::Connected { _binding: own, .. } => own,
        Role::Listening(_) | Role::Connecting => None,
    }
}
