//! File status as reported by the host for the `STAT`/`FSTAT` extension hypercalls.

use core::mem::size_of;

/// File status in a fixed, libc-independent layout (an extension of the original ABI).
///
/// The kernel's `sys_hermit_stat`, `sys_lstat` and `sys_fstat` fill this struct; the C
/// library glue converts it into its own `struct stat`, so the kernel never depends on a
/// libc's struct layout.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostStat {
    /// Device id.
    pub st_dev: u64,
    /// Inode number.
    pub st_ino: u64,
    /// Number of hard links.
    pub st_nlink: u64,
    /// File type and permission bits (Linux `S_IF*` encoding).
    pub st_mode: u32,
    /// Owner.
    pub st_uid: u32,
    /// Group.
    pub st_gid: u32,
    /// Reserved, zero.
    pub pad0: u32,
    /// Device id of a special file.
    pub st_rdev: u64,
    /// Size in bytes.
    pub st_size: i64,
    /// Preferred I/O block size.
    pub st_blksize: i64,
    /// Allocated 512-byte blocks.
    pub st_blocks: i64,
    /// Access time, seconds.
    pub st_atime_sec: i64,
    /// Access time, nanoseconds.
    pub st_atime_nsec: i64,
    /// Modification time, seconds.
    pub st_mtime_sec: i64,
    /// Modification time, nanoseconds.
    pub st_mtime_nsec: i64,
    /// Status change time, seconds.
    pub st_ctime_sec: i64,
    /// Status change time, nanoseconds.
    pub st_ctime_nsec: i64,
}

const _: () = assert!(size_of::<HostStat>() == 120);
