//! The `FILEOP` extension hypercall: the POSIX file calls beyond uhyve's set.
//!
//! Every path goes through [`crate::sandbox::Paths`] (the `openat2` resolver, `HERMIT_MOUNT`
//! and its read-only mounts); every descriptor must be one the guest owns ([`FileTable`]).
//! Nothing here blocks the host thread: lock requests are made non-blocking (`LOCK_NB`,
//! `F_SETLK` for `F_SETLKW`) and the guest retries.
//!
//! [`FileTable`]: crate::files::FileTable

use std::mem::offset_of;

use hermit_interface::hypercall::{file_op, FileOp};

use crate::guest::GuestError;
use crate::host::Host;
use crate::hypercall::{failure, field, guest_path};

/// Largest directory listing or link text one request returns.
const LIST_MAX: u64 = 64 << 10;

/// Size of Linux's x86-64 `struct flock`.
const FLOCK_SIZE: usize = 32;

/// The request fields, read once.
struct Request {
    op: u32,
    fd: i32,
    path: u64,
    path2: u64,
    buf: u64,
    len: u64,
    arg0: i64,
    arg1: i64,
    arg2: i64,
}

/// A [`FileOp`] as plain bytes, for one guest-memory read.
#[derive(Clone, Copy, Default)]
#[repr(transparent)]
struct FileOpBytes(FileOp);

// SAFETY: `FileOp` is `repr(C)` and consists of integers only, without padding (72 bytes,
// asserted below), so every byte pattern is a valid value.
unsafe impl vm_memory::ByteValued for FileOpBytes {}

const _: () = assert!(size_of::<FileOp>() == 72 && offset_of!(FileOp, ret) == 64);

/// Reads the request with one checked access (field by field it was nine).
fn request(host: &Host, arg: u64) -> Result<Request, GuestError> {
    let FileOpBytes(op) = host.ram.read(arg)?;
    Ok(Request {
        op: op.op,
        fd: op.fd,
        path: op.path,
        path2: op.path2,
        buf: op.buf,
        len: op.len,
        arg0: op.arg0,
        arg1: op.arg1,
        arg2: op.arg2,
    })
}

/// Serves a `FILEOP` request at guest-physical `arg`; only `ret` (and the operation's
/// output buffer) is written. A [`file_op::CHAIN`] serves its first request, then a second
/// `FILEOP` request itself (as read before the first: neither may be a chain), or returns
/// the second, `(port, argument address)`, for the caller to dispatch (a port that is not
/// `FILEOP` cannot lead back here).
pub fn serve(host: &Host, arg: u64) -> Result<Option<(u16, u64)>, GuestError> {
    let req = request(host, arg)?;
    if req.op != file_op::CHAIN {
        serve_request(host, arg, &req)?;
        return Ok(None);
    }
    let first = request(host, req.buf)?;
    let port = u16::try_from(req.arg0).map_err(|_| GuestError::Invalid(format!("chained port {:#x}", req.arg0)))?;
    // A second FILEOP request is read once, here, and served as checked: read again after
    // the first (which may write over it, as may another vCPU) it could be a chain, and
    // chains would nest as deep as the guest likes.
    let second = if port == hermit_interface::hypercall::port::FILEOP { Some(request(host, req.path)?) } else { None };
    if first.op == file_op::CHAIN || second.as_ref().is_some_and(|s| s.op == file_op::CHAIN) {
        return Err(GuestError::Invalid("a FILEOP chain inside a chain".into()));
    }
    serve_request(host, req.buf, &first)?;
    host.ram.write(field(arg, offset_of!(FileOp, ret)), 0i64)?;
    match second {
        Some(second) => serve_request(host, req.path, &second).map(|()| None),
        None => Ok(Some((port, req.path))),
    }
}

/// Serves the request `req` read from guest-physical `arg`.
fn serve_request(host: &Host, arg: u64, req: &Request) -> Result<(), GuestError> {
    let ret = match perform(host, req)? {
        Ok(value) => value,
        Err(errno) => failure(host, errno),
    };
    host.ram.write(field(arg, offset_of!(FileOp, ret)), ret)
}

/// The last host errno.
fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

/// A libc return value: `Ok(value)` or the errno.
fn checked(ret: i64) -> Result<i64, i32> {
    if ret < 0 {
        Err(errno())
    } else {
        Ok(ret)
    }
}

fn unit(r: Result<(), i32>) -> Result<i64, i32> {
    r.map(|()| 0)
}

/// The outer `Result` stops the guest (a bad request), the inner one is the call's.
fn perform(host_: &Host, req: &Request) -> Result<Result<i64, i32>, GuestError> {
    let paths = host_.paths();
    let path = |addr: u64| guest_path(host_, addr);
    let owned = |fd: i32| host_.files.lock().expect("file table").allows(fd);
    let fd = req.fd;
    let with_fd = |f: &dyn Fn() -> i64| if owned(fd) { checked(f()) } else { Err(libc::EBADF) };
    Ok(match req.op {
        file_op::PREAD | file_op::PWRITE => {
            if !owned(fd) {
                Err(libc::EBADF)
            } else if req.arg0 < 0 {
                Err(libc::EINVAL)
            } else if req.op == file_op::PREAD {
                host_.ram.pread_from_fd(host_.page_root, req.buf, req.len, fd, req.arg0).map(|n| n as i64)
            } else {
                host_.ram.pwrite_to_fd(host_.page_root, req.buf, req.len, fd, req.arg0).map(|n| n as i64)
            }
        }
        // SAFETY: a plain call on a descriptor the guest owns; no memory is passed.
        file_op::FSYNC => with_fd(&|| i64::from(unsafe { libc::fsync(fd) })),
        // SAFETY: as above.
        file_op::FDATASYNC => with_fd(&|| i64::from(unsafe { libc::fdatasync(fd) })),
        // SAFETY: as above.
        file_op::FTRUNCATE => with_fd(&|| i64::from(unsafe { libc::ftruncate(fd, req.arg0) })),
        file_op::TRUNCATE => unit(paths.truncate(&path(req.path)?, req.arg0)),
        file_op::ACCESS => unit(paths.access(&path(req.path)?, req.arg0 as i32, req.arg1 as i32)),
        file_op::CHMOD if req.path == 0 => {
            // SAFETY: as above.
            with_fd(&|| i64::from(unsafe { libc::fchmod(fd, req.arg0 as u32 & 0o7777) }))
        }
        file_op::CHMOD => unit(paths.chmod(&path(req.path)?, req.arg0 as i32)),
        file_op::CHOWN if req.path == 0 => {
            // SAFETY: as above.
            with_fd(&|| i64::from(unsafe { libc::fchown(fd, req.arg0 as u32, req.arg1 as u32) }))
        }
        file_op::CHOWN => unit(paths.chown(&path(req.path)?, req.arg0 as u32, req.arg1 as u32, req.arg2 != 0)),
        file_op::UTIMENS => {
            let times = read_times(host_, req.buf)?;
            if req.path == 0 {
                let t = times.as_ref().map_or(std::ptr::null(), |t| t.as_ptr());
                // SAFETY: `t` is null or two timespecs; the descriptor is the guest's.
                with_fd(&|| i64::from(unsafe { libc::futimens(fd, t) }))
            } else {
                unit(paths.utimens(&path(req.path)?, times.as_ref(), req.arg0 as i32))
            }
        }
        file_op::RENAME => unit(paths.rename(&path(req.path)?, &path(req.path2)?)),
        file_op::LINK => unit(paths.link(&path(req.path)?, &path(req.path2)?)),
        file_op::SYMLINK => unit(paths.symlink(&path(req.path)?, &path(req.path2)?)),
        file_op::READLINK => {
            let max = req.len.min(LIST_MAX);
            host_.ram.check(req.buf, max)?;
            match paths.readlink(&path(req.path)?, max as usize) {
                Ok(text) => {
                    host_.ram.write_bytes(req.buf, &text)?;
                    Ok(text.len() as i64)
                }
                Err(e) => Err(e),
            }
        }
        file_op::GETDENTS => getdents(host_, req, owned(fd))?,
        file_op::FCNTL => fcntl(host_, req, owned(fd))?,
        file_op::FLOCK => {
            let op = req.arg0 as i32 & !libc::LOCK_NB;
            if !matches!(op, libc::LOCK_SH | libc::LOCK_EX | libc::LOCK_UN) {
                Err(libc::EINVAL)
            } else {
                // SAFETY: as above.
                with_fd(&|| i64::from(unsafe { libc::flock(fd, op | libc::LOCK_NB) }))
            }
        }
        file_op::GETCWD => {
            let mut cwd = paths.initial_cwd();
            let len = cwd.len() as i64;
            cwd.push(0);
            if (cwd.len() as u64) > req.len {
                Err(libc::ERANGE)
            } else {
                host_.ram.write_bytes(req.buf, &cwd)?;
                Ok(len)
            }
        }
        file_op::WINSIZE => {
            if !owned(fd) {
                Err(libc::EBADF)
            } else {
                host_.ram.check(req.buf, 8)?;
                let mut size = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
                // SAFETY: `size` is a valid out-pointer for TIOCGWINSZ; the descriptor is the guest's.
                let ret = checked(i64::from(unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) }));
                if ret.is_ok() {
                    for (i, v) in [size.ws_row, size.ws_col, size.ws_xpixel, size.ws_ypixel].into_iter().enumerate() {
                        host_.ram.write(req.buf + 2 * i as u64, v)?;
                    }
                }
                ret
            }
        }
        other => return Err(GuestError::Invalid(format!("unknown FILEOP operation {other}"))),
    })
}

/// The two timespecs at guest-physical `addr` (0: none, "now"). Their values are checked by
/// the host kernel (`EINVAL`).
fn read_times(host: &Host, addr: u64) -> Result<Option<[libc::timespec; 2]>, GuestError> {
    if addr == 0 {
        return Ok(None);
    }
    let mut t = [libc::timespec { tv_sec: 0, tv_nsec: 0 }; 2];
    for (i, ts) in t.iter_mut().enumerate() {
        ts.tv_sec = host.ram.read(addr.wrapping_add(16 * i as u64))?;
        ts.tv_nsec = host.ram.read(addr.wrapping_add(16 * i as u64 + 8))?;
    }
    Ok(Some(t))
}

fn getdents(host: &Host, req: &Request, owned: bool) -> Result<Result<i64, i32>, GuestError> {
    if !owned {
        return Ok(Err(libc::EBADF));
    }
    let max = req.len.min(LIST_MAX);
    host.ram.check(req.buf, max)?;
    let mut buf = vec![0u8; max as usize];
    // SAFETY: `buf` is writable for its length; the descriptor is the guest's.
    let n = unsafe { libc::syscall(libc::SYS_getdents64, req.fd, buf.as_mut_ptr(), buf.len()) };
    if n < 0 {
        return Ok(Err(errno()));
    }
    host.ram.write_bytes(req.buf, &buf[..n as usize])?;
    Ok(Ok(n))
}

/// `F_GETFL`, `F_SETFL` (only the status flags Linux lets change), `F_GETLK`, `F_SETLK`.
fn fcntl(host: &Host, req: &Request, owned: bool) -> Result<Result<i64, i32>, GuestError> {
    if !owned {
        return Ok(Err(libc::EBADF));
    }
    let fd = req.fd;
    let cmd = req.arg0 as i32;
    Ok(match cmd {
        // SAFETY: fcntl without memory arguments on a descriptor the guest owns.
        libc::F_GETFL => checked(i64::from(unsafe { libc::fcntl(fd, libc::F_GETFL) })),
        libc::F_SETFL => {
            let settable = libc::O_APPEND | libc::O_NONBLOCK | libc::O_ASYNC | libc::O_DIRECT | libc::O_NOATIME;
            // SAFETY: as above.
            checked(i64::from(unsafe { libc::fcntl(fd, libc::F_SETFL, req.arg1 as i32 & settable) }))
        }
        libc::F_GETLK | libc::F_SETLK => {
            let mut raw = [0u8; FLOCK_SIZE];
            host.ram.read_bytes(req.buf, &mut raw)?;
            // SAFETY: an all-zero `flock` is valid; `raw` has its exact size (asserted below).
            let mut lock: libc::flock = unsafe { std::mem::transmute(raw) };
            // SAFETY: `lock` is a valid `flock` the call reads and (F_GETLK) writes.
            let ret = checked(i64::from(unsafe { libc::fcntl(fd, cmd, &mut lock) }));
            if ret.is_ok() && cmd == libc::F_GETLK {
                // SAFETY: plain data of the same size.
                let raw: [u8; FLOCK_SIZE] = unsafe { std::mem::transmute(lock) };
                host.ram.write_bytes(req.buf, &raw)?;
            }
            ret
        }
        _ => Err(libc::EINVAL),
    })
}

const _: () = assert!(size_of::<libc::flock>() == FLOCK_SIZE);

#[cfg(test)]
mod tests {
    use std::os::unix::ffi::OsStrExt;

    use hermit_interface::hypercall::port;

    use super::*;
    use crate::guest::GuestRam;
    use crate::hypercall::{dispatch, Outcome};

    fn host() -> Host {
        Host::new(GuestRam::new(32 << 20, false).unwrap(), 0x80_0000, Vec::new(), Vec::new(), false, true, true)
    }

    const CHAIN_AT: u64 = 0x10_0000;
    const FIRST_AT: u64 = 0x10_1000;
    const SECOND_AT: u64 = 0x10_2000;

    /// A chain of an `flock(LOCK_UN)` on a descriptor the guest does not own and the request
    /// `(port, SECOND_AT)`.
    fn chain(host: &Host, port: u16) {
        let first = FileOp { op: file_op::FLOCK, fd: 999, arg0: i64::from(libc::LOCK_UN), ret: 1, ..FileOp::default() };
        host.ram.write(FIRST_AT, FileOpBytes(first)).unwrap();
        let chain = FileOp {
            op: file_op::CHAIN,
            buf: FIRST_AT,
            arg0: i64::from(port),
            path: SECOND_AT,
            ret: 1,
            ..FileOp::default()
        };
        host.ram.write(CHAIN_AT, FileOpBytes(chain)).unwrap();
    }

    fn ret(host: &Host, at: u64) -> i64 {
        host.ram.read(at + offset_of!(FileOp, ret) as u64).unwrap()
    }

    #[test]
    fn a_chain_serves_both_requests_in_order() {
        let host = host();
        // The second request ends the run: the first was served before it.
        chain(&host, port::EXIT);
        host.ram.write::<i32>(SECOND_AT, 7).unwrap();
        assert_eq!(dispatch(&host, port::FILEOP, CHAIN_AT), Outcome::Exit(7));
        assert_eq!(ret(&host, FIRST_AT), -i64::from(libc::EBADF), "the first request's own result");
        // A FILEOP second: both results land in their own structs.
        chain(&host, port::FILEOP);
        let second = FileOp { op: file_op::FSYNC, fd: 998, ret: 1, ..FileOp::default() };
        host.ram.write(SECOND_AT, FileOpBytes(second)).unwrap();
        assert_eq!(dispatch(&host, port::FILEOP, CHAIN_AT), Outcome::Continue);
        assert_eq!(ret(&host, CHAIN_AT), 0);
        assert_eq!(ret(&host, FIRST_AT), -i64::from(libc::EBADF));
        assert_eq!(ret(&host, SECOND_AT), -i64::from(libc::EBADF));
    }

    /// A chain's first request that writes over its second (here a `readlink` whose one-byte
    /// link text is [`file_op::CHAIN`], into the second's `op`) cannot turn the second into a
    /// chain after it was checked: the second is served as it was read (before, each level
    /// nested the next, as deep as the guest chose, into the stack of the proxy's thread).
    #[test]
    fn a_first_request_cannot_make_the_second_a_chain() {
        let host = host();
        let dir = std::env::temp_dir().join(format!("hermit-chain-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join("l");
        std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&[file_op::CHAIN as u8]), &link).unwrap();
        const PATH_AT: u64 = 0x20_0000;
        let mut path = link.as_os_str().as_bytes().to_vec();
        path.push(0);
        host.ram.write_bytes(PATH_AT, &path).unwrap();
        // Level i: a chain at `chain(i)` of the readlink at `first(i)` and the request at
        // `chain(i + 1)`, an fsync until the readlink makes it a chain.
        let (chain, first) = (|i: u64| CHAIN_AT + i * 0x100, |i: u64| CHAIN_AT + i * 0x100 + 0x80);
        const LEVELS: u64 = 8;
        for i in 0..LEVELS {
            let c = FileOp {
                op: file_op::CHAIN,
                buf: first(i),
                arg0: i64::from(port::FILEOP),
                path: chain(i + 1),
                ret: 1,
                ..FileOp::default()
            };
            host.ram.write(chain(i), FileOpBytes(c)).unwrap();
            // The last level's readlink writes elsewhere: the nesting ends there.
            let buf = if i + 1 < LEVELS { chain(i + 1) } else { 0x30_0000 };
            let f = FileOp { op: file_op::READLINK, path: PATH_AT, buf, len: 1, ret: 1, ..FileOp::default() };
            host.ram.write(first(i), FileOpBytes(f)).unwrap();
        }
        let last = FileOp { op: file_op::FSYNC, fd: 998, ret: 1, ..FileOp::default() };
        host.ram.write(chain(LEVELS), FileOpBytes(last)).unwrap();
        for i in 1..LEVELS {
            host.ram.write(chain(i), file_op::FSYNC).unwrap();
            host.ram.write(chain(i) + offset_of!(FileOp, fd) as u64, 998i32).unwrap();
        }
        assert_eq!(dispatch(&host, port::FILEOP, chain(0)), Outcome::Continue);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(ret(&host, first(0)), 1, "the link text's length");
        assert_eq!(ret(&host, chain(1)), -i64::from(libc::EBADF), "served as the fsync it was");
        assert_eq!(ret(&host, first(1)), 1, "never served");
        assert_eq!(ret(&host, chain(2)), 1, "never served");
    }

    #[test]
    fn chains_do_not_nest() {
        let host = host();
        // The second request a chain (here: the chain itself).
        chain(&host, port::FILEOP);
        host.ram.write(SECOND_AT, FileOpBytes(FileOp { op: file_op::CHAIN, ..FileOp::default() })).unwrap();
        assert!(matches!(dispatch(&host, port::FILEOP, CHAIN_AT), Outcome::Fatal(_)));
        // The first a chain.
        chain(&host, port::EXIT);
        host.ram.write(FIRST_AT, FileOpBytes(FileOp { op: file_op::CHAIN, ..FileOp::default() })).unwrap();
        assert!(matches!(dispatch(&host, port::FILEOP, CHAIN_AT), Outcome::Fatal(_)));
        // A port that is not 16 bits.
        chain(&host, port::EXIT);
        host.ram.write(CHAIN_AT + offset_of!(FileOp, arg0) as u64, 0x1_0540i64).unwrap();
        assert!(matches!(dispatch(&host, port::FILEOP, CHAIN_AT), Outcome::Fatal(_)));
    }
}
