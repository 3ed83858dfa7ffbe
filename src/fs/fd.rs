//! The guest's descriptor table: guest descriptor numbers mapped to open objects (host
//! files or pipe ends), so that `dup`, `dup2`, `F_DUPFD` and close-on-exec work without the
//! host knowing.
//!
//! Objects: host files, pipe ends, sockets, socket pair ends and epoll instances. Duplicates share one
//! [`Object`] (one open file description: offset, status flags,
//! `flock` locks); the host descriptor is closed when the last duplicate is. Numbers start
//! as 0, 1 and 2 for the proxy's standard streams; new descriptors take the lowest free
//! number, below the soft `RLIMIT_NOFILE` ([`set_limit`], at most [`OPEN_MAX`]; `EMFILE`).
//!
//! Sockets share the numbers but carry the original's `LWIP_FD_BIT` ([`LWIP_FD_BIT`]): the
//! socket in slot 5 is descriptor `5 | 1 << 30`, as lwIP's were. Every call accepts a number
//! with or without the bit. With `HERMIT_SOCKET_FD_BIT=0` in the program's environment they
//! are plain numbers ([`set_socket_bit`]): libraries that keep tables indexed by descriptor
//! (libevent's event map, libuv's watchers) ask for a table of 2^30 entries otherwise.

use alloc::ffi::CString;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

use super::offset::{Kind, Offset, Seek, SEEK_SET};
use super::{host, pipe};
use crate::errno::{Result, EBADF, EINVAL, EMFILE};
use crate::synch::spinlock::SpinLock;

/// Most descriptors open at once (`sysconf(_SC_OPEN_MAX)`).
pub const OPEN_MAX: usize = 1024;

/// The bit the original set in socket descriptors (lwIP's `LWIP_FD_BIT`).
pub const LWIP_FD_BIT: i32 = 1 << 30;

/// The soft `RLIMIT_NOFILE`: new descriptors take numbers below it (at most [`OPEN_MAX`]).
static LIMIT: AtomicUsize = AtomicUsize::new(OPEN_MAX);

/// Sets the soft `RLIMIT_NOFILE` (`setrlimit`): descriptors from then on take numbers below
/// `limit` (`EMFILE` when none is free; open ones stay), `F_DUPFD` and `dup2` refuse numbers
/// from `limit` on, as Linux. `EINVAL` above [`OPEN_MAX`].
pub fn set_limit(limit: usize) -> Result<()> {
    if limit > OPEN_MAX {
        return Err(EINVAL);
    }
    LIMIT.store(limit, Ordering::Relaxed);
    Ok(())
}

fn limit() -> usize {
    LIMIT.load(Ordering::Relaxed)
}

/// The table index of descriptor `fd`, with or without [`LWIP_FD_BIT`].
pub fn index(fd: i32) -> Option<usize> {
    usize::try_from(fd & !LWIP_FD_BIT).ok()
}

/// The bit new socket descriptors carry: [`LWIP_FD_BIT`] as in the original, or 0.
static SOCKET_BIT: AtomicI32 = AtomicI32::new(LWIP_FD_BIT);

/// Whether socket descriptors made from now on carry [`LWIP_FD_BIT`] (at boot, from the
/// program's `HERMIT_SOCKET_FD_BIT`: `0` turns it off).
pub fn set_socket_bit(on: bool) {
    SOCKET_BIT.store(if on { LWIP_FD_BIT } else { 0 }, Ordering::Relaxed);
}

/// A host descriptor the guest opened, closed on drop.
pub struct HostFile {
    /// The host's descriptor number.
    pub fd: i32,
    /// The absolute guest path it was opened with (for `fchdir` and `*at` calls).
    pub path: Option<CString>,
    /// Whether it is certainly lockable: opened by the proxy for the guest, not with `O_PATH`
    /// (record locks and `flock` on it fail only for the host's own reasons). The standard
    /// streams are not: what they are is the host's business.
    pub lockable: bool,
    /// The file offset as the guest tracks it ([`super::offset`]). For a regular file the
    /// lock is held across the host call that uses or moves the offset, so reads, writes
    /// and seeks of one open file take turns, as Linux's per-file position lock makes them.
    offset: SpinLock<Offset>,
}

impl HostFile {
    /// A file the guest opened, in append mode or not (its offset is tracked once it is
    /// known to be regular), with `O_PATH` or not.
    pub fn opened(fd: i32, path: CString, append: bool, path_only: bool) -> Self {
        Self { fd, path: Some(path), lockable: !path_only, offset: SpinLock::new(Offset::new(append)) }
    }

    /// One of the proxy's standard streams, whose offset other host processes may share.
    fn standard(fd: i32) -> Self {
        Self { fd, path: None, lockable: false, offset: SpinLock::new(Offset::untracked()) }
    }

    /// `read` at the open file's offset (after the file's shared mappings wrote back their
    /// stores, [`crate::syscalls::mapped`]).
    pub fn read(&self, buf: &mut [u8]) -> Result<usize> {
        // Also before a file's first seek, while its kind is not known yet.
        crate::syscalls::mapped::reading(self.fd);
        let mut offset = self.offset.lock();
        if offset.kind() != Kind::Regular {
            drop(offset);
            return host::read(self.fd, buf);
        }
        let n = match offset.read_at() {
            Some(at) => host::pread(self.fd, buf, at)?,
            None => host::read(self.fd, buf)?,
        };
        offset.advanced(n);
        Ok(n)
    }

    /// `write` at the open file's offset: a host `pwrite` at the guest's offset, or in append
    /// mode a host `write` at the host's (after catching it up). The file's shared mappings
    /// take what was written ([`crate::syscalls::mapped`]).
    pub fn write(&self, buf: &[u8]) -> Result<usize> {
        let mut offset = self.offset.lock();
        if offset.kind() != Kind::Regular {
            // Others (a terminal, a pipe) may block: no lock held.
            drop(offset);
            return self.write_at_host_offset(buf);
        }
        if let Some(at) = offset.write_at() {
            let n = host::pwrite(self.fd, buf, at)?;
            offset.wrote_at(n);
            crate::syscalls::mapped::wrote(self.fd, at as u64, &buf[..n]);
            return Ok(n);
        }
        self.sync(&mut offset)?;
        offset.forget();
        self.write_at_host_offset(buf)
    }

    /// A host `write` at the host descriptor's offset (a file in append mode, or one whose
    /// kind is not known yet); shared mappings of the file take what was written.
    fn write_at_host_offset(&self, buf: &[u8]) -> Result<usize> {
        use crate::syscalls::mapped;
        let n = host::write(self.fd, buf)?;
        if mapped::active() {
            if let Some(at) = mapped::host_write_start(self.fd, n) {
                mapped::wrote(self.fd, at, &buf[..n]);
            }
        }
        Ok(n)
    }

    /// Whether writes go to the end of file (`O_APPEND`).
    pub fn appends(&self) -> bool {
        self.offset.lock().appends()
    }

    /// After `F_SETFL` on the host descriptor: follows its append mode.
    pub fn set_append(&self, append: bool) {
        self.offset.lock().set_append(append);
    }

    /// `lseek(offset, whence)`: the guest's answer for a regular file where it can give one.
    pub fn seek(&self, to: i64, whence: i32) -> Result<i64> {
        let mut offset = self.offset.lock();
        match offset.kind() {
            Kind::Other => {
                drop(offset);
                host::lseek(self.fd, to, whence)
            }
            Kind::Unknown => {
                drop(offset);
                let result = host::lseek(self.fd, to, whence)?;
                // The first successful seek asks once what the file is.
                let regular = host::fstat(self.fd).is_ok_and(|st| super::blksize::is_regular(st.st_mode));
                let mut offset = self.offset.lock();
                if offset.kind() == Kind::Unknown {
                    offset.learn_kind(regular);
                    offset.host_seeked(result);
                }
                Ok(result)
            }
            Kind::Regular => match offset.seek(to, whence)? {
                Seek::Done(at) => Ok(at),
                Seek::Host => {
                    let result = host::lseek(self.fd, to, whence)?;
                    offset.host_seeked(result);
                    Ok(result)
                }
            },
        }
    }

    /// Catches the host descriptor's offset up with the guest's, for a call that uses it.
    pub fn sync_offset(&self) -> Result<()> {
        self.sync(&mut self.offset.lock())
    }

    fn sync(&self, offset: &mut Offset) -> Result<()> {
        if let Some(at) = offset.sync_needed() {
            host::lseek(self.fd, at, SEEK_SET)?;
            offset.synced();
        }
        Ok(())
    }
}

impl Drop for HostFile {
    fn drop(&mut self) {
        let _ = host::close(self.fd);
    }
}

/// What a descriptor refers to.
pub enum Object {
    /// A host file, directory or device.
    Host(HostFile),
    /// One end of a pipe inside the guest.
    Pipe(pipe::End),
    /// A socket.
    Socket(crate::net::socket::Socket),
    /// An `AF_UNIX` stream socket: a socket pair's end, or one made by `socket` ([`super::unix`]).
    Unix(super::unix::UnixSocket),
    /// An epoll instance ([`crate::net::epoll`]).
    Epoll(Arc<crate::net::epoll::Epoll>),
}

struct Slot {
    object: Arc<Object>,
    cloexec: bool,
}

static TABLE: SpinLock<Vec<Option<Slot>>> = SpinLock::new(Vec::new());

/// Runs `f` on the table, with the standard streams in place the first time.
fn with_table<R>(f: impl FnOnce(&mut Vec<Option<Slot>>) -> R) -> R {
    let mut table = TABLE.lock();
    if table.is_empty() {
        for fd in 0..3 {
            let object = Arc::new(Object::Host(HostFile::standard(fd)));
            table.push(Some(Slot { object, cloexec: false }));
        }
    }
    f(&mut table)
}

/// The object behind descriptor `fd`; `EBADF` if it is not open.
pub fn get(fd: i32) -> Result<Arc<Object>> {
    with_table(|t| slot(t, fd).map(|s| s.object.clone()))
}

fn slot(table: &[Option<Slot>], fd: i32) -> Result<&Slot> {
    index(fd).and_then(|i| table.get(i)).and_then(Option::as_ref).ok_or(EBADF)
}

/// The host descriptor behind `fd`; `EINVAL` for a pipe (`not_host`), `EBADF` if not open.
pub fn host_fd(fd: i32, not_host: crate::errno::Errno) -> Result<(Arc<Object>, i32)> {
    let object = get(fd)?;
    match &*object {
        Object::Host(h) => {
            let raw = h.fd;
            Ok((object, raw))
        }
        Object::Pipe(_) | Object::Socket(_) | Object::Unix(_) | Object::Epoll(_) => Err(not_host),
    }
}

/// Enters `object` at the lowest free number `>= min`.
pub fn insert(object: Object, cloexec: bool, min: usize) -> Result<i32> {
    share(Arc::new(object), cloexec, min)
}

/// Enters an open `object` (one passed over a Unix socket) at the lowest free number.
pub fn insert_shared(object: Arc<Object>, cloexec: bool) -> Result<i32> {
    share(object, cloexec, 0)
}

fn share(object: Arc<Object>, cloexec: bool, min: usize) -> Result<i32> {
    let bit = if matches!(*object, Object::Socket(_)) { SOCKET_BIT.load(Ordering::Relaxed) } else { 0 };
    let slot = Slot { object, cloexec };
    let leftover = with_table(|t| {
        let free = (min..limit()).find(|&i| t.get(i).is_none_or(Option::is_none));
        let Some(i) = free else { return Err(slot) };
        if t.len() <= i {
            t.resize_with(i + 1, || None);
        }
        t[i] = Some(slot);
        Ok(i as i32 | bit)
    });
    // A refused object is dropped here, outside the lock (dropping may call the host).
    leftover.map_err(|_| EMFILE)
}

/// Closes `fd`.
pub fn close(fd: i32) -> Result<()> {
    let slot = with_table(|t| index(fd).and_then(|i| t.get_mut(i)).and_then(Option::take));
    // The last reference closes the object here, outside the lock.
    slot.map(drop).ok_or(EBADF)
}

/// `dup`/`F_DUPFD`: a new number `>= min` for `fd`'s object.
pub fn dup(fd: i32, min: usize, cloexec: bool) -> Result<i32> {
    if min >= limit() {
        return Err(EINVAL);
    }
    share(get(fd)?, cloexec, min)
}

/// `dup2`/`dup3`: `new` refers to `old`'s object (a previous `new` is closed).
pub fn dup_to(old: i32, new: i32, cloexec: bool) -> Result<i32> {
    let object = get(old)?;
    let index = index(new).filter(|&i| i < limit()).ok_or(EBADF)?;
    let previous = with_table(|t| {
        if t.len() <= index {
            t.resize_with(index + 1, || None);
        }
        t[index].replace(Slot { object, cloexec })
    });
    drop(previous);
    Ok(new)
}

/// The close-on-exec flag of `fd`.
pub fn cloexec(fd: i32) -> Result<bool> {
    with_table(|t| slot(t, fd).map(|s| s.cloexec))
}

/// Sets the close-on-exec flag of `fd`.
pub fn set_cloexec(fd: i32, on: bool) -> Result<()> {
    with_table(|t| {
        let slot = index(fd).and_then(|i| t.get_mut(i)).and_then(Option::as_mut).ok_or(EBADF)?;
        slot.cloexec = on;
        Ok(())
    })
}
