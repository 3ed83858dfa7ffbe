//! Path calls beyond uhyve's: the `*at` family, `truncate`, `access`, modes, owners, times,
//! `rename`, links, and the working directory (`getcwd`, `chdir`). Constants are Linux's
//! (`AT_FDCWD` -100, `AT_SYMLINK_NOFOLLOW` 0x100, ...); the C library translates newlib's.
//!
//! A relative path is taken below the directory descriptor `dirfd` (its path as opened) or,
//! with `AT_FDCWD`, below the guest's working directory; the loader resolves the result
//! like `open`'s, confined to `HERMIT_MOUNT`. Host work goes through the `FILEOP` extension
//! hypercall (`-ENOSYS` under the original uhyve).

use alloc::borrow::Cow;
use alloc::ffi::CString;
use core::ffi::{c_char, c_int, CStr};

use hermit_interface::hypercall::{file_op, FileOp};
use hermit_interface::stat::HostStat;

use super::ptr::{bytes_mut, c_str, out, ret_int, ret_isize};
use super::types::{off_t, ssize_t};
use crate::errno::{Result, EINVAL, ENOENT, ENOTDIR, ERANGE};
use crate::fs::fd::{self, HostFile, Object};
use crate::fs::path::join;
use crate::fs::{cwd, host};

/// Linux `AT_FDCWD`.
pub const AT_FDCWD: c_int = -100;
/// Linux `AT_SYMLINK_NOFOLLOW`.
pub const AT_SYMLINK_NOFOLLOW: c_int = 0x100;
/// Linux `AT_REMOVEDIR` (for `unlinkat`).
pub const AT_REMOVEDIR: c_int = 0x200;

/// `path` as the loader should see it, relative ones below `dirfd`.
fn at(dirfd: c_int, path: &CStr) -> Result<Cow<'_, CStr>> {
    let bytes = path.to_bytes();
    if bytes.is_empty() {
        return Err(ENOENT);
    }
    if bytes.starts_with(b"/") || dirfd == AT_FDCWD {
        return cwd::absolute(path);
    }
    let object = fd::get(dirfd)?;
    match &*object {
        Object::Host(HostFile { path: Some(dir), .. }) => {
            CString::new(join(dir.to_bytes(), bytes)).map(Cow::Owned).map_err(|_| EINVAL)
        }
        _ => Err(ENOTDIR),
    }
}

/// A request on one path.
fn path_request(op: u32, path: &CStr) -> FileOp {
    FileOp { op, path: host::addr(Some(path)), ..FileOp::default() }
}

/// Runs `f` on the C string `path` taken below `dirfd`.
///
/// # Safety
/// `path` must be null or NUL-terminated.
unsafe fn with_at<R>(dirfd: c_int, path: *const c_char, f: impl FnOnce(&CStr) -> Result<R>) -> Result<R> {
    // SAFETY: forwarded from the caller.
    let path = unsafe { c_str(path) }?;
    f(&at(dirfd, path)?)
}

/// `openat`: as `sys_open` with a relative `name` below `dirfd`.
///
/// # Safety
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sys_openat(dirfd: c_int, name: *const c_char, flags: c_int, mode: c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    ret_int(unsafe { with_at(dirfd, name, |p| super::fs::open(p, flags, mode)) })
}

/// `fstatat`: status of `name` below `dirfd` (`AT_SYMLINK_NOFOLLOW`: of a link itself).
///
/// # Safety
/// `name` must be a NUL-terminated string and `st` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn sys_fstatat(dirfd: c_int, name: *const c_char, st: *mut HostStat, flags: c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    let st = unsafe { out(st) };
    let result = st.and_then(|st| {
        if flags & !AT_SYMLINK_NOFOLLOW != 0 {
            return Err(EINVAL);
        }
        // SAFETY: forwarded from the caller.
        *st = unsafe { with_at(dirfd, name, |p| host::stat(p, flags != 0)) }?;
        Ok(0)
    });
    ret_int(result)
}

/// `unlinkat`: removes `name` below `dirfd`, a directory with `AT_REMOVEDIR`.
///
/// # Safety
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sys_unlinkat(dirfd: c_int, name: *const c_char, flags: c_int) -> c_int {
    let result = if flags & !AT_REMOVEDIR != 0 {
        Err(EINVAL)
    } else {
        // SAFETY: forwarded from the caller.
        unsafe { with_at(dirfd, name, |p| if flags != 0 { host::rmdir(p) } else { host::unlink(p) }) }
    };
    ret_int(result.map(|()| 0))
}

/// `mkdirat`: creates directory `name` below `dirfd`.
///
/// # Safety
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sys_mkdirat(dirfd: c_int, name: *const c_char, mode: c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    ret_int(unsafe { with_at(dirfd, name, |p| host::mkdir(p, mode)) }.map(|()| 0))
}

/// `truncate`: sets the size of file `name` (opened for writing on the host).
///
/// # Safety
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sys_truncate(name: *const c_char, len: off_t) -> c_int {
    // SAFETY: forwarded from the caller.
    let result = unsafe {
        with_at(AT_FDCWD, name, |p| host::file_op(FileOp { arg0: len, ..path_request(file_op::TRUNCATE, p) }))
    };
    ret_int(result.map(|_| 0))
}

/// `faccessat`: whether the proxy may access `name` with `mode` (`R_OK` 4, `W_OK` 2, `X_OK`
/// 1, `F_OK` 0); `flags` `AT_EACCESS`, `AT_SYMLINK_NOFOLLOW`.
///
/// # Safety
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sys_faccessat(dirfd: c_int, name: *const c_char, mode: c_int, flags: c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    let result = unsafe {
        with_at(dirfd, name, |p| {
            host::file_op(FileOp { arg0: i64::from(mode), arg1: i64::from(flags), ..path_request(file_op::ACCESS, p) })
        })
    };
    ret_int(result.map(|_| 0))
}

/// `fchmodat`: changes the mode of `name` (`flags` must be 0: Linux cannot change a
/// link's mode either).
///
/// # Safety
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sys_fchmodat(dirfd: c_int, name: *const c_char, mode: c_int, flags: c_int) -> c_int {
    let result = if flags != 0 {
        Err(if flags == AT_SYMLINK_NOFOLLOW { crate::errno::EOPNOTSUPP } else { EINVAL })
    } else {
        // SAFETY: forwarded from the caller.
        unsafe {
            with_at(dirfd, name, |p| host::file_op(FileOp { arg0: i64::from(mode), ..path_request(file_op::CHMOD, p) }))
        }
    };
    ret_int(result.map(|_| 0))
}

/// `fchownat`: changes the owner of `name` (`u32::MAX`: unchanged); `AT_SYMLINK_NOFOLLOW`
/// changes a link itself.
///
/// # Safety
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sys_fchownat(dirfd: c_int, name: *const c_char, uid: u32, gid: u32, flags: c_int) -> c_int {
    let result = if flags & !AT_SYMLINK_NOFOLLOW != 0 {
        Err(EINVAL)
    } else {
        // SAFETY: forwarded from the caller.
        unsafe {
            with_at(dirfd, name, |p| {
                let request = FileOp {
                    arg0: i64::from(uid),
                    arg1: i64::from(gid),
                    arg2: i64::from(flags != 0),
                    ..path_request(file_op::CHOWN, p)
                };
                host::file_op(request)
            })
        }
    };
    ret_int(result.map(|_| 0))
}

/// `utimensat`: sets the times of `name` (`times` null: now; Linux's `UTIME_NOW` and
/// `UTIME_OMIT`); `AT_SYMLINK_NOFOLLOW` sets a link's own. A null `name` acts on `dirfd`
/// itself, as Linux's system call does.
///
/// # Safety
/// `name` must be null or NUL-terminated, `times` null or two `timespec`s.
#[no_mangle]
pub unsafe extern "C" fn sys_utimensat(
    dirfd: c_int,
    name: *const c_char,
    times: *const [i64; 4],
    flags: c_int,
) -> c_int {
    if name.is_null() {
        // SAFETY: forwarded from the caller.
        return unsafe { super::fdops::sys_futimens(dirfd, times) };
    }
    // SAFETY: forwarded from the caller.
    let result = unsafe {
        with_at(dirfd, name, |p| {
            let request = FileOp { buf: times as u64, arg0: i64::from(flags), ..path_request(file_op::UTIMENS, p) };
            host::file_op(request)
        })
    };
    ret_int(result.map(|_| 0))
}

/// Runs a two-path request.
///
/// # Safety
/// Both names must be NUL-terminated strings.
unsafe fn two_paths(op: u32, fd1: c_int, p1: *const c_char, fd2: c_int, p2: *const c_char) -> c_int {
    // SAFETY: forwarded from the caller.
    let result = unsafe {
        with_at(fd1, p1, |a| {
            with_at(fd2, p2, |b| {
                host::file_op(FileOp { op, path: host::addr(Some(a)), path2: host::addr(Some(b)), ..FileOp::default() })
            })
        })
    };
    ret_int(result.map(|_| 0))
}

/// `renameat`: renames `old` (below `olddirfd`) to `new` (below `newdirfd`).
///
/// # Safety
/// Both names must be NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn sys_renameat(
    olddirfd: c_int,
    old: *const c_char,
    newdirfd: c_int,
    new: *const c_char,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { two_paths(file_op::RENAME, olddirfd, old, newdirfd, new) }
}

/// `linkat`: a hard link `new` to `old` (not following a final link of `old`;
/// `AT_SYMLINK_FOLLOW` is refused with `EINVAL`).
///
/// # Safety
/// Both names must be NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn sys_linkat(
    olddirfd: c_int,
    old: *const c_char,
    newdirfd: c_int,
    new: *const c_char,
    flags: c_int,
) -> c_int {
    if flags != 0 {
        return EINVAL.neg();
    }
    // SAFETY: forwarded from the caller.
    unsafe { two_paths(file_op::LINK, olddirfd, old, newdirfd, new) }
}

/// `symlinkat`: a symbolic link `new` (below `newdirfd`) with the text `target`.
///
/// # Safety
/// Both strings must be NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sys_symlinkat(target: *const c_char, newdirfd: c_int, new: *const c_char) -> c_int {
    // SAFETY: forwarded from the caller.
    let result = unsafe { c_str(target) }.and_then(|t| {
        // SAFETY: forwarded from the caller.
        unsafe {
            with_at(newdirfd, new, |p| {
                let request = FileOp { path: host::addr(Some(t)), path2: host::addr(Some(p)), ..FileOp::default() };
                host::file_op(FileOp { op: file_op::SYMLINK, ..request })
            })
        }
    });
    ret_int(result.map(|_| 0))
}

/// `readlinkat`: the text of link `name` into `buf` (not NUL-terminated); its length.
///
/// # Safety
/// `name` must be NUL-terminated and `buf` valid for writes of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn sys_readlinkat(dirfd: c_int, name: *const c_char, buf: *mut c_char, len: usize) -> ssize_t {
    // SAFETY: forwarded from the caller.
    let buf = unsafe { bytes_mut(buf.cast(), len) };
    let result = buf.and_then(|b| {
        if b.is_empty() {
            return Err(EINVAL);
        }
        // SAFETY: forwarded from the caller.
        unsafe {
            with_at(dirfd, name, |p| {
                let request =
                    FileOp { buf: b.as_mut_ptr() as u64, len: b.len() as u64, ..path_request(file_op::READLINK, p) };
                host::file_op(request).map(|n| n as isize)
            })
        }
    });
    ret_isize(result)
}

/// The working directory into `buf` with its NUL; its length with the NUL, `-ERANGE` if
/// `size` is too small.
///
/// # Safety
/// `buf` must be valid for writes of `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn sys_getcwd(buf: *mut c_char, size: usize) -> ssize_t {
    // SAFETY: forwarded from the caller.
    let buf = unsafe { bytes_mut(buf.cast(), size) };
    let result = buf.and_then(|b| {
        let cwd = cwd::current()?;
        if cwd.len() + 1 > b.len() {
            return Err(ERANGE);
        }
        b[..cwd.len()].copy_from_slice(&cwd);
        b[cwd.len()] = 0;
        Ok(cwd.len() as isize + 1)
    });
    ret_isize(result)
}

/// Makes directory `name` the working directory.
///
/// # Safety
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sys_chdir(name: *const c_char) -> c_int {
    // SAFETY: forwarded from the caller.
    let name = unsafe { c_str(name) };
    ret_int(name.and_then(cwd::change).map(|()| 0))
}
