//! The arithmetic of shared file mappings: where a file range meets a mapping, and which pages a program changed.

use core::ops::Range;

/// The page size of change tracking.
pub const PAGE: usize = 4096;

/// Where bytes `at..at + len` of a file meet a mapping of file bytes `offset..offset +
/// mapped`: the range within the mapping and the range within those bytes, or `None`.
pub fn overlap(offset: u64, mapped: usize, at: u64, len: usize) -> Option<(Range<usize>, Range<usize>)> {
    let start = at.max(offset);
    let end = (at + len as u64).min(offset + mapped as u64);
    if start >= end {
        return None;
    }
    let in_map = (start - offset) as usize..(end - offset) as usize;
    let in_data = (start - at) as usize..(end - at) as usize;
    Some((in_map, in_data))
}

/// The runs of whole pages (byte ranges, clipped to the length) in which `now` differs from
/// `before`, each run as long as possible.
pub fn changed_runs(now: &[u8], before: &[u8]) -> alloc::vec::Vec<Range<usize>> {
    let len = now.len().min(before.len());
    let mut runs: alloc::vec::Vec<Range<usize>> = alloc::vec::Vec::new();
    for start in (0..len).step_by(PAGE) {
        let end = (start + PAGE).min(len);
        if now[start..end] == before[start..end] {
            continue;
        }
        match runs.last_mut() {
            Some(last) if last.end == start => last.end = end,
            _ => runs.push(start..end),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_meets_a_mapping_where_their_ranges_cross() {
        assert_eq!(overlap(4096, 8192, 0, 100), None);
        assert_eq!(overlap(4096, 8192, 4000, 200), Some((0..104, 96..200)));
        assert_eq!(overlap(4096, 8192, 5000, 10), Some((904..914, 0..10)));
        assert_eq!(overlap(4096, 8192, 12000, 1000), Some((7904..8192, 0..288)));
        assert_eq!(overlap(4096, 8192, 12288, 1), None);
        assert_eq!(overlap(0, 4096, 0, 0), None);
    }

    #[test]
    fn changed_pages_come_in_runs() {
        let before = alloc::vec![0u8; 5 * PAGE + 10];
        let mut now = before.clone();
        assert!(changed_runs(&now, &before).is_empty());
        now[10] = 1;
        now[PAGE + 5] = 1;
        now[3 * PAGE] = 1;
        now[5 * PAGE + 9] = 1;
        let runs = changed_runs(&now, &before);
        assert_eq!(runs, [0..2 * PAGE, 3 * PAGE..4 * PAGE, 5 * PAGE..5 * PAGE + 10]);
    }
}
