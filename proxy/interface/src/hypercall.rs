//! uhyve hypercalls: I/O ports and the packed argument structs they point to.
//!
//! A hypercall is one 32-bit `out` to a port; the value is the guest-physical address of the
//! argument struct, which the host reads and updates in place (`libhermit-abi.md` §7.1).
//! The original ports keep their original structs byte for byte. Ports from
//! [`port::UNLINK`] upward are this project's extensions: only the kernel uses them, and
//! only when the loader announced [`crate::header::FEATURE_EXT_HYPERCALLS`].
//!
//! Buffer addresses in `Write` and `Read` are guest-virtual (the host walks the page tables
//! from `image + 0x1000`); every other address is guest-physical.

use core::mem::{offset_of, size_of};

/// I/O port numbers.
pub mod port {
    /// `write(fd, buf, len)`, argument [`super::Write`].
    pub const WRITE: u16 = 0x400;
    /// `open(name, flags, mode)`, argument [`super::Open`].
    pub const OPEN: u16 = 0x440;
    /// `close(fd)`, argument [`super::Close`].
    pub const CLOSE: u16 = 0x480;
    /// `read(fd, buf, len)`, argument [`super::Read`].
    pub const READ: u16 = 0x500;
    /// `exit(code)`, argument: the address of an `i32`.
    pub const EXIT: u16 = 0x540;
    /// `lseek(fd, offset, whence)`, argument [`super::Lseek`].
    pub const LSEEK: u16 = 0x580;
    /// Network: the MAC address, argument [`super::NetInfo`]; starts the receive interrupt.
    pub const NETINFO: u16 = 0x600;
    /// Network: send a frame, argument [`super::NetWrite`].
    pub const NETWRITE: u16 = 0x640;
    /// Network: receive a frame, argument [`super::NetRead`].
    pub const NETREAD: u16 = 0x680;
    /// Network: is a network interface attached, argument [`super::NetStat`].
    pub const NETSTAT: u16 = 0x700;
    /// The vector the receive interrupt arrives at on vCPU 0 (0x20 + GSI 11, as uhyve).
    pub const NET_RX_VECTOR: u8 = 0x2B;
    /// Migration free list (not served).
    pub const FREELIST: u16 = 0x720;
    /// Sizes of argv and environment, argument [`super::CmdSize`].
    pub const CMDSIZE: u16 = 0x740;
    /// Contents of argv and environment, argument [`super::CmdVal`].
    pub const CMDVAL: u16 = 0x780;
    /// One console byte in the low 8 bits of the port value.
    pub const UART: u16 = 0x800;

    /// Extension: `unlink(name)`, argument [`super::PathOp`] (the number the Rust uhyve uses).
    pub const UNLINK: u16 = 0x840;
    /// Extension: `stat(name)`, argument [`super::Stat`].
    pub const STAT: u16 = 0x880;
    /// Extension: `fstat(fd)`, argument [`super::Fstat`].
    pub const FSTAT: u16 = 0x8C0;
    /// Extension: `mkdir(name, mode)`, argument [`super::PathOp`].
    pub const MKDIR: u16 = 0x900;
    /// Extension: `rmdir(name)`, argument [`super::PathOp`].
    pub const RMDIR: u16 = 0x940;
    /// Extension: a whole console line, argument [`super::Console`].
    pub const CONSOLE: u16 = 0x980;
    /// Extension: announce the fast channel, argument [`super::ChannelSetup`].
    pub const CHANNEL: u16 = 0x9C0;
    /// Extension: all arguments and environment variables, argument [`super::CmdLine`].
    pub const CMDLINE: u16 = 0xA00;
    /// Extension: the POSIX file calls beyond the original set, argument [`super::FileOp`]
    /// with one of the [`super::file_op`] operations.
    pub const FILEOP: u16 = 0xA40;
    /// Extension: a debug trap for the loader's GDB stub, made by the kernel's CPL-0
    /// trampoline only when the loader offers [`crate::header::FEATURE_DEBUG`]. The value is
    /// meaningless; the trap frame is at the vCPU's RSP: saved RDX, saved RAX, vector (1 for
    /// #DB, 3 for #BP), error code, then the CPU's RIP, CS, RFLAGS, RSP, SS.
    pub const DEBUG: u16 = 0xA80;
    /// Extension: send a batch of Ethernet frames, argument [`super::NetBatch`] (offered with
    /// [`crate::header::FEATURE_NET_BATCH`]).
    pub const NETWRITEV: u16 = 0xAC0;
    /// Extension: receive a batch of Ethernet frames, argument [`super::NetBatch`] (offered
    /// with [`crate::header::FEATURE_NET_BATCH`]).
    pub const NETREADV: u16 = 0xB00;
    /// Extension: back a range of guest RAM with host memory now, argument
    /// [`super::Populate`]; served only when the loader offers
    /// [`crate::header::FEATURE_POPULATE`].
    pub const POPULATE: u16 = 0xB40;
    /// Extension: the network interface's MTU, argument [`super::NetMtu`] (offered with
    /// [`crate::header::FEATURE_NET_NOTIFY`]).
    pub const NETMTU: u16 = 0xBC0;
    /// Extension: the NIC's descriptor rings, argument [`crate::netring::NetRing`] (offered
    /// with [`crate::header::FEATURE_NET_RING`]).
    pub const NETRING: u16 = 0xB80;

    /// The original uhyve's ports (`libhermit-abi.md` §7.1).
    pub const ORIGINAL: [u16; 14] =
        [WRITE, OPEN, CLOSE, READ, EXIT, LSEEK, NETINFO, NETWRITE, NETREAD, NETSTAT, FREELIST, CMDSIZE, CMDVAL, UART];

    /// The extension ports: served only when the loader offers
    /// [`crate::header::FEATURE_EXT_HYPERCALLS`]; the original uhyve stops a guest that uses one.
    pub const EXTENSIONS: [u16; 14] = [
        UNLINK, STAT, FSTAT, MKDIR, RMDIR, CONSOLE, CHANNEL, CMDLINE, FILEOP, NETWRITEV, NETREADV, POPULATE, NETMTU,
        NETRING,
    ];
}

/// Operations of the extension port [`port::FILEOP`]. Paths are guest-physical,
/// NUL-terminated and resolved by the loader like `OPEN`'s; `fd` is a host descriptor the
/// guest owns. Each result is `ret`: a count or 0, or a negative errno.
pub mod file_op {
    /// `pread(fd, buf, len, arg0)`; `buf` is guest-virtual, as in `READ`.
    pub const PREAD: u32 = 1;
    /// `pwrite(fd, buf, len, arg0)`; `buf` is guest-virtual, as in `WRITE`.
    pub const PWRITE: u32 = 2;
    /// `fsync(fd)`.
    pub const FSYNC: u32 = 3;
    /// `fdatasync(fd)`.
    pub const FDATASYNC: u32 = 4;
    /// `ftruncate(fd, arg0)`.
    pub const FTRUNCATE: u32 = 5;
    /// `truncate(path, arg0)`.
    pub const TRUNCATE: u32 = 6;
    /// `faccessat(path, arg0 = mode, arg1 = AT_* flags)`.
    pub const ACCESS: u32 = 7;
    /// `chmod(path, arg0)`, or `fchmod(fd, arg0)` when `path` is 0.
    pub const CHMOD: u32 = 8;
    /// `chown(path, arg0, arg1)` (arg2 non-zero: `lchown`), or `fchown(fd, ...)` when `path` is 0.
    pub const CHOWN: u32 = 9;
    /// `utimensat(path, buf = two timespecs or 0, arg0 = AT_* flags)`, or `futimens(fd, ...)`
    /// when `path` is 0.
    pub const UTIMENS: u32 = 10;
    /// `rename(path, path2)`.
    pub const RENAME: u32 = 11;
    /// `link(path, path2)`.
    pub const LINK: u32 = 12;
    /// `symlink(path = target text, path2 = new link)`; the target is not resolved.
    pub const SYMLINK: u32 = 13;
    /// `readlink(path, buf, len)`; `buf` guest-physical.
    pub const READLINK: u32 = 14;
    /// `getdents64(fd, buf, len)`: Linux `struct linux_dirent64` records into guest-physical `buf`.
    pub const GETDENTS: u32 = 15;
    /// `fcntl(fd, arg0 = F_GETFL, F_SETFL, F_GETLK or F_SETLK, arg1)`; for the lock commands
    /// `buf` is the guest-physical Linux `struct flock` (32 bytes), updated by `F_GETLK`.
    pub const FCNTL: u32 = 16;
    /// `flock(fd, arg0)`; `LOCK_NB` is always added (the guest retries blocking requests).
    pub const FLOCK: u32 = 17;
    /// The guest's initial working directory (absolute, in guest path space) into
    /// guest-physical `buf` of `len` bytes with its NUL; `ret` is its length without the NUL.
    pub const GETCWD: u32 = 18;
    /// `ioctl(fd, TIOCGWINSZ)` into the 8-byte guest-physical `buf` (`ENOTTY` if `fd` is no
    /// terminal).
    pub const WINSIZE: u32 = 19;
    /// Two requests in one (with [`crate::header::FEATURE_CHAINED_CALLS`]): first the
    /// `FILEOP` request at guest-physical `buf` (not itself a `CHAIN`), then the request at
    /// guest-physical `path` on port `arg0` (not a `CHAIN` either). The kernel sends a request
    /// it posted without waiting (a lock release) this way together with its next one when
    /// both must go through a port exit. `ret` is 0; each request's own result is its own.
    pub const CHAIN: u32 = 20;
}

/// Extension `FILEOP`: one POSIX file call ([`file_op`]); unused fields are zero.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FileOp {
    /// One of [`file_op`].
    pub op: u32,
    /// Host file descriptor, where the operation takes one.
    pub fd: i32,
    /// Guest-physical address of the first path, or 0.
    pub path: u64,
    /// Guest-physical address of the second path, or 0.
    pub path2: u64,
    /// Buffer address (see the operation).
    pub buf: u64,
    /// Buffer length.
    pub len: u64,
    /// First integer argument.
    pub arg0: i64,
    /// Second integer argument.
    pub arg1: i64,
    /// Third integer argument.
    pub arg2: i64,
    /// Out: result or negative errno.
    pub ret: i64,
}

/// `WRITE`: the host writes `len` bytes from guest-virtual `buf` and stores the count (or,
/// with this project's proxy, `-errno`) back into `len`.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Write {
    /// Host file descriptor.
    pub fd: i32,
    /// Guest-virtual buffer address.
    pub buf: u64,
    /// In: bytes to write. Out: bytes written, or a negative errno.
    pub len: u64,
}

/// `OPEN`: the host opens the NUL-terminated guest-physical path.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Open {
    /// Guest-physical address of the path.
    pub name: u64,
    /// Linux `O_*` flags.
    pub flags: i32,
    /// Creation mode.
    pub mode: i32,
    /// Out: file descriptor or negative errno.
    pub ret: i32,
}

/// `CLOSE`: the host closes `fd` (descriptors 0-2 are left open and report success).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Close {
    /// Host file descriptor.
    pub fd: i32,
    /// Out: 0 or negative errno.
    pub ret: i32,
}

/// `READ`: the host reads up to `len` bytes into guest-virtual `buf`.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Read {
    /// Host file descriptor.
    pub fd: i32,
    /// Guest-virtual buffer address.
    pub buf: u64,
    /// Buffer size.
    pub len: u64,
    /// Out: bytes read or negative errno.
    pub ret: i64,
}

/// `LSEEK`: the host repositions `fd`; the result replaces `offset`.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Lseek {
    /// Host file descriptor.
    pub fd: i32,
    /// In: offset. Out: new position or negative errno.
    pub offset: i64,
    /// `SEEK_SET`, `SEEK_CUR` or `SEEK_END`.
    pub whence: i32,
}

/// `NETSTAT`: the host stores 1 if the guest has a network interface, else 0.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NetStat {
    /// Out: 1 with a NIC.
    pub status: i32,
}

/// `NETINFO`: the host writes the MAC address as `xx:xx:xx:xx:xx:xx` and a NUL (an empty
/// string without a NIC) and starts the receive interrupt (vector 0x2B).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NetInfo {
    /// Out: the MAC string.
    pub mac_str: [u8; 18],
}

/// `NETWRITE`: the host sends one Ethernet frame (no FCS) from guest-physical `data`.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NetWrite {
    /// Guest-physical address of the frame.
    pub data: u64,
    /// In: frame length. Out: bytes sent.
    pub len: u64,
    /// Out: 0 when sent, -1 when dropped.
    pub ret: i32,
}

/// `NETREAD`: the host copies one received frame to guest-physical `data`.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NetRead {
    /// Guest-physical address of the buffer.
    pub data: u64,
    /// In: buffer size. Out: frame length (a longer frame is cut to the buffer).
    pub len: u64,
    /// Out: 0 with a frame, -1 when none waits (which re-arms the interrupt).
    pub ret: i32,
}

/// `CMDSIZE`: the host reports the number and sizes (with NUL) of arguments and variables.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CmdSize {
    /// Number of arguments (at most [`crate::MAX_ARGC_ENVC`]).
    pub argc: i32,
    /// Size of each argument including its NUL.
    pub argsz: [i32; crate::MAX_ARGC_ENVC],
    /// Number of environment variables (at most [`crate::MAX_ARGC_ENVC`] - 1).
    pub envc: i32,
    /// Size of each variable including its NUL.
    pub envsz: [i32; crate::MAX_ARGC_ENVC],
}

impl Default for CmdSize {
    fn default() -> Self {
        Self { argc: 0, argsz: [0; crate::MAX_ARGC_ENVC], envc: 0, envsz: [0; crate::MAX_ARGC_ENVC] }
    }
}

/// `CMDVAL`: the host copies the strings into the buffers listed by two pointer arrays.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct CmdVal {
    /// Guest-physical address of an array of `argc` guest-physical buffer addresses.
    pub argv: u64,
    /// Guest-physical address of an array of `envc` guest-physical buffer addresses.
    pub envp: u64,
}

/// Extension `UNLINK`, `MKDIR`, `RMDIR`: an operation on one guest-physical path.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PathOp {
    /// Guest-physical address of the NUL-terminated path.
    pub name: u64,
    /// Mode for `MKDIR`, ignored otherwise.
    pub mode: i32,
    /// Out: 0 or negative errno.
    pub ret: i32,
}

/// Extension `STAT`: status of a guest-physical path into a [`crate::stat::HostStat`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Stat {
    /// Guest-physical address of the NUL-terminated path.
    pub name: u64,
    /// Guest-physical address of the `HostStat` to fill.
    pub stat: u64,
    /// Out: 0 or negative errno.
    pub ret: i32,
    /// Non-zero: do not follow a final symbolic link (`lstat`).
    pub nofollow: i32,
}

/// Extension `FSTAT`: status of a host file descriptor into a [`crate::stat::HostStat`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Fstat {
    /// Host file descriptor.
    pub fd: i32,
    /// Out: 0 or negative errno.
    pub ret: i32,
    /// Guest-physical address of the `HostStat` to fill.
    pub stat: u64,
}

/// Extension `CONSOLE`: a run of console bytes (a kernel log line) in one exit.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Console {
    /// Guest-physical address of the bytes.
    pub buf: u64,
    /// Number of bytes.
    pub len: u64,
}

/// Extension `CHANNEL`: the kernel announces its fast-channel area ([`crate::channel`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ChannelSetup {
    /// Guest-physical address of the [`crate::channel::ChannelControl`] block.
    pub gpa: u64,
    /// Number of [`crate::channel::ChannelSlot`]s that follow it.
    pub slots: u32,
    /// Out: 0 when the host serves the channel, negative errno otherwise.
    pub ret: i32,
}

/// Extension `CMDLINE`: argv and the environment without the original's limit of
/// [`crate::MAX_ARGC_ENVC`] entries each (offered with
/// [`crate::header::FEATURE_CMDLINE`]). The host always fills in `argc`, `envc` and `size`.
/// With `buf` non-zero, `size` is also an input, the buffer's capacity: if every string
/// fits, the host copies them to guest-physical `buf`, NUL-terminated, the arguments first;
/// otherwise it copies nothing. So a guest passes a buffer up front and usually needs one
/// exit; asking with `buf` zero first, then with a buffer of the reported size, also works.
/// `size` is at most [`crate::MAX_CMDLINE`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct CmdLine {
    /// Out: number of arguments.
    pub argc: u32,
    /// Out: number of environment variables.
    pub envc: u32,
    /// In: capacity of `buf` (when `buf` is not 0). Out: bytes of all strings with their NULs.
    pub size: u64,
    /// In: guest-physical address of the guest's buffer, or 0 to ask for the sizes.
    pub buf: u64,
}

/// Most frames of one [`NetBatch`].
pub const NET_BATCH_MAX: u32 = 64;

/// One frame of a [`NetBatch`]: a guest-physical buffer.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetFrame {
    /// Guest-physical address of the frame (`NETWRITEV`) or of the buffer (`NETREADV`).
    pub data: u64,
    /// In: frame length (`NETWRITEV`) or buffer size (`NETREADV`). Out (`NETREADV`): the
    /// frame's length; a longer frame is cut to the buffer.
    pub len: u32,
    /// Reserved, zero.
    pub reserved: u32,
}

/// Extensions `NETWRITEV` and `NETREADV`: many frames per host call, in the order of the
/// `count` [`NetFrame`]s at guest-physical `frames` (at most [`NET_BATCH_MAX`]).
///
/// `NETWRITEV` sends them (a frame the device drops, or of a length outside 14..=65549, is
/// skipped, as a NIC drops it); `ret` is the number sent, -1 without a NIC. `NETREADV` fills
/// the buffers with waiting frames, in order; `ret` is the number received, and fewer than
/// `count` means none waits any more, which re-arms the receive interrupt (as `NETREAD`'s
/// -1 does); -1 without a NIC.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NetBatch {
    /// Guest-physical address of the [`NetFrame`] array.
    pub frames: u64,
    /// Number of entries.
    pub count: u32,
    /// Out: frames sent or received, or -1.
    pub ret: i32,
}

/// Extension `POPULATE`: the kernel is about to use guest-physical `[start, start + len)`
/// (memory it just took with the program break, or from the top of RAM for stacks) and asks
/// the loader to back it with host memory first, so that its first touches take the shadow
/// MMU's fast path. Contents are left as they are. The loader publishes what is already
/// backed ([`crate::header::HeaderExt::heap_ready`], [`crate::header::HeaderExt::kernel_ready`]),
/// so the kernel asks only for the rest.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Populate {
    /// Guest-physical start.
    pub start: u64,
    /// Bytes.
    pub len: u64,
    /// Out: 0 when the range is backed (parts in the device hole have nothing to back),
    /// `-ENOMEM` when the host kept its memory margin and left part of it, `-EINVAL` for
    /// a range that does not end inside guest RAM.
    pub ret: i64,
}

// The original structs, byte for byte (libhermit-abi.md §7.1).
const _: () = {
    assert!(size_of::<Write>() == 20);
    assert!(offset_of!(Write, buf) == 4 && offset_of!(Write, len) == 12);
    assert!(size_of::<Open>() == 20);
    assert!(offset_of!(Open, flags) == 8 && offset_of!(Open, mode) == 12);
    assert!(offset_of!(Open, ret) == 16);
    assert!(size_of::<Close>() == 8 && offset_of!(Close, ret) == 4);
    assert!(size_of::<Read>() == 28);
    assert!(offset_of!(Read, buf) == 4 && offset_of!(Read, len) == 12);
    assert!(offset_of!(Read, ret) == 20);
    assert!(size_of::<Lseek>() == 16);
    assert!(size_of::<NetStat>() == 4);
    assert!(size_of::<NetInfo>() == 18);
    assert!(size_of::<NetWrite>() == 20 && offset_of!(NetWrite, ret) == 16);
    assert!(size_of::<NetRead>() == 20 && offset_of!(NetRead, len) == 8);
    assert!(offset_of!(Lseek, offset) == 4 && offset_of!(Lseek, whence) == 12);
    assert!(size_of::<CmdSize>() == 1032);
    assert!(offset_of!(CmdSize, argsz) == 4 && offset_of!(CmdSize, envc) == 516);
    assert!(offset_of!(CmdSize, envsz) == 520);
    assert!(size_of::<CmdVal>() == 16 && offset_of!(CmdVal, envp) == 8);
    assert!(size_of::<PathOp>() == 16 && size_of::<Stat>() == 24);
    assert!(size_of::<Fstat>() == 16 && size_of::<Console>() == 16);
    assert!(size_of::<ChannelSetup>() == 16);
    assert!(size_of::<CmdLine>() == 24 && offset_of!(CmdLine, buf) == 16);
    assert!(size_of::<FileOp>() == 72 && offset_of!(FileOp, ret) == 64);
    assert!(size_of::<NetFrame>() == 16 && size_of::<NetBatch>() == 16);
    assert!(offset_of!(NetBatch, count) == 8 && offset_of!(NetBatch, ret) == 12);
    assert!(size_of::<Populate>() == 24 && offset_of!(Populate, ret) == 16);
};

// Every extension port is distinct, and none is an original one or the debug trap's.
const _: () = {
    let original = port::ORIGINAL;
    let ext = port::EXTENSIONS;
    let mut i = 0;
    while i < ext.len() {
        let mut j = 0;
        while j < ext.len() {
            assert!(i == j || ext[i] != ext[j]);
            j += 1;
        }
        let mut k = 0;
        while k < original.len() {
            assert!(ext[i] != original[k]);
            k += 1;
        }
        assert!(ext[i] != port::DEBUG);
        i += 1;
    }
};

/// Extension `NETMTU`: the largest Ethernet payload the guest's interface carries (the tap's
/// MTU up to 9000, 16384 behind passt; at most [`NET_MTU_MAX`]; 1500 without a NIC). The kernel
/// sizes its frames and its receive buffers by it; 1500 when the loader does not serve the
/// call.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NetMtu {
    /// Out: the MTU.
    pub mtu: u32,
    /// Out: 0, or -1 without a NIC.
    pub ret: i32,
}

/// The largest MTU the kernel takes from `NETMTU`: passt's own (an IP packet of 64 KiB less
/// 16 bytes). The loader reports a tap's MTU up to 9000 and 16384 behind passt.
pub const NET_MTU_MAX: u32 = 65520;
