//! Where a new task goes: the least loaded core, as pure arithmetic over per-core loads.
#![forbid(unsafe_code)]

/// The core in `0..cores` with the smallest `load`; among equals the creator's core `current`
/// (the creator often blocks next: a thread that creates workers and joins them), else the
/// first from `first` on in round-robin order, so that idle cores are filled in turn.
///
/// A load counts queued tasks too, so a task just queued on a core that has not picked it up
/// yet is seen; idle cores steal tasks queued behind running ones afterwards.
pub fn least_loaded(cores: u32, load: impl Fn(u32) -> u32, current: u32, first: u32) -> u32 {
    let Some(min) = (0..cores).map(&load).min() else { return 0 };
    if current < cores && load(current) == min {
        return current;
    }
    (0..cores).map(|i| first.wrapping_add(i) % cores).find(|&c| load(c) == min).unwrap_or(0)
}

/// The load the creator of a task sees on its own core: without itself when nothing is queued
/// there, so that the new task stays with a creator that would otherwise leave its core idle.
///
/// Most creators block next (a thread that creates a worker and joins it): the worker then
/// runs on the creator's core as soon as the creator waits, and the join is woken on the
/// same core. Sent to an idle core, a worker waited for that core's vCPU to come back from
/// `hlt` (114-250 µs on PVM, more on a busy host), and its end sent an IPI back to wake the
/// creator's halted core (another 50-70 µs to the sender, then the same wake-up): about
/// 0.4 ms of a run of 24 ms. If the creator keeps running, queuing behind it wakes an idle
/// core ([`super::core::CoreSched::kick_idle`]), which steals the task.
pub fn creator_load(load: u32, queued: bool) -> u32 {
    if queued {
        load
    } else {
        load.saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::{creator_load, least_loaded};

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
    fn a_lone_creator_keeps_its_first_worker() {
        // The creator runs alone on core 0, core 1 is idle: the worker stays on core 0.
        assert_eq!(pick(&[creator_load(1, false), 0], 0, 1), 0);
        // With a task queued behind the creator, the next one goes to the idle core.
        assert_eq!(pick(&[creator_load(2, true), 0], 0, 0), 1);
        // Three workers from a creator on core 0 of three idle cores: one on each core.
        let mut queued = 0;
        let mut others = [0, 0];
        for i in 0..3 {
            let loads = [creator_load(1 + queued, queued > 0), others[0], others[1]];
            match pick(&loads, 0, i) {
                0 => queued += 1,
                c => others[c as usize - 1] += 1,
            }
        }
        assert_eq!((queued, others), (1, [1, 1]));
        // The creator's idle loop (no task running) counts as it did.
        assert_eq!(creator_load(0, false), 0);
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
