//! The names of `AF_UNIX` sockets: the guest's table of bound paths and abstract names, each
//! with the connections that wait for `accept`.
//!
//! A path name lives in this table only: `bind` makes no file on the host, and a name is
//! found by its absolute path (relative ones below the current directory). As a socket file
//! on Linux, a bound path stays taken after its socket is closed (`bind` gets `EADDRINUSE`,
//! `connect` `ECONNREFUSED`) until `unlink` removes it; unlinking it while the socket lives
//! leaves the listener its connections and gives it no new ones. Unlike Linux, `stat` and
//! `access` do not see the name. Abstract names (a first byte 0) are Linux's: free again
//! once their socket is closed.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::ffi::CStr;
use core::sync::atomic::{AtomicU32, Ordering};

use super::addr::Name;
use super::{Kind, UnixSocket};
use crate::errno::{Result, EADDRINUSE, ECONNREFUSED, EINTR, EINVAL, ENOENT, EPROTOTYPE};
use crate::fs::pipe::End;
use crate::synch::futex;
use crate::synch::spinlock::SpinLock;

/// The most connections a listener holds (Linux's default `somaxconn`).
const MAX_BACKLOG: usize = 4096;

/// A bound name and, once its socket listens, the connections waiting for `accept`.
pub struct Binding {
    name: Name,
    /// The type of the socket bound (`connect` and `sendto` want their own).
    kind: Kind,
    /// A datagram socket's inbox (its write end), while the socket lives.
    inbox: Weak<End>,
    /// What the table knows the name by: the absolute path, or the abstract name.
    key: Vec<u8>,
    /// `None` until `listen`, and again once the listening socket is closed.
    queue: SpinLock<Option<Queue>>,
    /// Bumped on every change to the queue; `accept` and a `connect` waiting for room
    /// sleep on it, and edge-triggered epoll entries count it.
    changes: AtomicU32,
}

struct Queue {
    backlog: usize,
    waiting: VecDeque<UnixSocket>,
}

/// The bound names (an abstract one leaves the table when its socket is closed, a path when
/// it is unlinked).
static NAMES: SpinLock<BTreeMap<Vec<u8>, Weak<Binding>>> = SpinLock::new(BTreeMap::new());

/// Autobind's counter (Linux's five hex digits of an abstract name).
static AUTOBIND: AtomicU32 = AtomicU32::new(0);

/// The table's key of `name`: a path made absolute, an abstract name as it is.
fn key(name: &[u8]) -> Result<Vec<u8>> {
    if name.first() == Some(&0) {
        return Ok(name.to_vec());
    }
    let mut path = name.to_vec();
    path.push(0);
    let path = CStr::from_bytes_with_nul(&path).map_err(|_| EINVAL)?;
    Ok(crate::fs::cwd::absolute(path)?.to_bytes().to_vec())
}

/// Binds `name` (an empty one: a fresh abstract name) for a socket of type `kind` (a
/// datagram socket's with its `inbox`); `EADDRINUSE` if it is taken.
pub fn bind(name: &[u8], kind: Kind, inbox: Option<Weak<End>>) -> Result<Arc<Binding>> {
    let inbox = inbox.unwrap_or_default();
    if name.is_empty() {
        return autobind(kind, inbox);
    }
    let key = key(name)?;
    let mut names = NAMES.lock();
    if names.contains_key(&key) {
        return Err(EADDRINUSE);
    }
    let binding = Arc::new(Binding {
        name: name.to_vec(),
        kind,
        inbox,
        key: key.clone(),
        queue: SpinLock::new(None),
        changes: AtomicU32::new(0),
    });
    names.insert(key, Arc::downgrade(&binding));
    Ok(binding)
}

fn autobind(kind: Kind, inbox: Weak<End>) -> Result<Arc<Binding>> {
    loop {
        let n = AUTOBIND.fetch_add(1, Ordering::Relaxed) & 0xfffff;
        let name = alloc::format!("\0{n:05x}").into_bytes();
        match bind(&name, kind, Some(inbox.clone())) {
            Err(EADDRINUSE) => continue,
            other => return other,
        }
    }
}

/// Whether `name` is bound (`bind` gives `EADDRINUSE` for it).
pub fn taken(name: &[u8]) -> bool {
    key(name).is_ok_and(|key| NAMES.lock().contains_key(&key))
}

/// Removes a bound path (`unlink`); whether there was one.
pub fn unlink(path: &CStr) -> bool {
    // A `CStr` holds no 0 byte: always a path (an empty one has no key).
    let Ok(key) = key(path.to_bytes()) else { return false };
    NAMES.lock().remove(&key).is_some()
}

/// The socket bound to `name`: `ENOENT` for a path nobody bound, `ECONNREFUSED` for such an
/// abstract name or a path whose socket is closed.
pub fn find(name: &[u8]) -> Result<Arc<Binding>> {
    let missing = if name.first() == Some(&0) { ECONNREFUSED } else { ENOENT };
    let key = key(name)?;
    let names = NAMES.lock();
    let entry = names.get(&key).ok_or(missing)?;
    entry.upgrade().ok_or(ECONNREFUSED)
}

impl Binding {
    /// The name as it was bound.
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// The type of the socket bound.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// A datagram socket's inbox: `EPROTOTYPE` for a socket of another type, `ECONNREFUSED`
    /// once it is closed.
    pub fn inbox(&self) -> Result<Arc<End>> {
        if self.kind != Kind::Datagram {
            return Err(EPROTOTYPE);
        }
        self.inbox.upgrade().ok_or(ECONNREFUSED)
    }

    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        futex::wake(&self.changes, usize::MAX);
        crate::net::poll::changed();
    }

    /// Starts or resizes the queue (`listen`).
    pub fn listen(&self, backlog: i32) {
        let backlog = usize::try_from(backlog).unwrap_or(0).min(MAX_BACKLOG);
        let mut queue = self.queue.lock();
        match queue.as_mut() {
            Some(q) => q.backlog = backlog,
            None => *queue = Some(Queue { backlog, waiting: VecDeque::new() }),
        }
        drop(queue);
        self.changed();
    }

    /// Ends listening: the waiting connections are dropped (their clients' reads past the
    /// data fail with `ECONNRESET`, as Linux's).
    pub fn close(&self) {
        let queue = self.queue.lock().take();
        for conn in queue.iter().flat_map(|q| q.waiting.iter()) {
            conn.reset_peer();
        }
        drop(queue);
        self.changed();
    }

    /// Queues `server`, the listener's end of a new connection; with a full queue waits for
    /// room, or `EAGAIN` when `nonblocking` (as Linux); `ECONNREFUSED` when not listening.
    pub fn offer(&self, server: UnixSocket, nonblocking: bool) -> Result<()> {
        loop {
            let seen = {
                let mut queue = self.queue.lock();
                let q = queue.as_mut().ok_or(ECONNREFUSED)?;
                // Linux takes one beyond the backlog.
                if q.waiting.len() <= q.backlog {
                    q.waiting.push_back(server);
                    drop(queue);
                    self.changed();
                    return Ok(());
                }
                if nonblocking {
                    return Err(crate::errno::EAGAIN);
                }
                self.changes.load(Ordering::SeqCst)
            };
            self.wait(seen)?;
        }
    }

    /// The next waiting connection; waits for one unless `nonblocking` (`EAGAIN`).
    pub fn take(&self, nonblocking: bool) -> Result<UnixSocket> {
        loop {
            let seen = {
                let mut queue = self.queue.lock();
                let q = queue.as_mut().ok_or(EINVAL)?;
                if let Some(conn) = q.waiting.pop_front() {
                    drop(queue);
                    self.changed();
                    return Ok(conn);
                }
                if nonblocking {
                    return Err(crate::errno::EAGAIN);
                }
                self.changes.load(Ordering::SeqCst)
            };
            self.wait(seen)?;
        }
    }

    /// Sleeps until the queue changes after `seen`; `EINTR` for a signal, except after
    /// handlers that restart calls (`connect` and `accept` are restarted on Linux).
    fn wait(&self, seen: u32) -> Result<()> {
        match futex::wait_restarting(&self.changes, seen, None) {
            Err(EINTR) => Err(EINTR),
            _ => Ok(()),
        }
    }

    /// Whether a connection waits (`poll`'s readable for the listener).
    pub fn pending(&self) -> bool {
        self.queue.lock().as_ref().is_some_and(|q| !q.waiting.is_empty())
    }

    /// Changes so far (an edge-triggered epoll entry reports again for each).
    pub fn news(&self) -> u32 {
        self.changes.load(Ordering::SeqCst)
    }
}

impl Drop for Binding {
    /// An abstract name is free again; a path stays taken until unlinked.
    fn drop(&mut self) {
        if self.key.first() != Some(&0) {
            return;
        }
        let mut names = NAMES.lock();
        if names.get(&self.key).is_some_and(|b| core::ptr::eq(b.as_ptr(), self)) {
            names.remove(&self.key);
        }
    }
}
