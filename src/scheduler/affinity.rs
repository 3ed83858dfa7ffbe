//! CPU affinity masks: which cores a task may run on, and their C form (`cpu_set_t`).
#![forbid(unsafe_code)]

use crate::config::MAX_CORES;

/// Number of 64-bit words in a mask (one bit per possible core).
pub const WORDS: usize = MAX_CORES / 64;

/// A set of cores, bit `i` for core `i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuMask(pub [u64; WORDS]);

impl CpuMask {
    /// Every core.
    pub const ALL: Self = Self([u64::MAX; WORDS]);

    /// The set read from a C `cpu_set_t` of `bytes.len()` bytes (bit `i` of byte `i / 8`
    /// is CPU `i`, as in glibc), restricted to the cores `0..cores`. `None` when no
    /// core of the machine is in it (POSIX: `EINVAL`). Bits of CPUs that do not exist are
    /// ignored, as on Linux.
    pub fn from_c(bytes: &[u8], cores: u32) -> Option<Self> {
        let mut words = [0u64; WORDS];
        for (i, byte) in bytes.iter().enumerate().take(MAX_CORES / 8) {
            words[i / 8] |= u64::from(*byte) << (8 * (i % 8));
        }
        let mask = Self(words).restricted(cores);
        (mask.first().is_some()).then_some(mask)
    }

    /// The set restricted to the cores `0..cores`.
    pub fn restricted(mut self, cores: u32) -> Self {
        for (i, word) in self.0.iter_mut().enumerate() {
            let base = (i * 64) as u32;
            *word &= match cores.saturating_sub(base) {
                0 => 0,
                n if n >= 64 => u64::MAX,
                n => (1u64 << n) - 1,
            };
        }
        self
    }

    /// Writes the cores `0..cores` of the set into a C `cpu_set_t` of `out.len()` bytes and
    /// zeroes the rest; false (`EINVAL`, as Linux) when `out` is too small for `cores` bits.
    pub fn write_c(self, out: &mut [u8], cores: u32) -> bool {
        if out.len() * 8 < cores as usize {
            return false;
        }
        let mask = self.restricted(cores);
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = if i < MAX_CORES / 8 { (mask.0[i / 8] >> (8 * (i % 8))) as u8 } else { 0 };
        }
        true
    }

    /// Whether core `core` is in the set.
    pub fn allows(&self, core: u32) -> bool {
        let core = core as usize;
        core < MAX_CORES && self.0[core / 64] & (1 << (core % 64)) != 0
    }

    /// The lowest core in the set.
    pub fn first(&self) -> Option<u32> {
        self.0.iter().enumerate().find(|(_, w)| **w != 0).map(|(i, w)| (i * 64) as u32 + w.trailing_zeros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_sets_round_trip_on_the_machine_s_cores() {
        // CPU 1 and CPU 70 of a 128-byte (1024-CPU) glibc set, on a 2-core machine.
        let mut set = [0u8; 128];
        set[0] = 0b10;
        set[70 / 8] |= 1 << (70 % 8);
        let mask = CpuMask::from_c(&set, 2).expect("core 1 exists");
        assert!(mask.allows(1) && !mask.allows(0) && !mask.allows(70));
        assert_eq!(mask.first(), Some(1));
        let mut out = [0xffu8; 128];
        assert!(mask.write_c(&mut out, 2));
        assert_eq!(out[0], 0b10);
        assert!(out[1..].iter().all(|b| *b == 0));
        // With 100 cores, CPU 70 is kept.
        let wide = CpuMask::from_c(&set, 100).unwrap();
        assert!(wide.allows(70) && !wide.allows(71));
    }

    #[test]
    fn empty_or_foreign_sets_are_refused() {
        assert_eq!(CpuMask::from_c(&[0u8; 8], 2), None);
        assert_eq!(CpuMask::from_c(&[0b100], 2), None, "only CPU 2, which a 2-core machine lacks");
        assert_eq!(CpuMask::from_c(&[], 2), None);
    }

    #[test]
    fn small_buffers_are_refused_and_large_ones_zeroed() {
        let mut tiny = [0u8; 1];
        assert!(!CpuMask::ALL.write_c(&mut tiny, 9));
        assert!(CpuMask::ALL.write_c(&mut tiny, 8));
        assert_eq!(tiny[0], 0xff);
        let mut big = [0xaau8; 80];
        assert!(CpuMask::ALL.write_c(&mut big, 3));
        assert_eq!(big[0], 0b111);
        assert!(big[1..].iter().all(|b| *b == 0));
    }

    #[test]
    fn restriction_covers_word_edges() {
        assert_eq!(CpuMask::ALL.restricted(64).0[..2], [u64::MAX, 0]);
        assert_eq!(CpuMask::ALL.restricted(65).0[..2], [u64::MAX, 1]);
        assert_eq!(CpuMask::ALL.restricted(0).first(), None);
        assert_eq!(CpuMask::ALL.restricted(MAX_CORES as u32), CpuMask::ALL);
    }
}
