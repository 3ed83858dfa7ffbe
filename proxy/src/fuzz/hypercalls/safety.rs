//! The hypercall target's host safety: which requests may run, and the scratch directory and standard descriptors it runs with.

use std::mem::offset_of;
use std::path::PathBuf;

use hermit_interface::hypercall::{file_op, port, FileOp, Open};

use super::oracle::{chain_parts, file_op_writable};
use super::{get_i32, get_u64, ABSOLUTE};

/// The path a path-taking request names, as the handler will read it (at most 4096 bytes).
pub(super) fn request_path(mem: &[u8], arg: u64) -> Option<Vec<u8>> {
    path_at(mem, get_u64(mem, arg)?)
}

/// Whether `path` leaves the scratch directory (absolute, or with `..`).
fn escapes(path: &[u8]) -> bool {
    path.first() == Some(&b'/') || path.split(|b| *b == b'/').any(|c| c == b"..")
}

/// The path at guest-physical `addr` in `mem`, as a handler reads it (at most 4096 bytes).
fn path_at(mem: &[u8], addr: u64) -> Option<Vec<u8>> {
    let start = usize::try_from(addr).ok()?;
    let tail = mem.get(start..)?;
    let len = tail.iter().take(4097).position(|b| *b == 0)?;
    Some(tail[..len].to_vec())
}

/// Whether a `FILEOP` request cannot touch host files outside the scratch directory nor make
/// it unusable: paths that escape are run only to read (`ACCESS`, `READLINK` of the listed
/// absolute paths); `CHMOD` runs only with modes that keep the owner's rights.
fn file_op_safe(mem: &[u8], arg: u64) -> bool {
    let field = |off: usize| get_u64(mem, arg.wrapping_add(off as u64));
    let op = get_i32(mem, arg).unwrap_or(-1) as u32;
    let path = field(offset_of!(FileOp, path)).unwrap_or(0);
    let path2 = field(offset_of!(FileOp, path2)).unwrap_or(0);
    let mode = field(offset_of!(FileOp, arg0)).unwrap_or(0);
    let check = |addr: u64, read_only: bool| match path_at(mem, addr) {
        None => true, // the handler refuses it
        Some(p) if escapes(&p) => read_only && ABSOLUTE.iter().any(|a| a.as_bytes() == p.as_slice()),
        Some(_) => true,
    };
    match op {
        file_op::ACCESS | file_op::READLINK => check(path, true),
        file_op::CHMOD => mode & 0o700 == 0o700 && (path == 0 || check(path, false)),
        file_op::CHOWN | file_op::UTIMENS => path == 0 || check(path, false),
        file_op::TRUNCATE => check(path, false),
        file_op::RENAME | file_op::LINK => check(path, false) && check(path2, false),
        file_op::SYMLINK => check(path2, false),
        _ => true,
    }
}

/// Whether running the request cannot touch host files outside the scratch directory.
pub(super) fn safe_for_host(port: u16, mem: &[u8], arg: u64) -> bool {
    if port == port::FILEOP {
        if let Some((first, second_port, second)) = chain_parts(mem, arg) {
            // Both parts safe; the model checks the second against memory as it was before
            // the first ran, so the first must not write into the second's request, its
            // strings or the page tables (run only when it writes nothing but its `ret`), and
            // `CMDVAL`'s own model is not applied inside a chain.
            let ret = first.wrapping_add(offset_of!(FileOp, ret) as u64);
            let request = (second, second.saturating_add(128));
            let overlaps = file_op_writable(first, mem)
                .iter()
                .any(|&(s, e)| (s, e) != (ret, ret.saturating_add(8)) || (s < request.1 && request.0 < e));
            return file_op_safe(mem, first)
                && second_port != port::CMDVAL
                && !overlaps
                && (second_port == port::FILEOP && chain_parts(mem, second).is_some()
                    || safe_for_host(second_port, mem, second));
        }
        return file_op_safe(mem, arg);
    }
    let needs_path = matches!(port, port::OPEN | port::UNLINK | port::MKDIR | port::RMDIR | port::STAT);
    if !needs_path {
        return true;
    }
    let Some(path) = request_path(mem, arg) else { return true }; // the handler refuses it
    if !escapes(&path) {
        return true;
    }
    let listed = ABSOLUTE.iter().any(|p| p.as_bytes() == path.as_slice());
    match port {
        port::STAT => listed,
        port::OPEN => {
            let flags = get_i32(mem, arg.wrapping_add(offset_of!(Open, flags) as u64)).unwrap_or(-1);
            let writes = libc::O_ACCMODE | libc::O_CREAT | libc::O_TRUNC | libc::O_TMPFILE | libc::O_APPEND;
            listed && flags & writes == 0
        }
        _ => false,
    }
}

/// Points descriptors 0, 1 and 2 at `/dev/null` while alive (the guest may read or write
/// them), and the working directory at the scratch directory.
pub(super) struct Isolation {
    saved: [i32; 3],
    cwd: PathBuf,
}

impl Isolation {
    pub(super) fn new(scratch: &std::path::Path) -> Self {
        let cwd = std::env::current_dir().expect("working directory");
        std::fs::create_dir_all(scratch).expect("scratch directory");
        std::env::set_current_dir(scratch).expect("enter the scratch directory");
        let null = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null").expect("/dev/null");
        let mut saved = [-1; 3];
        for (fd, slot) in saved.iter_mut().enumerate() {
            // SAFETY: duplicating and replacing the process's own standard descriptors.
            unsafe {
                *slot = libc::fcntl(fd as i32, libc::F_DUPFD_CLOEXEC, 10);
                libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), fd as i32);
            }
        }
        Self { saved, cwd }
    }
}

impl Drop for Isolation {
    fn drop(&mut self) {
        for (fd, saved) in self.saved.iter().enumerate() {
            if *saved >= 0 {
                // SAFETY: restores the descriptor saved in `new` and closes the copy.
                unsafe {
                    libc::dup2(*saved, fd as i32);
                    libc::close(*saved);
                }
            }
        }
        let _ = std::env::set_current_dir(&self.cwd);
    }
}

/// Scratch directory for the target: `HERMIT_FUZZ_TMPDIR`, or one in the temporary directory.
pub(super) fn scratch() -> PathBuf {
    std::env::var_os("HERMIT_FUZZ_TMPDIR")
        .map_or_else(std::env::temp_dir, PathBuf::from)
        .join(format!("hermit-fuzz-hypercalls-{}", std::process::id()))
}
