//! epoll instances: a set of watched open objects (sockets, pipe ends, host files, other
//! instances), each with the events it asks for and its user data, and `epoll_wait` over
//! them.
//!
//! An entry holds its object weakly and is keyed, as on Linux, by descriptor number and
//! open object: it lasts until `EPOLL_CTL_DEL` or until the object's last descriptor is
//! closed (a duplicate keeps it alive, as Linux's open file description does). Waiting
//! scans every entry with the readiness `poll` uses ([`super::poll::state`]) and sleeps as
//! `poll` does between scans; there are no wait queues per object.
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
use core::sync::atomic::{AtomicU64, Ordering};

use super::poll::{self, State};
use crate::errno::{Result, EEXIST, EINVAL, ELOOP, ENOENT};
use crate::fs::fd::Object;
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

/// Numbers entries so a wait can find them again after scanning without the lock.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

struct Entry {
    id: u64,
    fd: usize,
    object: Weak<Object>,
    events: u32,
    data: u64,
    /// The events of the last report (edge-triggered entries).
    reported: u32,
    /// The object's news count at the last report ([`news`]).
    news: u32,
    /// A one-shot entry was reported and waits for `EPOLL_CTL_MOD`.
    disabled: bool,
}

/// An epoll instance.
pub struct Epoll {
    entries: SpinLock<Vec<Entry>>,
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
        Object::Pair(p) => p.news(),
        Object::Socket(s) => s.would_block.load(Ordering::SeqCst),
        Object::Host(_) | Object::Epoll(_) => 0,
    }
}

impl Default for Epoll {
    fn default() -> Self {
        Self::new()
    }
}

impl Epoll {
    /// An empty instance.
    pub const fn new() -> Self {
        Self { entries: SpinLock::new(Vec::new()) }
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
        let mut entries = self.entries.lock();
        entries.retain(|e| e.object.strong_count() > 0);
        if entries.iter().any(|e| e.fd == fd && e.object.ptr_eq(&Arc::downgrade(object))) {
            return Err(EEXIST);
        }
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        entries.push(Entry {
            id,
            fd,
            object: Arc::downgrade(object),
            events,
            data,
            reported: 0,
            news: 0,
            disabled: false,
        });
        drop(entries);
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
        let mut entries = self.entries.lock();
        let weak = Arc::downgrade(object);
        let entry = entries.iter_mut().find(|e| e.fd == fd && e.object.ptr_eq(&weak)).ok_or(ENOENT)?;
        entry.events = events;
        entry.data = data;
        entry.reported = 0;
        entry.disabled = false;
        drop(entries);
        super::notify();
        Ok(())
    }

    /// `EPOLL_CTL_DEL`: forgets the entry of `fd` and `object`; `ENOENT` if there is none.
    pub fn delete(&self, fd: usize, object: &Arc<Object>) -> Result<()> {
        let mut entries = self.entries.lock();
        let weak = Arc::downgrade(object);
        let at = entries.iter().position(|e| e.fd == fd && e.object.ptr_eq(&weak)).ok_or(ENOENT)?;
        entries.swap_remove(at);
        Ok(())
    }

    /// Whether `target` is this instance or one it watches, `depth` levels down (too deep
    /// counts as reaching it).
    fn reaches(&self, target: &Arc<Self>, depth: usize) -> bool {
        if core::ptr::eq(self, Arc::as_ptr(target)) || depth > MAX_NESTS {
            return true;
        }
        let nested: Vec<Arc<Object>> = self
            .entries
            .lock()
            .iter()
            .filter_map(|e| e.object.upgrade())
            .filter(|o| matches!(**o, Object::Epoll(_)))
            .collect();
        nested.iter().any(|o| matches!(&**o, Object::Epoll(e) if e.reaches(target, depth + 1)))
    }

    /// The live entries' ids, objects and events (dead ones are dropped here).
    fn snapshot(&self) -> Vec<(u64, Arc<Object>, u32)> {
        let mut entries = self.entries.lock();
        entries.retain(|e| e.object.strong_count() > 0);
        entries.iter().filter(|e| !e.disabled).filter_map(|e| Some((e.id, e.object.upgrade()?, e.events))).collect()
    }

    /// Whether a wait would report something now (for `poll` on the instance, and nested
    /// instances): level-triggered readiness of an enabled entry.
    pub fn any_ready(&self, stack: &mut super::Stack, keep: &mut poll::Keep) -> bool {
        let snapshot = self.snapshot();
        let ready = snapshot.iter().any(|(_, object, events)| mask(poll::state(stack, object, keep), *events) != 0);
        for (_, object, _) in snapshot {
            keep.push(object);
        }
        ready
    }

    /// `epoll_wait`: up to `max` (events, data) pairs, waiting up to `timeout_ns` (`None`:
    /// forever, `Some(0)`: not at all) for one; `EINTR` once a signal handler ran.
    pub fn wait(&self, max: usize, timeout_ns: Option<u64>) -> Result<Vec<(u32, u64)>> {
        let mut out = Vec::new();
        poll::wait_for(timeout_ns, || {
            let snapshot = self.snapshot();
            let mut keep = poll::Keep::default();
            let (states, delay) = super::with_stack(|stack| {
                snapshot.iter().map(|(_, object, _)| poll::state(stack, object, &mut keep)).collect::<Vec<_>>()
            });
            self.report(&snapshot, &states, max, &mut out);
            // Dropped here, after the stack's lock: a last reference may close a socket.
            drop(keep);
            drop(snapshot);
            (out.len(), delay)
        })?;
        Ok(out)
    }

    /// Picks the entries to report from one scan and updates their edge and one-shot
    /// records.
    fn report(&self, snapshot: &[(u64, Arc<Object>, u32)], states: &[State], max: usize, out: &mut Vec<(u32, u64)>) {
        let mut entries = self.entries.lock();
        for ((id, object, _), state) in snapshot.iter().zip(states) {
            if out.len() >= max {
                break;
            }
            // Changed or deleted by another thread meanwhile: the next scan sees it.
            let Some(entry) = entries.iter_mut().find(|e| e.id == *id) else { continue };
            if entry.disabled {
                continue;
            }
            let now = mask(*state, entry.events);
            let news = news(object);
            if entry.events & EPOLLET != 0 {
                let fresh = now & !entry.reported != 0 || (now != 0 && news != entry.news);
                entry.reported = now;
                entry.news = news;
                if !fresh {
                    continue;
                }
            } else if now == 0 {
                continue;
            }
            if entry.events & EPOLLONESHOT != 0 {
                entry.disabled = true;
            }
            out.push((now, entry.data));
        }
    }
}
