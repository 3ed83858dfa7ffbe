//! Descriptor calls beyond uhyve's: `dup`, `dup3`, `fcntl`, `flock`, `pipe2`, `pread`,
//! `pwrite`, `fsync`, `fdatasync`, `ftruncate`, `getdents64`, `fchmod`, `fchown`,
//! `futimens`, `fchdir` and the terminal size. Constants and structs are Linux's; the C
//! library translates newlib's. Host work goes through the `FILEOP` extension hypercall
//! (`-ENOSYS` under the original uhyve); `dup`, close-on-exec and pipes are the guest's own.

use core::ffi::{c_char, c_int};

use hermit_interface::hypercall::{file_op, FileOp};

use super::ptr::{bytes, bytes_mut, out, ret_int, ret_isize};
use super::types::{off_t, ssize_t};
use crate::errno::{Errno, Result, EACCES, EAGAIN, EBADF, EINVAL, ENOTDIR, ESPIPE};
use crate::fs::fd::{self, HostFile, Object, OPEN_MAX};
use crate::fs::offset::{SEEK_CUR, SEEK_SET};
use crate::fs::{cwd, host, pipe};

/// Linux `fcntl` commands.
mod cmd {
    pub const F_DUPFD: i32 = 0;
    pub const F_GETFD: i32 = 1;
    pub const F_SETFD: i32 = 2;
    pub const F_GETFL: i32 = 3;
    pub const F_SETFL: i32 = 4;
    pub const F_GETLK: i32 = 5;
    pub const F_SETLK: i32 = 6;
    pub const F_SETLKW: i32 = 7;
    pub const F_DUPFD_CLOEXEC: i32 = 1030;
}

/// `FD_CLOEXEC`.
const FD_CLOEXEC: i64 = 1;
/// Linux `O_NONBLOCK`.
const O_NONBLOCK: i32 = 0o4000;
/// Linux `O_WRONLY`.
const O_WRONLY: i32 = 1;
/// Linux `O_RDWR`.
const O_RDWR: i32 = 2;
/// Linux `O_CLOEXEC`.
const O_CLOEXEC: i32 = super::fs::O_CLOEXEC;
/// Linux `LOCK_NB` and `LOCK_UN`.
const LOCK_NB: i32 = 4;
const LOCK_UN: i32 = 8;

/// How long a blocking lock request waits between tries (the host never blocks).
const LOCK_RETRY_NS: u64 = 1_000_000;

/// Linux's x86-64 `struct flock` (`struct hermit_flock` in C, apart from newlib's own).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct HermitFlock {
    /// `F_RDLCK` 0, `F_WRLCK` 1, `F_UNLCK` 2.
    pub l_type: i16,
    /// `SEEK_SET`, `SEEK_CUR` or `SEEK_END`.
    pub l_whence: i16,
    /// Start of the range.
    pub l_start: i64,
    /// Length of the range, 0 to the end of the file.
    pub l_len: i64,
    /// Owner of a conflicting lock (`F_GETLK`).
    pub l_pid: i32,
}

/// A request on host descriptor `fd` with the other fields zero.
fn on(op: u32, fd: i32) -> FileOp {
    FileOp { op, fd, ..FileOp::default() }
}

/// The host descriptor behind guest `fd`, kept open while `f` runs.
fn with_host<R>(fd: c_int, not_host: Errno, f: impl FnOnce(i32) -> Result<R>) -> Result<R> {
    let (_object, raw) = fd::host_fd(fd, not_host)?;
    f(raw)
}

/// Sets the soft `RLIMIT_NOFILE` (the C library's `setrlimit` keeps the rest of the limit):
/// descriptors made from then on take numbers below `limit`, at most 1024. 0 or `-EINVAL`.
/// An extension: the original had no descriptor limit of its own.
#[no_mangle]
pub extern "C" fn sys_setfdlimit(limit: usize) -> c_int {
    ret_int(fd::set_limit(limit).map(|()| 0))
}

/// A new descriptor for `fd`'s open file, the lowest free one.
#[no_mangle]
pub extern "C" fn sys_dup(fd: c_int) -> c_int {
    ret_int(fd::dup(fd, 0, false))
}

/// `dup3(old, new, flags)`: `new` refers to `old`'s open file; `flags` 0 or `O_CLOEXEC`;
/// `old == new` is `EINVAL` (the C library's `dup2` handles that case).
#[no_mangle]
pub extern "C" fn sys_dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    let result =
        if flags & !O_CLOEXEC != 0 || old == new { Err(EINVAL) } else { fd::dup_to(old, new, flags & O_CLOEXEC != 0) };
    ret_int(result)
}

/// `fcntl(fd, cmd, arg)` with Linux commands: `F_DUPFD`, `F_DUPFD_CLOEXEC`, `F_GETFD`,
/// `F_SETFD`, `F_GETFL`, `F_SETFL` (`O_APPEND`, `O_NONBLOCK`, ...) and the record locks
/// `F_GETLK`, `F_SETLK`, `F_SETLKW` (`arg` a [`HermitFlock`]) forwarded to the host, where they
/// are the proxy's locks: other processes see them, threads of the program share them.
/// `F_SETLKW` retries every millisecond instead of blocking the host. Releasing a range from
/// the start of a file the program opened (`F_UNLCK`, `SEEK_SET`, a start and length Linux
/// accepts) returns 0 without waiting for the host: the host releases it before any later host
/// call of the program (`drivers::posted`, which says what a reader may see differently).
/// Others: `EINVAL`.
///
/// # Safety
/// For the lock commands `arg` must point to a valid [`HermitFlock`].
#[no_mangle]
pub unsafe extern "C" fn sys_fcntl(fd: c_int, command: c_int, arg: i64) -> i64 {
    let result = match command {
        cmd::F_DUPFD | cmd::F_DUPFD_CLOEXEC => usize::try_from(arg)
            .map_err(|_| EINVAL)
            .and_then(|min| fd::dup(fd, min.min(OPEN_MAX), command == cmd::F_DUPFD_CLOEXEC).map(i64::from)),
        cmd::F_GETFD => fd::cloexec(fd).map(|on| if on { FD_CLOEXEC } else { 0 }),
        cmd::F_SETFD => fd::set_cloexec(fd, arg & FD_CLOEXEC != 0).map(|()| 0),
        cmd::F_GETFL | cmd::F_SETFL => status_flags(fd, command, arg as i32),
        cmd::F_GETLK | cmd::F_SETLK | cmd::F_SETLKW => {
            // SAFETY: forwarded from the caller.
            let lock = unsafe { out(arg as *mut HermitFlock) };
            lock.and_then(|l| record_lock(fd, command, l))
        }
        _ => Err(EINVAL),
    };
    result.unwrap_or_else(|e| i64::from(e.neg()))
}

fn status_flags(fd: c_int, command: c_int, flags: i32) -> Result<i64> {
    let object = fd::get(fd)?;
    match &*object {
        Object::Host(h) => {
            let result =
                host::file_op(FileOp { arg0: i64::from(command), arg1: i64::from(flags), ..on(file_op::FCNTL, h.fd) })?;
            if command == cmd::F_SETFL {
                // Linux changes O_APPEND (and others) with F_SETFL: writes follow it.
                h.set_append(flags & crate::syscalls::fs::O_APPEND != 0);
            }
            Ok(result)
        }
        Object::Pipe(p) if command == cmd::F_GETFL => {
            let access = if p.writes { O_WRONLY } else { 0 };
            let nonblocking = if p.nonblocking.load(core::sync::atomic::Ordering::Relaxed) { O_NONBLOCK } else { 0 };
            Ok(i64::from(access | nonblocking))
        }
        Object::Pipe(p) => {
            p.nonblocking.store(flags & O_NONBLOCK != 0, core::sync::atomic::Ordering::Relaxed);
            Ok(0)
        }
        Object::Socket(s) if command == cmd::F_GETFL => {
            let nonblocking = if s.nonblocking.load(core::sync::atomic::Ordering::Relaxed) { O_NONBLOCK } else { 0 };
            Ok(i64::from(O_RDWR | nonblocking))
        }
        Object::Socket(s) => {
            s.nonblocking.store(flags & O_NONBLOCK != 0, core::sync::atomic::Ordering::Relaxed);
            Ok(0)
        }
        Object::Unix(p) if command == cmd::F_GETFL => {
            let nonblocking = if p.nonblocking.load(core::sync::atomic::Ordering::Relaxed) { O_NONBLOCK } else { 0 };
            Ok(i64::from(O_RDWR | nonblocking))
        }
        Object::Unix(p) => {
            p.nonblocking.store(flags & O_NONBLOCK != 0, core::sync::atomic::Ordering::Relaxed);
            Ok(0)
        }
        // `O_NONBLOCK` changes nothing for an epoll instance (its wait has a timeout).
        Object::Epoll(_) if command == cmd::F_GETFL => Ok(i64::from(O_RDWR)),
        Object::Epoll(_) => Ok(0),
    }
}

/// Linux `F_UNLCK`.
const F_UNLCK: i16 = 2;

fn record_lock(fd: c_int, command: c_int, lock: &mut HermitFlock) -> Result<i64> {
    // Releasing a valid range of a file the proxy opened cannot fail: posted, not waited for
    // (`drivers::posted`: the host serves it before any later host call of the guest).
    if command != cmd::F_GETLK && lock.l_type == F_UNLCK && lock.l_whence == SEEK_SET as i16 {
        if let Object::Host(h) = &*fd::get(fd)? {
            if h.lockable && host::post_unlock(h.fd, lock.l_start, lock.l_len) {
                return Ok(0);
            }
        }
    }
    if lock.l_whence == SEEK_CUR as i16 {
        // The host resolves the range against its offset: catch it up with the guest's.
        if let Object::Host(h) = &*fd::get(fd)? {
            h.sync_offset()?;
        }
    }
    with_host(fd, EINVAL, |raw| {
        let host_cmd = if command == cmd::F_SETLKW { cmd::F_SETLK } else { command };
        loop {
            let request = FileOp {
                arg0: i64::from(host_cmd),
                buf: lock as *mut HermitFlock as u64,
                len: core::mem::size_of::<HermitFlock>() as u64,
                ..on(file_op::FCNTL, raw)
            };
            match host::file_op(request) {
                Err(EAGAIN | EACCES) if command == cmd::F_SETLKW => {
                    let _ = crate::scheduler::sleep_ns(LOCK_RETRY_NS);
                }
                other => return other,
            }
        }
    })
}

/// `flock(fd, op)`: `LOCK_SH`, `LOCK_EX`, `LOCK_UN`, with `LOCK_NB` or retried every
/// millisecond (the host never blocks). `LOCK_UN` on a file the program opened returns 0
/// without waiting for the host, as `F_UNLCK` does in [`sys_fcntl`].
#[no_mangle]
pub extern "C" fn sys_flock(fd: c_int, op: c_int) -> c_int {
    // Releasing the lock of a file the proxy opened cannot fail: posted, not waited for
    // (`drivers::posted`).
    if op & !LOCK_NB == LOCK_UN {
        if let Ok(object) = fd::get(fd) {
            if let Object::Host(h) = &*object {
                if h.lockable && host::post_flock_unlock(h.fd) {
                    return 0;
                }
            }
        }
    }
    let result = with_host(fd, EINVAL, |raw| loop {
        match host::file_op(FileOp { arg0: i64::from(op), ..on(file_op::FLOCK, raw) }) {
            Err(EAGAIN) if op & LOCK_NB == 0 => {
                let _ = crate::scheduler::sleep_ns(LOCK_RETRY_NS);
            }
            other => return other.map(|_| 0),
        }
    });
    ret_int(result)
}

/// A pipe inside the guest: `fds[0]` reads, `fds[1]` writes; `flags` `O_NONBLOCK`,
/// `O_CLOEXEC`.
///
/// # Safety
/// `fds` must be valid for writes of two `int`s.
#[no_mangle]
pub unsafe extern "C" fn sys_pipe2(fds: *mut c_int, flags: c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    let fds = unsafe { bytes_mut(fds.cast::<u8>(), 2 * core::mem::size_of::<c_int>()) };
    let result = fds.and_then(|out| {
        if flags & !(O_NONBLOCK | O_CLOEXEC) != 0 {
            return Err(EINVAL);
        }
        let cloexec = flags & O_CLOEXEC != 0;
        let (reader, writer) = pipe::new(flags & O_NONBLOCK != 0);
        let r = fd::insert(Object::Pipe(reader), cloexec, 0)?;
        let w = match fd::insert(Object::Pipe(writer), cloexec, 0) {
            Ok(w) => w,
            Err(e) => {
                let _ = fd::close(r);
                return Err(e);
            }
        };
        out[..4].copy_from_slice(&r.to_ne_bytes());
        out[4..].copy_from_slice(&w.to_ne_bytes());
        Ok(0)
    });
    ret_int(result)
}

/// Reads up to `len` bytes at file offset `offset` (the descriptor's offset stays).
///
/// # Safety
/// `buf` must be valid for writes of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn sys_pread(fd: c_int, buf: *mut c_char, len: usize, offset: off_t) -> ssize_t {
    // SAFETY: forwarded from the caller.
    let buf = unsafe { bytes_mut(buf.cast(), len) };
    let result = buf.and_then(|b| {
        with_host(fd, ESPIPE, |raw| {
            super::mapped::reading(raw);
            host::pread(raw, b, offset).map(|n| n as isize)
        })
    });
    ret_isize(result)
}

/// Writes `len` bytes at file offset `offset` (the descriptor's offset stays; with
/// `O_APPEND` Linux appends anyway).
///
/// # Safety
/// `buf` must be valid for reads of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn sys_pwrite(fd: c_int, buf: *const c_char, len: usize, offset: off_t) -> ssize_t {
    // SAFETY: forwarded from the caller.
    let buf = unsafe { bytes(buf.cast(), len) };
    let result = buf.and_then(|b| {
        let (object, raw) = fd::host_fd(fd, ESPIPE)?;
        let request = FileOp { buf: b.as_ptr() as u64, len: b.len() as u64, arg0: offset, ..on(file_op::PWRITE, raw) };
        let n = host::file_op(request)? as usize;
        if super::mapped::active() {
            // With O_APPEND the host wrote at the end, as Linux does.
            let appends = matches!(&*object, Object::Host(h) if h.appends());
            let at = if appends { super::mapped::end_write_start(raw, n) } else { u64::try_from(offset).ok() };
            if let Some(at) = at {
                super::mapped::wrote(raw, at, &b[..n]);
            }
        }
        Ok(n as isize)
    });
    ret_isize(result)
}

/// A call on the host descriptor behind `fd` (`EINVAL` for a pipe, as Linux's `fsync`).
fn simple(fd: c_int, request: FileOp) -> c_int {
    ret_int(with_host(fd, EINVAL, |raw| host::file_op(FileOp { fd: raw, ..request }).map(|_| 0)))
}

/// A call on the host descriptor behind `fd` that waits for the host's disk, made through
/// the port ([`host::file_op_sleeping`]).
fn sync(fd: c_int, op: u32) -> c_int {
    ret_int(with_host(fd, EINVAL, |raw| host::file_op_sleeping(on(op, raw)).map(|_| 0)))
}

/// Flushes `fd`'s data and metadata to the host's disk.
#[no_mangle]
pub extern "C" fn sys_fsync(fd: c_int) -> c_int {
    sync(fd, file_op::FSYNC)
}

/// Flushes `fd`'s data to the host's disk.
#[no_mangle]
pub extern "C" fn sys_fdatasync(fd: c_int) -> c_int {
    sync(fd, file_op::FDATASYNC)
}

/// Sets the size of `fd`'s file.
#[no_mangle]
pub extern "C" fn sys_ftruncate(fd: c_int, len: off_t) -> c_int {
    simple(fd, FileOp { arg0: len, ..on(file_op::FTRUNCATE, 0) })
}

/// Changes the mode of `fd`'s file.
#[no_mangle]
pub extern "C" fn sys_fchmod(fd: c_int, mode: c_int) -> c_int {
    simple(fd, FileOp { arg0: i64::from(mode), ..on(file_op::CHMOD, 0) })
}

/// Changes the owner of `fd`'s file (`u32::MAX`: unchanged).
#[no_mangle]
pub extern "C" fn sys_fchown(fd: c_int, uid: u32, gid: u32) -> c_int {
    simple(fd, FileOp { arg0: i64::from(uid), arg1: i64::from(gid), ..on(file_op::CHOWN, 0) })
}

/// Sets the access and modification times of `fd`'s file (`times` null: now; Linux's
/// `UTIME_NOW`/`UTIME_OMIT`).
///
/// # Safety
/// `times` must be null or point to two `timespec`s.
#[no_mangle]
pub unsafe extern "C" fn sys_futimens(fd: c_int, times: *const [i64; 4]) -> c_int {
    simple(fd, FileOp { buf: times as u64, ..on(file_op::UTIMENS, 0) })
}

/// Linux `getdents64` records of directory `fd` into `buf`; 0 at the end.
///
/// # Safety
/// `buf` must be valid for writes of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn sys_getdents64(fd: c_int, buf: *mut u8, len: usize) -> ssize_t {
    // SAFETY: forwarded from the caller.
    let buf = unsafe { bytes_mut(buf, len) };
    let result = buf.and_then(|b| {
        with_host(fd, ENOTDIR, |raw| {
            let request = FileOp { buf: b.as_mut_ptr() as u64, len: b.len() as u64, ..on(file_op::GETDENTS, raw) };
            host::file_op(request).map(|n| n as isize)
        })
    });
    ret_isize(result)
}

/// Makes directory `fd` the working directory (`ENOTDIR` for a pipe or a descriptor
/// whose path is unknown, such as the standard streams).
#[no_mangle]
pub extern "C" fn sys_fchdir(fd: c_int) -> c_int {
    let result = fd::get(fd).and_then(|object| match &*object {
        Object::Host(HostFile { path: Some(path), .. }) => cwd::change(path),
        _ => Err(ENOTDIR),
    });
    ret_int(result.map(|()| 0))
}

/// The terminal size of `fd` (Linux `struct winsize`, 8 bytes) from the host; `ENOTTY` if
/// it is not a terminal.
///
/// # Safety
/// `size` must be valid for writes of 8 bytes.
#[no_mangle]
pub unsafe extern "C" fn sys_winsize(fd: c_int, size: *mut [u16; 4]) -> c_int {
    // SAFETY: forwarded from the caller.
    let size = unsafe { out(size) };
    let result = size.and_then(|s| {
        with_host(fd, crate::errno::ENOTTY, |raw| {
            host::file_op(FileOp { buf: s as *mut [u16; 4] as u64, len: 8, ..on(file_op::WINSIZE, raw) }).map(|_| 0)
        })
    });
    ret_int(result)
}

/// Whether `fd` is open (for `dup2(fd, fd)`): 0 or `-EBADF`.
#[no_mangle]
pub extern "C" fn sys_fd_valid(fd: c_int) -> c_int {
    ret_int(fd::get(fd).map(|_| 0).map_err(|_| EBADF))
}

/// `ioctl(fd, FIONREAD)`: the bytes a read would find, written to `count`, as Linux
/// answers: a pipe's or socket pair's buffered bytes, a TCP socket's received bytes (`EINVAL`
/// while listening), a UDP socket's next datagram (0 without one); `ENOTTY` for host files
/// and epoll descriptors.
///
/// # Safety
/// `count` must be valid for writes of an `int`.
#[no_mangle]
pub unsafe extern "C" fn sys_fionread(fd: c_int, count: *mut c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    let count = unsafe { out(count) };
    let result = count.and_then(|count| {
        let object = fd::get(fd)?;
        let n = match &*object {
            Object::Pipe(end) => end.available(),
            Object::Unix(pair) => pair.available(),
            Object::Socket(socket) => socket.readable_bytes()?,
            Object::Host(_) | Object::Epoll(_) => return Err(crate::errno::ENOTTY),
        };
        *count = c_int::try_from(n).unwrap_or(c_int::MAX);
        Ok(0)
    });
    ret_int(result)
}
