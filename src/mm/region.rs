//! The split of guest RAM between the application heap (upward) and kernel allocations
//! (downward from the top).
#![forbid(unsafe_code)]

use crate::errno::{Result, EINVAL, ENOMEM};

/// Rounds `value` up to a multiple of the power of two `align`.
pub const fn align_up(value: u64, align: u64) -> u64 {
    (value + align - 1) & !(align - 1)
}

/// Rounds `value` down to a multiple of the power of two `align`.
pub const fn align_down(value: u64, align: u64) -> u64 {
    value & !(align - 1)
}

/// The original `HEAP_START`: the 2 MiB boundary above the image plus a 16 KiB gap
/// (`libhermit-abi.md` §1 fact 16).
pub const fn heap_start(image_start: u64, image_size: u64) -> u64 {
    align_up(image_start + image_size + crate::config::HEAP_GAP as u64, crate::config::LARGE_PAGE_SIZE as u64)
}

/// Free RAM between the heap break and the lowest kernel allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    heap_start: u64,
    brk: u64,
    top: u64,
}

impl Region {
    /// RAM from `heap_start` up to `ram_end` (exclusive), all of it free.
    pub fn new(heap_start: u64, ram_end: u64) -> Result<Self> {
        if heap_start > ram_end {
            return Err(ENOMEM);
        }
        Ok(Self { heap_start, brk: heap_start, top: ram_end })
    }

    /// First address of the application heap.
    pub fn heap_start(&self) -> u64 {
        self.heap_start
    }

    /// Current program break.
    pub fn brk(&self) -> u64 {
        self.brk
    }

    /// Lowest address handed out to the kernel so far.
    pub fn top(&self) -> u64 {
        self.top
    }

    /// Moves the break by `incr` bytes and returns the old break (the contract of `sbrk`).
    /// Fails with `ENOMEM` if the heap would run into kernel memory or below its start.
    pub fn sbrk(&mut self, incr: i64) -> Result<u64> {
        let old = self.brk;
        let new = old.checked_add_signed(incr).ok_or(ENOMEM)?;
        if new < self.heap_start || new > self.top {
            return Err(ENOMEM);
        }
        self.brk = new;
        Ok(old)
    }

    /// Takes `size` bytes aligned to `align` (a power of two) from the top of free RAM.
    pub fn alloc_top(&mut self, size: u64, align: u64) -> Result<u64> {
        if !align.is_power_of_two() || size == 0 {
            return Err(EINVAL);
        }
        let start = align_down(self.top.checked_sub(size).ok_or(ENOMEM)?, align);
        if start < align_up(self.brk, align) {
            return Err(ENOMEM);
        }
        self.top = start;
        Ok(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_start_matches_the_original_formula() {
        // 0x800000 + 0x30000 + 16 KiB rounds up to 0xA00000.
        assert_eq!(heap_start(0x80_0000, 0x3_0000), 0xA0_0000);
        assert_eq!(heap_start(0x80_0000, 0x1F_C000), 0xA0_0000);
        assert_eq!(heap_start(0x80_0000, 0x1F_C001), 0xC0_0000);
    }

    #[test]
    fn sbrk_returns_the_old_break_and_respects_bounds() {
        let mut r = Region::new(0x100_0000, 0x200_0000).unwrap();
        assert_eq!(r.sbrk(0x1000), Ok(0x100_0000));
        assert_eq!(r.brk(), 0x100_1000);
        assert_eq!(r.sbrk(-0x1000), Ok(0x100_1000));
        assert_eq!(r.sbrk(-1), Err(ENOMEM));
        assert_eq!(r.sbrk(0x100_0001), Err(ENOMEM));
        assert_eq!(r.sbrk(0x100_0000), Ok(0x100_0000));
        assert_eq!(r.sbrk(i64::MAX), Err(ENOMEM));
    }

    #[test]
    fn kernel_allocations_come_from_the_top_and_stop_at_the_break() {
        let mut r = Region::new(0x100_0000, 0x200_0000).unwrap();
        assert_eq!(r.alloc_top(0x1000, 0x1000), Ok(0x1ff_f000));
        assert_eq!(r.alloc_top(0x10, 0x20_0000), Ok(0x1e0_0000));
        assert_eq!(r.sbrk(0xe0_0000), Ok(0x100_0000));
        assert_eq!(r.sbrk(1), Err(ENOMEM));
        assert_eq!(r.alloc_top(1, 0x1000), Err(ENOMEM));
        assert_eq!(r.alloc_top(1, 3), Err(EINVAL));
    }
}
