//! The preferred I/O block size (`st_blksize`) the guest sees for host files, and the file type it depends on.

/// File type bits of `st_mode`.
const S_IFMT: u32 = 0o170_000;
/// A regular file.
const S_IFREG: u32 = 0o100_000;
/// A character device (terminals among them).
const S_IFCHR: u32 = 0o020_000;

/// Whether a host `st_mode` is a regular file's.
pub fn is_regular(mode: u32) -> bool {
    mode & S_IFMT == S_IFREG
}

/// Preferred I/O size for regular host files: each host call costs a round trip to the
/// proxy, so stdio moves 64 KiB per call (Linux reports the page size, 4 KiB).
pub const HOST_FILE_BLOCK: i64 = 64 << 10;

/// Preferred I/O size for character devices: 1024 bytes as the C library's `BUFSIZ`, so that
/// terminal output is not held back in large buffers.
pub const CHAR_DEVICE_BLOCK: i64 = 1024;

/// The `st_blksize` the guest sees for a host file of mode `mode` whose host value is `host`:
/// at least [`HOST_FILE_BLOCK`] for regular files, [`CHAR_DEVICE_BLOCK`] for character
/// devices, the host's value for everything else (pipes, sockets, directories).
pub fn preferred_block_size(mode: u32, host: i64) -> i64 {
    match mode & S_IFMT {
        S_IFREG => host.max(HOST_FILE_BLOCK),
        S_IFCHR => CHAR_DEVICE_BLOCK,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_sizes_follow_the_file_type() {
        // Regular files: at least 64 KiB, a larger host value stays.
        assert!(is_regular(S_IFREG | 0o644) && !is_regular(S_IFCHR | 0o620) && !is_regular(0o040_755));
        assert_eq!(preferred_block_size(S_IFREG | 0o644, 4096), HOST_FILE_BLOCK);
        assert_eq!(preferred_block_size(S_IFREG | 0o600, 1 << 20), 1 << 20);
        // Terminals and other character devices: 1024.
        assert_eq!(preferred_block_size(S_IFCHR | 0o620, 1024), 1024);
        assert_eq!(preferred_block_size(S_IFCHR | 0o666, 4096), 1024);
        // Pipes (0o010000) and directories (0o040000): the host's value.
        assert_eq!(preferred_block_size(0o010_600, 4096), 4096);
        assert_eq!(preferred_block_size(0o040_755, 4096), 4096);
    }
}
