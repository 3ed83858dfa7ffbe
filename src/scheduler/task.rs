//! Tasks: the threads of the application, each with a stack, TLS, a priority, a home core
//! and the set of cores it may run on.

use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicU8, Ordering};

use super::affinity::{CpuMask, WORDS};
use super::stacks::Stack;
use super::tls::TlsBlock;
use crate::synch::SpinLock;

/// Wait state: not waiting.
pub const WAIT_NONE: u32 = 0;
/// Wait state: blocked, to be woken or to time out.
pub const WAIT_BLOCKED: u32 = 1;
/// Wait state: woken by another task.
pub const WAIT_WOKEN: u32 = 2;
/// Wait state: the deadline passed first.
pub const WAIT_TIMED_OUT: u32 = 3;
/// Wait state: interrupted by a signal.
pub const WAIT_INTERRUPTED: u32 = 4;

/// A task.
pub struct Task {
    /// Task id, as returned by `sys_getpid` (per thread, as in the original).
    pub id: u32,
    /// The home core: the one whose ready queue, sleeper list or CPU holds the task. It
    /// changes only while the task is queued (an idle core steals it, under the queue's lock)
    /// or when the task moves itself (its affinity excludes the core), never while it waits.
    pub core: AtomicU32,
    /// The cores the task may run on (`sched_setaffinity`); all by default.
    affinity: [AtomicU64; WORDS],
    /// True from when a core switches to the task until the core that switches away from it
    /// has saved its context: another core that picked it up waits for that before running it.
    pub(super) on_cpu: AtomicBool,
    /// True while `super::preempted` runs on the task's stack: a preemption that arrives
    /// meanwhile is left to its loop instead of a nested call. Only the task touches it.
    pub(super) preempting: AtomicBool,
    /// Priority, 1 (lowest) to 31; 0 is the idle task.
    pub prio: AtomicU8,
    /// Saved stack pointer while the task is not running.
    pub(super) rsp: UnsafeCell<u64>,
    /// The stack, unless this is a core's boot context; released when the task ends.
    pub stack: SpinLock<Option<Stack>>,
    /// Stack bounds, kept for fault reports after the stack is released.
    pub stack_bounds: (u64, u64),
    /// Thread-local storage; owns the block the FS base points into.
    pub tls: SpinLock<Option<TlsBlock>>,
    /// Signal handler registered with `sys_signal` (a C function pointer, 0 for none).
    pub signal_handler: AtomicU64,
    /// Signals sent to the task and not yet delivered (bit `n` for signal `n`).
    pub pending_signals: AtomicU64,
    /// Signals the task blocks (`sigprocmask`): they stay pending and neither run nor end
    /// a wait until unblocked (bit `n` for signal `n`, as newlib's `sigset_t`).
    pub blocked_signals: AtomicU64,
    /// Signals that stay pending when delivered, so that every wait of the task ends at
    /// once ([`super::set_interrupting`]).
    pub sticky_signals: AtomicU64,
    /// Handlers run so far, so that a wait that did not block (`pselect`, `poll`) still
    /// notices a signal delivered meanwhile and ends with `EINTR`.
    pub delivered_signals: AtomicU32,
    /// Of those, the handlers of signals that interrupt restartable calls (not
    /// [`super::set_restarting`]'s), so that a blocked `recv` or pipe `read` can wait again
    /// after an `SA_RESTART` handler, as on Linux.
    pub interruptions: AtomicU32,
    /// `WAIT_*` state of the current or last wait.
    pub wait: AtomicU32,
    /// Incremented by every wait, so that a timeout of an earlier wait cannot end a later one.
    pub wait_gen: AtomicU32,
    /// 0 while the task runs, 1 once it ended (a futex word for joiners).
    pub exited: AtomicU32,
    /// The value the task ended with.
    pub exit_code: AtomicI32,
    /// The POSIX thread record of the task (`*const Thread`), once it has one.
    pub pthread: AtomicU64,
    /// The next task in the debugger's task list (`super::tasklist`), 0 at its end.
    pub(super) next: AtomicU64,
    /// TSC before which no other core steals the task from its queue (0: any time); set for
    /// a new task that stays on its creator's core (`super::spawn`).
    pub(super) steal_after: AtomicU64,
}

// SAFETY: `rsp` is only touched with preemption disabled by the core that switches away from
// the task (it stores it) or to it (it reads it after `on_cpu` cleared, with acquire
// ordering); everything else is atomic or locked.
unsafe impl Sync for Task {}
// SAFETY: as above.
unsafe impl Send for Task {}

/// Reference to a task.
pub type TaskRef = Arc<Task>;

/// Next task id; ids `0..cores` are the cores' idle tasks, as in the original.
static NEXT_ID: AtomicU32 = AtomicU32::new(1);

impl Task {
    /// A task on `core` with priority `prio`, whose first switch-in continues at `rsp`.
    pub fn new(core: u32, prio: u8, stack: Option<Stack>, tls: Option<TlsBlock>, rsp: u64) -> Self {
        let bounds = stack.as_ref().map_or((0, 0), |s| (s.bottom, s.top));
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            core: AtomicU32::new(core),
            affinity: CpuMask::ALL.0.map(AtomicU64::new),
            on_cpu: AtomicBool::new(false),
            preempting: AtomicBool::new(false),
            prio: AtomicU8::new(prio),
            rsp: UnsafeCell::new(rsp),
            stack: SpinLock::new(stack),
            stack_bounds: bounds,
            tls: SpinLock::new(tls),
            signal_handler: AtomicU64::new(0),
            pending_signals: AtomicU64::new(0),
            blocked_signals: AtomicU64::new(0),
            sticky_signals: AtomicU64::new(0),
            delivered_signals: AtomicU32::new(0),
            interruptions: AtomicU32::new(0),
            wait: AtomicU32::new(WAIT_NONE),
            wait_gen: AtomicU32::new(0),
            exited: AtomicU32::new(0),
            exit_code: AtomicI32::new(0),
            pthread: AtomicU64::new(0),
            next: AtomicU64::new(0),
            steal_after: AtomicU64::new(0),
        }
    }

    /// The boot context of `core`: its idle task, id `core`, priority 0.
    pub fn idle(core: u32) -> Self {
        let mut task = Self::new(core, 0, None, None, 0);
        task.id = core;
        task.on_cpu = AtomicBool::new(true);
        task
    }

    /// The home core (see [`Task::core`]).
    pub fn home(&self) -> u32 {
        self.core.load(Ordering::Acquire)
    }

    /// The cores the task may run on.
    pub fn affinity(&self) -> CpuMask {
        CpuMask(core::array::from_fn(|i| self.affinity[i].load(Ordering::Relaxed)))
    }

    /// Restricts the task to `mask` (which must name a core); the scheduler moves it at its
    /// next scheduling point if its core is not in the set.
    pub fn set_affinity(&self, mask: CpuMask) {
        for (word, value) in self.affinity.iter().zip(mask.0) {
            word.store(value, Ordering::Relaxed);
        }
    }

    /// Whether the task may run on `core`.
    pub fn allows(&self, core: u32) -> bool {
        let core = core as usize;
        self.affinity.get(core / 64).is_some_and(|w| w.load(Ordering::Relaxed) & (1 << (core % 64)) != 0)
    }

    /// The current priority.
    pub fn priority(&self) -> u8 {
        self.prio.load(Ordering::Relaxed)
    }
}

/// Makes sure ids of new tasks start after the idle tasks' and the main task's.
pub fn reserve_ids(count: u32) {
    NEXT_ID.fetch_max(count, Ordering::Relaxed);
}
