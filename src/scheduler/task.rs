//! The task structure, the current task, and the start of the main task.

use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use alloc::boxed::Box;

use super::tls::TlsBlock;
use crate::arch;
use crate::config::{MAIN_STACK_SIZE, NORMAL_PRIO, PAGE_SIZE};
use crate::errno::{Errno, Result};

/// A task (a thread of the application).
pub struct Task {
    /// Task id, as returned by `sys_getpid` (per thread, as in the original).
    pub id: u32,
    /// Priority, 0 (idle) to 31.
    pub prio: AtomicU8,
    /// The guard page below the stack (unmapped).
    pub guard: u64,
    /// Lowest usable stack address.
    pub stack_bottom: u64,
    /// Initial stack pointer.
    pub stack_top: u64,
    /// Thread-local storage; owns the block the FS base points into.
    #[allow(dead_code, reason = "owns the memory FS points into; never read through the field")]
    pub tls: Option<TlsBlock>,
    /// Signal handler registered with `sys_signal` (a C function pointer, 0 for none).
    pub signal_handler: AtomicU64,
}

/// The task the first core runs before `main`: id 0, no stack of its own.
static BOOT_TASK: Task = Task {
    id: 0,
    prio: AtomicU8::new(0),
    guard: 0,
    stack_bottom: 0,
    stack_top: 0,
    tls: None,
    signal_handler: AtomicU64::new(0),
};

/// The running task of this core.
pub fn current() -> &'static Task {
    let ptr = arch::current_task() as *const Task;
    if ptr.is_null() {
        return &BOOT_TASK;
    }
    // SAFETY: `set_current_task` only ever stores pointers to leaked, never-freed tasks.
    unsafe { &*ptr }
}

/// Id of the running task.
pub fn current_id() -> u32 {
    current().id
}

/// A non-zero value identifying the running task, for lock ownership.
pub fn lock_owner_id() -> u64 {
    current() as *const Task as u64
}

/// The running task's stack as `(lowest usable address, initial stack pointer)`; `None` for
/// the boot task.
pub fn current_stack() -> Option<(u64, u64)> {
    let task = current();
    (task.stack_top != 0).then_some((task.stack_bottom, task.stack_top))
}

/// Whether `addr` lies in the guard page of the running task's stack.
pub fn is_stack_guard(addr: u64) -> bool {
    let task = current();
    task.guard != 0 && (task.guard..task.guard + PAGE_SIZE as u64).contains(&addr)
}

/// Creates the main task (id `cores`, as in the original where ids `0..cores` are the idle
/// tasks) and runs `entry` on its stack. Returns only if the task cannot be created.
pub fn run_main(cores: u32, entry: extern "C" fn() -> !) -> Errno {
    match prepare_main(cores) {
        Ok(stack_top) => switch_to(stack_top, entry),
        Err(errno) => errno,
    }
}

/// Allocates the main task and makes it current; returns its initial stack pointer.
fn prepare_main(cores: u32) -> Result<u64> {
    let guard = crate::mm::alloc_frames((MAIN_STACK_SIZE + PAGE_SIZE) as u64, PAGE_SIZE as u64)?;
    arch::punch_guard_page(guard, &mut crate::mm::alloc_table)?;
    let stack_bottom = guard + PAGE_SIZE as u64;
    let stack_top = stack_bottom + MAIN_STACK_SIZE as u64;
    let tls = TlsBlock::new()?;
    let thread_pointer = tls.thread_pointer();
    let task: &'static Task = Box::leak(Box::new(Task {
        id: cores,
        prio: AtomicU8::new(NORMAL_PRIO),
        guard,
        stack_bottom,
        stack_top,
        tls: Some(tls),
        signal_handler: AtomicU64::new(0),
    }));
    arch::set_current_task(task as *const Task as u64);
    // SAFETY: the TLS block belongs to the new current task and lives forever.
    unsafe { arch::write_fs_base(thread_pointer) };
    Ok(stack_top)
}

/// Continues on the stack at `stack_top` by calling `entry`.
fn switch_to(stack_top: u64, entry: extern "C" fn() -> !) -> ! {
    // SAFETY: switches to the fresh stack of the main task and calls `entry`, which never
    // returns; nothing of the boot stack is used afterwards.
    unsafe {
        core::arch::asm!(
            "mov rsp, {top}",
            "xor ebp, ebp",
            "call {entry}",
            "ud2",
            top = in(reg) stack_top,
            entry = in(reg) entry,
            options(noreturn)
        )
    }
}

/// Registers the running task's signal handler.
pub fn set_signal_handler(handler: u64) {
    current().signal_handler.store(handler, Ordering::Relaxed);
}
