//! Pipes inside the guest: a 64 KiB ring between threads, blocking on a futex word.
//!
//! As on Linux: a read returns what is there (0 once every writer is gone), a write of at
//! most `PIPE_BUF` bytes is atomic, larger ones may be split; without readers a write fails
//! with `EPIPE` (the C library then raises `SIGPIPE`); `O_NONBLOCK` gives `EAGAIN` instead of
//! waiting. A signal to a blocked task ends the wait with `EINTR`, or with the count moved.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::errno::{Result, EAGAIN, ECONNRESET, EINTR, EPIPE, ETIMEDOUT};
use crate::synch::futex;
use crate::synch::spinlock::SpinLock;

/// Bytes a pipe holds (Linux's default).
pub const CAPACITY: usize = 64 << 10;

/// Writes up to this size are never interleaved with others (POSIX `PIPE_BUF`).
pub const PIPE_BUF: usize = 4096;

struct State {
    data: VecDeque<u8>,
    readers: usize,
    writers: usize,
}

/// The buffer both ends share. It starts a cache line of its own: when the news counters
/// made it 8 bytes longer, a ping-pong of two threads on two vCPUs over two pipes, each
/// waiting in `poll`, went from 0.6-0.9 to 1.1-1.4 µs a round trip, and aligned it is back
/// (docs/benchmarks.md): the two pipes, allocated side by side, most likely shared a line
/// that both cores write.
#[repr(align(64))]
pub struct Pipe {
    state: SpinLock<State>,
    /// Bumped (under the lock) on every change; waiters sleep on it.
    changes: AtomicU32,
    /// Bumped by every write and the last writer's close: news for the read end (an
    /// edge-triggered epoll entry is reported again for each).
    written: AtomicU32,
    /// Bumped by every read and the last reader's close: news for the write end.
    read: AtomicU32,
    /// Set when a Unix socket closed with data unread ([`End::reset`]): the reader's next
    /// read past the data fails once with `ECONNRESET`.
    reset: AtomicBool,
}

impl Pipe {
    /// Records a change made under the lock and wakes every waiter.
    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        futex::wake(&self.changes, usize::MAX);
        crate::net::poll::changed();
    }

    /// The change count: every change to what either end's [`End::readiness`] or
    /// [`End::news`] shows bumps it, after the change. So a state read after a load of the
    /// count holds as long as the count still has that value (epoll's entries skip pipes
    /// that did not change since their last look).
    pub fn stamp(&self) -> u32 {
        self.changes.load(Ordering::SeqCst)
    }

    /// Sleeps until the next change after `seen`, or until the TSC `deadline` (a Unix
    /// socket's timeout: then `EAGAIN`, as Linux); `EINTR` for a signal, except without a
    /// deadline after handlers that restart calls ([`futex::wait_restarting`]): the caller
    /// then looks again and waits on, as Linux restarts a pipe's `read`/`write` (and not a
    /// call with a timeout).
    fn wait(&self, seen: u32, deadline: Option<u64>) -> Result<()> {
        let result = match deadline {
            Some(_) => futex::wait(&self.changes, seen, deadline),
            None => futex::wait_restarting(&self.changes, seen, None),
        };
        match result {
            Err(EINTR) => Err(EINTR),
            Err(ETIMEDOUT) => Err(EAGAIN),
            _ => Ok(()),
        }
    }
}

/// One end of a pipe; dropping the last reference closes it.
pub struct End {
    pipe: Arc<Pipe>,
    /// Whether this is the write end.
    pub writes: bool,
    /// `O_NONBLOCK` of this open end (shared by its duplicates).
    pub nonblocking: AtomicBool,
}

/// A new pipe: (read end, write end).
pub fn new(nonblocking: bool) -> (End, End) {
    let pipe = Arc::new(Pipe {
        state: SpinLock::new(State { data: VecDeque::new(), readers: 1, writers: 1 }),
        changes: AtomicU32::new(0),
        written: AtomicU32::new(0),
        read: AtomicU32::new(0),
        reset: AtomicBool::new(false),
    });
    let end = |writes| End { pipe: pipe.clone(), writes, nonblocking: AtomicBool::new(nonblocking) };
    (end(false), end(true))
}

impl End {
    fn nonblocking(&self) -> bool {
        self.nonblocking.load(Ordering::Relaxed)
    }

    /// Reads what is there, waiting for data unless every writer is gone.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.read_as(buf, self.nonblocking(), None)
    }

    /// [`End::read`], non-blocking or not whatever the end's flag says (Unix sockets keep
    /// their own flag and take `MSG_DONTWAIT`), waiting at most until the TSC `deadline`.
    pub fn read_as(&self, buf: &mut [u8], nonblocking: bool, deadline: Option<u64>) -> Result<usize> {
        self.take(buf, nonblocking, false, deadline)
    }

    /// [`End::read_as`] that leaves the bytes in the pipe (a Unix socket's `MSG_PEEK`):
    /// waits as a read does.
    pub fn peek_as(&self, buf: &mut [u8], nonblocking: bool, deadline: Option<u64>) -> Result<usize> {
        self.take(buf, nonblocking, true, deadline)
    }

    fn take(&self, buf: &mut [u8], nonblocking: bool, peek: bool, deadline: Option<u64>) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let seen = {
                let mut state = self.pipe.state.lock();
                if !state.data.is_empty() {
                    let n = buf.len().min(state.data.len());
                    if peek {
                        for (dst, src) in buf.iter_mut().zip(state.data.range(..n)) {
                            *dst = *src;
                        }
                        return Ok(n);
                    }
                    for (dst, src) in buf.iter_mut().zip(state.data.drain(..n)) {
                        *dst = src;
                    }
                    drop(state);
                    self.pipe.read.fetch_add(1, Ordering::SeqCst);
                    self.pipe.changed();
                    return Ok(n);
                }
                if state.writers == 0 {
                    return if self.pipe.reset.swap(false, Ordering::SeqCst) { Err(ECONNRESET) } else { Ok(0) };
                }
                if nonblocking {
                    return Err(EAGAIN);
                }
                self.pipe.changes.load(Ordering::SeqCst)
            };
            self.pipe.wait(seen, deadline)?;
        }
    }

    /// Writes all of `buf` (blocking) or what fits (non-blocking).
    pub fn write(&self, buf: &[u8]) -> Result<usize> {
        self.write_as(buf, self.nonblocking(), None)
    }

    /// [`End::write`], non-blocking or not whatever the end's flag says, waiting at most
    /// until the TSC `deadline` (then what went in, or `EAGAIN`).
    pub fn write_as(&self, buf: &[u8], nonblocking: bool, deadline: Option<u64>) -> Result<usize> {
        let mut done = 0;
        loop {
            let seen = {
                let mut state = self.pipe.state.lock();
                if state.readers == 0 {
                    return if done > 0 { Ok(done) } else { Err(EPIPE) };
                }
                let space = CAPACITY - state.data.len();
                let rest = buf.len() - done;
                // A small write goes in whole or waits.
                let n = if rest <= PIPE_BUF && space < rest { 0 } else { space.min(rest) };
                if n > 0 {
                    state.data.extend(&buf[done..done + n]);
                    done += n;
                    drop(state);
                    self.pipe.written.fetch_add(1, Ordering::SeqCst);
                    self.pipe.changed();
                    if done == buf.len() {
                        return Ok(done);
                    }
                    continue;
                }
                if buf.is_empty() {
                    return Ok(0);
                }
                if nonblocking {
                    return if done > 0 { Ok(done) } else { Err(EAGAIN) };
                }
                self.pipe.changes.load(Ordering::SeqCst)
            };
            if let Err(e) = self.pipe.wait(seen, deadline) {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
        }
    }

    /// `poll` readiness: (readable, writable, hang-up). The read end is readable with data
    /// or without writers; the write end writable with `PIPE_BUF` bytes free, or erring
    /// without readers.
    pub fn readiness(&self) -> (bool, bool, bool) {
        let state = self.pipe.state.lock();
        if self.writes {
            (false, state.readers == 0 || CAPACITY - state.data.len() >= PIPE_BUF, state.readers == 0)
        } else {
            (!state.data.is_empty() || state.writers == 0, false, state.writers == 0)
        }
    }

    /// How many times news arrived for this end (writes for the read end, reads for the
    /// write end, and the other side's last close): epoll's edge-triggered entries compare it.
    pub fn news(&self) -> u32 {
        if self.writes {
            self.pipe.read.load(Ordering::SeqCst)
        } else {
            self.pipe.written.load(Ordering::SeqCst)
        }
    }

    /// Makes the reader's next read at the end of the data fail with `ECONNRESET` (a Unix
    /// socket whose owner closes it with data unread, as Linux's); set before the last
    /// writer's close.
    pub fn reset(&self) {
        self.pipe.reset.store(true, Ordering::SeqCst);
    }

    /// Bytes waiting to be read.
    pub fn available(&self) -> usize {
        self.pipe.state.lock().data.len()
    }

    /// The buffer both ends share (for its [`Pipe::stamp`]); holding it keeps no end open.
    pub fn buffer(&self) -> Arc<Pipe> {
        self.pipe.clone()
    }
}

impl Drop for End {
    fn drop(&mut self) {
        {
            let mut state = self.pipe.state.lock();
            if self.writes {
                state.writers -= 1;
                self.pipe.written.fetch_add(1, Ordering::SeqCst);
            } else {
                state.readers -= 1;
                self.pipe.read.fetch_add(1, Ordering::SeqCst);
            }
        }
        self.pipe.changed();
    }
}
