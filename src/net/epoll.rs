//! epoll instances: a set of watched open objects (sockets, pipe ends, host files, other
//! instances), each with the events it asks for and its user data, and `epoll_wait` over
//! them.
//!
//! An entry holds its object weakly and is keyed, as on Linux, by descriptor number and
//! open object: it lasts until `EPOLL_CTL_DEL` or until the object's last descriptor is
//! closed (a duplicate keeps it alive, as Linux's open file description does). Waiting
//! scans every entry with the readiness `poll` uses ([`super::poll::state`]) and sleeps as
//! `poll` does between scans; there are no wait queues per object. A scan walks the
//! entries in place under the stack's lock and then the instance's (the order `poll` on a
//! nested instance takes them in; under the instance's alone if no entry is a socket or an
//! instance, which then does not poll the stack either), reports as it goes and allocates
//! nothing in the steady state. A pipe end whose pipe has not changed since its last look
//! (the pipe's change count) is not asked again: an idle pipe costs a load of that count.
//! Other objects are asked every scan. Making idle entries cost nothing would take a ready
//! list fed by the objects, as Linux's wait queues feed it (see ARCHITECTURE.md).
//!
//! Level-triggered entries are reported while ready. `EPOLLONESHOT` disables an entry after
//! one report until `EPOLL_CTL_MOD`. An `EPOLLET` entry is reported when it shows an event
//! it did not show at its last report, or when the object has news since: for a pipe end
//! any write to it (read end) or read from it (write end), for a socket pair's end both, as
//! Linux reports every arrival;
//! for a socket only a call on it that returned `EAGAIN` since (the program drained it),
//! so new data that arrives while a socket is still readable from earlier data is not
//! reported again, which Linux would do. A program that reads until `EAGAIN`, as
//! edge-triggered programs must, sees no difference.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use super::poll::{self, State};
use crate::errno::{Result, EEXIST, EINVAL, ELOOP, ENOENT};
use crate::fs::fd::Object;
use crate::fs::pipe::Pipe;
use crate::synch::spinlock::SpinLock;

/// `EPOLLIN` (Linux's values throughout).
pub const EPOLLIN: u32 = 0x001;
/// `EPOLLPRI` (accepted, never reported).
pub const EPOLLPRI: u32 = 0x002;
/// `EPOLLOUT`.
pub const EPOLLOUT: u32 = 0x004;
/// `EPOLLERR` (always reported).
pub const EPOLLERR: u32 = 0x008;
/// `EPOLLHUP` (always reported).
pub const EPOLLHUP: u32 = 0x010;
/// `EPOLLRDNORM`.
pub const EPOLLRDNORM: u32 = 0x040;
/// `EPOLLRDBAND` (accepted, never reported).
pub const EPOLLRDBAND: u32 = 0x080;
/// `EPOLLWRNORM`.
pub const EPOLLWRNORM: u32 = 0x100;
/// `EPOLLWRBAND` (accepted, never reported).
pub const EPOLLWRBAND: u32 = 0x200;
/// `EPOLLMSG` (accepted, never reported).
pub const EPOLLMSG: u32 = 0x400;
/// `EPOLLRDHUP`: the TCP peer shut down its writing.
pub const EPOLLRDHUP: u32 = 0x2000;
/// `EPOLLEXCLUSIVE` (accepted: every waiter is woken anyway).
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
/// `EPOLLWAKEUP` (accepted, meaningless here).
pub const EPOLLWAKEUP: u32 = 1 << 29;
/// `EPOLLONESHOT`.
pub const EPOLLONESHOT: u32 = 1 << 30;
/// `EPOLLET`.
pub const EPOLLET: u32 = 1 << 31;

/// Every flag `epoll_ctl` accepts.
const KNOWN: u32 = EPOLLIN
    | EPOLLPRI
    | EPOLLOUT
    | EPOLLERR
    | EPOLLHUP
    | EPOLLRDNORM
    | EPOLLRDBAND
    | EPOLLWRNORM
    | EPOLLWRBAND
    | EPOLLMSG
    | EPOLLRDHUP
    | EPOLLEXCLUSIVE
    | EPOLLWAKEUP
    | EPOLLONESHOT
    | EPOLLET;

/// Nested instances deeper than this are not looked into (Linux's `EPOLL_MAX_NESTS`).
const MAX_NESTS: usize = 4;

struct Entry {
    fd: usize,
    object: Weak<Object>,
    /// A socket or an epoll instance: asked about under the stack's lock.
    stacked: bool,
    /// A pipe end's buffer: while its [`Pipe::stamp`] is that of `seen`, the end shows what
    /// `seen` says, and a scan looks no further (an idle pipe costs two loads).
    pipe: Option<Arc<Pipe>>,
    events: u32,
    data: u64,
    /// The events of the last report (edge-triggered entries).
    reported: u32,
    /// The object's news count at the last report ([`news`]).
    news: u32,
    /// A one-shot entry was reported and waits for `EPOLL_CTL_MOD`.
    disabled: bool,
    /// What the last look at a pipe end found.
    seen: Option<Seen>,
}

/// A pipe end's state and news count, and its pipe's change count when they were read.
#[derive(Clone, Copy)]
struct Seen {
    stamp: u32,
    state: State,
    news: u32,
}

/// An instance's lock-protected part.
#[derive(Default)]
struct Inner {
    entries: Vec<Entry>,
    /// How many entries are [`Entry::stacked`]: without any, a wait scans without the
    /// stack's lock (and does not poll the stack).
    stacked: usize,
    /// The vector of a wait's [`poll::Keep`] beyond its inline objects, kept empty between
    /// scans so that a scan of many sockets allocates nothing.
    spare: Vec<Arc<Object>>,
    /// Where the next scan starts: after the last entry a scan that stopped at `maxevents`
    /// reported, so that ready entries take turns (as Linux's ready list rotates).
    next: usize,
}

/// An epoll instance.
pub struct Epoll {
    inner: SpinLock<Inner>,
}

/// The events of `state` that an entry asking for `events` reports.
fn mask(state: State, events: u32) -> u32 {
    let mut out = 0;
    if state.readable {
        out |= events & (EPOLLIN | EPOLLRDNORM);
    }
    if state.writable {
        out |= events & (EPOLLOUT | EPOLLWRNORM);
    }
    if state.rdhup {
        out |= events & EPOLLRDHUP;
    }
    if state.hangup {
        out |= EPOLLHUP;
    }
    if state.error {
        out |= EPOLLERR;
    }
    out
}

/// A count that moves when `object` has news an edge-triggered entry reports again.
fn news(object: &Object) -> u32 {
    match object {
        Object::Pipe(p) => p.news(),
        Object::Unix(p) => p.news(),
        Object::Socket(s) => s.would_block.load(Ordering::SeqCst),
        Object::Host(_) | Object::Epoll(_) => 0,
    }
}

impl Default for Epoll {
    fn default() -> Self {
        Self::new()
    }
}

impl Entry {
    /// The object's state and news count: from the last look if the entry is a pipe end
    /// whose pipe has not changed since, else asked of the object, which goes to `keep` (to
    /// be dropped after the stack's lock); `None` once the object's last descriptor closed.
    fn look(&mut self, stack: Option<&mut super::Stack>, keep: &mut poll::Keep) -> Option<(State, u32)> {
        // Loaded before the state is read: a change while it is read moves it on. Closing
        // the end's last descriptor moves it too, so an unchanged count also means alive.
        let stamp = self.pipe.as_ref().map(|p| p.stamp());
        if let (Some(stamp), Some(seen)) = (stamp, self.seen) {
            if seen.stamp == stamp {
                return Some((seen.state, seen.news));
            }
        }
        let object = self.object.upgrade()?;
        let state = match stack {
            Some(stack) => poll::state(stack, &object, keep),
            // Not reached for a stacked entry: an instance with one scans under the stack.
            None => poll::state_local(&object).unwrap_or_default(),
        };
        let news = news(&object);
        self.seen = stamp.map(|stamp| Seen { stamp, state, news });
        keep.push(object);
        Some((state, news))
    }

    /// The events to report for an object showing `state` with news count `news`, if any,
    /// updating the edge-triggered and one-shot records.
    fn report(&mut self, state: State, news: u32) -> Option<u32> {
        let now = mask(state, self.events);
        if self.events & EPOLLET != 0 {
            let fresh = now & !self.reported != 0 || (now != 0 && news != self.news);
            self.reported = now;
            self.news = news;
            if !fresh {
                return None;
            }
        } else if now == 0 {
            return None;
        }
        if self.events & EPOLLONESHOT != 0 {
            self.disabled = true;
        }
        Some(now)
    }
}

impl Epoll {
    /// An empty instance.
    pub const fn new() -> Self {
        Self { inner: SpinLock::new(Inner { entries: Vec::new(), stacked: 0, spare: Vec::new(), next: 0 }) }
    }

    /// `EPOLL_CTL_ADD`: watches `object` as descriptor `fd`. `EEXIST` if it is watched
    /// already, `EINVAL` for this instance itself, `ELOOP` for an instance that watches
    /// this one (or nests too deep).
    pub fn add(self: &Arc<Self>, fd: usize, object: &Arc<Object>, events: u32, data: u64) -> Result<()> {
        if events & !KNOWN != 0 {
            return Err(EINVAL);
        }
        if let Object::Epoll(other) = &**object {
            if Arc::ptr_eq(other, self) {
                return Err(EINVAL);
            }
            if other.reaches(self, 1) {
                return Err(ELOOP);
            }
        }
        let pipe = match &**object {
            Object::Pipe(end) => Some(end.buffer()),
            _ => None,
        };
        let stacked = matches!(**object, Object::Socket(_) | Object::Epoll(_));
        let mut inner = self.inner.lock();
        inner.forget_closed();
        if inner.entries.iter().any(|e| e.fd == fd && e.object.ptr_eq(&Arc::downgrade(object))) {
            return Err(EEXIST);
        }
        inner.stacked += usize::from(stacked);
        inner.entries.push(Entry {
            fd,
            object: Arc::downgrade(object),
            stacked,
            pipe,
            events,
            data,
            reported: 0,
            news: 0,
            disabled: false,
            seen: None,
        });
        drop(inner);
        // A waiter of this instance scans again.
        super::notify();
        Ok(())
    }

    /// `EPOLL_CTL_MOD`: new events and data for the entry of `fd` and `object` (re-arming
    /// a one-shot or edge-triggered one); `ENOENT` if there is none.
    pub fn modify(&self, fd: usize, object: &Arc<Object>, events: u32, data: u64) -> Result<()> {
        if events & !KNOWN != 0 {
            return Err(EINVAL);
        }
        let mut inner = self.inner.lock();
        let weak = Arc::downgrade(object);
        let entry = inner.entries.iter_mut().find(|e| e.fd == fd && e.object.ptr_eq(&weak)).ok_or(ENOENT)?;
        entry.events = events;
        entry.data = data;
        entry.reported = 0;
        entry.disabled = false;
        drop(inner);
        super::notify();
        Ok(())
    }

    /// `EPOLL_CTL_DEL`: forgets the entry of `fd` and `object`; `ENOENT` if there is none.
    pub fn delete(&self, fd: usize, object: &Arc<Object>) -> Result<()> {
        let mut inner = self.inner.lock();
        let weak = Arc::downgrade(object);
        let at = inner.entries.iter().position(|e| e.fd == fd && e.object.ptr_eq(&weak)).ok_or(ENOENT)?;
        let entry = inner.entries.swap_remove(at);
        inner.stacked -= usize::from(entry.stacked);
        Ok(())
    }

    /// Whether `target` is this instance or one it watches, `depth` levels down (too deep
    /// counts as reaching it).
    fn reaches(&self, target: &Arc<Self>, depth: usize) -> bool {
        if core::ptr::eq(self, Arc::as_ptr(target)) || depth > MAX_NESTS {
            return true;
        }
        let nested: Vec<Arc<Object>> = self
            .inner
            .lock()
            .entries
            .iter()
            .filter_map(|e| e.object.upgrade())
            .filter(|o| matches!(**o, Object::Epoll(_)))
            .collect();
        nested.iter().any(|o| matches!(&**o, Object::Epoll(e) if e.reaches(target, depth + 1)))
    }

    /// Whether a wait would report something now (for `poll` on the instance, and nested
    /// instances): level-triggered readiness of an enabled entry. Takes the instance's lock
    /// under the stack's, as every scan does.
    pub fn any_ready(&self, stack: &mut super::Stack, keep: &mut poll::Keep) -> bool {
        let mut inner = self.inner.lock();
        inner.forget_closed();
        inner
            .entries
            .iter_mut()
            .filter(|e| !e.disabled)
            .any(|e| e.look(Some(&mut *stack), keep).is_some_and(|(state, _)| mask(state, e.events) != 0))
    }

    /// `epoll_wait`: gives up to `max` (index, events, data) to `put` and returns their
    /// number, waiting up to `timeout_ns` (`None`: forever, `Some(0)`: not at all) for one;
    /// `EINTR` once a signal handler ran. A scan looks at the entries in place (under the
    /// stack's lock and then the instance's if an entry is a socket or an instance, else
    /// under the instance's alone) and allocates nothing once the instance's spare vector
    /// has room for the objects it holds.
    pub fn wait(&self, max: usize, timeout_ns: Option<u64>, mut put: impl FnMut(usize, u32, u64)) -> Result<usize> {
        poll::wait_for(timeout_ns, || {
            let mut keep = poll::Keep::default();
            let local = {
                let mut inner = self.inner.lock();
                (inner.stacked == 0).then(|| inner.scan(None, max, &mut keep, &mut put))
            };
            let (count, delay) = match local {
                Some(count) => (count, None),
                None => super::with_stack(|stack| self.inner.lock().scan(Some(stack), max, &mut keep, &mut put)),
            };
            // Dropped here, after the stack's lock: a last reference may close a socket.
            let spare = keep.release();
            if spare.capacity() > 0 {
                self.inner.lock().spare = spare;
            }
            (count, delay)
        })
    }
}

impl Inner {
    /// Drops the entries whose object's last descriptor closed.
    fn forget_closed(&mut self) {
        let mut gone = 0;
        self.entries.retain(|e| {
            let alive = e.object.strong_count() > 0;
            gone += usize::from(!alive && e.stacked);
            alive
        });
        self.stacked -= gone;
    }

    /// One scan: gives up to `max` entries to report to `put` and returns their number;
    /// the objects it asked go to `keep`. `stack` is needed if an entry is stacked. It
    /// starts where the last scan that reached `max` stopped and wraps around.
    fn scan(
        &mut self,
        mut stack: Option<&mut super::Stack>,
        max: usize,
        keep: &mut poll::Keep,
        put: &mut impl FnMut(usize, u32, u64),
    ) -> usize {
        keep.lend(core::mem::take(&mut self.spare));
        let (mut count, mut dead) = (0, false);
        let len = self.entries.len();
        let start = if self.next < len { self.next } else { 0 };
        for at in (start..len).chain(0..start) {
            if count >= max {
                self.next = at;
                break;
            }
            let entry = &mut self.entries[at];
            if entry.disabled {
                dead |= entry.object.strong_count() == 0;
                continue;
            }
            let Some((state, news)) = entry.look(stack.as_deref_mut(), keep) else {
                dead = true;
                continue;
            };
            if let Some(events) = entry.report(state, news) {
                put(count, events, entry.data);
                count += 1;
            }
        }
        // Entries of closed objects go once a scan meets one (and at the next add).
        if dead {
            self.forget_closed();
        }
        count
    }
}
