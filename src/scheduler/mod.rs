//! Tasks and their scheduling, all at CPL 3.
//!
//! Each core has a ready queue with 32 priorities (round robin within a priority, a 10 ms
//! slice). A new task goes to the least loaded core its affinity allows; afterwards an idle
//! core steals tasks queued behind a running one elsewhere, so no core idles while another
//! has two runnable tasks. Blocking, waking, yielding and switching are function calls. The
//! timer is armed only while a core has more than one runnable task or a sleeper, so a core
//! with one thread takes no interrupts; an idle core polls (and steals) for a while before it
//! halts, so most cross-core wake-ups need no IPI.

mod affinity;
mod core;
mod host_busy;
mod placement;
mod runqueue;
mod stacks;
mod task;
mod tasklist;
mod timer_lead;
mod tls;
mod wakeup;

use ::core::fmt::Write;
use ::core::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;

pub use self::affinity::CpuMask;
pub use self::core::{cores, current, of, this, Fate};
pub use self::task::{Task, TaskRef};
use self::task::{WAIT_BLOCKED, WAIT_INTERRUPTED, WAIT_NONE, WAIT_TIMED_OUT, WAIT_WOKEN};
use crate::arch::{self, preempt_disable, preempt_enable, rdtsc};
use crate::config::{MAIN_STACK_SIZE, MAX_PRIO, MIN_PRIO, NORMAL_PRIO, PAGE_SIZE};
use crate::errno::{Errno, Result, EINVAL, ESRCH};
use crate::synch::SpinLock;

/// Live tasks by id (for `sys_kill`).
static TASKS: SpinLock<BTreeMap<u32, TaskRef>> = SpinLock::new(BTreeMap::new());

/// Tasks that have not ended; when the last one ends, the program ends.
static LIVE: AtomicU32 = AtomicU32::new(0);

/// The main task's id: the program's process id (the C library's `getpid`).
static MAIN_ID: AtomicU32 = AtomicU32::new(0);

/// The program's process id, its main task's id (0 before it is made).
pub fn main_id() -> u32 {
    MAIN_ID.load(Ordering::Relaxed)
}

/// Next core for round-robin placement.
static NEXT_CORE: AtomicU32 = AtomicU32::new(0);

/// Sets up the scheduler of this core; its current context becomes the idle task.
pub fn init_core(id: u32) {
    self::core::init_core(id);
}

/// Id of the running task (0 before the scheduler runs).
pub fn current_id() -> u32 {
    if arch::current_task() == 0 {
        0
    } else {
        current().id
    }
}

/// A non-zero value identifying the running task, for lock ownership.
pub fn lock_owner_id() -> u64 {
    arch::current_task().max(1)
}

/// The running task's stack as `(lowest usable address, initial stack pointer)`.
pub fn current_stack() -> Option<(u64, u64)> {
    if arch::current_task() == 0 {
        return None;
    }
    let (bottom, top) = current().stack_bounds;
    (top != 0).then_some((bottom, top))
}

/// Whether `addr` lies in the guard page of the running task's stack.
pub fn is_stack_guard(addr: u64) -> bool {
    current_stack().is_some_and(|(bottom, _)| (bottom - PAGE_SIZE as u64..bottom).contains(&addr))
}

/// Whether `addr` lies in the guard page right above the running task's stack top.
pub fn is_stack_top_guard(addr: u64) -> bool {
    current_stack().is_some_and(|(_, top)| (top..top + PAGE_SIZE as u64).contains(&addr))
}

/// Registers the running task's signal handler.
pub fn set_signal_handler(handler: u64) {
    current().signal_handler.store(handler, Ordering::Relaxed);
}

/// What a task runs: `entry(arg)`; its return value becomes the task's exit code.
pub type Entry = extern "C" fn(u64) -> i32;

struct Start {
    entry: Entry,
    arg: u64,
}

/// Picks a core in `allowed` for a task: the least loaded one (queued plus running tasks, so
/// that a task just queued on a core that has not yet picked it up counts). The creator's
/// own core counts without the creator when nothing is queued there
/// ([`placement::creator_load`]).
fn place(allowed: &CpuMask) -> u32 {
    let here = arch::core_id();
    let load = |c: u32| match of(c) {
        Some(core) if allowed.allows(c) => {
            if c == here {
                placement::creator_load(core.load(), core.has_ready())
            } else {
                core.load()
            }
        }
        _ => u32::MAX,
    };
    placement::least_loaded(cores(), load, here, NEXT_CORE.fetch_add(1, Ordering::Relaxed))
}

/// Creates a task that runs `entry(arg)` with priority `prio` and a stack of `stack_size`
/// bytes (plus a guard page), restricted to the cores of `affinity` (default: the creator's
/// set, as on Linux), on the least loaded of them. `init` sees the task before anyone else
/// can (before it is listed or runs).
pub fn spawn(
    entry: Entry,
    arg: u64,
    prio: u8,
    stack_size: usize,
    affinity: Option<CpuMask>,
    init: impl FnOnce(&Task),
) -> Result<TaskRef> {
    let inherited = if arch::current_task() == 0 { CpuMask::ALL } else { current().affinity() };
    let affinity = affinity.unwrap_or(inherited).restricted(cores());
    let core = place(&affinity);
    let stack = stacks::alloc(stack_size)?;
    let tls = tls::TlsBlock::new()?;
    let start = Box::into_raw(Box::new(Start { entry, arg }));
    // SAFETY: the stack is fresh and owned by the new task; its top is 16-byte aligned.
    let rsp = unsafe { arch::prepare_stack(stack.top, task_main, start as u64, tls.thread_pointer()) };
    let task = TaskRef::new(Task::new(core, prio.clamp(MIN_PRIO, MAX_PRIO), Some(stack), Some(tls), rsp));
    task.set_affinity(affinity);
    if core == arch::core_id() && arch::current_task() != 0 {
        // Left to its creator, which most likely waits for it next (see `place`); an idle
        // core the queueing wakes takes it only if the creator still runs after the grace.
        let grace = crate::time::clock().ns_to_cycles(crate::config::CREATOR_GRACE_NS);
        task.steal_after.store(arch::rdtsc() + grace, Ordering::Relaxed);
    }
    if arch::current_task() != 0 {
        task.signal_handler.store(current().signal_handler.load(Ordering::Relaxed), Ordering::Relaxed);
        // A new thread inherits its creator's signal mask (POSIX `pthread_create`).
        task.blocked_signals.store(current().blocked_signals.load(Ordering::Relaxed), Ordering::Relaxed);
    }
    init(&task);
    TASKS.lock().insert(task.id, task.clone());
    tasklist::link(&task);
    LIVE.fetch_add(1, Ordering::AcqRel);
    of(core).ok_or(EINVAL)?.make_ready(task.clone());
    yield_if_outranked();
    Ok(task)
}

/// First Rust code of every new task.
extern "C" fn task_main(start: u64) -> ! {
    this().after_switch();
    // The task's stack may come from memory whose translations changed (guard pages).
    arch::tlb::catch_up();
    // Its affinity may have changed before it first ran.
    this().enforce_affinity();
    preempt_enable();
    deliver_signals();
    // SAFETY: `spawn` passed a leaked `Box<Start>` for this task only.
    let start = unsafe { Box::from_raw(start as *mut Start) };
    let code = (start.entry)(start.arg);
    exit_current(code)
}

/// Logs how many interrupts each core took (timer ticks and wakeup IPIs): zero on a core
/// that ran one task at a time and never idled; how long each core polled in its idle loop
/// and how often it halted; and per core the tasks it stole, the IPIs it sent and
/// how long tasks waited in its ready queue.
pub fn log_interrupts() {
    let mut line = crate::fmt::StackWriter::<256>::new();
    for id in 0..cores() as usize {
        let count = arch::block_of(id).interrupts.load(Ordering::Relaxed);
        let _ = write!(line, "{}core {id}: {count}", if id == 0 { "" } else { ", " });
    }
    log::info!("interrupts taken: {}", ::core::str::from_utf8(line.as_bytes()).unwrap_or("?"));
    // A line per core: the logger cuts a line at 256 bytes, which all cores' figures passed
    // from three cores on.
    for id in 0..cores() {
        let (ns, halts, lead) = of(id).map_or((0, 0, 0), |core| core.idle_stats());
        let [spun, late, other, busy] = of(id).map_or([0; 4], |core| core.halt_reasons());
        log::info!(
            "idle polling, core {id}: {} us, {halts} halts ({spun} spun out, {late} late wake, {busy} host busy, {other} other), timer lead {} us",
            ns / 1000,
            lead / 1000
        );
    }
    let mut line = crate::fmt::StackWriter::<256>::new();
    for id in 0..cores() {
        let (steals, ipis, crowded) = of(id).map_or((0, 0, 0), |core| core.balance_stats());
        let sep = if id == 0 { "" } else { ", " };
        let _ = write!(line, "{sep}core {id}: {steals} steals, {ipis} IPIs, {} us", crowded / 1000);
    }
    log::info!(
        "balance (tasks stolen, IPIs sent, time with a task waiting): {}",
        ::core::str::from_utf8(line.as_bytes()).unwrap_or("?")
    );
}

/// Ends the running task with `code`. The last task to end ends the program with `code`
/// (a thread that ends with `pthread_exit` passes 0, as POSIX specifies).
pub fn exit_current(code: i32) -> ! {
    let me = current();
    // Unlisted first, so that once a joiner sees the task ended, signals to it fail (ESRCH).
    TASKS.lock().remove(&me.id);
    tasklist::unlink(me);
    me.exit_code.store(code, Ordering::Relaxed);
    me.exited.store(1, Ordering::Release);
    // The last task has no joiner (a joiner is a live task) and ends the program.
    if LIVE.fetch_sub(1, Ordering::AcqRel) == 1 {
        crate::libc::exit_program(code);
    }
    // Without preemption from here, so that the joiners are woken by the core that then
    // switches away from this task.
    preempt_disable();
    this().set_exiting();
    crate::synch::futex::wake(&me.exited, usize::MAX);
    this().reschedule(Fate::Exit);
    unreachable!("an ended task was resumed")
}

/// Creates the main task (id `cores`, after the idle tasks, as in the original) running
/// `entry`, and continues as this core's idle loop on its boot stack. Returns only on failure.
pub fn run_main(cores: u32, entry: Entry) -> Errno {
    task::reserve_ids(cores);
    let prepared = (|| -> Result<TaskRef> {
        let stack = stacks::alloc(MAIN_STACK_SIZE)?;
        let tls = tls::TlsBlock::new()?;
        // SAFETY: the stack is fresh and owned by the main task.
        let rsp =
            unsafe { arch::prepare_stack(stack.top, task_main_entry, entry as usize as u64, tls.thread_pointer()) };
        Ok(TaskRef::new(Task::new(0, NORMAL_PRIO, Some(stack), Some(tls), rsp)))
    })();
    match prepared {
        Ok(task) => {
            MAIN_ID.store(task.id, Ordering::Relaxed);
            tasklist::publish();
            TASKS.lock().insert(task.id, task.clone());
            tasklist::link(&task);
            LIVE.fetch_add(1, Ordering::AcqRel);
            this().make_ready(task);
            // The boot code ran on a static stack in the image; the idle loop runs on the
            // core's boot stack between guard pages.
            arch::continue_on_boot_stack(first_idle)
        }
        Err(errno) => errno,
    }
}

/// First Rust code of the main task: like `task_main`, for an entry passed directly.
extern "C" fn task_main_entry(entry: u64) -> ! {
    this().after_switch();
    preempt_enable();
    // SAFETY: `run_main` passed an `Entry` function pointer.
    let entry: Entry = unsafe { ::core::mem::transmute(entry as usize) };
    let code = entry(0);
    exit_current(code)
}

/// The idle loop of the first core, entered on its guarded boot stack.
extern "C" fn first_idle() -> ! {
    this().idle_loop()
}

/// The idle loop of a secondary core.
pub fn idle() -> ! {
    this().idle_loop()
}

/// A task priority given by C code: [`MIN_PRIO`] to [`MAX_PRIO`], else `EINVAL`.
pub fn checked_priority(prio: i32) -> Result<u8> {
    u8::try_from(prio).ok().filter(|p| (MIN_PRIO..=MAX_PRIO).contains(p)).ok_or(EINVAL)
}

/// Gives `task` priority `prio` (it takes effect when the task next enters a ready queue),
/// then lets a ready task of higher priority than the caller's run.
pub fn set_priority(task: &Task, prio: u8) {
    task.prio.store(prio, Ordering::Relaxed);
    yield_now();
}

/// Gives the processor to another ready task of at least the same priority, if any.
/// Signals sent meanwhile are delivered on the way out, even when nothing else runs.
pub fn yield_now() {
    if this().has_ready() {
        preempt_disable();
        let prio = current().priority();
        this().reschedule(Fate::Yield(prio));
        preempt_enable();
    }
    deliver_signals();
}

/// Switches at once if a task of higher priority than the running one is ready here (after
/// this core woke or created one).
pub fn yield_if_outranked() {
    let prio = current().priority();
    if this().top_ready() <= prio {
        return;
    }
    preempt_disable();
    this().reschedule(Fate::Yield(prio.saturating_add(1)));
    preempt_enable();
}

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitResult {
    /// Another task woke it.
    Woken,
    /// The deadline passed.
    TimedOut,
    /// A signal interrupted it.
    Interrupted,
    /// `enqueue` declined (the condition no longer held).
    Cancelled,
}

/// Blocks the running task until [`wake`] (or the TSC `deadline`). `enqueue` puts the task's
/// reference into a wait list under that list's lock, or hands it back (`Err`) if the
/// condition to wait for no longer holds.
pub fn block(
    deadline: Option<u64>,
    enqueue: impl FnOnce(TaskRef) -> ::core::result::Result<(), TaskRef>,
) -> WaitResult {
    preempt_disable();
    let core = this();
    let me = current();
    me.wait_gen.store(me.wait_gen.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    // Release: whoever sees this wait blocked also sees its generation (`expire_sleepers`).
    me.wait.store(WAIT_BLOCKED, Ordering::Release);
    let sleeper = deadline.map(|_| core.running());
    let myself = core.running();
    if let Err(task) = enqueue(core.take_running()) {
        core.put_running(task);
        me.wait.store(WAIT_NONE, Ordering::Relaxed);
        preempt_enable();
        return WaitResult::Cancelled;
    }
    // A signal sent just before this wait was marked blocked found no wait to interrupt
    // (`kill` then only sends an IPI, which arrives after this task switched away), and the
    // task slept with its signal pending until something else woke it (`thr_signals` lost
    // one in 2-5 of 50 runs when its targets raced into `sem_wait`). So look once more after
    // the mark (`kill` sets the bit, fences, then reads the mark): whichever side sees the
    // other ends the wait, once.
    fence(Ordering::SeqCst);
    if deliverable(me) != 0
        && me.wait.compare_exchange(WAIT_BLOCKED, WAIT_INTERRUPTED, Ordering::AcqRel, Ordering::Acquire).is_ok()
    {
        // The wait list keeps a reference that no waker can use any more (its wake fails),
        // as after any interrupted wait.
        core.put_running(myself);
        me.wait.store(WAIT_NONE, Ordering::Relaxed);
        preempt_enable();
        deliver_signals();
        return WaitResult::Interrupted;
    }
    drop(myself);
    if let (Some(deadline), Some(sleeper)) = (deadline, sleeper) {
        // Armed by the switch below.
        core.add_sleeper(deadline, sleeper);
    }
    core.reschedule(Fate::Block);
    let state = me.wait.load(Ordering::Acquire);
    me.wait.store(WAIT_NONE, Ordering::Relaxed);
    preempt_enable();
    deliver_signals();
    match state {
        WAIT_TIMED_OUT => WaitResult::TimedOut,
        WAIT_INTERRUPTED => WaitResult::Interrupted,
        _ => WaitResult::Woken,
    }
}

/// Wakes a task blocked in [`block`]; false if it was not waiting any more.
pub fn wake(task: TaskRef) -> bool {
    wake_as(task, WAIT_WOKEN)
}

fn wake_as(task: TaskRef, how: u32) -> bool {
    if task.wait.compare_exchange(WAIT_BLOCKED, how, Ordering::AcqRel, Ordering::Acquire).is_err() {
        return false;
    }
    // A blocked task is in no ready queue, so its home core is stable until it is queued.
    match of(task.home()) {
        Some(core) => {
            core.make_ready(task);
            true
        }
        None => false,
    }
}

/// Blocks the running task for `ns` nanoseconds (busy-waits for very short times). A signal
/// ends the sleep early, after its handler ran: `Err` with the nanoseconds left.
pub fn sleep_ns(ns: u64) -> ::core::result::Result<(), u64> {
    if ns < 20_000 {
        crate::time::spin_ns(ns);
        return Ok(());
    }
    let deadline = crate::time::deadline_after(ns);
    loop {
        let now = rdtsc();
        if now >= deadline {
            return Ok(());
        }
        // The sleeper list alone holds the task; the wait list is its own reference.
        let result = block(Some(deadline), |me| {
            drop(me);
            Ok(())
        });
        if result == WaitResult::Interrupted {
            return Err(crate::time::clock().cycles_to_ns(deadline.saturating_sub(rdtsc())));
        }
    }
}

/// Entered from the preemption trampoline (timer or IPI interrupted CPL 3), or when
/// preemption is enabled again after an interrupt arrived: round robin, priorities,
/// sleepers, signals.
pub extern "C" fn preempted() {
    // A preemption that arrives while this task is in here already (an interrupt on the way
    // in, or a wake-up in `check_interrupt` whose yield switched the task away and back) is
    // served by the loop below, not by a nested call: the idle loop, switched away from in
    // `reschedule` whenever a task became ready, found one pending nearly every time it came
    // back during a stream (each burst's receive interrupt arrives while no core polls) and
    // nested one call deeper each time, until core 0's 64 KiB boot stack ran into its guard
    // page (`net.tap-echo`: 7 in 1,000 echoes of 10 MiB in one guest, ~580 calls deep).
    let me = current();
    if me.preempting.swap(true, Ordering::Relaxed) {
        return;
    }
    loop {
        arch::percore().preempt_pending.store(0, Ordering::Relaxed);
        crate::net::check_interrupt();
        preempt_disable();
        let core = this();
        let now = rdtsc();
        let tick = core.timer_fired(now);
        core.expire_sleepers(now);
        if tick && core.has_ready() {
            // Two tasks share this core for a whole slice: make sure an idle core takes one.
            core.kick_idle();
        }
        let prio = current().priority();
        core.reschedule(Fate::Yield(if tick { prio } else { prio.saturating_add(1) }));
        // The task may continue on another core.
        this().update_timer();
        // Cleared while preemption is still off: an interrupt from here on only marks a
        // preemption pending, which the check below sees (or, after it, a fresh call serves).
        me.preempting.store(false, Ordering::Relaxed);
        if !arch::preempt_enable_deferred() {
            break;
        }
        me.preempting.store(true, Ordering::Relaxed);
    }
    deliver_signals();
}

/// The signals pending for `task` that it does not block.
fn deliverable(task: &Task) -> u64 {
    task.pending_signals.load(Ordering::Relaxed) & !task.blocked_signals.load(Ordering::Relaxed)
}

/// A signal beyond the C library's (its `NSIG` is 32) that runs no handler and cannot be
/// blocked: it only ends the receiver's wait as a signal would, never restarted
/// (`pthread_cancel` wakes a thread with it to act at its cancellation point).
pub const INTERRUPT_SIGNAL: i32 = 63;

/// Runs the handlers of the signals pending for the running task and not blocked; blocked
/// ones stay pending.
pub fn deliver_signals() {
    if arch::current_task() == 0 {
        return;
    }
    let me = current();
    if deliverable(me) == 0 {
        return;
    }
    let blocked = me.blocked_signals.load(Ordering::Relaxed);
    let keep = blocked | me.sticky_signals.load(Ordering::Relaxed);
    let mut pending = me.pending_signals.fetch_and(keep, Ordering::AcqRel) & !blocked;
    while pending != 0 {
        let signum = pending.trailing_zeros() as i32;
        pending &= pending - 1;
        me.delivered_signals.fetch_add(1, Ordering::AcqRel);
        if RESTARTING.load(Ordering::Relaxed) & (1 << signum) == 0 {
            me.interruptions.fetch_add(1, Ordering::AcqRel);
        }
        if signum == INTERRUPT_SIGNAL {
            continue;
        }
        let handler = me.signal_handler.load(Ordering::Relaxed);
        if handler == 0 {
            default_action(signum);
        }
        // SAFETY: registered through `sys_signal` as a C function pointer.
        let handler: extern "C" fn(i32) = unsafe { ::core::mem::transmute(handler as usize) };
        handler(signum);
    }
}

/// How many handlers the running task has run (compare two readings to learn whether a
/// signal was delivered in between).
pub fn delivered_signals() -> u32 {
    current().delivered_signals.load(Ordering::Acquire)
}

/// Signals whose delivery does not interrupt a restartable call (bit `n` for signal `n`):
/// those the C library's `sigaction` installed with `SA_RESTART` (and `signal`'s, as
/// glibc's) or ignores.
static RESTARTING: AtomicU64 = AtomicU64::new(0);

/// Whether a restartable call (a blocking socket call without a timeout, a pipe's `read` or
/// `write`) waits again after signal `signum`'s handler ran, as Linux restarts such a call
/// after an `SA_RESTART` handler; else it ends with `EINTR`. Waits that POSIX never restarts
/// (`poll`, `select`, `epoll_wait`, `nanosleep`, `sem_wait`, timed socket calls) end with
/// `EINTR` after any handler. Process-wide, like the dispositions.
pub fn set_restarting(signum: i32, on: bool) -> Result<()> {
    if !(1..INTERRUPT_SIGNAL).contains(&signum) {
        return Err(EINVAL);
    }
    if on {
        RESTARTING.fetch_or(1 << signum, Ordering::AcqRel);
    } else {
        RESTARTING.fetch_and(!(1 << signum), Ordering::AcqRel);
    }
    Ok(())
}

/// How many handlers of signals that interrupt restartable calls the running task has run
/// ([`set_restarting`]): a restartable wait that ended with `EINTR` waits again if this did
/// not move.
pub fn interruptions() -> u32 {
    current().interruptions.load(Ordering::Acquire)
}

/// `sigprocmask` for the running task: `how` 0 blocks `set` too (`SIG_BLOCK`), 1 unblocks
/// it (`SIG_UNBLOCK`), 2 makes it the mask (`SIG_SETMASK`); returns the previous mask.
/// Pending signals the new mask lets through run before this returns.
pub fn set_signal_mask(how: i32, set: Option<u64>) -> Result<u64> {
    let me = current();
    let old = me.blocked_signals.load(Ordering::Relaxed);
    if let Some(set) = set {
        let new = match how {
            0 => old | set,
            1 => old & !set,
            2 => set,
            _ => return Err(EINVAL),
        };
        me.blocked_signals.store(new & !(1 << INTERRUPT_SIGNAL), Ordering::Relaxed);
        // Pairs with the fence in `kill`: a sender that missed the unblocking sees no wait to
        // end, and we see its pending bit here.
        fence(Ordering::SeqCst);
        deliver_signals();
    }
    Ok(old)
}

/// A signal without a handler ends the program with status `128 + signum`, as newlib's
/// default action did.
fn default_action(signum: i32) -> ! {
    use ::core::fmt::Write;
    let mut line = crate::fmt::StackWriter::<64>::new();
    let _ = writeln!(line, "Caught unhandled signal {signum}, terminating");
    crate::drivers::console::emergency(line.as_bytes());
    crate::drivers::hypercall::exit(128 + signum)
}

/// Makes every wait of task `tid` end at once as interrupted (`on`), until called with
/// `on` false: [`INTERRUPT_SIGNAL`] is sent and stays pending through its deliveries. A
/// pending cancellation request so reaches its thread's cancellation point however it raced
/// with the start of the thread's wait (a signal delivered just before a wait began does
/// not end it). `ESRCH` for a task that ended.
pub fn set_interrupting(tid: u32, on: bool) -> Result<()> {
    let bit = 1u64 << INTERRUPT_SIGNAL;
    let apply = |task: &Task| {
        if on {
            task.sticky_signals.fetch_or(bit, Ordering::AcqRel);
            // The caller's own next wait sees it; it runs nothing now.
            task.pending_signals.fetch_or(bit, Ordering::AcqRel);
        } else {
            task.sticky_signals.fetch_and(!bit, Ordering::AcqRel);
            task.pending_signals.fetch_and(!bit, Ordering::AcqRel);
        }
    };
    if tid == current_id() {
        apply(current());
        return Ok(());
    }
    let task = TASKS.lock().get(&tid).cloned().ok_or(ESRCH)?;
    apply(&task);
    if on {
        // Ends a wait it is in now (the pending bit alone ends those it starts).
        kill(tid, INTERRUPT_SIGNAL)
    } else {
        Ok(())
    }
}

/// Whether [`set_interrupting`] is on for the running task (one load: every cancellation
/// point asks).
pub fn interrupting() -> bool {
    current().sticky_signals.load(Ordering::Acquire) & (1 << INTERRUPT_SIGNAL) != 0
}

/// Sends `signum` to task `tid`: to the caller it is delivered at once; a blocked task is
/// woken (its wait reports an interruption) and runs the handler; a running task on another
/// core is interrupted with an IPI. Signal 0 checks that the task exists.
pub fn kill(tid: u32, signum: i32) -> Result<()> {
    if !(0..64).contains(&signum) {
        return Err(EINVAL);
    }
    let target = if tid == current_id() { None } else { Some(TASKS.lock().get(&tid).cloned().ok_or(ESRCH)?) };
    if signum == 0 {
        return Ok(());
    }
    match target {
        None => {
            current().pending_signals.fetch_or(1 << signum, Ordering::AcqRel);
            deliver_signals();
        }
        Some(task) => {
            task.pending_signals.fetch_or(1 << signum, Ordering::AcqRel);
            // Pairs with the fence in `block` after its mark.
            fence(Ordering::SeqCst);
            if task.blocked_signals.load(Ordering::Relaxed) & (1 << signum) != 0 {
                // Held pending until the task unblocks it (`set_signal_mask`).
            } else if task.wait.load(Ordering::Acquire) == WAIT_BLOCKED {
                wake_as(task, WAIT_INTERRUPTED);
            } else if task.home() != arch::core_id() {
                arch::apic::wake(task.home());
            }
        }
    }
    Ok(())
}

/// Restricts `task` to the cores of `mask` (which names at least one existing core). The
/// caller moves at once if its core is not in the set; a task that runs on another core is
/// interrupted and moves; a waiting or queued task moves when it next runs.
pub fn set_affinity(task: &Task, mask: CpuMask) {
    task.set_affinity(mask);
    if ::core::ptr::eq(task, current()) {
        preempt_disable();
        let prio = current().priority();
        // A yield to nobody returns; the affinity check on the way out moves the task.
        this().reschedule(Fate::Yield(prio.saturating_add(1)));
        preempt_enable();
    } else {
        let home = task.home();
        if !mask.allows(home) && task.wait.load(Ordering::Acquire) != WAIT_BLOCKED && home != arch::core_id() {
            arch::apic::wake(home);
        }
    }
}

/// The core the caller runs on (it may change at any scheduling point unless its affinity
/// names one core).
pub fn current_core() -> u32 {
    arch::core_id()
}

/// Looks up a live task.
pub fn task_by_id(tid: u32) -> Option<TaskRef> {
    TASKS.lock().get(&tid).cloned()
}
