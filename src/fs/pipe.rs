//! Pipes inside the guest: a 64 KiB ring between threads, blocking on a futex word.
//!
//! As on Linux: a read returns what is there (0 once every writer is gone), a write of at
//! most `PIPE_BUF` bytes is atomic, larger ones may be split; without readers a write fails
//! with `EPIPE` (the C library then raises `SIGPIPE`); `O_NONBLOCK` gives `EAGAIN` instead of
//! waiting. A signal to a blocked task ends the wait with `EINTR`, or with the count moved.
//!
//! A pipe may instead hold records ([`records`]): the messages of Unix sequenced-packet and
//! datagram sockets, each written whole and read whole, with its sender's name.
//!
//! Either kind carries open descriptions passed with the data ([`Rights`], Unix sockets'
//! `SCM_RIGHTS`): with a record, or on a stream with the bytes of the write that sent them.
//! A stream's read that reaches such bytes gets the descriptions and ends where those bytes
//! end, so descriptions of two writes never come with one read, as on Linux. A read that
//! cannot take them (`read`, `recv`) drops them; so does the last reader's close.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::fd::Object;
use super::unix::addr::Name;
use crate::errno::{Result, EAGAIN, ECONNRESET, EINTR, EMSGSIZE, EPIPE, ETIMEDOUT};
use crate::synch::futex;
use crate::synch::spinlock::SpinLock;

/// Bytes a pipe holds (Linux's default).
pub const CAPACITY: usize = 64 << 10;

/// Writes up to this size are never interleaved with others (POSIX `PIPE_BUF`).
pub const PIPE_BUF: usize = 4096;

/// Bytes of a record pipe charged for each message besides its data, as Linux charges a
/// socket buffer's overhead: 212,992 bytes hold about 400 short messages, not 200,000.
const RECORD_OVERHEAD: usize = 512;

/// Bytes a record pipe holds, data and [`RECORD_OVERHEAD`] (Linux's default socket buffer,
/// `wmem_default`); a longer message fails with `EMSGSIZE`.
pub const RECORD_CAPACITY: usize = 212_992;

/// Open descriptions sent along with data (`SCM_RIGHTS`), in the sender's order.
pub type Rights = Vec<Arc<Object>>;

/// A message of a record pipe: its length in the data, its sender's name (a datagram
/// socket's, if bound) and the descriptions sent with it.
struct Record {
    len: usize,
    from: Option<Name>,
    rights: Rights,
}

/// Descriptions sent with the bytes `start..end` of a stream, counted as [`Marks::taken`].
struct Mark {
    start: u64,
    end: u64,
    rights: Rights,
}

/// A stream's bytes that came with descriptions, made by the first such write and dropped
/// once read (boxed: a pipe stays two cache lines, [`Pipe`]).
struct Marks {
    /// Oldest first.
    queue: VecDeque<Mark>,
    /// Bytes the reads took out since this was made: the position of `data`'s first byte.
    taken: u64,
}

/// What a read got: the bytes copied, the message's whole length (a stream's is what it
/// copied), its sender's name and the descriptions that came with it.
#[derive(Default)]
pub struct Message {
    pub copied: usize,
    pub whole: usize,
    pub from: Option<Name>,
    pub rights: Rights,
}

struct State {
    data: VecDeque<u8>,
    /// The messages of a record pipe, oldest first; `None` for a byte stream.
    records: Option<VecDeque<Record>>,
    /// A stream's bytes that came with descriptions, if any wait.
    marks: Option<Box<Marks>>,
    readers: u32,
    writers: u32,
}

impl State {
    /// Bytes charged against the capacity.
    fn used(&self) -> usize {
        self.data.len() + self.records.as_ref().map_or(0, |r| r.len() * RECORD_OVERHEAD)
    }

    /// Takes out every description the pipe holds (for the last reader's close).
    fn drain_rights(&mut self) -> Vec<Rights> {
        let records = self.records.iter_mut().flatten().map(|r| core::mem::take(&mut r.rights));
        let marks = self.marks.take().into_iter().flat_map(|m| m.queue).map(|m| m.rights);
        records.chain(marks).filter(|r| !r.is_empty()).collect()
    }
}

/// The buffer both ends share. It starts a cache line of its own: when the news counters
/// made it 8 bytes longer, a ping-pong of two threads on two vCPUs over two pipes, each
/// waiting in `poll`, went from 0.6-0.9 to 1.1-1.4 µs a round trip, and aligned it is back
/// (docs/benchmarks.md): the two pipes, allocated side by side, most likely shared a line
/// that both cores write.
#[repr(align(64))]
pub struct Pipe {
    state: SpinLock<State>,
    /// Bytes it holds: [`CAPACITY`], or [`RECORD_CAPACITY`] for records.
    capacity: usize,
    /// A datagram socket's inbox: the only [`Pipe`] whose owner may send to it (the inbox of
    /// the socket it is connected to), none for any ([`End::accepts`]). Weak, so that the
    /// peer's pipe stays its own after it is closed: no later pipe takes its address.
    only_from: SpinLock<Option<Weak<Pipe>>>,
    /// A datagram socket's inbox after its owner's `shutdown(SHUT_RD)`: writes fail with
    /// `EPIPE` ([`End::refuse`]).
    refusing: AtomicBool,
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

/// What one look at a pipe under its lock came to ([`End::settle`]).
enum Look<T> {
    /// The call ends with this; the pipe is unchanged.
    Done(Result<T>),
    /// The call ends with this after taking data out: news for the write end.
    Took(T),
    /// The call ends with this after putting data in: news for the read end.
    Put(T),
    /// Data went in and more is to go: look again at once.
    PutSome,
    /// Nothing can be done yet: wait for a change.
    Wait,
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
    with(None, CAPACITY, nonblocking)
}

/// A new pipe of records (messages written and read whole): (read end, write end).
pub fn records() -> (End, End) {
    with(Some(VecDeque::new()), RECORD_CAPACITY, false)
}

fn with(records: Option<VecDeque<Record>>, capacity: usize, nonblocking: bool) -> (End, End) {
    let pipe = Arc::new(Pipe {
        state: SpinLock::new(State { data: VecDeque::new(), records, marks: None, readers: 1, writers: 1 }),
        capacity,
        only_from: SpinLock::new(None),
        refusing: AtomicBool::new(false),
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
        self.take(buf, nonblocking, false, deadline).map(|m| m.copied)
    }

    /// [`End::read_as`] with the descriptions that came with the bytes; `peek` leaves the
    /// bytes in the pipe (a Unix socket's `MSG_PEEK`, which sees the descriptions too).
    pub fn take(&self, buf: &mut [u8], nonblocking: bool, peek: bool, deadline: Option<u64>) -> Result<Message> {
        if buf.is_empty() {
            return Ok(Message::default());
        }
        self.settle(nonblocking, deadline, |state| {
            if state.data.is_empty() {
                return self.ended(state).map_or(Look::Wait, |end| Look::Done(end.map(|()| Message::default())));
            }
            let mut n = buf.len().min(state.data.len());
            let mut rights = Rights::new();
            // The first marked bytes within reach end the read, with their descriptions.
            if let Some(marks) = state.marks.as_deref_mut() {
                let taken = marks.taken;
                if let Some(mark) = marks.queue.front().filter(|m| m.start < taken + n as u64) {
                    n = n.min((mark.end - taken) as usize);
                    rights = if peek { mark.rights.clone() } else { marks.queue.pop_front().expect("a mark").rights };
                }
            }
            let message = Message { copied: n, whole: n, from: None, rights };
            if peek {
                for (dst, src) in buf.iter_mut().zip(state.data.range(..n)) {
                    *dst = *src;
                }
                return Look::Done(Ok(message));
            }
            for (dst, src) in buf.iter_mut().zip(state.data.drain(..n)) {
                *dst = src;
            }
            if let Some(marks) = state.marks.as_deref_mut() {
                marks.taken += n as u64;
                if marks.queue.is_empty() {
                    state.marks = None;
                }
            }
            Look::Took(message)
        })
    }

    /// What a read finds once the data is gone: nothing while a writer is left, else the end
    /// of the stream (`ECONNRESET` once after [`End::reset`]).
    fn ended(&self, state: &State) -> Option<Result<()>> {
        (state.writers == 0)
            .then(|| if self.pipe.reset.swap(false, Ordering::SeqCst) { Err(ECONNRESET) } else { Ok(()) })
    }

    /// Runs `look` under the lock until it comes to an end, publishing what it changed
    /// (news for the other end, a wake-up for every waiter) and sleeping for a change
    /// between looks; a non-blocking end gets `EAGAIN` instead of the sleep.
    fn settle<T>(
        &self,
        nonblocking: bool,
        deadline: Option<u64>,
        mut look: impl FnMut(&mut State) -> Look<T>,
    ) -> Result<T> {
        loop {
            let mut state = self.pipe.state.lock();
            let (news, value) = match look(&mut state) {
                Look::Done(result) => return result,
                Look::Wait if nonblocking => return Err(EAGAIN),
                Look::Wait => {
                    let seen = self.pipe.changes.load(Ordering::SeqCst);
                    drop(state);
                    self.pipe.wait(seen, deadline)?;
                    continue;
                }
                Look::Took(value) => (&self.pipe.read, Some(value)),
                Look::Put(value) => (&self.pipe.written, Some(value)),
                Look::PutSome => (&self.pipe.written, None),
            };
            drop(state);
            news.fetch_add(1, Ordering::SeqCst);
            self.pipe.changed();
            if let Some(value) = value {
                return Ok(value);
            }
        }
    }

    /// Writes all of `buf` (blocking) or what fits (non-blocking).
    pub fn write(&self, buf: &[u8]) -> Result<usize> {
        self.write_as(buf, Rights::new(), self.nonblocking(), None)
    }

    /// [`End::write`], non-blocking or not whatever the end's flag says, waiting at most
    /// until the TSC `deadline` (then what went in, or `EAGAIN`), with `rights` going along
    /// with the bytes that go in (none go with none, and they are dropped).
    pub fn write_as(&self, buf: &[u8], rights: Rights, nonblocking: bool, deadline: Option<u64>) -> Result<usize> {
        if buf.is_empty() {
            return if self.pipe.state.lock().readers == 0 { Err(EPIPE) } else { Ok(0) };
        }
        let mut done = 0;
        let mut rights = Some(rights).filter(|r| !r.is_empty());
        let result = self.settle(nonblocking, deadline, |state| {
            if state.readers == 0 {
                return Look::Done(Err(EPIPE));
            }
            let space = self.pipe.capacity - state.data.len();
            let rest = buf.len() - done;
            // A small write goes in whole or waits.
            let n = if rest <= PIPE_BUF && space < rest { 0 } else { space.min(rest) };
            if n == 0 {
                return Look::Wait;
            }
            if let Some(rights) = rights.take() {
                let marks = state.marks.get_or_insert_with(|| Box::new(Marks { queue: VecDeque::new(), taken: 0 }));
                let start = marks.taken + state.data.len() as u64;
                marks.queue.push_back(Mark { start, end: start + n as u64, rights });
            } else if let Some(marks) = state.marks.as_deref_mut().filter(|_| done > 0) {
                // The rest of a write that came with descriptions.
                let start = marks.taken + state.data.len() as u64;
                if let Some(mark) = marks.queue.back_mut().filter(|m| m.end == start) {
                    mark.end = start + n as u64;
                }
            }
            state.data.extend(&buf[done..done + n]);
            done += n;
            if done == buf.len() {
                Look::Put(done)
            } else {
                Look::PutSome
            }
        });
        // What went in before readers left, a signal, the deadline or a full non-blocking
        // pipe counts as written.
        if result.is_err() && done > 0 {
            Ok(done)
        } else {
            result
        }
    }

    /// Reads the oldest message of a record pipe whole: what `buf` cannot take is dropped,
    /// unless `peek` leaves the message for the next read. Waits for one unless every writer
    /// is gone (then `None`, or `ECONNRESET` once after [`End::reset`]).
    pub fn take_record(
        &self,
        buf: &mut [u8],
        nonblocking: bool,
        peek: bool,
        deadline: Option<u64>,
    ) -> Result<Option<Message>> {
        self.settle(nonblocking, deadline, |state| {
            let records = state.records.as_mut().expect("a record pipe");
            let Some(first) = records.front() else {
                return self.ended(state).map_or(Look::Wait, |end| Look::Done(end.map(|()| None)));
            };
            let whole = first.len;
            let copied = buf.len().min(whole);
            for (dst, src) in buf.iter_mut().zip(state.data.range(..copied)) {
                *dst = *src;
            }
            if peek {
                let (from, rights) = (first.from.clone(), first.rights.clone());
                return Look::Done(Ok(Some(Message { copied, whole, from, rights })));
            }
            let Record { from, rights, .. } = records.pop_front().expect("a record");
            state.data.drain(..whole);
            Look::Took(Some(Message { copied, whole, from, rights }))
        })
    }

    /// Writes `buf` to a record pipe as one message from `from` with `rights`, waiting for
    /// room for all of it: `EMSGSIZE` if it could never fit, `EPIPE` without readers.
    pub fn write_record(
        &self,
        buf: &[u8],
        from: Option<Name>,
        rights: Rights,
        nonblocking: bool,
        deadline: Option<u64>,
    ) -> Result<usize> {
        let needs = buf.len() + RECORD_OVERHEAD;
        if needs > self.pipe.capacity {
            return Err(EMSGSIZE);
        }
        let mut sent = Some((from, rights));
        self.settle(nonblocking, deadline, |state| {
            if state.readers == 0 || self.pipe.refusing.load(Ordering::Relaxed) {
                return Look::Done(Err(EPIPE));
            }
            if state.used() + needs > self.pipe.capacity {
                return Look::Wait;
            }
            state.data.extend(buf);
            let (from, rights) = sent.take().expect("one message");
            let record = Record { len: buf.len(), from, rights };
            state.records.as_mut().expect("a record pipe").push_back(record);
            Look::Put(buf.len())
        })
    }

    /// The length of a record pipe's oldest message, if one waits.
    pub fn next_record(&self) -> Option<usize> {
        self.pipe.state.lock().records.as_ref().and_then(|r| r.front()).map(|r| r.len)
    }

    /// Whether the socket whose inbox is `sender` may send to this inbox: anyone, unless its
    /// owner connected to another socket (Linux's `EPERM` then).
    pub fn accepts(&self, sender: &End) -> bool {
        self.pipe.only_from.lock().as_ref().is_none_or(|only| only.as_ptr() == Arc::as_ptr(&sender.pipe))
    }

    /// Makes further writes fail with `EPIPE` (a datagram socket that shut reading), waking
    /// the writers that wait for room.
    pub fn refuse(&self) {
        {
            let _state = self.pipe.state.lock();
            self.pipe.refusing.store(true, Ordering::Relaxed);
        }
        self.pipe.changed();
    }

    /// Whether [`End::refuse`] was called.
    pub fn refusing(&self) -> bool {
        self.pipe.refusing.load(Ordering::Relaxed)
    }

    /// Takes messages for this inbox from the socket whose inbox is `peer` only, or (none)
    /// from anyone.
    pub fn only_from(&self, peer: Option<&End>) {
        *self.pipe.only_from.lock() = peer.map(|p| Arc::downgrade(&p.pipe));
    }

    /// `poll` readiness: (readable, writable, hang-up). The read end is readable with data
    /// or without writers; the write end writable with `PIPE_BUF` bytes free, or erring
    /// without readers.
    pub fn readiness(&self) -> (bool, bool, bool) {
        let state = self.pipe.state.lock();
        if self.writes {
            (false, state.readers == 0 || self.pipe.capacity - state.used() >= PIPE_BUF, state.readers == 0)
        } else {
            // A record pipe may hold messages of no bytes.
            let waiting = !state.data.is_empty() || state.records.as_ref().is_some_and(|r| !r.is_empty());
            (waiting || state.writers == 0, false, state.writers == 0)
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
        let unread = {
            let mut state = self.pipe.state.lock();
            if self.writes {
                state.writers -= 1;
                self.pipe.written.fetch_add(1, Ordering::SeqCst);
                Vec::new()
            } else {
                state.readers -= 1;
                self.pipe.read.fetch_add(1, Ordering::SeqCst);
                // Nobody will take them: closed now, as Linux closes them with the socket.
                if state.readers == 0 {
                    state.drain_rights()
                } else {
                    Vec::new()
                }
            }
        };
        self.pipe.changed();
        // Outside the lock: closing one may close a host file, or this very pipe's ends.
        drop(unread);
    }
}

// Two cache lines: a third (descriptors' marks inline) made `poll` over 500 pipes about a
// third slower (docs/benchmarks.md).
const _: () = assert!(core::mem::size_of::<Pipe>() <= 128);
