//! Tasks and the program: `sys_getpid`, `sys_exit`, priorities, signals, and the process
//! calls a unikernel does not have.

use core::ffi::{c_char, c_int};
use core::sync::atomic::Ordering;

use super::ptr::ret_int;
use super::types::{signal_handler_t, tid_t};
use crate::drivers::hypercall;
use crate::errno::{Result, EINVAL, ENOSYS, ESRCH};
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
    hypercall::exit(arg)
}

/// Ends the calling task. With a single application task this ends the program.
#[no_mangle]
pub extern "C" fn do_exit(arg: c_int) -> ! {
    hypercall::exit(arg)
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

/// Whether `id` names the calling task (a null pointer does).
fn is_self(id: *const tid_t) -> Result<()> {
    // SAFETY: a non-null `id` points to a task id by the C contract.
    match unsafe { id.as_ref() } {
        None => Ok(()),
        Some(id) if *id == scheduler::current_id() => Ok(()),
        Some(_) => Err(EINVAL),
    }
}

/// Priority of the calling task if `id` is null or names it; `-EINVAL` otherwise.
#[no_mangle]
pub extern "C" fn sys_getprio(id: *const tid_t) -> c_int {
    ret_int(is_self(id).map(|()| c_int::from(scheduler::current().prio.load(Ordering::Relaxed))))
}

/// Sets the priority (1 to 31) of the calling task if `id` is null or names it.
/// The original always returned `-ENOSYS`.
#[no_mangle]
pub extern "C" fn sys_setprio(id: *const tid_t, prio: c_int) -> c_int {
    ret_int(is_self(id).and_then(|()| {
        let prio = u8::try_from(prio).ok().filter(|p| (1..=31).contains(p)).ok_or(EINVAL)?;
        scheduler::current().prio.store(prio, Ordering::Relaxed);
        Ok(0)
    }))
}

/// Gives up the processor if another task of at least the same priority is ready. With a
/// single application task it returns at once.
#[no_mangle]
pub extern "C" fn sys_yield() {}

/// Calls the scheduler unconditionally (pthread-embedded's `sched_yield`).
#[no_mangle]
pub extern "C" fn reschedule() {}

/// Registers the calling task's signal handler (one per task, as in the original).
#[no_mangle]
pub extern "C" fn sys_signal(handler: signal_handler_t) -> c_int {
    scheduler::set_signal_handler(handler.map_or(0, |h| h as usize as u64));
    0
}

/// Sends signal `signum` to task `dest`. Delivery to the calling task is synchronous: its
/// handler runs, or, without one, the program ends with status `128 + signum` as newlib's
/// default action did. Signal 0 only checks that the task exists. Unknown tasks give
/// `-ESRCH` (the original returned `-ENOENT`).
#[no_mangle]
pub extern "C" fn sys_kill(dest: tid_t, signum: c_int) -> c_int {
    ret_int(kill(dest, signum))
}

fn kill(dest: tid_t, signum: c_int) -> Result<i32> {
    if !(0..64).contains(&signum) {
        return Err(EINVAL);
    }
    if dest != scheduler::current_id() {
        return Err(ESRCH);
    }
    if signum == 0 {
        return Ok(0);
    }
    let handler = scheduler::current().signal_handler.load(Ordering::Relaxed);
    if handler == 0 {
        let mut line = crate::fmt::StackWriter::<64>::new();
        use core::fmt::Write;
        let _ = writeln!(line, "Caught unhandled signal {signum}, terminating");
        crate::drivers::console::emergency(line.as_bytes());
        hypercall::exit(128 + signum);
    }
    // SAFETY: `handler` was registered through `sys_signal` as a C function pointer.
    let handler: extern "C" fn(c_int) = unsafe { core::mem::transmute(handler as usize) };
    handler(signum);
    Ok(0)
}
