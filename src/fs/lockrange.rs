//! Which record-lock releases cannot fail, so that the guest may post them without waiting.

/// Whether Linux's `F_SETLK` with `F_UNLCK` of `len` bytes at `start` from the start of the
/// file cannot fail on a descriptor that is open: not for a negative start (`EINVAL`) or a
/// range past the largest offset (`EOVERFLOW`); a negative length, which Linux allows, is
/// left to the host.
pub fn unlock_is_certain(start: i64, len: i64) -> bool {
    start >= 0 && len >= 0 && start.checked_add(len).is_some()
}

#[cfg(test)]
mod tests {
    use super::unlock_is_certain;

    #[test]
    fn only_ranges_linux_accepts_are_posted() {
        assert!(unlock_is_certain(0, 0), "the whole file");
        assert!(unlock_is_certain(0x4000_0000, 1), "SQLite's PENDING byte");
        assert!(unlock_is_certain(0x4000_0002, 510), "SQLite's SHARED range");
        assert!(unlock_is_certain(i64::MAX - 1, 1));
        assert!(!unlock_is_certain(-1, 1), "EINVAL");
        assert!(!unlock_is_certain(i64::MAX, 1), "EOVERFLOW");
        assert!(!unlock_is_certain(10, -5), "a negative length: the host's answer");
    }
}
