//! Walking the guest's x86-64 page tables to translate guest-virtual buffer addresses.
//!
//! uhyve's READ and WRITE hypercalls carry guest-virtual addresses; the host translates them
//! page by page from the PML4 at `entry + 0x1000` (`libhermit-abi.md` §1 fact 4). Every table
//! read is a checked guest-memory read, so a corrupt table only makes the translation fail.

/// Guest-physical memory as the walker sees it.
pub trait PhysRead {
    /// The 64-bit value at `addr`, if it is guest RAM.
    fn read_u64(&self, addr: u64) -> Option<u64>;
}

const PRESENT: u64 = 1;
const LARGE: u64 = 1 << 7;
const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

/// Translates `vaddr` under the tables rooted at `root`. Returns the physical address and
/// the end of the physical page (4 KiB, 2 MiB or 1 GiB) that contains it.
pub fn translate(mem: &impl PhysRead, root: u64, vaddr: u64) -> Option<(u64, u64)> {
    // Non-canonical addresses are not translatable.
    let top = vaddr >> 47;
    if top != 0 && top != 0x1_ffff {
        return None;
    }
    let mut table = root & ADDR_MASK;
    for level in (0..4).rev() {
        let shift = 12 + 9 * level;
        let index = (vaddr >> shift) & 511;
        let entry = mem.read_u64(table + index * 8)?;
        if entry & PRESENT == 0 {
            return None;
        }
        if level == 0 || (entry & LARGE != 0 && (level == 1 || level == 2)) {
            let size = 1u64 << shift;
            let frame = entry & ADDR_MASK & !(size - 1);
            let paddr = frame | (vaddr & (size - 1));
            return Some((paddr, frame + size));
        }
        table = entry & ADDR_MASK;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Fake(HashMap<u64, u64>);

    impl PhysRead for Fake {
        fn read_u64(&self, addr: u64) -> Option<u64> {
            if addr >= 1 << 32 {
                return None;
            }
            Some(*self.0.get(&addr).unwrap_or(&0))
        }
    }

    /// PML4 at 0x1000 -> PDPT 0x2000 -> PD 0x3000; PD[0] -> PT 0x4000 (4 KiB pages),
    /// PD[4] a 2 MiB page, PDPT[1] a 1 GiB page.
    fn tables() -> Fake {
        let mut m = HashMap::new();
        m.insert(0x1000, 0x2000 | 0x27);
        m.insert(0x2000, 0x3000 | 0x27);
        m.insert(0x2008, 0x4000_0000 | 0xE7);
        m.insert(0x3000, 0x4000 | 0x27);
        m.insert(0x3000 + 4 * 8, 0x80_0000 | 0xE7);
        m.insert(0x4000 + 8, 0x9000 | 0x67);
        Fake(m)
    }

    #[test]
    fn translates_all_page_sizes() {
        let t = tables();
        assert_eq!(translate(&t, 0x1000, 0x1234), Some((0x9234, 0xa000)));
        assert_eq!(translate(&t, 0x1000, 0x80_1234), Some((0x80_1234, 0xa0_0000)));
        assert_eq!(translate(&t, 0x1000, 0x4000_0010), Some((0x4000_0010, 0x8000_0000)));
    }

    #[test]
    fn refuses_unmapped_and_noncanonical_addresses() {
        let t = tables();
        assert_eq!(translate(&t, 0x1000, 0), None);
        assert_eq!(translate(&t, 0x1000, 0x20_0000), None);
        assert_eq!(translate(&t, 0x1000, 0x8000_0000_0000), None);
        // A table pointer outside memory stops the walk.
        let mut bad = tables();
        bad.0.insert(0x1000, 0x1_0000_0000 | 0x27);
        assert_eq!(translate(&bad, 0x1000, 0x1234), None);
    }
}
