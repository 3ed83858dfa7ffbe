//! Files on the host: `sys_read`, `sys_write`, `sys_open`, `sys_close`, `sys_lseek` (original
//! uhyve hypercalls) and `sys_hermit_stat`, `sys_lstat`, `sys_fstat`, `sys_unlink`, `sys_mkdir`,
//! `sys_rmdir` (extension hypercalls; `-ENOSYS` under the original uhyve).
//!
//! Descriptors are the guest's own ([`crate::fs::fd`]): a pipe end or a host descriptor.
//! Relative paths are made absolute against the guest's working directory
//! ([`crate::fs::cwd`]) before the loader sees them.

use core::ffi::{c_char, c_int, c_void};

use hermit_interface::stat::HostStat;

use super::ptr::{bytes, bytes_mut, c_str, out, ret_int, ret_isize};
use super::types::{off_t, ssize_t};
use crate::errno::{Result, ENOSYS, ESPIPE};
use crate::fs::fd::{self, HostFile, Object};
use crate::fs::{cwd, host};

/// Flag of `open` that sets close-on-exec (Linux value).
pub const O_CLOEXEC: c_int = 0o2000000;
/// Linux `O_APPEND`.
pub const O_APPEND: c_int = 0o2000;
/// Linux `O_PATH`.
const O_PATH: c_int = 0o10000000;

/// Reads up to `len` bytes from descriptor `fd`. Returns the count or `-errno`.
///
/// # Safety
/// `buf` must be valid for writes of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn sys_read(fd: c_int, buf: *mut c_char, len: usize) -> ssize_t {
    // SAFETY: forwarded from the caller.
    let buf = unsafe { bytes_mut(buf.cast(), len) };
    // A cancellation point (`super::pthread::cancel`).
    ret_isize(super::pthread::cancel::call(|| buf.and_then(|b| read(fd, b))).map(|n| n as isize))
}

/// `read` on the object behind `fd`.
pub fn read(fd: c_int, buf: &mut [u8]) -> Result<usize> {
    match &*fd::get(fd)? {
        Object::Host(h) => h.read(buf),
        Object::Pipe(p) if !p.writes => p.read(buf),
        Object::Pipe(_) => Err(crate::errno::EBADF),
        Object::Socket(s) => s.recv(buf, 0).map(|(n, _)| n),
        Object::Unix(p) => p.read(buf, false),
        Object::Epoll(_) => Err(crate::errno::EINVAL),
    }
}

/// Writes `len` bytes to descriptor `fd`. Returns the count or `-errno`; `len` 0 writes
/// nothing and returns 0 whatever `buf` is, as on Linux (the original gave `-EINVAL` for a
/// null `buf`).
///
/// # Safety
/// `buf` must be valid for reads of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn sys_write(fd: c_int, buf: *const c_char, len: usize) -> ssize_t {
    // SAFETY: forwarded from the caller.
    let buf = unsafe { bytes(buf.cast(), len) };
    // A cancellation point (`super::pthread::cancel`).
    ret_isize(super::pthread::cancel::call(|| buf.and_then(|b| write(fd, b))).map(|n| n as isize))
}

/// `write` on the object behind `fd`.
pub fn write(fd: c_int, buf: &[u8]) -> Result<usize> {
    match &*fd::get(fd)? {
        Object::Host(h) => h.write(buf),
        Object::Pipe(p) if p.writes => p.write(buf),
        Object::Pipe(_) => Err(crate::errno::EBADF),
        Object::Socket(s) => s.send(buf, 0, None, None),
        Object::Unix(p) => p.write(buf, false),
        Object::Epoll(_) => Err(crate::errno::EINVAL),
    }
}

/// Opens host file `name`; `flags` are Linux `O_*` values, passed to the host unchanged
/// (`O_CLOEXEC` also sets the guest descriptor's flag). Returns the guest descriptor or
/// `-errno` (the original returned a bare `-1`).
///
/// # Safety
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sys_open(name: *const c_char, flags: c_int, mode: c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    let name = unsafe { c_str(name) };
    ret_int(name.and_then(|n| open(n, flags, mode)))
}

/// `open` of a guest path.
pub fn open(name: &core::ffi::CStr, flags: c_int, mode: c_int) -> Result<c_int> {
    let path = cwd::absolute(name)?;
    let raw = host::open(&path, flags, mode)?;
    let file = HostFile::opened(raw, path.into_owned(), flags & O_APPEND != 0, flags & O_PATH != 0);
    fd::insert(Object::Host(file), flags & O_CLOEXEC != 0, 0)
}

/// Closes descriptor `fd`; 0 or `-errno`.
#[no_mangle]
pub extern "C" fn sys_close(fd: c_int) -> c_int {
    ret_int(fd::close(fd).map(|()| 0))
}

/// Repositions descriptor `fd`; the new offset or `-errno` (`ESPIPE` for a pipe). The
/// offset of a regular file the program opened is kept in the guest: `SEEK_SET` and
/// `SEEK_CUR` on it need no host call.
#[no_mangle]
pub extern "C" fn sys_lseek(fd: c_int, offset: off_t, whence: c_int) -> off_t {
    let result = fd::get(fd).and_then(|object| match &*object {
        Object::Host(h) => h.seek(offset, whence),
        Object::Pipe(_) | Object::Socket(_) | Object::Unix(_) | Object::Epoll(_) => Err(ESPIPE),
    });
    result.unwrap_or_else(|e| i64::from(e.neg()))
}

/// The original's `sys_stat`: always `-ENOSYS`, and `st` is never written.
///
/// The original declared `int sys_stat(const char *file, void *st)` and its newlib passed
/// its own `struct stat`, whose layout differs from ours; returning the original's answer
/// keeps such callers safe. Our C library calls [`sys_hermit_stat`] instead.
#[no_mangle]
pub extern "C" fn sys_stat(file: *const c_char, st: *mut c_void) -> c_int {
    let _ = (file, st);
    ENOSYS.neg()
}

/// Status of host file `file` into `st`; 0 or `-errno`. An extension of the original ABI:
/// the struct is [`HostStat`] (C: `struct hermit_stat`), which the C library converts into
/// its `struct stat`.
///
/// # Safety
/// `file` must be a NUL-terminated string and `st` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn sys_hermit_stat(file: *const c_char, st: *mut HostStat) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { stat_into(file, st, false) }
}

/// Like [`sys_hermit_stat`] without following a final symbolic link.
///
/// # Safety
/// As [`sys_hermit_stat`].
#[no_mangle]
pub unsafe extern "C" fn sys_lstat(file: *const c_char, st: *mut HostStat) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { stat_into(file, st, true) }
}

/// # Safety
/// As [`sys_hermit_stat`].
unsafe fn stat_into(file: *const c_char, st: *mut HostStat, nofollow: bool) -> c_int {
    // SAFETY: forwarded from the caller.
    let (file, st) = unsafe { (c_str(file), out(st)) };
    ret_int(file.and_then(|f| {
        let st = st?;
        *st = host::stat(&cwd::absolute(f)?, nofollow)?;
        Ok(0)
    }))
}

/// Status of host descriptor `fd` into `st`; 0 or `-errno`.
///
/// # Safety
/// `st` must be valid for writes.
#[no_mangle]
pub unsafe extern "C" fn sys_fstat(fd: c_int, st: *mut HostStat) -> c_int {
    // SAFETY: forwarded from the caller.
    let st = unsafe { out(st) };
    ret_int(st.and_then(|st| {
        *st = fstat(fd)?;
        Ok(0)
    }))
}

/// Status of the object behind `fd`; a pipe end is a FIFO (`S_IFIFO`, mode 0600) with its
/// waiting bytes as size; a socket is `S_IFSOCK`.
pub fn fstat(fd: c_int) -> Result<HostStat> {
    match &*fd::get(fd)? {
        Object::Host(h) => host::fstat(h.fd),
        Object::Pipe(p) => Ok(HostStat {
            st_mode: 0o010600,
            st_nlink: 1,
            st_blksize: crate::fs::pipe::PIPE_BUF as i64,
            st_size: p.available() as i64,
            ..HostStat::default()
        }),
        Object::Socket(_) => Ok(HostStat { st_mode: 0o140777, st_nlink: 1, ..HostStat::default() }),
        Object::Unix(p) => {
            Ok(HostStat { st_mode: 0o140777, st_nlink: 1, st_size: p.available() as i64, ..HostStat::default() })
        }
        // Linux's anonymous inode: no file type, mode 0600.
        Object::Epoll(_) => Ok(HostStat { st_mode: 0o600, st_nlink: 1, ..HostStat::default() }),
    }
}

/// Removes host file `name`, or the name a Unix socket bound to that path; 0 or `-errno`.
///
/// # Safety
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sys_unlink(name: *const c_char) -> c_int {
    // SAFETY: forwarded from the caller.
    let name = unsafe { c_str(name) };
    // A path bound by a Unix socket lives in the guest alone (`crate::fs::unix::names`).
    let unlinked =
        name.and_then(|n| if crate::fs::unix::names::unlink(n) { Ok(()) } else { host::unlink(&cwd::absolute(n)?) });
    ret_int(unlinked.map(|()| 0))
}

/// Creates host directory `name`; 0 or `-errno`.
///
/// # Safety
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sys_mkdir(name: *const c_char, mode: c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    let name = unsafe { c_str(name) };
    ret_int(name.and_then(|n| host::mkdir(&cwd::absolute(n)?, mode)).map(|()| 0))
}

/// Removes empty host directory `name`; 0 or `-errno`.
///
/// # Safety
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sys_rmdir(name: *const c_char) -> c_int {
    // SAFETY: forwarded from the caller.
    let name = unsafe { c_str(name) };
    ret_int(name.and_then(|n| host::rmdir(&cwd::absolute(n)?)).map(|()| 0))
}
