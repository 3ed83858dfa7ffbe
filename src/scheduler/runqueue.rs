//! A ready queue with 32 priorities: FIFO per priority, highest priority first.
#![forbid(unsafe_code)]

use alloc::collections::VecDeque;

/// Number of priorities (0 is the idle priority, 31 the highest).
pub const PRIORITIES: usize = 32;

/// Tasks ready to run on one core.
pub struct RunQueue<T> {
    /// Bit `p` is set while `queues[p]` is not empty.
    bitmap: u32,
    queues: [VecDeque<T>; PRIORITIES],
    len: usize,
}

impl<T> RunQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self { bitmap: 0, queues: core::array::from_fn(|_| VecDeque::new()), len: 0 }
    }

    /// Number of queued tasks.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Bit `p` is set while a task of priority `p` is queued.
    pub fn bitmap(&self) -> u32 {
        self.bitmap
    }

    /// Highest priority with a queued task.
    pub fn highest(&self) -> Option<u8> {
        (self.bitmap != 0).then(|| 31 - self.bitmap.leading_zeros() as u8)
    }

    /// Appends `task` at priority `prio` (clamped to 31).
    pub fn push(&mut self, prio: u8, task: T) {
        let prio = usize::from(prio.min(31));
        self.queues[prio].push_back(task);
        self.bitmap |= 1 << prio;
        self.len += 1;
    }

    /// Removes the oldest task of the highest priority, if that priority is at least `min`.
    pub fn pop_at_least(&mut self, min: u8) -> Option<T> {
        let prio = self.highest().filter(|p| *p >= min)?;
        let queue = &mut self.queues[usize::from(prio)];
        let task = queue.pop_front()?;
        if queue.is_empty() {
            self.bitmap &= !(1 << prio);
        }
        self.len -= 1;
        Some(task)
    }

    /// Removes the oldest task of the highest priority among those `wanted` accepts (what a
    /// core that steals work takes).
    pub fn take_first(&mut self, mut wanted: impl FnMut(&T) -> bool) -> Option<T> {
        for prio in (0..PRIORITIES).rev().filter(|p| self.bitmap & (1 << p) != 0) {
            let queue = &mut self.queues[prio];
            if let Some(pos) = queue.iter().position(&mut wanted) {
                let task = queue.remove(pos)?;
                if queue.is_empty() {
                    self.bitmap &= !(1 << prio);
                }
                self.len -= 1;
                return Some(task);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highest_priority_first_and_fifo_within_a_priority() {
        let mut q = RunQueue::new();
        q.push(8, "a");
        q.push(8, "b");
        q.push(16, "high");
        q.push(1, "low");
        assert_eq!((q.len(), q.highest()), (4, Some(16)));
        assert_eq!(q.pop_at_least(0), Some("high"));
        assert_eq!(q.pop_at_least(9), None);
        assert_eq!(q.pop_at_least(8), Some("a"));
        assert_eq!(q.pop_at_least(8), Some("b"));
        assert_eq!(q.pop_at_least(2), None);
        assert_eq!(q.pop_at_least(0), Some("low"));
        assert_eq!((q.len(), q.highest()), (0, None));
    }

    #[test]
    fn stealing_takes_the_best_accepted_task() {
        let mut q = RunQueue::new();
        q.push(8, 1);
        q.push(8, 2);
        q.push(9, 3);
        q.push(4, 4);
        assert_eq!(q.take_first(|t| t % 2 == 0), Some(2));
        assert_eq!(q.take_first(|t| *t == 3), Some(3));
        assert_eq!(q.take_first(|t| *t > 10), None);
        assert_eq!((q.len(), q.highest()), (2, Some(8)));
        assert_eq!(q.take_first(|_| true), Some(1));
        assert_eq!(q.take_first(|_| true), Some(4));
        assert_eq!((q.len(), q.highest(), q.bitmap()), (0, None, 0));
    }

    #[test]
    fn priorities_are_clamped() {
        let mut q = RunQueue::new();
        q.push(200, 1);
        assert_eq!(q.highest(), Some(31));
        assert_eq!(q.pop_at_least(31), Some(1));
        assert_eq!(q.highest(), None);
    }
}
