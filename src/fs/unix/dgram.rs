//! `AF_UNIX` datagram sockets: each owns an inbox of messages that others reach by its name
//! (`sendto`) or, once connected to it, by `send`.
//!
//! As Linux's: a message goes whole into the receiver's inbox or waits there for room
//! (non-blocking: `EAGAIN`); `recvfrom` names the sender when it is bound (an address of
//! length 0 otherwise); a socket connected to another takes messages from that one only
//! (others get `EPERM`); a send to a connected peer that was closed fails once with
//! `ECONNREFUSED` and forgets the peer (then `ENOTCONN`), as does a `connect` with
//! `AF_UNSPEC`; `poll` sees a message waiting, and room in the connected peer's inbox.

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use super::{addr, names, Readiness, Role, UnixSocket};
use crate::errno::{Result, ECONNREFUSED, EINVAL, ENOTCONN, EPERM, EPIPE};
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
        self.own().only_from(peer.as_ref().map_or(0, |p| p.id()));
        *self.tx.lock() = peer;
    }

    /// `connect`: `name`'s socket becomes the peer (`ENOENT`/`ECONNREFUSED` without one,
    /// `EPROTOTYPE` for a socket of another type, `EPERM` for one connected to another);
    /// connecting again changes it.
    pub(super) fn connect_datagram(&self, name: &[u8]) -> Result<()> {
        let peer = names::find(name)?.inbox()?;
        if !peer.accepts(self.own().id()) {
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
        nonblocking: bool,
        deadline: Option<u64>,
        to: Option<&[u8]>,
    ) -> Result<usize> {
        if self.write_shut.load(Ordering::Relaxed) {
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
        if !peer.accepts(self.own().id()) {
            return Err(EPERM);
        }
        match peer.write_record(buf, self.local(), nonblocking, deadline) {
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

    /// Readiness for `poll`: readable with a message waiting or after `SHUT_RD`, writable
    /// while the connected peer's inbox has room (always unconnected), hang-up once both
    /// directions are shut.
    pub(super) fn datagram_readiness(&self) -> Readiness {
        let rx = self.rx.lock().clone();
        let read_shut = rx.is_none();
        let readable = rx.is_none_or(|rx| rx.readiness().0);
        let writable = self.tx.lock().as_ref().is_none_or(|tx| tx.readiness().1);
        let both_shut = read_shut && self.write_shut.load(Ordering::Relaxed);
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
