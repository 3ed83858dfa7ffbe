//! `poll` and `select` over every kind of descriptor: sockets, pipe ends and host files.
//!
//! Sockets and pipes report their state; a host file (regular file, terminal or the
//! standard streams) is always readable and writable, as regular files are in POSIX (a
//! terminal's input may then block in `read`). A waiting call sleeps on [`super::EVENTS`],
//! which network polls and, while anyone polls, pipe changes bump.

use core::sync::atomic::{AtomicU32, Ordering};

use super::EVENTS;
use crate::errno::{Result, ETIMEDOUT};
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

/// Tasks inside [`poll`] now; pipes wake them only then.
static POLLERS: AtomicU32 = AtomicU32::new(0);

/// A pipe changed: wake pollers, if any.
pub fn changed() {
    if POLLERS.load(Ordering::SeqCst) > 0 {
        super::notify();
    }
}

/// The events of `events` (plus `POLLERR`, `POLLHUP`, `POLLNVAL`) that `fd` shows now.
fn revents(stack: &mut super::Stack, fd: i32, events: i16) -> i16 {
    let Ok(object) = fd::get(fd) else { return POLLNVAL };
    let (readable, writable, hangup, error) = match &*object {
        Object::Host(_) => (true, true, false, false),
        Object::Pipe(p) => {
            let (r, w, h) = p.readiness();
            (r, w, h && !p.writes, h && p.writes)
        }
        Object::Socket(s) => {
            let r = s.readiness(stack);
            (r.readable, r.writable, r.hangup, r.error)
        }
    };
    let mut out = 0;
    if readable {
        out |= events & (POLLIN | POLLRDNORM);
    }
    if writable {
        out |= events & (POLLOUT | POLLWRNORM);
    }
    if hangup {
        out |= POLLHUP;
    }
    if error {
        out |= POLLERR;
    }
    out
}

/// `poll`: fills each entry's `revents` and returns how many are non-zero, waiting up to
/// `timeout_ns` (`None`: forever; `Some(0)`: not at all) for one. A negative `fd` is skipped.
pub fn poll(entries: &mut [(i32, i16, i16)], timeout_ns: Option<u64>) -> Result<usize> {
    let deadline = timeout_ns.map(|ns| crate::arch::rdtsc() + crate::time::clock().ns_to_cycles(ns));
    POLLERS.fetch_add(1, Ordering::SeqCst);
    let result = loop {
        let seen = EVENTS.load(Ordering::SeqCst);
        let (ready, delay) = super::with_stack(|stack| {
            let mut ready = 0;
            for entry in entries.iter_mut() {
                entry.2 = if entry.0 < 0 { 0 } else { revents(stack, entry.0, entry.1) };
                ready += usize::from(entry.2 != 0);
            }
            ready
        });
        if ready > 0 || timeout_ns == Some(0) {
            break Ok(ready);
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
