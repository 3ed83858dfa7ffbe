//! Host file operations over the uhyve hypercalls, with errors as [`Errno`].
//!
//! This project's proxy returns `-errno` for failed host calls; the original uhyve returns
//! the raw `-1` of the host call, which is reported as `EIO` since the cause is unknown
//! (the original passed `-1` through, so newlib reported `EPERM`).
//!
//! `stat`/`fstat` report a preferred I/O block size ([`preferred_block_size`]) fitted to the
//! cost of a host call rather than the host's own `st_blksize`: the C library sizes its stdio
//! buffers by it.

use core::ffi::CStr;

use hermit_interface::header::FEATURE_EXT_HYPERCALLS;
use hermit_interface::hypercall::{port, Close, FileOp, Fstat, Lseek, Open, PathOp, Read, Stat, Write};
use hermit_interface::stat::HostStat;

use super::blksize::preferred_block_size;
use crate::drivers::hypercall::{call, call_sleeping, has_feature};
use crate::errno::{Errno, Result, EIO, ENOSYS};

/// Decodes a host result: non-negative is success.
fn host_result(ret: i64) -> Result<i64> {
    if ret >= 0 {
        return Ok(ret);
    }
    if has_feature(FEATURE_EXT_HYPERCALLS) {
        Err(Errno::from_neg(ret).unwrap_or(EIO))
    } else {
        Err(EIO)
    }
}

/// Fails with `ENOSYS` unless the loader serves the extension hypercalls.
fn require_extensions() -> Result<()> {
    if has_feature(FEATURE_EXT_HYPERCALLS) {
        Ok(())
    } else {
        Err(ENOSYS)
    }
}

/// Writes `buf` to host descriptor `fd`.
pub fn write(fd: i32, buf: &[u8]) -> Result<usize> {
    let mut request = Write { fd, buf: buf.as_ptr() as u64, len: buf.len() as u64 };
    call(port::WRITE, &mut request);
    host_result(request.len as i64).map(|n| n as usize)
}

/// Reads from host descriptor `fd` into `buf`.
pub fn read(fd: i32, buf: &mut [u8]) -> Result<usize> {
    let mut request = Read { fd, buf: buf.as_mut_ptr() as u64, len: buf.len() as u64, ret: 0 };
    call(port::READ, &mut request);
    host_result(request.ret).map(|n| n as usize)
}

/// Opens a host file; `flags` are Linux `O_*` values.
pub fn open(path: &CStr, flags: i32, mode: i32) -> Result<i32> {
    let mut request = Open { name: path.as_ptr() as u64, flags, mode, ret: 0 };
    call(port::OPEN, &mut request);
    host_result(i64::from(request.ret)).map(|fd| fd as i32)
}

/// Closes a host descriptor (the host keeps its own 0, 1 and 2 open).
pub fn close(fd: i32) -> Result<()> {
    let mut request = Close { fd, ret: 0 };
    call(port::CLOSE, &mut request);
    host_result(i64::from(request.ret)).map(drop)
}

/// Repositions a host descriptor.
pub fn lseek(fd: i32, offset: i64, whence: i32) -> Result<i64> {
    let mut request = Lseek { fd, offset, whence };
    call(port::LSEEK, &mut request);
    host_result(request.offset)
}

/// Reads from host descriptor `fd` at `offset` without moving its offset (extension).
pub fn pread(fd: i32, buf: &mut [u8], offset: i64) -> Result<usize> {
    positioned(hermit_interface::hypercall::file_op::PREAD, fd, buf.as_mut_ptr() as u64, buf.len(), offset)
}

/// Writes `buf` at file offset `offset` of a host descriptor (extension `FILEOP`).
pub fn pwrite(fd: i32, buf: &[u8], offset: i64) -> Result<usize> {
    positioned(hermit_interface::hypercall::file_op::PWRITE, fd, buf.as_ptr() as u64, buf.len(), offset)
}

/// One positioned transfer (`PREAD` or `PWRITE`) of `len` bytes at guest address `buf`.
fn positioned(op: u32, fd: i32, buf: u64, len: usize, offset: i64) -> Result<usize> {
    let request = FileOp { op, fd, buf, len: len as u64, arg0: offset, ..FileOp::default() };
    file_op(request).map(|n| n as usize)
}

/// Replaces the host's `st_blksize` by [`preferred_block_size`].
fn with_preferred_block(mut status: HostStat) -> HostStat {
    status.st_blksize = preferred_block_size(status.st_mode, status.st_blksize);
    status
}

/// Status of a host path (extension); `st_blksize` as [`preferred_block_size`].
pub fn stat(path: &CStr, nofollow: bool) -> Result<HostStat> {
    require_extensions()?;
    let mut status = HostStat::default();
    let mut request = Stat {
        name: path.as_ptr() as u64,
        stat: &mut status as *mut HostStat as u64,
        ret: 0,
        nofollow: i32::from(nofollow),
    };
    call(port::STAT, &mut request);
    host_result(i64::from(request.ret))?;
    Ok(with_preferred_block(status))
}

/// Status of a host descriptor (extension); `st_blksize` as [`preferred_block_size`].
pub fn fstat(fd: i32) -> Result<HostStat> {
    require_extensions()?;
    let mut status = HostStat::default();
    let mut request = Fstat { fd, ret: 0, stat: &mut status as *mut HostStat as u64 };
    call(port::FSTAT, &mut request);
    host_result(i64::from(request.ret))?;
    Ok(with_preferred_block(status))
}

/// An operation on a path: `UNLINK`, `MKDIR` or `RMDIR` (extension).
pub fn path_op(port_number: u16, path: &CStr, mode: i32) -> Result<()> {
    require_extensions()?;
    let mut request = PathOp { name: path.as_ptr() as u64, mode, ret: 0 };
    call(port_number, &mut request);
    host_result(i64::from(request.ret)).map(drop)
}

/// Removes a host file.
pub fn unlink(path: &CStr) -> Result<()> {
    path_op(port::UNLINK, path, 0)
}

/// Creates a host directory.
pub fn mkdir(path: &CStr, mode: i32) -> Result<()> {
    path_op(port::MKDIR, path, mode)
}

/// Removes an empty host directory.
pub fn rmdir(path: &CStr) -> Result<()> {
    path_op(port::RMDIR, path, 0)
}

/// A `FILEOP` request (extension); `ENOSYS` under the original uhyve. Fields the operation
/// does not use stay zero.
pub fn file_op(mut request: FileOp) -> Result<i64> {
    require_extensions()?;
    call(port::FILEOP, &mut request);
    host_result(request.ret)
}

/// A `FILEOP` request that may block in the host for a long time (`fsync`), made through
/// the port ([`call_sleeping`]).
pub fn file_op_sleeping(mut request: FileOp) -> Result<i64> {
    require_extensions()?;
    call_sleeping(port::FILEOP, &mut request);
    host_result(request.ret)
}

/// The address of a path for a request, or 0.
pub fn addr(path: Option<&CStr>) -> u64 {
    path.map_or(0, |p| p.as_ptr() as u64)
}

/// Linux's x86-64 `struct flock`, as a posted unlock carries it.
#[repr(C)]
#[derive(Clone, Copy)]
struct Flock {
    l_type: i16,
    l_whence: i16,
    l_start: i64,
    l_len: i64,
    l_pid: i32,
}

/// A posted `FILEOP` request and the lock it points to, placed together in the channel slot.
#[repr(C)]
#[derive(Clone, Copy)]
struct PostedLock {
    request: FileOp,
    lock: Flock,
}

const _: () = assert!(size_of::<Flock>() == 32 && size_of::<PostedLock>() == 104);

/// Linux `F_SETLK`, `F_UNLCK`, `SEEK_SET` and `LOCK_UN`.
const F_SETLK: i64 = 6;
const F_UNLCK: i16 = 2;
const SEEK_SET: i16 = 0;
const LOCK_UN: i64 = 8;

/// Releases the record lock on `len` bytes at `start` (from the start of the file) of host
/// descriptor `fd`, a file the proxy opened for the guest, without waiting for the host
/// ([`crate::drivers::posted`]); false if the range is not one
/// [`super::lockrange::unlock_is_certain`] accepts
/// or the request could not be posted: the caller then makes the call.
pub fn post_unlock(fd: i32, start: i64, len: i64) -> bool {
    if !super::lockrange::unlock_is_certain(start, len) || !has_feature(FEATURE_EXT_HYPERCALLS) {
        return false;
    }
    let lock = Flock { l_type: F_UNLCK, l_whence: SEEK_SET, l_start: start, l_len: len, l_pid: 0 };
    crate::drivers::posted::post(port::FILEOP, core::mem::offset_of!(FileOp, ret), |at| PostedLock {
        request: FileOp {
            op: hermit_interface::hypercall::file_op::FCNTL,
            fd,
            arg0: F_SETLK,
            buf: at + core::mem::offset_of!(PostedLock, lock) as u64,
            len: size_of::<Flock>() as u64,
            ..FileOp::default()
        },
        lock,
    })
}

/// `flock(fd, LOCK_UN)` on host descriptor `fd`, a file the proxy opened for the guest,
/// without waiting for the host ([`crate::drivers::posted`]); false if it could not be
/// posted: the caller then makes the call.
pub fn post_flock_unlock(fd: i32) -> bool {
    if !has_feature(FEATURE_EXT_HYPERCALLS) {
        return false;
    }
    crate::drivers::posted::post(port::FILEOP, core::mem::offset_of!(FileOp, ret), |_| FileOp {
        op: hermit_interface::hypercall::file_op::FLOCK,
        fd,
        arg0: LOCK_UN,
        ..FileOp::default()
    })
}
