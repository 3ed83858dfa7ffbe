//! Size classes of the C allocator's small blocks: 16-byte steps up to 256 bytes, then four per power of two.
#![forbid(unsafe_code)]

/// Largest request served from a size class; bigger ones go to the large allocator.
pub const SMALL_MAX: usize = 32 << 10;

/// Number of size classes.
pub const CLASSES: usize = 16 + 4 * 7;

/// Payload size of each class.
pub const SIZES: [usize; CLASSES] = sizes();

const fn sizes() -> [usize; CLASSES] {
    let mut table = [0; CLASSES];
    let mut i = 0;
    while i < 16 {
        table[i] = 16 * (i + 1);
        i += 1;
    }
    while i < CLASSES {
        let step = i - 16;
        let base = 256 << (step / 4);
        table[i] = base + (base / 4) * (step % 4 + 1);
        i += 1;
    }
    table
}

/// The smallest class whose payload holds `size` bytes (`size` ≤ [`SMALL_MAX`]).
pub const fn class_of(size: usize) -> usize {
    if size <= 256 {
        return if size == 0 { 0 } else { (size - 1) / 16 };
    }
    // 256 < size ≤ 32 KiB: `octave` 0 covers (256, 512], each octave in four quarters.
    let high = usize::BITS - 1 - (size - 1).leading_zeros(); // floor(log2(size - 1))
    let octave = high as usize - 8;
    let base = 256 << octave;
    let quarter = (size - 1 - base) / (base / 4);
    16 + 4 * octave + quarter
}

/// How many free blocks of a class a core keeps before it hands half of them back: about
/// 64 KiB worth, at least 8 and at most 256.
pub const fn cache_limit(class: usize) -> usize {
    let n = (64 << 10) / SIZES[class];
    if n < 8 {
        8
    } else if n > 256 {
        256
    } else {
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_increasing_and_ends_at_the_small_limit() {
        assert_eq!(SIZES[0], 16);
        assert_eq!(SIZES[15], 256);
        assert_eq!(&SIZES[16..20], &[320, 384, 448, 512]);
        assert_eq!(SIZES[CLASSES - 1], SMALL_MAX);
        assert!(SIZES.windows(2).all(|w| w[0] < w[1]));
        assert!(SIZES.iter().all(|s| s % 16 == 0));
    }

    #[test]
    fn every_size_gets_the_smallest_class_that_fits() {
        for size in 0..=SMALL_MAX {
            let class = class_of(size);
            assert!(SIZES[class] >= size, "size {size} class {class}");
            assert!(class == 0 || SIZES[class - 1] < size, "size {size} class {class}");
        }
    }

    #[test]
    fn waste_stays_below_a_quarter_above_256_bytes() {
        for size in 257..=SMALL_MAX {
            assert!(SIZES[class_of(size)] * 4 <= size * 5 + 64 * 4, "size {size}");
        }
    }

    #[test]
    fn cache_limits() {
        assert_eq!(cache_limit(0), 256);
        assert_eq!(cache_limit(CLASSES - 1), 8);
    }
}
