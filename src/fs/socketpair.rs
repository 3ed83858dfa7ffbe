//! `socketpair(AF_UNIX, SOCK_STREAM)`: two guest pipes crossed, each end of the pair reading
//! one and writing the other.
//!
//! What Linux's Unix stream sockets do for the calls a pair is used with: `read`/`recv`
//! block until data or the peer's end of writing (then 0), `write`/`send` until room, or fail
//! with `EPIPE` once the peer stopped reading; `shutdown` ends one direction or both (the
//! peer then reads end of file, or gets `EPIPE` for its writes); `O_NONBLOCK` and
//! `MSG_DONTWAIT` give `EAGAIN`; `poll` and `epoll` see readable, writable, hang-up (both
//! directions ended) and `EPOLLRDHUP`; `MSG_PEEK` and `FIONREAD` see what waits. Writes of up
//! to `PIPE_BUF` bytes are atomic and a direction holds 64 KiB, as a pipe does. Not done:
//! datagram pairs, addresses (`bind`, `getsockname`), passing descriptors, socket options.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};

use super::pipe::{self, End};
use crate::errno::{Result, EPIPE};
use crate::synch::spinlock::SpinLock;

/// One end of a pair.
pub struct Pair {
    /// The pipe this end reads (none after `shutdown(SHUT_RD)`).
    rx: SpinLock<Option<Arc<End>>>,
    /// The pipe this end writes (none after `shutdown(SHUT_WR)`).
    tx: SpinLock<Option<Arc<End>>>,
    /// `O_NONBLOCK` of this end (shared by its duplicates).
    pub nonblocking: AtomicBool,
}

/// What `poll` needs of an end: (readable, writable, hang-up, peer ended writing).
pub type Readiness = (bool, bool, bool, bool);

/// A connected pair.
pub fn new(nonblocking: bool) -> (Pair, Pair) {
    let (a_rx, b_tx) = pipe::new(false);
    let (b_rx, a_tx) = pipe::new(false);
    let end = |rx: End, tx: End| Pair {
        rx: SpinLock::new(Some(Arc::new(rx))),
        tx: SpinLock::new(Some(Arc::new(tx))),
        nonblocking: AtomicBool::new(nonblocking),
    };
    (end(a_rx, a_tx), end(b_rx, b_tx))
}

impl Pair {
    fn nonblocking(&self, dontwait: bool) -> bool {
        dontwait || self.nonblocking.load(Ordering::Relaxed)
    }

    /// Reads what the peer wrote (0 at its end of writing or after our `SHUT_RD`).
    pub fn read(&self, buf: &mut [u8], dontwait: bool) -> Result<usize> {
        let rx = self.rx.lock().clone();
        match rx {
            Some(rx) => rx.read_as(buf, self.nonblocking(dontwait)),
            None => Ok(0),
        }
    }

    /// [`Pair::read`] that leaves the bytes for the next read (`MSG_PEEK`).
    pub fn peek(&self, buf: &mut [u8], dontwait: bool) -> Result<usize> {
        let rx = self.rx.lock().clone();
        match rx {
            Some(rx) => rx.peek_as(buf, self.nonblocking(dontwait)),
            None => Ok(0),
        }
    }

    /// Writes to the peer (`EPIPE` after our `SHUT_WR` or once the peer stopped reading).
    pub fn write(&self, buf: &[u8], dontwait: bool) -> Result<usize> {
        let tx = self.tx.lock().clone();
        tx.ok_or(EPIPE)?.write_as(buf, self.nonblocking(dontwait))
    }

    /// `shutdown`: 0 ends reading, 1 writing, 2 both (already ended directions stay so).
    pub fn shutdown(&self, read: bool, write: bool) {
        // Dropped outside the locks: the last reference wakes the peer.
        let rx = if read { self.rx.lock().take() } else { None };
        let tx = if write { self.tx.lock().take() } else { None };
        drop((rx, tx));
    }

    /// Readiness for `poll`: readable with data, at the peer's end of writing or after our
    /// `SHUT_RD`; writable with room or when a write would fail at once; hang-up once both
    /// directions ended.
    pub fn readiness(&self) -> Readiness {
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

    /// How often news arrived (writes from the peer, reads of what we wrote): epoll's
    /// edge-triggered entries compare it.
    pub fn news(&self) -> u32 {
        let rx = self.rx.lock().as_ref().map_or(0, |e| e.news());
        let tx = self.tx.lock().as_ref().map_or(0, |e| e.news());
        rx.wrapping_add(tx)
    }

    /// Bytes waiting to be read.
    pub fn available(&self) -> usize {
        self.rx.lock().as_ref().map_or(0, |e| e.available())
    }
}
