//! The guest's working directory: relative paths are made absolute here, before the loader
//! sees them, so that `chdir` needs no host state.
//!
//! It starts as the directory the loader reports (`FILEOP` `GETCWD`: the proxy's, mapped
//! into `HERMIT_MOUNT`'s guest paths). It is kept lexically normalised, so `chdir("..")`
//! out of a symbolic link returns to where the link was (as a shell's logical `cd`, not
//! Linux's physical one). Under the original uhyve there is none: relative paths go to the
//! host unchanged and `getcwd`/`chdir` fail with `ENOSYS`.

use alloc::borrow::Cow;
use alloc::ffi::CString;
use alloc::vec::Vec;
use core::ffi::CStr;

use hermit_interface::hypercall::{file_op, FileOp};

use super::host;
use super::path::{join, normalize};
use crate::errno::{Result, EINVAL, ENAMETOOLONG, ENOENT, ENOTDIR};
use crate::synch::spinlock::SpinLock;

/// Longest path (Linux's `PATH_MAX`, with the NUL).
pub const PATH_MAX: usize = 4096;

/// The current directory, once known.
static CWD: SpinLock<Option<Vec<u8>>> = SpinLock::new(None);

/// The current directory (asked from the loader the first time).
pub fn current() -> Result<Vec<u8>> {
    if let Some(cwd) = CWD.lock().as_ref() {
        return Ok(cwd.clone());
    }
    let mut buf = alloc::vec![0u8; PATH_MAX];
    let len = host::file_op(FileOp {
        op: file_op::GETCWD,
        buf: buf.as_mut_ptr() as u64,
        len: buf.len() as u64,
        ..FileOp::default()
    })?;
    buf.truncate(len as usize);
    let cwd = normalize(&buf);
    *CWD.lock() = Some(cwd.clone());
    Ok(cwd)
}

/// `path` as the loader should see it: absolute paths unchanged, relative ones below the
/// current directory (unchanged when there is none, under the original uhyve). An empty
/// path is `ENOENT`, as on Linux.
pub fn absolute(path: &CStr) -> Result<Cow<'_, CStr>> {
    let bytes = path.to_bytes();
    if bytes.is_empty() {
        return Err(ENOENT);
    }
    if bytes.starts_with(b"/") {
        return Ok(Cow::Borrowed(path));
    }
    let Ok(cwd) = current() else { return Ok(Cow::Borrowed(path)) };
    let joined = join(&cwd, bytes);
    if joined.len() >= PATH_MAX {
        return Err(ENAMETOOLONG);
    }
    CString::new(joined).map(Cow::Owned).map_err(|_| EINVAL)
}

/// Makes `path` (a directory, checked on the host) the current directory.
pub fn change(path: &CStr) -> Result<()> {
    let cwd = current()?;
    let bytes = path.to_bytes();
    if bytes.is_empty() {
        return Err(ENOENT);
    }
    let target = if bytes.starts_with(b"/") { bytes.to_vec() } else { join(&cwd, bytes) };
    let c = CString::new(target.clone()).map_err(|_| EINVAL)?;
    let st = host::stat(&c, false)?;
    if st.st_mode & 0o170000 != 0o040000 {
        return Err(ENOTDIR);
    }
    *CWD.lock() = Some(normalize(&target));
    Ok(())
}
