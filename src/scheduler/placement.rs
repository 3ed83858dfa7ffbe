//! Where a new task goes: the least loaded core, as pure arithmetic over per-core loads.
#![forbid(unsafe_code)]

/// The core in `0..cores` with the smallest `load`; among equals the creator's core `current`
/// (the creator often blocks next: a thread that creates workers and joins them), else the
/// first from `first` on in round-robin order, so that idle cores are filled in turn.
///
/// A load counts queued tasks too, so a task just queued on a core that has not picked it up
/// yet is seen. Tasks do not migrate afterwards (a known limit).
pub fn least_loaded(cores: u32, load: impl Fn(u32) -> u32, current: u32, first: u32) -> u32 {
    let Some(min) = (0..cores).map(&load).min() else { return 0 };
    if current < cores && load(current) == min {
        return current;
    }
    (0..cores).map(|i| first.wrapping_add(i) % cores).find(|&c| load(c) == min).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::least_loaded;

    fn pick(loads: &[u32], current: u32, first: u32) -> u32 {
        least_loaded(loads.len() as u32, |c| loads[c as usize], current, first)
    }

    #[test]
    fn queued_work_counts() {
        // The creator runs on core 0, core 1 is idle: the first worker goes there.
        assert_eq!(pick(&[1, 0], 0, 0), 1);
        // Six workers created in a row by a thread on core 0 end three on each core, whatever
        // the round-robin counter says (the old rule put four on one core and two on the other).
        for start in 0..4 {
            let mut loads = [1, 0];
            for i in 0..6 {
                let c = pick(&loads, 0, start + i) as usize;
                loads[c] += 1;
            }
            assert_eq!(loads, [4, 3], "round-robin counter starting at {start}");
        }
    }

    #[test]
    fn ties_prefer_the_creator_then_round_robin() {
        assert_eq!(pick(&[2, 2, 2], 1, 0), 1);
        assert_eq!(pick(&[3, 0, 0, 1], 0, 2), 2);
        assert_eq!(pick(&[3, 0, 0, 1], 0, 3), 1);
        assert_eq!(pick(&[3, 0, 0, 1], 7, 3), 1);
        assert_eq!(pick(&[], 0, 0), 0);
    }
}
