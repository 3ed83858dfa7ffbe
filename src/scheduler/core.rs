//! Per-core scheduling: the ready queue, the running task, sleepers, switching and idling.
//!
//! Everything here runs at CPL 3. A switch is a function call (`hermit_switch`); a core's
//! scheduler state is touched by that core with preemption disabled, except the ready queue,
//! which other cores append to under its lock when they wake one of this core's tasks, and
//! take from when they are idle and this core has a task running and another queued (work
//! stealing). A core that has queued work while others halt wakes one of them (an IPI to a
//! halted vCPU; busy vCPUs are never interrupted for balancing). A task that ends up on a
//! core its affinity excludes moves itself to an allowed core.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::{Cell, UnsafeCell};
use core::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicU8, Ordering};

use super::host_busy::HostBusy;
use super::runqueue::RunQueue;
use super::task::{Task, TaskRef, WAIT_BLOCKED, WAIT_TIMED_OUT, WAIT_WOKEN};
use crate::arch::{self, apic, preempt_disable, rdtsc};
use crate::synch::SpinLock;

/// The core runs a task.
const RUNNING: u32 = 0;
/// The core is idle and polls its ready queue.
const SPINNING: u32 = 1;
/// The core is idle and halted: waking it needs an IPI.
const HALTED: u32 = 2;

/// TSC cycles between two looks of an idle core at the other cores' queues (about 1 µs).
const STEAL_SCAN_CYCLES: u64 = 2_000;

/// A gap longer than this between two turns of the idle spin is time the host gave the
/// vCPU's CPU to someone else (a turn takes about a microsecond, one that polls the network
/// a few), not spinning.
const DESCHEDULED_NS: u64 = 50_000;

/// Indices of [`CoreSched::halt_reasons`].
const HALT_SPUN: usize = 0;
const HALT_LATE: usize = 1;
const HALT_OTHER: usize = 2;
const HALT_HOST_BUSY: usize = 3;

/// What a look at the other cores from the idle spin found.
enum Scan {
    /// Not yet time for a look.
    Later,
    /// A task was stolen and is queued here.
    Stole,
    /// A task may be stolen soon (it is left to its creator for a while).
    Soon,
    /// Nothing to steal.
    Nothing,
}

/// A task waiting for a deadline.
struct Sleeper {
    deadline: u64,
    /// The task's `wait_gen` when it went to sleep; an entry of an earlier wait is stale.
    generation: u32,
    task: TaskRef,
}

/// The scheduler of one core.
pub struct CoreSched {
    /// The core's number.
    pub id: u32,
    ready: SpinLock<RunQueue<TaskRef>>,
    /// Copies of the queue's length and priority bitmap, for checks without the lock.
    nready: AtomicU32,
    ready_bits: AtomicU32,
    running: UnsafeCell<Option<TaskRef>>,
    running_prio: AtomicU8,
    idle: TaskRef,
    sleepers: SpinLock<Vec<Sleeper>>,
    /// A copy of the sleepers' count, for checks without the lock.
    nsleepers: AtomicU32,
    state: AtomicU32,
    reap: UnsafeCell<Option<TaskRef>>,
    /// The task this core last switched away from, whose `on_cpu` the next context clears.
    switched_from: Cell<*const Task>,
    /// A task that moves to another core once its context is saved, and that core.
    moving: UnsafeCell<Option<(TaskRef, u32)>>,
    deadline: AtomicU64,
    /// The running task is ending: tasks it wakes here run next, so queueing them wakes no
    /// other core ([`CoreSched::set_exiting`]).
    exiting: Cell<bool>,
    /// TSC of the last look at other cores' queues (rate-limits stealing).
    last_steal_scan: Cell<u64>,
    /// TSC at which another core sent this halted core a wake-up IPI; 0 once it is up.
    woken_at: AtomicU64,
    /// TSC cycles this core spent polling in its idle loop, and how often it halted
    /// (`HERMIT_VERBOSE`'s summary at exit). A task that the spin's own network polling woke
    /// runs inside the spin (the futex wake-up yields to it), and its time is counted here
    /// too: under a stream the count overstates how idle the core was.
    idle_cycles: AtomicU64,
    halts: AtomicU64,
    /// TSC cycles by which a halt's timer is armed ahead of the deadline it waits for, learnt
    /// from how late earlier halts ended (`super::timer_lead`).
    timer_lead: AtomicU64,
    /// Why it halted: its spin ran out, a core it woke was late, other, or the host was busy
    /// (a short spin, `super::host_busy`) (`HERMIT_VERBOSE`).
    halt_why: [AtomicU64; 4],
    /// Whether the host runs other work on this vCPU's CPU: the idle loop then spins briefly.
    host: HostBusy,
    /// Switches this core made (only the core itself counts them, preemption disabled): the
    /// idle spin sees that a task ran meanwhile.
    switches: Cell<u64>,
    /// Tasks this core stole from others, and IPIs it sent to wake or preempt another core
    /// (`HERMIT_VERBOSE`).
    steals: AtomicU64,
    ipis: AtomicU64,
    /// TSC since which a task has waited in the ready queue (0: none waits), and the cycles
    /// tasks waited there in all: the time the core had two or more runnable tasks.
    crowded_since: AtomicU64,
    crowded_cycles: AtomicU64,
}

// SAFETY: the `UnsafeCell` and `Cell` fields are only used by the owning core with preemption
// disabled; the fields other cores use are atomics or locked.
unsafe impl Sync for CoreSched {}

/// What happens to the running task when the core is given to another.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// It stays ready; switch only to a task of at least this priority.
    Yield(u8),
    /// It waits in some wait list (or is the idle task looking for work).
    Block,
    /// It has ended; its stack is released after the switch.
    Exit,
    /// It goes to the ready queue of that core (its affinity excludes this one).
    Move(u32),
}

/// Number of cores with a scheduler.
static CORES: AtomicU32 = AtomicU32::new(0);

/// A time slice ([`crate::config::TIME_SLICE_NS`]) in TSC cycles.
fn slice_cycles() -> u64 {
    crate::time::clock().ns_to_cycles(crate::config::TIME_SLICE_NS)
}

/// Counts core `id` as starting (`true`) or stopping to occupy its host CPU, in the header
/// extension's `busy_cores` and `busy_mask` for the loader: a core is busy unless it is
/// halted, since a vCPU that polls in its idle loop takes its host CPU as fully as one that
/// runs a task (and a host thread that took it from the poller would delay the next wake-up
/// there: no IPI goes to a polling core). Only when a core halts or resumes, never per
/// switch. Cores from 64 on are counted but have no bit.
fn count_busy(id: u32, busy: bool) {
    let Some((count, mask)) = crate::drivers::hypercall::busy_cores() else { return };
    let bit = 1u64.checked_shl(id).unwrap_or(0);
    if busy {
        mask.fetch_or(bit, Ordering::Relaxed);
        count.fetch_add(1, Ordering::Relaxed);
    } else {
        mask.fetch_and(!bit, Ordering::Relaxed);
        count.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Creates the scheduler of this core, whose current context becomes its idle task.
pub fn init_core(id: u32) -> &'static CoreSched {
    let idle: TaskRef = TaskRef::new(Task::idle(id));
    let sched = Box::leak(Box::new(CoreSched {
        id,
        ready: SpinLock::new(RunQueue::new()),
        nready: AtomicU32::new(0),
        ready_bits: AtomicU32::new(0),
        running: UnsafeCell::new(Some(idle.clone())),
        running_prio: AtomicU8::new(0),
        idle,
        sleepers: SpinLock::new(Vec::new()),
        nsleepers: AtomicU32::new(0),
        state: AtomicU32::new(SPINNING),
        reap: UnsafeCell::new(None),
        switched_from: Cell::new(core::ptr::null()),
        moving: UnsafeCell::new(None),
        deadline: AtomicU64::new(0),
        exiting: Cell::new(false),
        last_steal_scan: Cell::new(0),
        woken_at: AtomicU64::new(0),
        idle_cycles: AtomicU64::new(0),
        halts: AtomicU64::new(0),
        timer_lead: AtomicU64::new(0),
        halt_why: [const { AtomicU64::new(0) }; 4],
        host: HostBusy::new(),
        switches: Cell::new(0),
        steals: AtomicU64::new(0),
        ipis: AtomicU64::new(0),
        crowded_since: AtomicU64::new(0),
        crowded_cycles: AtomicU64::new(0),
    }));
    let block = arch::percore();
    block.sched.store(sched as *const CoreSched as u64, Ordering::Release);
    arch::set_current_task(&*sched.idle as *const Task as u64);
    CORES.fetch_max(id + 1, Ordering::AcqRel);
    count_busy(id, true);
    sched
}

/// Number of cores that run a scheduler.
pub fn cores() -> u32 {
    CORES.load(Ordering::Acquire).max(1)
}

/// The scheduler of core `id`, if that core has started.
pub fn of(id: u32) -> Option<&'static CoreSched> {
    let ptr = arch::block_of(id as usize).sched.load(Ordering::Acquire) as *const CoreSched;
    // SAFETY: `init_core` stores a leaked, never-freed scheduler.
    unsafe { ptr.as_ref() }
}

/// This core's scheduler.
pub fn this() -> &'static CoreSched {
    let ptr = arch::percore().sched.load(Ordering::Relaxed) as *const CoreSched;
    // SAFETY: set by `init_core` before the core runs any task; never freed.
    unsafe { &*ptr }
}

/// The running task of this core.
pub fn current() -> &'static Task {
    // SAFETY: the scheduler stores a pointer to the running task before switching to it; a
    // task is not freed while it runs (its `Arc` is held in `running`).
    unsafe { &*(arch::current_task() as *const Task) }
}

impl CoreSched {
    /// A new reference to the running task.
    ///
    /// Must be called with preemption disabled.
    pub fn running(&self) -> TaskRef {
        // SAFETY: only this core touches `running`, with preemption disabled.
        unsafe { (*self.running.get()).clone() }.expect("a core always runs a task")
    }

    /// Takes the running task's reference out, so that it can be parked in a wait list
    /// before [`CoreSched::reschedule`] with [`Fate::Block`].
    ///
    /// Must be called with preemption disabled.
    pub fn take_running(&self) -> TaskRef {
        // SAFETY: only this core touches `running`, with preemption disabled.
        unsafe { (*self.running.get()).take() }.expect("a core always runs a task")
    }

    /// Puts back a reference taken with [`CoreSched::take_running`] (the wait was called off).
    pub fn put_running(&self, task: TaskRef) {
        // SAFETY: only this core touches `running`, with preemption disabled.
        unsafe { *self.running.get() = Some(task) };
    }

    /// The highest priority queued here (0 if none), without taking the lock.
    pub fn top_ready(&self) -> u8 {
        let bits = self.ready_bits.load(Ordering::Acquire);
        if bits == 0 {
            0
        } else {
            31 - bits.leading_zeros() as u8
        }
    }

    /// Publishes the queue's length and bitmap (called with the queue locked), and counts
    /// the time tasks wait in it.
    fn publish(&self, queue: &RunQueue<TaskRef>) {
        self.ready_bits.store(queue.bitmap(), Ordering::Release);
        self.nready.store(queue.len() as u32, Ordering::Release);
        let since = self.crowded_since.load(Ordering::Relaxed);
        if queue.len() != 0 && since == 0 {
            self.crowded_since.store(rdtsc().max(1), Ordering::Relaxed);
        } else if queue.len() == 0 && since != 0 {
            self.crowded_cycles.fetch_add(rdtsc().saturating_sub(since), Ordering::Relaxed);
            self.crowded_since.store(0, Ordering::Relaxed);
        }
    }

    /// Runnable tasks of this core: the queued ones, plus the running one unless the core
    /// runs its idle loop. A hint for placement (read without the lock).
    pub fn load(&self) -> u32 {
        self.nready.load(Ordering::Acquire) + u32::from(self.state.load(Ordering::Relaxed) == RUNNING)
    }

    /// Whether tasks other than the running one are ready here.
    pub fn has_ready(&self) -> bool {
        self.nready.load(Ordering::Acquire) != 0
    }

    /// Queues `task` (of this core) and wakes the core if needed.
    pub fn make_ready(&'static self, task: TaskRef) {
        let prio = task.priority();
        {
            let mut queue = self.ready.lock();
            queue.push(prio, task);
            self.publish(&queue);
        }
        if self.id != arch::core_id() {
            self.notify(prio);
        } else if self.state.load(Ordering::Relaxed) == RUNNING && !self.exiting.get() {
            self.kick_idle();
            if prio >= self.running_prio.load(Ordering::Relaxed) {
                self.owe_slice();
            }
        }
    }

    /// Arms the end of the running task's time slice for a task of its priority that was just
    /// queued behind it on this core, as [`CoreSched::notify`]'s IPI does for one queued from
    /// another core. Without it a task that computes without a kernel call (a loop waiting for
    /// a flag, a benchmark timed by `alarm`) kept the core for good: the new task, a woken
    /// sleeper or `alarm`'s timer thread never ran on one vCPU. An armed timer that comes
    /// sooner is left alone, so a ping-pong on one core arms at most once a slice.
    fn owe_slice(&self) {
        preempt_disable();
        // The caller may have moved to another core since it chose this branch.
        if self.id == arch::core_id() {
            let now = rdtsc();
            let armed = self.deadline.load(Ordering::Relaxed);
            // A timer due within the slice preempts in time (its interrupt reschedules).
            if armed == 0 || armed <= now || armed > now + slice_cycles() {
                self.update_timer();
            }
        }
        arch::preempt_enable();
    }

    /// Notes that the running task ends: the tasks it wakes on this core (its joiners) are
    /// queued without waking another core, since the first of them runs here next; the
    /// switch away from the task wakes one if more are left. A joiner woken on the core of
    /// the ending worker sent a wake-up IPI (50-70 µs to the sender on PVM) that only made
    /// the other core poll.
    ///
    /// Must be called with preemption disabled, by the core itself.
    pub fn set_exiting(&self) {
        self.exiting.set(true);
    }

    /// Makes sure an idle core will look at this core's queue: nothing to do when one polls,
    /// else the first halted core gets an IPI (it is halted, so the IPI costs no running
    /// work). Called when work queues up behind a running task.
    pub fn kick_idle(&self) {
        let cores = cores();
        let mut halted = None;
        for i in 1..cores {
            let id = (self.id + i) % cores;
            match of(id).map(|c| c.state.load(Ordering::SeqCst)) {
                Some(SPINNING) => return,
                Some(HALTED) if halted.is_none() => halted = Some(id),
                _ => {}
            }
        }
        if let Some(core) = halted.and_then(of) {
            arch::block_of(core.id as usize).wake_pending.store(1, Ordering::SeqCst);
            core.wake_from_halt();
        }
    }

    /// Sends this halted core the wake-up IPI and notes when, for [`CoreSched::late_wake`];
    /// nothing if one is on its way since the core began this halt (it looks at its queue
    /// once up). A second IPI costs the sender as much as the first (a trapped `wrmsr`,
    /// 50-70 µs on PVM): a thread that creates two workers while the other core is halted
    /// sent both.
    fn wake_from_halt(&self) {
        if self.woken_at.compare_exchange(0, rdtsc().max(1), Ordering::AcqRel, Ordering::Acquire).is_ok() {
            this().ipis.fetch_add(1, Ordering::Relaxed);
            apic::wake(self.id);
        }
    }

    /// Whether a core woken with an IPI more than `limit` cycles ago has not come up yet.
    ///
    /// Its vCPU thread is then most likely queued by the host behind this core's vCPU (a
    /// host scheduler wakes a thread on the waker's CPU when the others are busy, and lets
    /// the running thread finish its slice: a polling idle vCPU kept the woken one waiting
    /// 0.6-0.7 ms, the idle spin plus the host's halt polling). The caller then halts
    /// instead of polling on, which gives the host CPU to the woken vCPU at once.
    fn late_wake(&self, now: u64, limit: u64) -> bool {
        (0..cores()).filter(|&id| id != self.id).filter_map(of).any(|core| {
            let sent = core.woken_at.load(Ordering::Relaxed);
            super::wakeup::is_late(sent, now, limit, core.state.load(Ordering::Relaxed) == HALTED)
        })
    }

    /// Takes a task that waits behind a running one on another core and that may run here,
    /// makes this core its home and queues it here. Called by the idle loop. The victim
    /// keeps its running task, so a pair of tasks on two cores never swaps back and forth:
    /// only a core with nothing to run steals, only from a core with two. A new task left to
    /// its creator (`Task::steal_after` not reached) is not taken yet ([`Scan::Soon`]).
    fn steal(&'static self) -> Scan {
        let cores = cores();
        let now = rdtsc();
        let mut soon = false;
        for i in 1..cores {
            let Some(victim) = of((self.id + i) % cores) else { continue };
            if victim.nready.load(Ordering::Acquire) == 0 || victim.state.load(Ordering::Relaxed) != RUNNING {
                continue;
            }
            let task = {
                let mut queue = victim.ready.lock();
                let task = queue.take_first(|t| {
                    let ripe = now >= t.steal_after.load(Ordering::Relaxed);
                    soon |= !ripe && t.allows(self.id);
                    ripe && t.allows(self.id)
                });
                if let Some(task) = &task {
                    // Under the victim's lock: nobody else can see the task meanwhile.
                    task.core.store(self.id, Ordering::Release);
                    victim.publish(&queue);
                }
                task
            };
            if let Some(task) = task {
                self.steals.fetch_add(1, Ordering::Relaxed);
                self.make_ready(task);
                return Scan::Stole;
            }
        }
        if soon {
            Scan::Soon
        } else {
            Scan::Nothing
        }
    }

    /// Makes the core notice new work: an idle core polls or gets an IPI; a busy core gets
    /// an IPI when the new task outranks the running one or needs a time slice.
    fn notify(&self, prio: u8) {
        let block = arch::block_of(self.id as usize);
        block.wake_pending.store(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        match self.state.load(Ordering::SeqCst) {
            HALTED => self.wake_from_halt(),
            SPINNING => {}
            _ => {
                let running = self.running_prio.load(Ordering::Relaxed);
                // An armed timer due after the slice (a far sleeper's) would leave the task
                // waiting that long behind one that computes.
                let armed = self.deadline.load(Ordering::Relaxed);
                let timed = armed != 0 && armed <= rdtsc() + slice_cycles();
                if prio > running || (prio == running && !timed) {
                    this().ipis.fetch_add(1, Ordering::Relaxed);
                    apic::wake(self.id);
                }
            }
        }
    }

    /// Gives the core to the best ready task, treating the running task as `fate` says.
    /// Returns when the running task runs again (never for `Fate::Exit`). For `Fate::Block`
    /// the caller may already have moved the task's reference into a wait list
    /// ([`CoreSched::take_running`]).
    ///
    /// Must be called with preemption disabled, by the core itself. The task may continue on
    /// another core (it was stolen or moved): callers use [`this`] afterwards, not `self`.
    pub fn reschedule(&'static self, fate: Fate) {
        self.switches.set(self.switches.get().wrapping_add(1));
        self.switch_away(fate);
        if fate != Fate::Exit {
            this().enforce_affinity();
        }
    }

    /// Moves the running task to an allowed core if its affinity excludes this one.
    ///
    /// Must be called with preemption disabled, by the core itself.
    pub fn enforce_affinity(&'static self) {
        let me = current();
        if !me.allows(self.id) && !core::ptr::eq(me, &*self.idle) {
            let target = super::place(&me.affinity());
            if target != self.id {
                self.switch_away(Fate::Move(target));
            }
        }
    }

    /// [`CoreSched::reschedule`] without the affinity check on the way out.
    fn switch_away(&'static self, fate: Fate) {
        // SAFETY: only this core touches `running`, with preemption disabled.
        let running = unsafe { &mut *self.running.get() };
        let prev = running.take();
        let prev_ptr = arch::current_task() as *const Task;
        let is_idle = core::ptr::eq(prev_ptr, &*self.idle);
        let next = {
            let mut queue = self.ready.lock();
            let min = match fate {
                Fate::Yield(min) => min,
                _ => 0,
            };
            let next = match queue.pop_at_least(min) {
                Some(next) => {
                    if let (Fate::Yield(_), false) = (fate, is_idle) {
                        let prev = prev.clone().expect("a yielding task is not parked");
                        queue.push(prev.priority(), prev);
                    }
                    next
                }
                None if matches!(fate, Fate::Yield(_)) || is_idle => {
                    *running = prev;
                    return;
                }
                None => self.idle.clone(),
            };
            self.publish(&queue);
            next
        };
        if self.exiting.replace(false) && self.has_ready() {
            self.kick_idle();
        }
        if core::ptr::eq(prev_ptr, &*next) {
            *running = Some(next);
            return;
        }
        let next_is_idle = TaskRef::ptr_eq(&next, &self.idle);
        if !next_is_idle {
            // The end of its slice if others wait, and the earliest sleeper: a core that left
            // its idle loop for a woken task had the timer armed for that task's deadline
            // only, and a sleeper beside a task that computes never woke.
            self.update_timer();
        }
        // A task stolen or woken right after it blocked may still be saving its context on
        // the core it left (a few instructions, with preemption disabled there).
        while next.on_cpu.load(Ordering::Acquire) {
            arch::pause();
        }
        next.on_cpu.store(true, Ordering::Relaxed);
        if !next_is_idle {
            // It may have run elsewhere, or use a stack whose translations changed.
            arch::tlb::catch_up();
        }
        self.switched_from.set(prev_ptr);
        self.running_prio.store(next.priority(), Ordering::Relaxed);
        self.state.store(if next_is_idle { SPINNING } else { RUNNING }, Ordering::Relaxed);
        // SAFETY: the previous task stays alive while it is switched out: a wait list, the
        // ready queue or `reap` holds a reference.
        let save = unsafe { (*prev_ptr).rsp.get() };
        // SAFETY: `next` is not running (it was queued or is the idle task), so its saved
        // stack pointer is valid and only this core reads it.
        let resume = unsafe { *next.rsp.get() };
        arch::set_current_task(&*next as *const Task as u64);
        *running = Some(next);
        match (fate, prev) {
            // SAFETY: only this core touches `reap`, with preemption disabled.
            (Fate::Exit, prev) => unsafe { *self.reap.get() = prev },
            // SAFETY: only this core touches `moving`, with preemption disabled.
            (Fate::Move(target), Some(prev)) => unsafe { *self.moving.get() = Some((prev, target)) },
            (_, prev) => drop(prev),
        }
        // SAFETY: `save` points into a task that stays alive (see above), and `resume` was
        // saved by `hermit_switch` or prepared by `prepare_stack`.
        unsafe { arch::hermit_switch(save, resume) };
        // The task may have been resumed by another core.
        this().after_switch();
    }

    /// Finishes a switch in the task that now runs: lets other cores run the task switched
    /// away from (its context is saved), hands a moving task to its new core, and releases a
    /// task that ended.
    pub fn after_switch(&self) {
        let prev = self.switched_from.replace(core::ptr::null());
        if !prev.is_null() {
            // SAFETY: the task switched away from is alive: whoever could free it (a core that
            // ran it to its end) waits for this store before running it; an ended task is
            // held by `reap`.
            unsafe { (*prev).on_cpu.store(false, Ordering::Release) };
        }
        // SAFETY: only this core touches `moving`, with preemption disabled.
        if let Some((task, target)) = unsafe { (*self.moving.get()).take() } {
            task.core.store(target, Ordering::Release);
            if let Some(core) = of(target) {
                core.make_ready(task);
            }
        }
        // SAFETY: only this core touches `reap`, with preemption disabled.
        if let Some(dead) = unsafe { (*self.reap.get()).take() } {
            if let Some(stack) = dead.stack.lock().take() {
                super::stacks::free(stack);
            }
            drop(dead.tls.lock().take());
        }
    }

    /// Puts `task` to sleep until TSC `deadline`; the caller then blocks.
    pub fn add_sleeper(&self, deadline: u64, task: TaskRef) {
        let generation = task.wait_gen.load(Ordering::Relaxed);
        let mut sleepers = self.sleepers.lock();
        sleepers.push(Sleeper { deadline, generation, task });
        self.nsleepers.store(sleepers.len() as u32, Ordering::Relaxed);
    }

    /// Wakes the sleepers whose deadline has passed.
    pub fn expire_sleepers(&'static self, now: u64) {
        let mut expired = Vec::new();
        {
            let mut sleepers = self.sleepers.lock();
            let mut i = 0;
            while i < sleepers.len() {
                let entry = &sleepers[i];
                if entry.generation != entry.task.wait_gen.load(Ordering::Acquire) {
                    sleepers.swap_remove(i);
                } else if entry.deadline <= now {
                    let entry = sleepers.swap_remove(i);
                    expired.push((entry.task, entry.generation));
                } else {
                    i += 1;
                }
            }
            self.nsleepers.store(sleepers.len() as u32, Ordering::Relaxed);
        }
        for (task, generation) in expired {
            if task.wait.compare_exchange(WAIT_BLOCKED, WAIT_TIMED_OUT, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                // The task may have moved to another core and begun a new wait between the
                // generation check above and the exchange: that wait did not time out, it
                // sees a spurious wake-up (which every wait allows) instead.
                if task.wait_gen.load(Ordering::Acquire) != generation {
                    task.wait.store(WAIT_WOKEN, Ordering::Release);
                }
                // A blocked task's home is stable; it is this core unless the entry is stale.
                match of(task.home()) {
                    Some(home) => home.make_ready(task),
                    None => self.make_ready(task),
                }
            }
        }
    }

    /// The earliest deadline of a sleeper that still waits; entries of waits that ended
    /// otherwise are dropped, so that they arm no timer.
    fn next_deadline(&self) -> Option<u64> {
        let mut sleepers = self.sleepers.lock();
        sleepers.retain(|s| s.generation == s.task.wait_gen.load(Ordering::Acquire));
        self.nsleepers.store(sleepers.len() as u32, Ordering::Relaxed);
        sleepers.iter().map(|s| s.deadline).min()
    }

    /// Programs the timer for the next event this core needs: the end of the running task's
    /// time slice when others are ready, or the earliest sleeper. With neither, no timer is
    /// armed, so a core with one task takes no interrupts.
    pub fn update_timer(&self) {
        let ready = self.has_ready();
        if !ready && self.nsleepers.load(Ordering::Relaxed) == 0 {
            return;
        }
        let now = rdtsc();
        let slice = ready.then(|| now + slice_cycles());
        let wanted = match (slice, self.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let armed = self.deadline.load(Ordering::Relaxed);
        if let Some(wanted) = wanted {
            if armed == 0 || armed <= now || wanted < armed {
                apic::set_deadline(wanted);
                self.deadline.store(wanted, Ordering::Relaxed);
            }
        }
    }

    /// The idle loop of the core's boot context: run ready tasks, wake sleepers, poll for a
    /// while, then halt until an interrupt. The poll ends early when a core this one woke
    /// has not come up ([`CoreSched::late_wake`]): the host has then most likely queued that
    /// vCPU behind this one.
    pub fn idle_loop(&'static self) -> ! {
        let spin = crate::time::clock().ns_to_cycles(crate::config::IDLE_SPIN_NS);
        let late = crate::time::clock().ns_to_cycles(crate::config::WAKE_LATE_NS);
        let descheduled = crate::time::clock().ns_to_cycles(DESCHEDULED_NS);
        let min_halt = crate::time::clock().ns_to_cycles(crate::config::MIN_HALT_NS);
        let busy_spin = crate::time::clock().ns_to_cycles(crate::config::HOST_BUSY_SPIN_NS);
        let (host_wait, host_busy) = self.host_busy_cycles();
        loop {
            preempt_disable();
            self.expire_sleepers(rdtsc());
            if self.has_ready() {
                self.reschedule(Fate::Block);
                arch::preempt_enable();
                continue;
            }
            // Only this core's tasks add sleepers, and none runs now: the deadline is fixed.
            let due = self.next_deadline().unwrap_or(u64::MAX);
            let start = rdtsc();
            // The network is polled while spinning (received frames then need no interrupt).
            let polling = crate::net::idle_begin();
            // The spin counts the time this vCPU ran, not the time the host took it away
            // (a gap of more than DESCHEDULED between two turns): a vCPU descheduled for a
            // host time slice used to find its spin over when it ran again and halted at
            // once, so that the next frame of a ping-pong needed an interrupt.
            // A task woken by the spin's own polling may run at once (the futex wake-up
            // yields to it) and come back here when it blocks: the spin then starts anew
            // from the top, or it used to count the tasks' rounds as idle time and halted
            // every ~25 rounds of a ping-pong (a 130 µs interrupt wake-up each time).
            let switches = self.switches.get();
            // While the host is busy, the core spins briefly and halts (`super::host_busy`).
            let busy = self.host.busy(start);
            let spin = crate::net::idle_spin(if busy { busy_spin } else { spin });
            // A deadline closer than a halt's lead plus the shortest halt worth making is
            // polled for rather than halted for: a halt ends about the lead late
            // (`super::timer_lead`). The network's timer (a delayed ACK) counts too: a halt
            // for it is armed the lead early as well, and a spin cut short while a stream is
            // received would otherwise halt again at once until it is due.
            let near = self.timer_lead.load(Ordering::Relaxed) + if busy { 0 } else { min_halt };
            let mut spun = 0u64;
            let mut turn = start;
            // The end of the last turn's own work (the network poll can sleep in the host).
            let mut polled = start;
            let mut why = if busy { HALT_HOST_BUSY } else { HALT_OTHER };
            while !self.has_ready()
                && (spun < spin || crate::net::timer_due().map_or(due, |t| t.min(due)).saturating_sub(turn) <= near)
                && rdtsc() < due
                && self.switches.get() == switches
            {
                let now = rdtsc();
                let step = now.wrapping_sub(turn);
                if step < descheduled {
                    spun += step;
                }
                turn = now;
                if now.wrapping_sub(polled) >= host_wait && self.host.waited(now, host_busy) {
                    why = HALT_HOST_BUSY;
                    break;
                }
                match self.scan_now() {
                    Scan::Later | Scan::Soon => {}
                    Scan::Stole => break,
                    Scan::Nothing => {
                        if self.late_wake(rdtsc(), late) {
                            why = HALT_LATE;
                            break;
                        }
                    }
                }
                crate::net::idle_poll(due);
                arch::pause();
                polled = rdtsc();
            }
            if polling {
                crate::net::idle_end();
            }
            self.idle_cycles.fetch_add(rdtsc().saturating_sub(start), Ordering::Relaxed);
            // A task left to its creator for a while keeps this core polling: its creator
            // did not wake another core for it.
            let ran = self.switches.get() != switches;
            if !ran && !self.has_ready() && matches!(self.steal(), Scan::Nothing) && rdtsc() < due {
                super::stacks::keep_one_ready();
                if !self.has_ready() {
                    if spun >= spin && why == HALT_OTHER {
                        why = HALT_SPUN;
                    }
                    self.halt_why[why].fetch_add(1, Ordering::Relaxed);
                    self.halt();
                }
            }
            arch::preempt_enable();
        }
    }

    /// Looks at the other cores every [`STEAL_SCAN_CYCLES`] while idling (their queue
    /// lengths are cache lines they write; reading them at every `pause` would bounce them):
    /// steals work if there is some.
    fn scan_now(&'static self) -> Scan {
        let now = rdtsc();
        if now.wrapping_sub(self.last_steal_scan.get()) < STEAL_SCAN_CYCLES {
            return Scan::Later;
        }
        self.last_steal_scan.set(now);
        self.steal()
    }

    /// Halts until an interrupt (an IPI from a waker, or the timer of the next sleeper).
    fn halt(&self) {
        self.halts.fetch_add(1, Ordering::Relaxed);
        apic::enable();
        let block = arch::percore();
        count_busy(self.id, false);
        // An IPI sent while the core was up (it raced with the end of the last halt) was
        // taken then; a waker must not count on it for this halt.
        self.woken_at.store(0, Ordering::Relaxed);
        self.state.store(HALTED, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if !self.has_ready() {
            // A near network timer (a delayed ACK) wakes the core too: it polls the stack.
            // The timer is armed the learnt lead ahead; the idle loop polls until the deadline.
            let lead = self.timer_lead.load(Ordering::Relaxed);
            let armed = self
                .next_deadline()
                .into_iter()
                .chain(crate::net::timer_due())
                .min()
                .map(|deadline| deadline.saturating_sub(lead).max(rdtsc()));
            if let Some(armed) = armed {
                apic::set_deadline(armed);
                self.deadline.store(armed, Ordering::Relaxed);
            }
            // SAFETY: `hlt` traps; the trampoline halts only while `wake_pending` and
            // `preempt_pending` are clear (an interrupt between the checks above and the
            // trap, such as the timer just armed, sets the latter), with interrupts enabled,
            // and resumes after the instruction. Not `nomem`: the halt waits for other cores
            // and interrupts, which change memory meanwhile.
            unsafe { core::arch::asm!("hlt", options(nostack)) };
            let now = rdtsc();
            if let Some(armed) = armed {
                let max = crate::time::clock().ns_to_cycles(crate::config::MAX_TIMER_LEAD_NS);
                let next = super::timer_lead::next_lead(lead, armed, now, max);
                self.timer_lead.store(next, Ordering::Relaxed);
            }
            // A timer or a wake-up IPI this late: the host ran other work on the CPU.
            let (host_wait, host_busy) = self.host_busy_cycles();
            let woken = self.woken_at.load(Ordering::Relaxed);
            let late = |since: u64| since != 0 && now > since && now - since >= host_wait;
            if armed.is_some_and(late) || late(woken) {
                self.host.waited(now, host_busy);
            }
        }
        block.wake_pending.store(0, Ordering::SeqCst);
        self.woken_at.store(0, Ordering::Relaxed);
        self.state.store(SPINNING, Ordering::SeqCst);
        count_busy(self.id, true);
        crate::net::check_interrupt();
        if self.deadline.load(Ordering::Relaxed) <= rdtsc() {
            self.deadline.store(0, Ordering::Relaxed);
        }
    }

    /// [`crate::config::HOST_WAIT_NS`] and [`crate::config::HOST_BUSY_NS`] in TSC cycles.
    fn host_busy_cycles(&self) -> (u64, u64) {
        let clock = crate::time::clock();
        (clock.ns_to_cycles(crate::config::HOST_WAIT_NS), clock.ns_to_cycles(crate::config::HOST_BUSY_NS))
    }

    /// Halts after a spin that ran out, after a late wake-up, for other reasons, and after a
    /// short spin because the host was busy.
    pub fn halt_reasons(&self) -> [u64; 4] {
        [HALT_SPUN, HALT_LATE, HALT_OTHER, HALT_HOST_BUSY].map(|i| self.halt_why[i].load(Ordering::Relaxed))
    }

    /// Nanoseconds this core polled in its idle loop, how often it halted, and its timer's
    /// lead before a halt's deadline in nanoseconds.
    pub fn idle_stats(&self) -> (u64, u64, u64) {
        let clock = crate::time::clock();
        let cycles = self.idle_cycles.load(Ordering::Relaxed);
        let lead = clock.cycles_to_ns(self.timer_lead.load(Ordering::Relaxed));
        (clock.cycles_to_ns(cycles), self.halts.load(Ordering::Relaxed), lead)
    }

    /// Tasks this core stole, wake-up IPIs it sent, and nanoseconds tasks waited in its
    /// ready queue (the core had two or more runnable tasks).
    pub fn balance_stats(&self) -> (u64, u64, u64) {
        let crowded = crate::time::clock().cycles_to_ns(self.crowded_cycles.load(Ordering::Relaxed));
        (self.steals.load(Ordering::Relaxed), self.ipis.load(Ordering::Relaxed), crowded)
    }

    /// Forgets the armed deadline once it passed (the timer fired).
    pub fn timer_fired(&self, now: u64) -> bool {
        let deadline = self.deadline.load(Ordering::Relaxed);
        let fired = deadline != 0 && deadline <= now;
        if fired {
            self.deadline.store(0, Ordering::Relaxed);
        }
        fired
    }
}
