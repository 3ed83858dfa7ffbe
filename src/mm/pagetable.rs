//! x86_64 page-table entries and indices (the arithmetic only; `arch` applies it).
#![forbid(unsafe_code)]

/// Entries per table.
pub const ENTRIES: usize = 512;
/// Physical-address bits of an entry.
pub const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
/// Present bit.
pub const PRESENT: u64 = 1;
/// Accessed bit: the processor sets it before it caches a translation through the entry.
pub const ACCESSED: u64 = 1 << 5;
/// Large-page bit (2 MiB in a PD, 1 GiB in a PDPT).
pub const LARGE: u64 = 1 << 7;

/// Entry pointing to a lower-level table: present, writable, user, accessed.
pub const fn table(phys: u64) -> u64 {
    (phys & ADDR_MASK) | 0x27
}

/// 2 MiB leaf: present, writable, user, dirty, large. Dirty is set up front so that a
/// shadow-paging host never maps the page read-only first to catch the first write.
/// Accessed is left to the processor: while it is clear, no core holds a translation of
/// the page, so changing the entry needs no TLB shootdown (see `arch::punch_guard_pages`).
pub const fn large(phys: u64) -> u64 {
    (phys & ADDR_MASK) | 0xC7
}

/// 4 KiB leaf: present, writable, user, dirty (accessed as in [`large`]).
pub const fn small(phys: u64) -> u64 {
    (phys & ADDR_MASK) | 0x47
}

/// Index into the PDPT (1 GiB granule).
pub const fn pdpt_index(addr: u64) -> usize {
    ((addr >> 30) & 511) as usize
}

/// Index into a PD (2 MiB granule).
pub const fn pd_index(addr: u64) -> usize {
    ((addr >> 21) & 511) as usize
}

/// Index into a PT (4 KiB granule).
pub const fn pt_index(addr: u64) -> usize {
    ((addr >> 12) & 511) as usize
}

/// The 512 entries of a PT that maps the 2 MiB at `base` with 4 KiB pages, except `holes`.
pub fn split_large(base: u64, holes: &[u64]) -> [u64; ENTRIES] {
    let mut entries = [0u64; ENTRIES];
    for (i, entry) in entries.iter_mut().enumerate() {
        let addr = base + (i as u64) * 0x1000;
        if !holes.contains(&addr) {
            *entry = small(addr);
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices() {
        let addr = (3u64 << 30) | (5 << 21) | (7 << 12) | 0x123;
        assert_eq!((pdpt_index(addr), pd_index(addr), pt_index(addr)), (3, 5, 7));
    }

    #[test]
    fn entries_are_user_accessible() {
        assert_eq!(large(0x20_0000), 0x20_00C7);
        assert_eq!((large(0) | small(0)) & ACCESSED, 0);
        assert_eq!(small(0x1000) & 0x4, 0x4);
        assert_eq!(table(0x3000), 0x3027);
        assert_eq!(large(0x20_0000) & LARGE, LARGE);
    }

    #[test]
    fn split_keeps_the_mapping_and_punches_one_hole() {
        let pt = split_large(0x40_0000, &[0x40_3000, 0x40_8000]);
        assert_eq!(pt[0], small(0x40_0000));
        assert_eq!((pt[3], pt[8]), (0, 0));
        assert_eq!(pt[511], small(0x5f_f000));
        assert_eq!(pt.iter().filter(|e| **e == 0).count(), 2);
    }
}
