//! Resolving the guest's paths on the host with `openat2`, so that the host kernel, not a
//! string check, decides what a path reaches.
//!
//! Without `HERMIT_MOUNT` a guest path is a host path, resolved from the proxy's working
//! directory as the original uhyve did, except that magic links (`/proc/<pid>/fd/N`,
//! `/dev/fd/N`, `/dev/stdout`, `/proc/<pid>/{exe,cwd,root}`) are not followed
//! (`RESOLVE_NO_MAGICLINKS`). With `HERMIT_MOUNT` it is first mapped to a mount and resolved
//! beneath that mount's directory descriptor (`RESOLVE_BENEATH`): `..`, absolute symbolic
//! links and symbolic links that lead out fail. Every object reached is then checked by
//! [`crate::files::inspect`]. Escapes and refused objects report `EACCES`; paths outside
//! every mount `ENOENT`; writes to a read-only mount `EROFS`.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use super::mounts::MountTable;
use crate::files::{check_path, inspect};

/// How guest paths reach host files.
#[derive(Debug, Default)]
pub enum Paths {
    /// Host paths as they are (the original behaviour).
    #[default]
    Host,
    /// Only the trees of `HERMIT_MOUNT`.
    Mounts(MountTable),
}

/// A resolved request: a start directory, a path relative to it (or absolute in host
/// mode), the `RESOLVE_*` flags, and whether the mount is read-only.
struct Target<'a> {
    dir: Option<BorrowedFd<'a>>,
    path: CString,
    resolve: u64,
    read_only: bool,
}

impl Target<'_> {
    fn dir_fd(&self) -> RawFd {
        self.dir.as_ref().map_or(libc::AT_FDCWD, AsRawFd::as_raw_fd)
    }
}

/// The `open` flags Linux knows (`VALID_OPEN_FLAGS`, with the kernel's `O_LARGEFILE`);
/// `openat2` refuses others where `open` ignores them, so they are dropped.
const VALID_FLAGS: i32 = libc::O_ACCMODE
    | libc::O_CREAT
    | libc::O_EXCL
    | libc::O_NOCTTY
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_NONBLOCK
    | libc::O_SYNC
    | libc::O_DSYNC
    | libc::O_ASYNC
    | libc::O_DIRECT
    | 0o100000
    | libc::O_DIRECTORY
    | libc::O_NOFOLLOW
    | libc::O_NOATIME
    | libc::O_CLOEXEC
    | libc::O_PATH
    | libc::O_TMPFILE;

/// Whether `open` with `flags` may modify the file system (refused on a read-only mount).
pub fn writes(flags: i32) -> bool {
    flags & libc::O_ACCMODE != libc::O_RDONLY || flags & (libc::O_CREAT | libc::O_TRUNC) != 0 || creates_unnamed(flags)
}

/// Whether `flags` ask for an unnamed temporary file (`O_TMPFILE` includes `O_DIRECTORY`).
fn creates_unnamed(flags: i32) -> bool {
    flags & libc::O_TMPFILE == libc::O_TMPFILE
}

/// The kernel's `struct open_how` (`libc::open_how` cannot be built field by field).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const _: () = assert!(size_of::<OpenHow>() == size_of::<libc::open_how>());

/// `openat2(dir, path, {flags, mode, resolve})`.
fn openat2(dir: RawFd, path: &CStr, flags: i32, mode: u32, resolve: u64) -> Result<OwnedFd, i32> {
    let how = OpenHow { flags: flags as u64, mode: u64::from(mode), resolve };
    for _ in 0..8 {
        // SAFETY: `path` is NUL-terminated, `how` is a valid `open_how` of the size passed;
        // the kernel reads both and returns a new descriptor or -1.
        let fd =
            unsafe { libc::syscall(libc::SYS_openat2, dir, path.as_ptr(), &how as *const OpenHow, size_of_val(&how)) };
        if fd >= 0 {
            // SAFETY: the kernel just returned this descriptor; nothing else owns it.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        }
        match std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO) {
            // A concurrent rename or mount made RESOLVE_BENEATH unsure: try again.
            libc::EAGAIN => continue,
            errno => return Err(errno),
        }
    }
    Err(libc::EAGAIN)
}

/// Whether this kernel has `openat2` (Linux 5.6).
pub fn openat2_available() -> bool {
    openat2(libc::AT_FDCWD, c"/", libc::O_PATH | libc::O_CLOEXEC, 0, 0).is_ok()
}

/// Opens `target` (plus `O_CLOEXEC`) and checks what was opened.
fn open_checked(target: &Target<'_>, flags: i32, mode: u32) -> Result<OwnedFd, i32> {
    open_inspected(target, flags, mode).map(|(fd, _)| fd)
}

/// [`open_checked`], with the opened object's status.
fn open_inspected(target: &Target<'_>, flags: i32, mode: u32) -> Result<(OwnedFd, libc::stat), i32> {
    match openat2(target.dir_fd(), &target.path, flags | libc::O_CLOEXEC, mode, target.resolve) {
        Ok(fd) => {
            let st = inspect(fd.as_fd())?;
            Ok((fd, st))
        }
        // Resolution would have left the mount.
        Err(libc::EXDEV) => Err(libc::EACCES),
        // A magic link on the way, or a loop of symbolic links: a loop stays one when magic
        // links are allowed (any other outcome of that probe, even a refusal, means a
        // magic link).
        Err(libc::ELOOP) => {
            let probe = target.resolve & !libc::RESOLVE_NO_MAGICLINKS;
            let magic = probe != target.resolve
                && openat2(target.dir_fd(), &target.path, libc::O_PATH | libc::O_CLOEXEC, 0, probe).err()
                    != Some(libc::ELOOP);
            Err(if magic { libc::EACCES } else { libc::ELOOP })
        }
        Err(errno) => Err(errno),
    }
}

/// Splits a host path into the directory that holds its last component and that component
/// (trailing slashes stay with it): `a/b/` → (`a`, `b/`), `/x` → (`/`, `x`), `x` → (`.`, `x`).
fn split_leaf(path: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let end = path.iter().rposition(|b| *b != b'/').map_or(0, |i| i + 1);
    if end == 0 {
        return (b"/".to_vec(), b".".to_vec());
    }
    match path[..end].iter().rposition(|b| *b == b'/') {
        None => (b".".to_vec(), path.to_vec()),
        Some(0) => (b"/".to_vec(), path[1..].to_vec()),
        Some(i) => (path[..i].to_vec(), path[i + 1..].to_vec()),
    }
}

fn cstring(bytes: Vec<u8>) -> Result<CString, i32> {
    CString::new(bytes).map_err(|_| libc::EINVAL)
}

impl Paths {
    /// Where `path` leads: host mode after the string-level [`check_path`]; mount mode
    /// beneath the mount that holds it (`ENOENT` if none does).
    fn target(&self, path: &CStr) -> Result<Target<'_>, i32> {
        match self {
            Paths::Host => {
                check_path(path)?;
                Ok(Target { dir: None, path: path.to_owned(), resolve: libc::RESOLVE_NO_MAGICLINKS, read_only: false })
            }
            Paths::Mounts(table) => {
                if path.to_bytes().is_empty() {
                    return Err(libc::ENOENT);
                }
                let located = table.locate(path.to_bytes()).ok_or(libc::ENOENT)?;
                let mount = &table.mounts[located.index];
                let rest = if located.rest.is_empty() { b".".to_vec() } else { located.rest.join(&b'/') };
                Ok(Target {
                    dir: mount.dir.as_ref().map(AsFd::as_fd),
                    path: cstring(rest)?,
                    resolve: libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS,
                    read_only: mount.read_only,
                })
            }
        }
    }

    /// The directory holding `path`'s last component, opened and checked, and that
    /// component; `EROFS` on a read-only mount (every caller modifies the directory).
    fn parent(&self, path: &CStr) -> Result<(OwnedFd, CString), i32> {
        self.parent_of(path, true)
    }

    /// As [`Paths::parent`]; `modifies` false allows read-only mounts (`readlink`).
    fn parent_of(&self, path: &CStr, modifies: bool) -> Result<(OwnedFd, CString), i32> {
        let target = self.target(path)?;
        if modifies && target.read_only {
            return Err(libc::EROFS);
        }
        let (dir, leaf) = split_leaf(target.path.as_bytes());
        let parent = Target { path: cstring(dir)?, ..target };
        let fd = open_checked(&parent, libc::O_PATH | libc::O_DIRECTORY, 0)?;
        Ok((fd, cstring(leaf)?))
    }

    /// Opens `path` for the guest with Linux `flags` and `mode` (`O_CLOEXEC` added, unknown
    /// flags dropped, the mode ignored without `O_CREAT`/`O_TMPFILE`, as `open` does).
    pub fn open(&self, path: &CStr, flags: i32, mode: i32) -> Result<OwnedFd, i32> {
        let target = self.target(path)?;
        let flags = flags & VALID_FLAGS;
        if target.read_only && writes(flags) {
            return Err(libc::EROFS);
        }
        let creates = flags & libc::O_CREAT != 0 || creates_unnamed(flags);
        let mode = if creates { mode as u32 & 0o7777 } else { 0 };
        open_checked(&target, flags, mode)
    }

    /// `stat` (or `lstat` with `nofollow`) of `path`: the status of the object opened and
    /// checked as for `open` (the checks' own `fstat`).
    ///
    /// Without mounts, a path that does not exist is answered by one plain `newfstatat`
    /// (`ENOENT` or `ENOTDIR`), since `openat2` costs about 0.9 us more than a lookup even
    /// when it finds nothing (it allocates a descriptor and a file first), and programs stat
    /// absent files often (SQLite's journal and WAL before every read transaction). Such an
    /// answer reveals only that a name does not exist, even where the path leads through a
    /// magic link, which `openat2` refuses: nothing is opened or reported about an object. With
    /// mounts every path goes through `openat2` beneath the mount, since a plain lookup could
    /// follow a link out of it and tell which host files do not exist.
    pub fn stat(&self, path: &CStr, nofollow: bool) -> Result<libc::stat, i32> {
        let target = self.target(path)?;
        if target.dir.is_none() {
            if let Err(errno @ (libc::ENOENT | libc::ENOTDIR)) = lookup(&target.path, nofollow) {
                return Err(errno);
            }
        }
        let flags = libc::O_PATH | if nofollow { libc::O_NOFOLLOW } else { 0 };
        open_inspected(&target, flags, 0).map(|(_, st)| st)
    }

    /// Removes the file `path` (a symbolic link itself, not its target).
    pub fn unlink(&self, path: &CStr) -> Result<(), i32> {
        let (dir, leaf) = self.parent(path)?;
        // SAFETY: `dir` is live and `leaf` NUL-terminated.
        result(unsafe { libc::unlinkat(dir.as_raw_fd(), leaf.as_ptr(), 0) })
    }

    /// Removes the empty directory `path`.
    pub fn rmdir(&self, path: &CStr) -> Result<(), i32> {
        let (dir, leaf) = self.parent(path)?;
        // SAFETY: as in `unlink`.
        result(unsafe { libc::unlinkat(dir.as_raw_fd(), leaf.as_ptr(), libc::AT_REMOVEDIR) })
    }

    /// Creates the directory `path` with `mode`.
    pub fn mkdir(&self, path: &CStr, mode: i32) -> Result<(), i32> {
        let (dir, leaf) = self.parent(path)?;
        // SAFETY: as in `unlink`.
        result(unsafe { libc::mkdirat(dir.as_raw_fd(), leaf.as_ptr(), mode as libc::mode_t & 0o7777) })
    }
}

/// A plain `newfstatat` of a host path (following a final symbolic link unless `nofollow`),
/// only to learn whether it exists: its result is never reported.
fn lookup(path: &CStr, nofollow: bool) -> Result<(), i32> {
    // SAFETY: an all-zero `stat` is a valid value of the plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let flags = if nofollow { libc::AT_SYMLINK_NOFOLLOW } else { 0 };
    // SAFETY: `path` is NUL-terminated and `st` a valid out-pointer.
    result(unsafe { libc::fstatat(libc::AT_FDCWD, path.as_ptr(), &mut st, flags) })
}

/// `AT_EMPTY_PATH`: the call acts on the descriptor itself.
const EMPTY: &CStr = c"";

/// `fchmodat2`, Linux 6.6 (the `libc` crate has no number for it yet).
const SYS_FCHMODAT2: libc::c_long = 452;

impl Paths {
    /// `path` opened with `O_PATH` (not following a final symbolic link with `nofollow`) and
    /// checked; `EROFS` if `modifies` and the mount is read-only.
    fn object(&self, path: &CStr, nofollow: bool, modifies: bool) -> Result<OwnedFd, i32> {
        let target = self.target(path)?;
        if modifies && target.read_only {
            return Err(libc::EROFS);
        }
        let flags = libc::O_PATH | if nofollow { libc::O_NOFOLLOW } else { 0 };
        open_checked(&target, flags, 0)
    }

    /// `faccessat(path, mode, flags)` (`flags`: `AT_EACCESS`, `AT_SYMLINK_NOFOLLOW`); `W_OK`
    /// on a read-only mount is `EROFS`, as on a read-only file system.
    pub fn access(&self, path: &CStr, mode: i32, flags: i32) -> Result<(), i32> {
        if mode & !(libc::R_OK | libc::W_OK | libc::X_OK) != 0
            || flags & !(libc::AT_EACCESS | libc::AT_SYMLINK_NOFOLLOW) != 0
        {
            return Err(libc::EINVAL);
        }
        let fd = self.object(path, flags & libc::AT_SYMLINK_NOFOLLOW != 0, mode & libc::W_OK != 0)?;
        let flags = libc::AT_EMPTY_PATH | (flags & libc::AT_EACCESS);
        // SAFETY: `fd` is live and the path NUL-terminated; no memory is written.
        result(unsafe { libc::syscall(libc::SYS_faccessat2, fd.as_raw_fd(), EMPTY.as_ptr(), mode, flags) } as i32)
    }

    /// `truncate(path, len)`: the file is opened for writing, as Linux requires.
    pub fn truncate(&self, path: &CStr, len: i64) -> Result<(), i32> {
        let fd = self.open(path, libc::O_WRONLY, 0)?;
        // SAFETY: `fd` is live; no memory is passed.
        result(unsafe { libc::ftruncate(fd.as_raw_fd(), len) })
    }

    /// `chmod(path, mode)`.
    pub fn chmod(&self, path: &CStr, mode: i32) -> Result<(), i32> {
        let fd = self.object(path, false, true)?;
        let mode = mode as libc::mode_t & 0o7777;
        // SAFETY: `fd` is live and the path NUL-terminated.
        result(unsafe { libc::syscall(SYS_FCHMODAT2, fd.as_raw_fd(), EMPTY.as_ptr(), mode, libc::AT_EMPTY_PATH) } as i32)
    }

    /// `chown(path, uid, gid)`, or `lchown` with `nofollow`.
    pub fn chown(&self, path: &CStr, uid: u32, gid: u32, nofollow: bool) -> Result<(), i32> {
        let fd = self.object(path, nofollow, true)?;
        // SAFETY: `fd` is live and the path NUL-terminated.
        result(unsafe { libc::fchownat(fd.as_raw_fd(), EMPTY.as_ptr(), uid, gid, libc::AT_EMPTY_PATH) })
    }

    /// `utimensat(path, times, flags)` (`flags`: `AT_SYMLINK_NOFOLLOW`); `times` `None` sets
    /// both to now.
    pub fn utimens(&self, path: &CStr, times: Option<&[libc::timespec; 2]>, flags: i32) -> Result<(), i32> {
        if flags & !libc::AT_SYMLINK_NOFOLLOW != 0 {
            return Err(libc::EINVAL);
        }
        let fd = self.object(path, flags != 0, true)?;
        let times = times.map_or(std::ptr::null(), |t| t.as_ptr());
        // SAFETY: `fd` is live, the path NUL-terminated, `times` null or two timespecs.
        result(unsafe { libc::utimensat(fd.as_raw_fd(), EMPTY.as_ptr(), times, libc::AT_EMPTY_PATH) })
    }

    /// `rename(from, to)`; both names resolve like `unlink`'s.
    pub fn rename(&self, from: &CStr, to: &CStr) -> Result<(), i32> {
        let (dir1, leaf1) = self.parent(from)?;
        let (dir2, leaf2) = self.parent(to)?;
        // SAFETY: both directories are live and both names NUL-terminated.
        result(unsafe { libc::renameat(dir1.as_raw_fd(), leaf1.as_ptr(), dir2.as_raw_fd(), leaf2.as_ptr()) })
    }

    /// `link(from, to)` (a final symbolic link of `from` is linked itself, as on Linux).
    pub fn link(&self, from: &CStr, to: &CStr) -> Result<(), i32> {
        let (dir1, leaf1) = self.parent(from)?;
        let (dir2, leaf2) = self.parent(to)?;
        // SAFETY: as in `rename`.
        result(unsafe { libc::linkat(dir1.as_raw_fd(), leaf1.as_ptr(), dir2.as_raw_fd(), leaf2.as_ptr(), 0) })
    }

    /// `symlink(target, path)`: `target` is stored as text; what it reaches is resolved (and
    /// confined) only when the link is used.
    pub fn symlink(&self, target: &CStr, path: &CStr) -> Result<(), i32> {
        let (dir, leaf) = self.parent(path)?;
        // SAFETY: `dir` is live and both strings NUL-terminated.
        result(unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), leaf.as_ptr()) })
    }

    /// `readlink(path)`: the link's text, at most `max` bytes.
    pub fn readlink(&self, path: &CStr, max: usize) -> Result<Vec<u8>, i32> {
        let (dir, leaf) = self.parent_of(path, false)?;
        let mut buf = vec![0u8; max.min(libc::PATH_MAX as usize)];
        // SAFETY: `dir` is live, `leaf` NUL-terminated, `buf` writable for its length.
        let n = unsafe { libc::readlinkat(dir.as_raw_fd(), leaf.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(last_errno());
        }
        buf.truncate(n as usize);
        Ok(buf)
    }

    /// The guest's initial working directory in guest path space: the proxy's, mapped into a
    /// mount (else `/`) with `HERMIT_MOUNT`, the proxy's own without.
    pub fn initial_cwd(&self) -> Vec<u8> {
        match self {
            Paths::Host => host_cwd().to_vec(),
            Paths::Mounts(table) => {
                let mut cwd = Vec::new();
                for part in &table.cwd {
                    cwd.push(b'/');
                    cwd.extend_from_slice(part);
                }
                if cwd.is_empty() {
                    cwd.push(b'/');
                }
                cwd
            }
        }
    }
}

/// The proxy's working directory, read once (call it before the seccomp filter is in place).
pub fn host_cwd() -> &'static [u8] {
    static CWD: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    CWD.get_or_init(|| {
        use std::os::unix::ffi::OsStrExt;
        std::env::current_dir().map_or_else(|_| b"/".to_vec(), |d| d.as_os_str().as_bytes().to_vec())
    })
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

fn result(ret: libc::c_int) -> Result<(), i32> {
    if ret == 0 {
        Ok(())
    } else {
        Err(last_errno())
    }
}

#[cfg(test)]
mod tests {
    use super::super::mounts::{MountSpec, MountTable};
    use super::*;
    use std::path::{Path, PathBuf};

    #[test]
    fn leaves() {
        let s = |p: &str| {
            let (d, l) = split_leaf(p.as_bytes());
            (String::from_utf8(d).unwrap(), String::from_utf8(l).unwrap())
        };
        assert_eq!(s("a/b/"), ("a".into(), "b/".into()));
        assert_eq!(s("/x"), ("/".into(), "x".into()));
        assert_eq!(s("x"), (".".into(), "x".into()));
        assert_eq!(s("/a/b/c"), ("/a/b".into(), "c".into()));
        assert_eq!(s("/"), ("/".into(), ".".into()));
    }

    #[test]
    fn write_intent() {
        assert!(!writes(libc::O_RDONLY));
        assert!(!writes(libc::O_RDONLY | libc::O_APPEND | libc::O_DIRECTORY));
        assert!(writes(libc::O_WRONLY));
        assert!(writes(libc::O_RDWR));
        assert!(writes(libc::O_RDONLY | libc::O_CREAT));
        assert!(writes(libc::O_RDONLY | libc::O_TRUNC));
        assert!(writes(libc::O_RDWR | libc::O_TMPFILE));
    }

    /// A scratch tree: `root/inside/file`, `root/inside/out -> /etc`,
    /// `root/inside/up -> ../secret`, `root/secret`, `root/ro/file`.
    fn scratch(name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("proxy-resolve-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("inside")).unwrap();
        std::fs::create_dir_all(root.join("ro")).unwrap();
        std::fs::write(root.join("inside/file"), b"inside").unwrap();
        std::fs::write(root.join("secret"), b"secret").unwrap();
        std::fs::write(root.join("ro/file"), b"ro").unwrap();
        std::os::unix::fs::symlink("/etc", root.join("inside/out")).unwrap();
        std::os::unix::fs::symlink("../secret", root.join("inside/up")).unwrap();
        root
    }

    fn mounts(root: &Path) -> Paths {
        let specs = vec![
            (
                MountSpec { host: root.join("inside"), guest: Some("/data".into()), read_only: false },
                root.join("inside"),
            ),
            (MountSpec { host: root.join("ro"), guest: Some("/ro".into()), read_only: true }, root.join("ro")),
        ];
        let mut table = MountTable::build(&specs, Path::new("/")).unwrap();
        table.open().unwrap();
        Paths::Mounts(table)
    }

    fn c(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    #[test]
    fn mounts_confine() {
        let root = scratch("confine");
        let paths = mounts(&root);
        let read = |p: &str| paths.open(&c(p), libc::O_RDONLY, 0o666).map(drop);
        assert_eq!(read("/data/file"), Ok(()));
        assert_eq!(read("/data/./file"), Ok(()));
        assert_eq!(read("data/file"), Ok(()));
        assert_eq!(read("/data"), Ok(()));
        assert_eq!(read("/data/../secret"), Err(libc::ENOENT));
        assert_eq!(read("/etc/hostname"), Err(libc::ENOENT));
        assert_eq!(read("/data/out/hostname"), Err(libc::EACCES));
        assert_eq!(read("/data/up"), Err(libc::EACCES));
        assert_eq!(read(""), Err(libc::ENOENT));
        let created = paths.open(&c("/data/new"), libc::O_WRONLY | libc::O_CREAT, 0o600);
        assert!(created.is_ok(), "{created:?}");
        assert_eq!(paths.open(&c("/data/out/new"), libc::O_WRONLY | libc::O_CREAT, 0o600).map(drop), Err(libc::EACCES));
        assert_eq!(paths.mkdir(&c("/data/dir"), 0o755), Ok(()));
        assert!(paths.stat(&c("/data/dir"), false).is_ok());
        assert_eq!(paths.rmdir(&c("/data/dir")), Ok(()));
        assert_eq!(paths.unlink(&c("/data/new")), Ok(()));
        assert_eq!(paths.unlink(&c("/data/out/hostname")), Err(libc::EACCES));
        // A link that points out is removed itself, never its target.
        assert!(paths.stat(&c("/data/out"), true).is_ok());
        assert_eq!(paths.stat(&c("/data/out"), false).map(drop), Err(libc::EACCES));
        // The read-only mount.
        assert_eq!(read("/ro/file"), Ok(()));
        assert_eq!(paths.open(&c("/ro/file"), libc::O_RDWR, 0).map(drop), Err(libc::EROFS));
        assert_eq!(paths.open(&c("/ro/x"), libc::O_WRONLY | libc::O_CREAT, 0o600).map(drop), Err(libc::EROFS));
        assert_eq!(paths.unlink(&c("/ro/file")), Err(libc::EROFS));
        assert_eq!(paths.mkdir(&c("/ro/d"), 0o755), Err(libc::EROFS));
        assert!(root.join("secret").exists() && root.join("ro/file").exists());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn host_mode_refuses_magic_links_and_own_proc() {
        let paths = Paths::Host;
        let open = |p: &str| paths.open(&c(p), libc::O_RDONLY, 0).map(drop);
        assert_eq!(open("/etc/hostname"), Ok(()));
        assert_eq!(open("/dev/fd/0"), Err(libc::EACCES));
        assert_eq!(open("/proc/1/root/etc/hostname"), Err(libc::EACCES));
        assert_eq!(open("/proc/self/status"), Err(libc::EACCES));
        let root = scratch("host");
        let link = root.join("toproc");
        std::os::unix::fs::symlink(format!("/proc/{}", std::process::id()), &link).unwrap();
        assert_eq!(open(&format!("{}/status", link.display())), Err(libc::EACCES));
        assert_eq!(
            open(&format!("{}/../../../../../../proc/{}/environ", root.display(), std::process::id())),
            Err(libc::EACCES)
        );
        assert_eq!(paths.unlink(&c(&format!("{}/mem", link.display()))), Err(libc::EACCES));
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        assert_eq!(open(&format!("{}/loop", root.display())), Err(libc::ELOOP));
        assert!(paths.stat(&c("/proc/1/status"), false).is_ok());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn stat_answers_absent_paths_and_still_checks_objects() {
        let root = scratch("stat");
        let at = |p: &str| format!("{}/{p}", root.display());
        std::os::unix::fs::symlink("nowhere", root.join("inside/dangling")).unwrap();
        std::os::unix::fs::symlink("/dev/kvm", root.join("inside/kvm")).unwrap();
        let host = Paths::Host;
        let stat = |p: &str, nofollow| host.stat(&c(p), nofollow).map(|st| st.st_size);
        // Absent paths: the plain lookup's answer.
        assert_eq!(stat(&at("inside/file-journal"), false), Err(libc::ENOENT));
        assert_eq!(stat(&at("inside/file/x"), false), Err(libc::ENOTDIR));
        assert_eq!(stat(&at("inside/dangling"), false), Err(libc::ENOENT));
        // Present ones: opened and checked, with the checks' status.
        assert_eq!(stat(&at("inside/file"), false), Ok(6));
        assert_eq!(stat(&at("inside/dangling"), true), Ok(7), "the link itself");
        assert_eq!(stat("/proc/self/status", false), Err(libc::EACCES));
        assert_eq!(stat("/dev/fd/0", false), Err(libc::EACCES), "a magic link");
        if Path::new("/dev/kvm").exists() {
            assert_eq!(stat(&at("inside/kvm"), false), Err(libc::EACCES));
        }
        // Beneath a mount: absent is absent, a link out is refused whether or not its
        // target exists.
        let mounted = mounts(&root);
        let stat = |p: &str| mounted.stat(&c(p), false).map(|st| st.st_size);
        assert_eq!(stat("/data/file"), Ok(6));
        assert_eq!(stat("/data/file-journal"), Err(libc::ENOENT));
        assert_eq!(stat("/data/out/hostname"), Err(libc::EACCES));
        assert_eq!(stat("/data/out/no-such-file"), Err(libc::EACCES));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
