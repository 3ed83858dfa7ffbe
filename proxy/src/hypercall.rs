//! The hypercall handlers: one function per port, shared by port exits and the fast channel.
//!
//! Each handler reads the request fields from guest memory with checked accesses, performs
//! the host call, and writes back only the result fields. Failed host calls report
//! `-errno` (the original uhyve reported a bare `-1`). A request that points outside guest
//! memory, or is otherwise impossible, ends the guest with a message ([`Outcome::Fatal`]).

use std::ffi::CString;
use std::mem::offset_of;
use std::os::fd::IntoRawFd;
use std::sync::atomic::Ordering;

use hermit_interface::hypercall::{
    port, ChannelSetup, Close, CmdLine, CmdSize, CmdVal, Console, Fstat, Lseek, Open, PathOp, Populate, Read, Stat,
    Write,
};
use hermit_interface::stat::HostStat;
use hermit_interface::MAX_ARGC_ENVC;

use crate::guest::GuestError;
use crate::host::Host;

/// Longest path a guest may pass.
const PATH_MAX: usize = 4096;

/// Largest console line.
const CONSOLE_MAX: u64 = 64 << 10;

/// What the vCPU (or poller) does after a hypercall.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Resume the guest.
    Continue,
    /// The program ended with this code.
    Exit(i32),
    /// The guest made an impossible request.
    Fatal(String),
}

/// Serves hypercall `port` whose argument is at guest-physical `arg`.
pub fn dispatch(host: &Host, port: u16, arg: u64) -> Outcome {
    let result = match port {
        port::WRITE => write(host, arg),
        port::READ => read(host, arg),
        port::OPEN => open(host, arg),
        port::CLOSE => close(host, arg),
        port::LSEEK => lseek(host, arg),
        port::EXIT => return host.ram.read::<i32>(arg).map_or_else(|e| fatal("EXIT", e), Outcome::Exit),
        port::CMDSIZE => cmdsize(host, arg),
        port::CMDVAL => cmdval(host, arg),
        port::UART => {
            if host.verbose {
                eprint!("{}", char::from(arg as u8));
            }
            Ok(())
        }
        port::NETSTAT => crate::net::netstat(host, arg),
        port::NETINFO => crate::net::netinfo(host, arg),
        port::NETWRITE => crate::net::netwrite(host, arg),
        port::NETREAD => crate::net::netread(host, arg),
        port::FREELIST => Ok(()),
        ext if host.extensions && is_extension(ext) => {
            host.ext_seen.store(true, Ordering::Relaxed);
            match ext {
                port::UNLINK => path_op(host, arg, |p, _| host.paths().unlink(p)),
                port::MKDIR => path_op(host, arg, |p, mode| host.paths().mkdir(p, mode)),
                port::RMDIR => path_op(host, arg, |p, _| host.paths().rmdir(p)),
                port::STAT => stat(host, arg),
                port::FSTAT => fstat(host, arg),
                port::CONSOLE => console(host, arg),
                port::CHANNEL => channel(host, arg),
                port::CMDLINE => cmdline(host, arg),
                port::FILEOP => match crate::fileop::serve(host, arg) {
                    // A chain's second request (never a chain itself).
                    Ok(Some((second, at))) => return dispatch(host, second, at),
                    other => other.map(drop),
                },
                port::NETWRITEV => crate::net::netwritev(host, arg),
                port::NETREADV => crate::net::netreadv(host, arg),
                port::POPULATE => populate(host, arg),
                port::NETMTU => crate::net::netmtu(host, arg),
                port::NETRING => crate::net::netring(host, arg),
                _ => unreachable!("is_extension covers exactly these"),
            }
        }
        other => return Outcome::Fatal(format!("the guest used unknown hypercall port {other:#x}")),
    };
    match result {
        Ok(()) => Outcome::Continue,
        Err(e) => fatal(port_name(port), e),
    }
}

fn fatal(name: &str, e: GuestError) -> Outcome {
    Outcome::Fatal(format!("bad {name} hypercall: {e}"))
}

fn is_extension(port: u16) -> bool {
    port::EXTENSIONS.contains(&port)
}

fn port_name(port: u16) -> &'static str {
    match port {
        port::WRITE => "WRITE",
        port::READ => "READ",
        port::OPEN => "OPEN",
        port::CLOSE => "CLOSE",
        port::LSEEK => "LSEEK",
        port::CMDSIZE => "CMDSIZE",
        port::CMDVAL => "CMDVAL",
        port::NETSTAT => "NETSTAT",
        port::NETINFO => "NETINFO",
        port::NETWRITE => "NETWRITE",
        port::NETREAD => "NETREAD",
        port::UNLINK => "UNLINK",
        port::MKDIR => "MKDIR",
        port::RMDIR => "RMDIR",
        port::STAT => "STAT",
        port::FSTAT => "FSTAT",
        port::CONSOLE => "CONSOLE",
        port::CHANNEL => "CHANNEL",
        port::CMDLINE => "CMDLINE",
        port::FILEOP => "FILEOP",
        port::NETWRITEV => "NETWRITEV",
        port::NETREADV => "NETREADV",
        port::POPULATE => "POPULATE",
        port::NETMTU => "NETMTU",
        port::NETRING => "NETRING",
        _ => "unknown",
    }
}

/// A field of the request struct at `arg`.
pub(crate) fn field(arg: u64, offset: usize) -> u64 {
    arg.wrapping_add(offset as u64)
}

/// A failed host call as the guest sees it: `-errno`, or the bare `-1` of the original uhyve
/// in compatibility mode.
pub(crate) fn failure(host: &Host, errno: i32) -> i64 {
    if host.extensions {
        -i64::from(errno)
    } else {
        -1
    }
}

/// The result of a libc call: the value, or [`failure`] with the call's errno.
fn libc_result(host: &Host, ret: i64) -> i64 {
    if ret < 0 {
        failure(host, std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO))
    } else {
        ret
    }
}

/// Moves data between a guest-virtual buffer and a host descriptor: `WRITE` and `READ` share
/// the layout of `fd`, `buf` and `len`; the count (or failure) goes to `result_at`. A buffer
/// that is partly outside guest memory gives a short count, one with nothing transferable
/// `-EFAULT` (as Linux); only a request struct outside guest memory stops the guest.
fn transfer(host: &Host, arg: u64, result_at: usize, io: Transfer) -> Result<(), GuestError> {
    let fd: i32 = host.ram.read(field(arg, offset_of!(Write, fd)))?;
    let buf: u64 = host.ram.read(field(arg, offset_of!(Write, buf)))?;
    let len: u64 = host.ram.read(field(arg, offset_of!(Write, len)))?;
    let result = if !host.files.lock().expect("file table").allows(fd) {
        failure(host, libc::EBADF)
    } else {
        match io(&host.ram, host.page_root, buf, len, fd) {
            Ok(n) => n as i64,
            Err(errno) => failure(host, errno),
        }
    };
    host.ram.write(field(arg, result_at), result)
}

/// `GuestRam::write_to_fd` or `GuestRam::read_from_fd`.
type Transfer = fn(&crate::guest::GuestRam, u64, u64, u64, i32) -> Result<u64, i32>;

const _: () = {
    assert!(offset_of!(Write, fd) == offset_of!(Read, fd));
    assert!(offset_of!(Write, buf) == offset_of!(Read, buf));
    assert!(offset_of!(Write, len) == offset_of!(Read, len));
};

fn write(host: &Host, arg: u64) -> Result<(), GuestError> {
    transfer(host, arg, offset_of!(Write, len), crate::guest::GuestRam::write_to_fd)
}

fn read(host: &Host, arg: u64) -> Result<(), GuestError> {
    transfer(host, arg, offset_of!(Read, ret), crate::guest::GuestRam::read_from_fd)
}

/// Reads the path at guest-physical `addr`.
pub(crate) fn guest_path(host: &Host, addr: u64) -> Result<CString, GuestError> {
    let bytes = host.ram.read_cstr(addr, PATH_MAX)?;
    CString::new(bytes).map_err(|_| GuestError::Invalid("path with an embedded NUL".into()))
}

fn open(host: &Host, arg: u64) -> Result<(), GuestError> {
    let name: u64 = host.ram.read(field(arg, offset_of!(Open, name)))?;
    let flags: i32 = host.ram.read(field(arg, offset_of!(Open, flags)))?;
    let mode: i32 = host.ram.read(field(arg, offset_of!(Open, mode)))?;
    let path = guest_path(host, name)?;
    let ret = match host.paths().open(&path, flags, mode) {
        Err(errno) => failure(host, errno) as i32,
        Ok(fd) => {
            let fd = fd.into_raw_fd();
            host.files.lock().expect("file table").insert(fd);
            fd
        }
    };
    host.ram.write(field(arg, offset_of!(Open, ret)), ret)
}

fn close(host: &Host, arg: u64) -> Result<(), GuestError> {
    let fd: i32 = host.ram.read(field(arg, offset_of!(Close, fd)))?;
    let ret = if (0..=2).contains(&fd) {
        0
    } else if host.files.lock().expect("file table").remove(fd) {
        // SAFETY: the guest owned this descriptor and gives it up.
        libc_result(host, i64::from(unsafe { libc::close(fd) })) as i32
    } else {
        failure(host, libc::EBADF) as i32
    };
    host.ram.write(field(arg, offset_of!(Close, ret)), ret)
}

fn lseek(host: &Host, arg: u64) -> Result<(), GuestError> {
    let fd: i32 = host.ram.read(field(arg, offset_of!(Lseek, fd)))?;
    let offset: i64 = host.ram.read(field(arg, offset_of!(Lseek, offset)))?;
    let whence: i32 = host.ram.read(field(arg, offset_of!(Lseek, whence)))?;
    let result = if host.files.lock().expect("file table").allows(fd) {
        // SAFETY: `lseek` on a descriptor the guest owns; no memory is passed.
        libc_result(host, unsafe { libc::lseek(fd, offset, whence) })
    } else {
        failure(host, libc::EBADF)
    };
    host.ram.write(field(arg, offset_of!(Lseek, offset)), result)
}

/// Refuses to cut argv or the environment to the original protocol's 128 entries.
fn check_original_limit(host: &Host) -> Result<(), GuestError> {
    for (what, count) in [("arguments", host.args.len()), ("environment variables", host.env.len())] {
        if count > MAX_ARGC_ENVC {
            return Err(GuestError::Invalid(format!(
                "the program has {count} {what}, but the original protocol passes at most {MAX_ARGC_ENVC} \
                 (this project's kernel receives more through CMDLINE unless HERMIT_UHYVE_COMPAT=1)"
            )));
        }
    }
    Ok(())
}

fn cmdsize(host: &Host, arg: u64) -> Result<(), GuestError> {
    check_original_limit(host)?;
    let mut sizes = CmdSize::default();
    let args = &host.args[..];
    let env = &host.env[..];
    sizes.argc = args.len() as i32;
    sizes.envc = env.len() as i32;
    for (slot, s) in sizes.argsz.iter_mut().zip(args) {
        *slot = s.as_bytes_with_nul().len() as i32;
    }
    for (slot, s) in sizes.envsz.iter_mut().zip(env) {
        *slot = s.as_bytes_with_nul().len() as i32;
    }
    host.ram.write(field(arg, offset_of!(CmdSize, argc)), sizes.argc)?;
    host.ram.write(field(arg, offset_of!(CmdSize, envc)), sizes.envc)?;
    for i in 0..MAX_ARGC_ENVC {
        host.ram.write(field(arg, offset_of!(CmdSize, argsz) + 4 * i), sizes.argsz[i])?;
        host.ram.write(field(arg, offset_of!(CmdSize, envsz) + 4 * i), sizes.envsz[i])?;
    }
    Ok(())
}

fn cmdval(host: &Host, arg: u64) -> Result<(), GuestError> {
    check_original_limit(host)?;
    let argv: u64 = host.ram.read(field(arg, offset_of!(CmdVal, argv)))?;
    let envp: u64 = host.ram.read(field(arg, offset_of!(CmdVal, envp)))?;
    let copy = |array: u64, strings: &[CString]| -> Result<(), GuestError> {
        for (i, s) in strings.iter().take(MAX_ARGC_ENVC).enumerate() {
            let dst: u64 = host.ram.read(array.wrapping_add(8 * i as u64))?;
            host.ram.write_bytes(dst, s.as_bytes_with_nul())?;
        }
        Ok(())
    };
    copy(argv, &host.args)?;
    copy(envp, &host.env)
}

/// The strings of argv and the environment, each with its NUL, in `CMDLINE` order.
fn cmdline_strings(host: &Host) -> impl Iterator<Item = &[u8]> {
    host.args.iter().chain(&host.env).map(|s| s.as_bytes_with_nul())
}

fn cmdline(host: &Host, arg: u64) -> Result<(), GuestError> {
    let buf: u64 = host.ram.read(field(arg, offset_of!(CmdLine, buf)))?;
    let capacity: u64 = host.ram.read(field(arg, offset_of!(CmdLine, size)))?;
    let size: usize = cmdline_strings(host).map(<[u8]>::len).sum();
    host.ram.write(field(arg, offset_of!(CmdLine, argc)), host.args.len() as u32)?;
    host.ram.write(field(arg, offset_of!(CmdLine, envc)), host.env.len() as u32)?;
    host.ram.write(field(arg, offset_of!(CmdLine, size)), size as u64)?;
    if buf == 0 || capacity < size as u64 {
        return Ok(());
    }
    host.ram.check(buf, size as u64)?;
    let mut at = buf;
    for s in cmdline_strings(host) {
        host.ram.write_bytes(at, s)?;
        at += s.len() as u64;
    }
    Ok(())
}

/// Bytes argv and the environment take in the guest, counted as Linux counts `ARG_MAX`:
/// the strings with their NULs, a pointer for each and the two terminating pointers.
pub fn cmdline_footprint(args: &[CString], env: &[CString]) -> usize {
    args.iter().chain(env).map(|s| s.as_bytes_with_nul().len() + 8).sum::<usize>() + 16
}

/// `UNLINK`, `MKDIR`, `RMDIR`: `op` is the [`crate::sandbox::Paths`] operation.
fn path_op(host: &Host, arg: u64, op: impl FnOnce(&CString, i32) -> Result<(), i32>) -> Result<(), GuestError> {
    let name: u64 = host.ram.read(field(arg, offset_of!(PathOp, name)))?;
    let mode: i32 = host.ram.read(field(arg, offset_of!(PathOp, mode)))?;
    let path = guest_path(host, name)?;
    let ret = match op(&path, mode) {
        Err(errno) => failure(host, errno) as i32,
        Ok(()) => 0,
    };
    host.ram.write(field(arg, offset_of!(PathOp, ret)), ret)
}

/// Converts a host `stat` into the interface's layout.
fn host_stat(st: &libc::stat) -> HostStat {
    HostStat {
        st_dev: st.st_dev,
        st_ino: st.st_ino,
        st_nlink: st.st_nlink,
        st_mode: st.st_mode,
        st_uid: st.st_uid,
        st_gid: st.st_gid,
        pad0: 0,
        st_rdev: st.st_rdev,
        st_size: st.st_size,
        st_blksize: st.st_blksize,
        st_blocks: st.st_blocks,
        st_atime_sec: st.st_atime,
        st_atime_nsec: st.st_atime_nsec,
        st_mtime_sec: st.st_mtime,
        st_mtime_nsec: st.st_mtime_nsec,
        st_ctime_sec: st.st_ctime,
        st_ctime_nsec: st.st_ctime_nsec,
    }
}

/// Writes `st` to guest-physical `addr`.
fn put_stat(host: &Host, addr: u64, st: &HostStat) -> Result<(), GuestError> {
    // One checked write of the whole struct (field by field it was 17 guest accesses).
    host.ram.write(addr, StatBytes(HostStat { pad0: 0, ..*st }))
}

/// A [`HostStat`] as plain bytes, for one guest-memory write.
#[derive(Clone, Copy, Default)]
#[repr(transparent)]
struct StatBytes(HostStat);

// SAFETY: `HostStat` is `repr(C)` and consists of integers only, without padding (120 bytes,
// asserted by the interface crate), so every byte pattern is a valid value.
unsafe impl vm_memory::ByteValued for StatBytes {}

fn stat(host: &Host, arg: u64) -> Result<(), GuestError> {
    let name: u64 = host.ram.read(field(arg, offset_of!(Stat, name)))?;
    let out: u64 = host.ram.read(field(arg, offset_of!(Stat, stat)))?;
    let nofollow: i32 = host.ram.read(field(arg, offset_of!(Stat, nofollow)))?;
    host.ram.check(out, std::mem::size_of::<HostStat>() as u64)?;
    let path = guest_path(host, name)?;
    let ret = match host.paths().stat(&path, nofollow != 0) {
        Err(errno) => failure(host, errno) as i32,
        Ok(st) => {
            put_stat(host, out, &host_stat(&st))?;
            0
        }
    };
    host.ram.write(field(arg, offset_of!(Stat, ret)), ret)
}

fn fstat(host: &Host, arg: u64) -> Result<(), GuestError> {
    let fd: i32 = host.ram.read(field(arg, offset_of!(Fstat, fd)))?;
    let out: u64 = host.ram.read(field(arg, offset_of!(Fstat, stat)))?;
    host.ram.check(out, std::mem::size_of::<HostStat>() as u64)?;
    let ret = if host.files.lock().expect("file table").allows(fd) {
        // SAFETY: an all-zero `stat` is a valid value of the plain C struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `st` is a valid out-pointer; the descriptor belongs to the guest.
        let ret = libc_result(host, i64::from(unsafe { libc::fstat(fd, &mut st) })) as i32;
        if ret == 0 {
            put_stat(host, out, &host_stat(&st))?;
        }
        ret
    } else {
        failure(host, libc::EBADF) as i32
    };
    host.ram.write(field(arg, offset_of!(Fstat, ret)), ret)
}

fn console(host: &Host, arg: u64) -> Result<(), GuestError> {
    let buf: u64 = host.ram.read(field(arg, offset_of!(Console, buf)))?;
    let len: u64 = host.ram.read(field(arg, offset_of!(Console, len)))?;
    if len > CONSOLE_MAX {
        return Err(GuestError::Invalid(format!("console line of {len} bytes (at most {CONSOLE_MAX})")));
    }
    let mut bytes = vec![0u8; len as usize];
    host.ram.read_bytes(buf, &mut bytes)?;
    if host.verbose {
        use std::io::Write as _;
        let _ = std::io::stderr().lock().write_all(&bytes);
    }
    Ok(())
}

fn channel(host: &Host, arg: u64) -> Result<(), GuestError> {
    let gpa: u64 = host.ram.read(field(arg, offset_of!(ChannelSetup, gpa)))?;
    let slots: u32 = host.ram.read(field(arg, offset_of!(ChannelSetup, slots)))?;
    let ret = if !host.fast_channel {
        -libc::ENOSYS
    } else {
        match crate::channel::Channel::validate(&host.ram, gpa, slots) {
            Ok(channel) => {
                // The vCPU threads of this proxy: they may keep off the poller's CPU, unless
                // HERMIT_CPU_AFFINITY pins them.
                let channel = if crate::affinity::pinned() {
                    channel
                } else {
                    channel.keep_vcpus_apart(crate::affinity::allowed_cpus())
                };
                if host.channel.set(channel).is_ok() {
                    0
                } else {
                    -libc::EBUSY
                }
            }
            Err(e) => return Err(e),
        }
    };
    host.ram.write(field(arg, offset_of!(ChannelSetup, ret)), ret)
}

/// `POPULATE`: backs a range of guest RAM now ([`crate::populate::Backing::request`]);
/// `-ENOSYS` with `HERMIT_POPULATE=0` (the feature is not offered then).
fn populate(host: &Host, arg: u64) -> Result<(), GuestError> {
    let start: u64 = host.ram.read(field(arg, offset_of!(Populate, start)))?;
    let len: u64 = host.ram.read(field(arg, offset_of!(Populate, len)))?;
    let ret = host.backing.get().map_or(-i64::from(libc::ENOSYS), |b| b.request(start, len));
    host.ram.write::<i64>(field(arg, offset_of!(Populate, ret)), ret)
}
