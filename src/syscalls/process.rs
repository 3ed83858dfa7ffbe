//! Tasks and the program: `sys_getpid`, `sys_exit`, `sys_clone`, yielding, priorities,
//! signals, and the process calls a unikernel does not have.

use core::ffi::{c_char, c_int, c_void};

use super::ptr::ret_int;
use super::types::{signal_handler_t, tid_t};
use crate::config::DEFAULT_STACK_SIZE;
use crate::drivers::hypercall;
use crate::errno::{Result, EINVAL, ENOSYS};
use crate::scheduler;

/// Id of the calling task (per thread, as in the original).
#[no_mangle]
pub extern "C" fn sys_getpid() -> tid_t {
    scheduler::current_id()
}

/// Ends the program with exit status `arg` (its low 8 bits reach the host).
///
/// The original ended only the calling task and relied on the loader to stop the VM when
/// the boot core exited; here the program ends whichever task calls it, as `exit` should.
#[no_mangle]
pub extern "C" fn sys_exit(arg: c_int) -> ! {
    // Stores into shared file mappings reach their files, as a process's do on Linux.
    super::mapped::write_back_all();
    // TCP data still on its way gets up to two seconds to arrive first.
    crate::net::drain_before_exit();
    scheduler::log_interrupts();
    hypercall::exit(arg)
}

/// Ends the calling task with `arg`. When the last task ends, the program ends with `arg`.
#[no_mangle]
pub extern "C" fn do_exit(arg: c_int) -> ! {
    scheduler::exit_current(arg)
}

/// `fork` does not exist in a unikernel: always `-ENOSYS` (the original left it undefined).
#[no_mangle]
pub extern "C" fn sys_fork() -> c_int {
    ENOSYS.neg()
}

/// `wait` does not exist in a unikernel: always `-ENOSYS` (the original left it undefined).
#[no_mangle]
pub extern "C" fn sys_wait(status: *mut c_int) -> c_int {
    let _ = status;
    ENOSYS.neg()
}

/// `execve` does not exist in a unikernel: always `-ENOSYS` (the original left it undefined).
#[no_mangle]
pub extern "C" fn sys_execve(name: *const c_char, argv: *const *mut c_char, env: *const *mut c_char) -> c_int {
    let _ = (name, argv, env);
    ENOSYS.neg()
}

/// Runs a `sys_clone` entry: the argument packs the C function and its argument.
extern "C" fn clone_trampoline(packed: u64) -> i32 {
    // SAFETY: `sys_clone` leaked a box with the entry and its argument for this task.
    let (entry, arg) =
        *unsafe { alloc::boxed::Box::from_raw(packed as *mut (unsafe extern "C" fn(*mut c_void) -> c_int, u64)) };
    // SAFETY: the caller of `sys_clone` provided a C function taking this argument.
    unsafe { entry(arg as *mut c_void) }
}

/// Creates a task that runs `ep(argv)` with the caller's priority and a 256 KiB stack with a
/// guard page, on the next idle core (round robin), as the original. Returning from `ep`
/// ends the task. Stores the new id in `*id` unless `id` is null. 0 or `-EINVAL`/`-ENOMEM`.
///
/// # Safety
/// `ep` must be null (`-EINVAL`) or a function `int ep(void *)`; `id` null or valid for
/// writes. `ep` is a `void *` as in the original prototype.
#[no_mangle]
pub unsafe extern "C" fn sys_clone(id: *mut tid_t, ep: *mut c_void, argv: *mut c_void) -> c_int {
    if ep.is_null() {
        return EINVAL.neg();
    }
    // SAFETY: a non-null `ep` is a C function `int ep(void *)` by the caller's contract.
    let ep = unsafe { core::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut c_void) -> c_int>(ep) };
    let packed = alloc::boxed::Box::into_raw(alloc::boxed::Box::new((ep, argv as u64))) as u64;
    let prio = scheduler::current().priority().max(1);
    match scheduler::spawn(clone_trampoline, packed, prio, DEFAULT_STACK_SIZE, None, |_| ()) {
        Ok(task) => {
            // SAFETY: `id` is null or valid for writes by the caller's contract.
            if let Some(id) = unsafe { id.as_mut() } {
                *id = task.id;
            }
            0
        }
        Err(errno) => {
            // SAFETY: the box was not handed to a task.
            drop(unsafe {
                alloc::boxed::Box::from_raw(packed as *mut (unsafe extern "C" fn(*mut c_void) -> c_int, u64))
            });
            errno.neg()
        }
    }
}

/// Whether `id` names the calling task (a null pointer does).
fn is_self(id: *mut tid_t) -> Result<()> {
    // SAFETY: a non-null `id` points to a task id by the C contract.
    match unsafe { id.as_ref() } {
        None => Ok(()),
        Some(id) if *id == scheduler::current_id() => Ok(()),
        Some(_) => Err(EINVAL),
    }
}

/// Priority of the calling task if `id` is null or names it; `-EINVAL` otherwise.
#[no_mangle]
pub extern "C" fn sys_getprio(id: *mut tid_t) -> c_int {
    ret_int(is_self(id).map(|()| c_int::from(scheduler::current().priority())))
}

/// Sets the priority (1 to 31) of the calling task if `id` is null or names it.
/// The original always returned `-ENOSYS`.
#[no_mangle]
pub extern "C" fn sys_setprio(id: *mut tid_t, prio: c_int) -> c_int {
    ret_int(is_self(id).and_then(|()| {
        scheduler::set_priority(scheduler::current(), scheduler::checked_priority(prio)?);
        Ok(0)
    }))
}

/// Gives the processor to another ready task of at least the same priority. (The original
/// yielded to an equal priority only after a full tick.)
#[no_mangle]
pub extern "C" fn sys_yield() {
    scheduler::yield_now();
}

/// Calls the scheduler (pthread-embedded's `sched_yield`): like `sys_yield`.
#[no_mangle]
pub extern "C" fn reschedule() {
    scheduler::yield_now();
}

/// Registers the calling task's signal handler (one per task, as in the original); new
/// tasks inherit it.
#[no_mangle]
pub extern "C" fn sys_signal(handler: signal_handler_t) -> c_int {
    scheduler::set_signal_handler(handler.map_or(0, |h| h as usize as u64));
    0
}

/// `sigprocmask` for the calling task: `how` 0 (`SIG_BLOCK`), 1 (`SIG_UNBLOCK`) or 2
/// (`SIG_SETMASK`) with `*set` (none if null); the previous mask goes to `*old` (if not
/// null). A blocked signal stays pending until unblocked, then its handler runs before this
/// returns. 0 or `-EINVAL`/`-EFAULT`.
///
/// # Safety
/// `set` must be null or a valid `sigset_t`, `old` null or valid for writes of one.
#[no_mangle]
pub unsafe extern "C" fn sys_sigprocmask(how: c_int, set: *const u64, old: *mut u64) -> c_int {
    // SAFETY: forwarded from the caller.
    let set = unsafe { set.as_ref() }.copied();
    let result = scheduler::set_signal_mask(how, set).map(|previous| {
        // SAFETY: forwarded from the caller.
        if let Some(old) = unsafe { old.as_mut() } {
            *old = previous;
        }
        0
    });
    ret_int(result)
}

/// Whether a restartable call waits again after signal `signum`'s handler ran (`on` not 0:
/// its disposition has `SA_RESTART`, or ignores it) or ends with `EINTR` (0); the C
/// library's `sigaction` and `signal` tell the kernel. 0 or `-EINVAL`. An extension: the
/// original had no restart.
#[no_mangle]
pub extern "C" fn sys_sigrestart(signum: c_int, on: c_int) -> c_int {
    ret_int(scheduler::set_restarting(signum, on != 0).map(|()| 0))
}

/// Sends signal `signum` to task `dest`. To the caller it is delivered at once: its handler
/// runs, or, without one, the program ends with status `128 + signum` as newlib's default
/// action did. Another task runs its handler as soon as it runs (a blocked task is woken, a
/// task running on another core is interrupted). Signal 0 checks that the task exists.
/// Unknown tasks give `-ESRCH` (the original returned `-ENOENT`).
#[no_mangle]
pub extern "C" fn sys_kill(dest: tid_t, signum: c_int) -> c_int {
    ret_int(scheduler::kill(dest, signum).map(|()| 0))
}
