//! `poll` and `select` over every kind of descriptor: sockets, pipe ends, socket pairs, host
//! files and epoll instances.
//!
//! Sockets and pipes report their state; a host file (regular file, terminal or the
//! standard streams) is always readable and writable, as regular files are in POSIX (a
//! terminal's input may then block in `read`); an epoll instance is readable while one of
//! its entries would be reported. A waiting call sleeps on [`super::EVENTS`], which network
//! polls and, while anyone polls, pipe changes bump.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use smoltcp::time::Duration;

use super::EVENTS;
use crate::errno::{Result, EINTR, ETIMEDOUT};
use crate::fs::fd::{self, Object};

/// `POLLIN` (lwIP's values throughout).
pub const POLLIN: i16 = 0x1;
/// `POLLOUT`.
pub const POLLOUT: i16 = 0x2;
/// `POLLERR`.
pub const POLLERR: i16 = 0x4;
/// `POLLNVAL`.
pub const POLLNVAL: i16 = 0x8;
/// `POLLRDNORM`.
pub const POLLRDNORM: i16 = 0x10;
/// `POLLWRNORM`.
pub const POLLWRNORM: i16 = 0x80;
/// `POLLHUP`.
pub const POLLHUP: i16 = 0x200;

/// Tasks inside [`wait_for`] now; pipes wake them only then.
static POLLERS: AtomicU32 = AtomicU32::new(0);

/// A pipe changed: wake pollers, if any.
pub fn changed() {
    if POLLERS.load(Ordering::SeqCst) > 0 {
        super::notify();
    }
}

/// Objects a scan holds, dropped after the stack's lock is released (a last reference to a
/// socket closes it under that lock). The first eight sit inline, so that a scan of a few
/// descriptors allocates nothing, as `poll` did before it kept them; an epoll instance lends
/// the vector for the rest from one scan to the next ([`Keep::lend`], [`Keep::release`]).
#[derive(Default)]
pub struct Keep {
    few: [Option<Arc<Object>>; 8],
    len: usize,
    more: Vec<Arc<Object>>,
}

impl Keep {
    /// Holds `object` until the `Keep` is dropped.
    pub fn push(&mut self, object: Arc<Object>) {
        match self.few.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(object);
                self.len += 1;
            }
            None => self.more.push(object),
        }
    }

    /// Takes `spare` (empty, with room from an earlier scan) for the objects beyond the
    /// inline ones, if it has none yet.
    pub fn lend(&mut self, spare: Vec<Arc<Object>>) {
        if self.more.capacity() == 0 {
            self.more = spare;
        }
    }

    /// Drops the held objects (so: not under the stack's lock) and gives back the emptied
    /// vector with its room.
    pub fn release(mut self) -> Vec<Arc<Object>> {
        self.more.clear();
        core::mem::take(&mut self.more)
    }
}

/// What an object shows now, for `poll` and `epoll` alike.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct State {
    /// A read would not block.
    pub readable: bool,
    /// A write would not block.
    pub writable: bool,
    /// Hung up (`POLLHUP`).
    pub hangup: bool,
    /// An error is pending (`POLLERR`).
    pub error: bool,
    /// The peer ended its writing (`EPOLLRDHUP`; TCP only).
    pub rdhup: bool,
}

/// The state of `object`. Objects it holds that the evaluation needed alive (an epoll
/// instance's entries) go to `keep`, to be dropped by the caller after the stack's lock is
/// released: a last reference closing a socket takes that lock.
pub fn state(stack: &mut super::Stack, object: &Object, keep: &mut Keep) -> State {
    match object {
        Object::Host(_) => HOST,
        Object::Pipe(p) => pipe_state(p),
        Object::Socket(s) => {
            let r = s.readiness(stack);
            State { readable: r.readable, writable: r.writable, hangup: r.hangup, error: r.error, rdhup: r.rdhup }
        }
        Object::Unix(p) => unix_state(p),
        Object::Epoll(e) => State { readable: e.any_ready(stack, keep), ..State::default() },
    }
}

/// The state of an object that needs neither the stack nor a [`Keep`] (host files, pipe
/// ends, socket pairs); `None` for sockets and epoll instances (an epoll wait whose
/// entries are all of the first kinds scans without the stack's lock).
pub fn state_local(object: &Object) -> Option<State> {
    match object {
        Object::Host(_) => Some(HOST),
        Object::Pipe(p) => Some(pipe_state(p)),
        Object::Unix(p) => Some(unix_state(p)),
        Object::Socket(_) | Object::Epoll(_) => None,
    }
}

/// A host file: always readable and writable.
const HOST: State = State { readable: true, writable: true, hangup: false, error: false, rdhup: false };

fn pipe_state(p: &crate::fs::pipe::End) -> State {
    let (r, w, h) = p.readiness();
    State { readable: r, writable: w, hangup: h && !p.writes, error: h && p.writes, rdhup: false }
}

fn unix_state(p: &crate::fs::unix::UnixSocket) -> State {
    let (readable, writable, hangup, rdhup) = p.readiness();
    State { readable, writable, hangup, error: false, rdhup }
}

/// The events of `events` (plus `POLLERR`, `POLLHUP`, `POLLNVAL`) that `fd` shows now.
fn revents(stack: &mut super::Stack, fd: i32, events: i16, keep: &mut Keep) -> i16 {
    let Ok(object) = fd::get(fd) else { return POLLNVAL };
    let s = state(stack, &object, keep);
    keep.push(object);
    let mut out = 0;
    if s.readable {
        out |= events & (POLLIN | POLLRDNORM);
    }
    if s.writable {
        out |= events & (POLLOUT | POLLWRNORM);
    }
    if s.hangup {
        out |= POLLHUP;
    }
    if s.error {
        out |= POLLERR;
    }
    out
}

/// Runs `scan` (which returns how many things are ready and smoltcp's next timer) until it
/// finds some, sleeping on [`EVENTS`] in between: the count, 0 after `timeout_ns` (`None`:
/// never; `Some(0)`: one scan), `EINTR` once a signal handler ran.
pub fn wait_for(timeout_ns: Option<u64>, mut scan: impl FnMut() -> (usize, Option<Duration>)) -> Result<usize> {
    let deadline = timeout_ns.map(crate::time::deadline_after);
    POLLERS.fetch_add(1, Ordering::SeqCst);
    let signals = crate::scheduler::delivered_signals();
    let result = loop {
        let seen = EVENTS.load(Ordering::SeqCst);
        let (ready, delay) = scan();
        if ready > 0 || timeout_ns == Some(0) {
            break Ok(ready);
        }
        // A handler that ran outside the sleep (between two scans) ends the wait as one
        // that ran inside it does.
        if crate::scheduler::delivered_signals() != signals {
            break Err(EINTR);
        }
        match super::wait(seen, delay, deadline) {
            Err(ETIMEDOUT) => break Ok(0),
            Err(e) => break Err(e),
            Ok(()) => {}
        }
    };
    POLLERS.fetch_sub(1, Ordering::SeqCst);
    result
}

/// `poll`: fills each entry's `revents` and returns how many are non-zero, waiting up to
/// `timeout_ns` (`None`: forever; `Some(0)`: not at all) for one. A negative `fd` is skipped.
pub fn poll(entries: &mut [(i32, i16, i16)], timeout_ns: Option<u64>) -> Result<usize> {
    wait_for(timeout_ns, || {
        let mut keep = Keep::default();
        // One allocation for a large set rather than a vector grown by doubling.
        keep.more.reserve(entries.len().saturating_sub(keep.few.len()));
        let result = super::with_stack(|stack| {
            let mut ready = 0;
            for entry in entries.iter_mut() {
                entry.2 = if entry.0 < 0 { 0 } else { revents(stack, entry.0, entry.1, &mut keep) };
                ready += usize::from(entry.2 != 0);
            }
            ready
        });
        drop(keep);
        result
    })
}
