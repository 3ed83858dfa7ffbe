//! Files on the host: `sys_read`, `sys_write`, `sys_open`, `sys_close`, `sys_lseek` (original
//! uhyve hypercalls) and `sys_hermit_stat`, `sys_lstat`, `sys_fstat`, `sys_unlink`, `sys_mkdir`,
//! `sys_rmdir` (extension hypercalls; `-ENOSYS` under the original uhyve).

use core::ffi::{c_char, c_int, c_void};

use hermit_interface::stat::HostStat;

use super::ptr::{bytes, bytes_mut, c_str, out, ret_int, ret_isize};
use super::types::{off_t, ssize_t};
use crate::errno::{EINVAL, ENOSYS};
use crate::fs::host;

/// Reads up to `len` bytes from host descriptor `fd`. Returns the count or `-errno`.
///
/// # Safety
/// `buf` must be valid for writes of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn sys_read(fd: c_int, buf: *mut c_char, len: usize) -> ssize_t {
    // SAFETY: forwarded from the caller.
    let buf = unsafe { bytes_mut(buf.cast(), len) };
    ret_isize(buf.and_then(|b| host::read(fd, b)).map(|n| n as isize))
}

/// Writes `len` bytes to host descriptor `fd`. Returns the count or `-errno`; a null `buf`
/// gives `-EINVAL` as in the original.
///
/// # Safety
/// `buf` must be valid for reads of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn sys_write(fd: c_int, buf: *const c_char, len: usize) -> ssize_t {
    if buf.is_null() {
        return EINVAL.neg_isize();
    }
    // SAFETY: forwarded from the caller.
    let buf = unsafe { bytes(buf.cast(), len) };
    ret_isize(buf.and_then(|b| host::write(fd, b)).map(|n| n as isize))
}

/// Opens host file `name`; `flags` are Linux `O_*` values, passed to the host unchanged.
/// Returns the descriptor or `-errno` (the original returned a bare `-1`).
///
/// # Safety
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sys_open(name: *const c_char, flags: c_int, mode: c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    let name = unsafe { c_str(name) };
    ret_int(name.and_then(|n| host::open(n, flags, mode)))
}

/// Closes host descriptor `fd`; 0 or `-errno`.
#[no_mangle]
pub extern "C" fn sys_close(fd: c_int) -> c_int {
    ret_int(host::close(fd).map(|()| 0))
}

/// Repositions host descriptor `fd`; the new offset or `-errno`.
#[no_mangle]
pub extern "C" fn sys_lseek(fd: c_int, offset: off_t, whence: c_int) -> off_t {
    host::lseek(fd, offset, whence).unwrap_or_else(|e| i64::from(e.neg()))
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
        *st = host::stat(f, nofollow)?;
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
        *st = host::fstat(fd)?;
        Ok(0)
    }))
}

/// Removes host file `name`; 0 or `-errno`.
///
/// # Safety
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sys_unlink(name: *const c_char) -> c_int {
    // SAFETY: forwarded from the caller.
    let name = unsafe { c_str(name) };
    ret_int(name.and_then(host::unlink).map(|()| 0))
}

/// Creates host directory `name`; 0 or `-errno`.
///
/// # Safety
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sys_mkdir(name: *const c_char, mode: c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    let name = unsafe { c_str(name) };
    ret_int(name.and_then(|n| host::mkdir(n, mode)).map(|()| 0))
}

/// Removes empty host directory `name`; 0 or `-errno`.
///
/// # Safety
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sys_rmdir(name: *const c_char) -> c_int {
    // SAFETY: forwarded from the caller.
    let name = unsafe { c_str(name) };
    ret_int(name.and_then(host::rmdir).map(|()| 0))
}
