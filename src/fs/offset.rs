//! The file offset of a host regular file, kept by the guest so that `lseek` needs no host call.
//!
//! Once a descriptor is known to be a regular file (after its first host `lseek`), `SEEK_SET`
//! and `SEEK_CUR` are answered by the guest alone; the host descriptor's offset falls behind,
//! and the next `read` becomes a host `pread` at the guest's offset, the next `write` a host
//! `pwrite` there unless the file is in append mode (`O_APPEND` at `open` or by `F_SETFL`,
//! which the guest follows). Anything else that uses the host offset (an append-mode write,
//! whose end only the host knows; a record lock relative to `SEEK_CUR`) first moves the host
//! offset to the guest's. A program that seeks and reads or writes (SQLite's unix VFS without
//! `pread`/`pwrite`, stdio's `fseek`/`ftell`) thus makes one host call per read or write
//! instead of two. The open file description stays one object, so duplicates share the
//! offset as on Linux. Only files the proxy opened for the guest are tracked: the standard
//! streams may share their offset with other host processes.

use crate::errno::{Result, EINVAL};

/// Linux `SEEK_SET`.
pub const SEEK_SET: i32 = 0;
/// Linux `SEEK_CUR`.
pub const SEEK_CUR: i32 = 1;

/// The largest offset the guest sets alone: 16 TiB, ext4's largest file with 4 KiB blocks.
/// Beyond it the host decides (Linux refuses offsets past a file system's limit).
pub const MAX_TRACKED: i64 = 1 << 44;

/// What the descriptor refers to, as far as the guest knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Not yet asked.
    Unknown,
    /// A regular file: its offset is tracked.
    Regular,
    /// Anything else (directory, device, pipe, terminal, a standard stream): the host's.
    Other,
}

/// How an `lseek` is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seek {
    /// By the guest: the new offset.
    Done(i64),
    /// By the host: call its `lseek`, then [`Offset::host_seeked`] with the result.
    Host,
}

/// The tracked state of one open file description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offset {
    kind: Kind,
    /// The open file's offset, when the guest knows it (else the host's offset is it).
    pos: Option<i64>,
    /// Whether the host descriptor's offset equals `pos`.
    synced: bool,
    /// Append mode (`O_APPEND`): every write goes to the host's end of file.
    append: bool,
}

impl Offset {
    /// A descriptor of unknown kind, opened in append mode or not.
    pub const fn new(append: bool) -> Self {
        Self { kind: Kind::Unknown, pos: None, synced: true, append }
    }

    /// A descriptor whose offset is never tracked.
    pub const fn untracked() -> Self {
        Self { kind: Kind::Other, pos: None, synced: true, append: false }
    }

    /// After `F_SETFL` turned append mode on or off.
    pub fn set_append(&mut self, append: bool) {
        self.append = append;
    }

    /// Whether writes go to the end of file (`O_APPEND`).
    pub fn appends(&self) -> bool {
        self.append
    }

    /// What the descriptor is known to be.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Records the kind the host reported, unless it is known already.
    pub fn learn_kind(&mut self, regular: bool) {
        if self.kind == Kind::Unknown {
            self.kind = if regular { Kind::Regular } else { Kind::Other };
        }
    }

    /// `lseek(offset, whence)`: answered by the guest for a regular file with `SEEK_SET`, or
    /// `SEEK_CUR` once the offset is known; `EINVAL` for a negative result, as Linux.
    pub fn seek(&mut self, offset: i64, whence: i32) -> Result<Seek> {
        if self.kind != Kind::Regular {
            return Ok(Seek::Host);
        }
        let base = match (whence, self.pos) {
            (SEEK_SET, _) => 0,
            (SEEK_CUR, Some(pos)) => pos,
            _ => return Ok(Seek::Host),
        };
        let Some(target) = base.checked_add(offset) else { return Ok(Seek::Host) };
        if target < 0 {
            return Err(EINVAL);
        }
        if target > MAX_TRACKED {
            return Ok(Seek::Host);
        }
        self.synced = self.synced && self.pos == Some(target);
        self.pos = Some(target);
        Ok(Seek::Done(target))
    }

    /// After a successful host `lseek` that returned `result`.
    pub fn host_seeked(&mut self, result: i64) {
        if self.kind == Kind::Regular {
            self.pos = Some(result);
            self.synced = true;
        }
    }

    /// Where the next read must take place with `pread` (the host offset is behind), or
    /// `None` for a plain `read`.
    pub fn read_at(&self) -> Option<i64> {
        self.pos.filter(|_| !self.synced)
    }

    /// After a successful read of `n` bytes (either kind).
    pub fn advanced(&mut self, n: usize) {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        self.pos = self.pos.map(|pos| pos.saturating_add(n));
    }

    /// The offset to set on the host before a call that uses the host's offset, if the host
    /// is behind.
    pub fn sync_needed(&self) -> Option<i64> {
        self.read_at()
    }

    /// After the host offset was set to [`Offset::sync_needed`]'s value.
    pub fn synced(&mut self) {
        self.synced = true;
    }

    /// Where the next write must take place with `pwrite`: at the guest's offset of a
    /// regular file not in append mode; `None` for a write at the host's offset.
    pub fn write_at(&self) -> Option<i64> {
        self.pos.filter(|_| self.kind == Kind::Regular && !self.append)
    }

    /// After a successful `pwrite` of `n` bytes at [`Offset::write_at`]: the host offset
    /// stays where it was.
    pub fn wrote_at(&mut self, n: usize) {
        if n > 0 {
            self.advanced(n);
            self.synced = false;
        }
    }

    /// Before an append-mode write: only the host knows where it ends, so its offset becomes
    /// the truth again. Call after syncing.
    pub fn forget(&mut self) {
        debug_assert!(self.synced, "forgetting an offset the host does not have");
        self.pos = None;
        self.synced = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regular_at(pos: i64) -> Offset {
        let mut o = Offset::new(false);
        o.learn_kind(true);
        o.host_seeked(pos);
        o
    }

    #[test]
    fn unknown_and_other_descriptors_go_to_the_host() {
        let mut o = Offset::new(false);
        assert_eq!(o.seek(0, SEEK_SET), Ok(Seek::Host));
        o.learn_kind(false);
        assert_eq!(o.kind(), Kind::Other);
        o.host_seeked(10);
        assert_eq!(o.seek(5, SEEK_SET), Ok(Seek::Host));
        assert_eq!(o.read_at(), None);
        let mut std = Offset::untracked();
        std.learn_kind(true);
        assert_eq!(std.kind(), Kind::Other, "a standard stream stays untracked");
    }

    #[test]
    fn seek_then_read_is_one_pread() {
        let mut o = regular_at(0);
        assert_eq!(o.read_at(), None, "synced: a plain read");
        o.advanced(100);
        assert_eq!(o.seek(0, SEEK_CUR), Ok(Seek::Done(100)), "ftell costs nothing");
        assert_eq!(o.read_at(), None);
        assert_eq!(o.seek(4096, SEEK_SET), Ok(Seek::Done(4096)));
        assert_eq!(o.read_at(), Some(4096));
        o.advanced(4096);
        assert_eq!(o.read_at(), Some(8192), "the host stays behind");
        assert_eq!(o.seek(-8192, SEEK_CUR), Ok(Seek::Done(0)));
        assert_eq!(o.read_at(), Some(0));
    }

    #[test]
    fn seeking_back_to_the_host_offset_needs_no_sync() {
        let mut o = regular_at(50);
        assert_eq!(o.seek(50, SEEK_SET), Ok(Seek::Done(50)));
        assert_eq!(o.sync_needed(), None);
        assert_eq!(o.seek(60, SEEK_SET), Ok(Seek::Done(60)));
        assert_eq!(o.seek(50, SEEK_SET), Ok(Seek::Done(50)));
        assert_eq!(o.sync_needed(), Some(50), "once behind, only a sync catches up");
    }

    #[test]
    fn seek_then_write_is_one_pwrite() {
        let mut o = regular_at(0);
        assert_eq!(o.write_at(), Some(0));
        assert_eq!(o.seek(4096, SEEK_SET), Ok(Seek::Done(4096)));
        assert_eq!(o.write_at(), Some(4096));
        o.wrote_at(4096);
        assert_eq!(o.seek(0, SEEK_CUR), Ok(Seek::Done(8192)), "the write moved the guest's offset");
        assert_eq!(o.read_at(), Some(8192), "and left the host's behind");
        o.wrote_at(0);
        assert_eq!(o.read_at(), Some(8192));
        // Before the kind is known the host's offset is used, as for reads.
        assert_eq!(Offset::new(false).write_at(), None);
        assert_eq!(Offset::untracked().write_at(), None);
    }

    #[test]
    fn append_mode_writes_at_the_hosts_end() {
        let mut o = Offset::new(true);
        o.learn_kind(true);
        o.host_seeked(0);
        assert_eq!(o.write_at(), None, "O_APPEND at open");
        o.set_append(false);
        assert_eq!(o.write_at(), Some(0), "F_SETFL without O_APPEND");
        o.set_append(true);
        assert_eq!(o.write_at(), None, "F_SETFL with O_APPEND");
    }

    #[test]
    fn writes_sync_and_hand_the_offset_back_to_the_host() {
        let mut o = regular_at(0);
        assert!(!o.appends());
        o.set_append(true);
        assert!(o.appends() && o.write_at().is_none(), "an append-mode write goes to the host's end");
        assert_eq!(o.seek(300, SEEK_SET), Ok(Seek::Done(300)));
        assert_eq!(o.sync_needed(), Some(300));
        o.synced();
        o.forget();
        assert_eq!(o.sync_needed(), None);
        assert_eq!(o.seek(10, SEEK_CUR), Ok(Seek::Host), "after a write only the host knows");
        assert_eq!(o.seek(7, SEEK_SET), Ok(Seek::Done(7)), "an absolute seek needs no host");
    }

    #[test]
    fn bad_and_huge_offsets() {
        let mut o = regular_at(10);
        assert_eq!(o.seek(-11, SEEK_CUR), Err(EINVAL));
        assert_eq!(o.seek(-1, SEEK_SET), Err(EINVAL));
        assert_eq!(o.seek(0, SEEK_CUR), Ok(Seek::Done(10)), "a refused seek changes nothing");
        assert_eq!(o.seek(MAX_TRACKED + 1, SEEK_SET), Ok(Seek::Host));
        assert_eq!(o.seek(i64::MAX, SEEK_CUR), Ok(Seek::Host), "overflow: the host decides");
        assert_eq!(o.seek(0, 2), Ok(Seek::Host), "SEEK_END");
        assert_eq!(o.seek(0, 3), Ok(Seek::Host), "SEEK_DATA");
    }
}
