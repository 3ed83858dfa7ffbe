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

/// Start of the device hole below 4 GiB that uhyve leaves when guest memory is larger.
pub const GAP_START: u64 = 0xD000_0000;
/// End of that hole.
pub const GAP_END: u64 = 1 << 32;

/// Free RAM between the heap break and the lowest kernel allocation.
///
/// RAM is `[heap_start, low_end)` plus, when the guest has more than 3.25 GiB, the range
/// `[GAP_END, ram_end)` above the device hole. The heap grows upward through the low range
/// and then jumps the hole (newlib's malloc accepts a break that is not contiguous); kernel
/// allocations come from the top, through the high range first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    heap_start: u64,
    low_end: u64,
    ram_end: u64,
    brk: u64,
    top: u64,
}

impl Region {
    /// The RAM of a guest whose memory ends at `limit`, with the heap from `heap_start`.
    pub fn new(heap_start: u64, limit: u64) -> Result<Self> {
        let (low_end, ram_end) = if limit > GAP_START { (GAP_START, limit.max(GAP_END)) } else { (limit, limit) };
        if heap_start > low_end {
            return Err(ENOMEM);
        }
        Ok(Self { heap_start, low_end, ram_end, brk: heap_start, top: ram_end })
    }

    /// First address of the application heap.
    pub fn heap_start(&self) -> u64 {
        self.heap_start
    }

    /// The program break.
    pub fn brk(&self) -> u64 {
        self.brk
    }

    /// The lowest address handed out from the top (the end of RAM before the first one).
    pub fn top(&self) -> u64 {
        self.top
    }

    /// Whether `addr` lies in (or at the end of) the range above the hole.
    fn high(&self, addr: u64) -> bool {
        self.ram_end > self.low_end && addr >= GAP_END
    }

    /// Moves the break by `incr` bytes and returns the start of the memory gained (the old
    /// break, or the start of the high range when the heap jumps the hole), which is the
    /// contract of `sbrk`. Fails with `ENOMEM` if the heap would run into kernel memory or
    /// below its start.
    pub fn sbrk(&mut self, incr: i64) -> Result<u64> {
        let old = self.brk;
        let new = old.checked_add_signed(incr).ok_or(ENOMEM)?;
        let (floor, ceiling) = if self.high(old) {
            (GAP_END, self.top)
        } else if self.high(self.top) {
            (self.heap_start, self.low_end)
        } else {
            (self.heap_start, self.top)
        };
        if new >= floor && new <= ceiling {
            self.brk = new;
            return Ok(old);
        }
        // Jump the device hole: the new memory starts at GAP_END.
        if incr > 0 && !self.high(old) && self.high(self.top) {
            let jumped = GAP_END.checked_add(incr as u64).ok_or(ENOMEM)?;
            if jumped <= self.top {
                self.brk = jumped;
                return Ok(GAP_END);
            }
        }
        Err(ENOMEM)
    }

    /// Takes `size` bytes aligned to `align` (a power of two) from the top of free RAM.
    pub fn alloc_top(&mut self, size: u64, align: u64) -> Result<u64> {
        if !align.is_power_of_two() || size == 0 {
            return Err(EINVAL);
        }
        let fits = |top: u64, floor: u64| {
            let start = align_down(top.checked_sub(size)?, align);
            (start >= floor).then_some(start)
        };
        let start = if self.high(self.top) {
            let floor = if self.high(self.brk) { align_up(self.brk, align) } else { GAP_END };
            match fits(self.top, floor) {
                Some(start) => Some(start),
                None if !self.high(self.brk) => fits(self.low_end, align_up(self.brk, align)),
                None => None,
            }
        } else {
            fits(self.top, align_up(self.brk, align))
        };
        let start = start.ok_or(ENOMEM)?;
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
        assert_eq!(r.sbrk(0), Ok(0x100_1000));
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

    #[test]
    fn the_heap_jumps_the_device_hole() {
        let mut r = Region::new(0xA0_0000, 6 << 30).unwrap();
        // Kernel memory comes from the top of the high range.
        assert_eq!(r.alloc_top(0x1000, 0x1000), Ok((6 << 30) - 0x1000));
        // The heap fills the low range, then continues above the hole.
        assert_eq!(r.sbrk((GAP_START - 0xA0_0000) as i64), Ok(0xA0_0000));
        assert_eq!(r.sbrk(0x1000), Ok(GAP_END));
        assert_eq!(r.sbrk(0x1000), Ok(GAP_END + 0x1000));
        assert_eq!(r.sbrk(-0x1000), Ok(GAP_END + 0x2000));
        // The high range is now shared: the heap may not pass the kernel's memory.
        assert_eq!(r.sbrk(2 << 30), Err(ENOMEM));
        assert!(r.alloc_top(0x1000, 0x1000).is_ok());
    }

    #[test]
    fn kernel_memory_falls_back_below_the_hole() {
        let mut r = Region::new(0xA0_0000, (4 << 30) + 0x20_0000).unwrap();
        assert_eq!(r.alloc_top(0x20_0000, 0x1000), Ok(GAP_END));
        assert_eq!(r.alloc_top(0x1000, 0x1000), Ok(GAP_START - 0x1000));
        // Memory between 3.25 and 4 GiB is never used.
        let mut small = Region::new(0xA0_0000, 4 << 30).unwrap();
        assert_eq!(small.alloc_top(0x1000, 0x1000), Ok(GAP_START - 0x1000));
    }
}
