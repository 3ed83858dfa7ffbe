//! Scheduling: `sched_yield`, priority ranges, and thread priorities. POSIX priorities are the
//! kernel's (1 to 31, 8 by default); every policy behaves as round robin.

use core::ffi::c_int;

use super::thread::Thread;
use super::types::{pthread_attr_t, pthread_t};
use super::{object, posix, shared, status};
use crate::config::{MAX_PRIO, MIN_PRIO};
use crate::errno::{Result, EINVAL, ESRCH};
use crate::scheduler;
use crate::syscalls::types::timespec;

/// `struct sched_param` of newlib's `<sched.h>`.
#[repr(C)]
pub struct sched_param {
    /// Priority.
    pub sched_priority: c_int,
}

/// The task `pid` names: 0 for the caller, else a task id (what `getpid` returns).
pub(super) fn task_of_pid(pid: c_int) -> Result<scheduler::TaskRef> {
    let id = if pid == 0 { scheduler::current_id() } else { u32::try_from(pid).map_err(|_| ESRCH)? };
    scheduler::task_by_id(id).ok_or(ESRCH)
}

/// Reads the priority of task `pid` (0: the caller). 0, or -1 with `ESRCH`/`EINVAL`.
///
/// # Safety
/// `param` writable.
#[no_mangle]
pub unsafe extern "C" fn sched_getparam(pid: c_int, param: *mut sched_param) -> c_int {
    // SAFETY: by the caller's contract.
    let param = unsafe { object(param) };
    posix(param.and_then(|p| {
        p.sched_priority = c_int::from(task_of_pid(pid)?.priority());
        Ok(())
    }))
}

/// Sets the priority of task `pid` (0: the caller). 0, or -1 with `ESRCH`/`EINVAL`.
///
/// # Safety
/// `param` readable.
#[no_mangle]
pub unsafe extern "C" fn sched_setparam(pid: c_int, param: *const sched_param) -> c_int {
    // SAFETY: by the caller's contract.
    let param = unsafe { shared(param) };
    posix(param.and_then(|p| {
        let (task, prio) = (task_of_pid(pid)?, scheduler::checked_priority(p.sched_priority)?);
        scheduler::set_priority(&task, prio);
        Ok(())
    }))
}

/// The policy of task `pid`: every task is scheduled round robin (`SCHED_RR`).
#[no_mangle]
pub extern "C" fn sched_getscheduler(pid: c_int) -> c_int {
    match task_of_pid(pid) {
        Ok(_) => SCHED_RR,
        Err(errno) => posix(Err(errno)),
    }
}

/// Sets the priority of task `pid` and accepts `SCHED_OTHER`, `SCHED_FIFO` and `SCHED_RR`
/// (all behave as round robin). The previous policy (`SCHED_RR`), or -1 with `errno`.
///
/// # Safety
/// `param` readable.
#[no_mangle]
pub unsafe extern "C" fn sched_setscheduler(pid: c_int, policy: c_int, param: *const sched_param) -> c_int {
    if !(0..=2).contains(&policy) {
        return posix(Err(EINVAL));
    }
    // SAFETY: forwarded.
    match unsafe { sched_setparam(pid, param) } {
        0 => SCHED_RR,
        failed => failed,
    }
}

/// The round-robin time slice (10 ms) in `*interval`. 0, or -1 with `errno`.
///
/// # Safety
/// `interval` writable.
#[no_mangle]
pub unsafe extern "C" fn sched_rr_get_interval(pid: c_int, interval: *mut timespec) -> c_int {
    // SAFETY: by the caller's contract.
    let interval = unsafe { object(interval) };
    posix(interval.and_then(|i| {
        task_of_pid(pid)?;
        let ns = crate::config::TIME_SLICE_NS;
        *i = timespec { tv_sec: (ns / 1_000_000_000) as i64, tv_nsec: (ns % 1_000_000_000) as i64 };
        Ok(())
    }))
}

/// newlib's `SCHED_RR`.
const SCHED_RR: c_int = 2;

/// Gives the processor to another ready thread of at least the same priority.
#[no_mangle]
pub extern "C" fn sched_yield() -> c_int {
    scheduler::yield_now();
    0
}

/// Like `sched_yield` (a BSD and GNU extension).
#[no_mangle]
pub extern "C" fn pthread_yield() {
    scheduler::yield_now();
}

/// Highest priority (31) of every policy.
#[no_mangle]
pub extern "C" fn sched_get_priority_max(policy: c_int) -> c_int {
    let _ = policy;
    c_int::from(MAX_PRIO)
}

/// Lowest priority (1) of every policy.
#[no_mangle]
pub extern "C" fn sched_get_priority_min(policy: c_int) -> c_int {
    let _ = policy;
    c_int::from(MIN_PRIO)
}

/// The task of a thread handle.
///
/// # Safety
/// `handle` must name a live thread.
pub(super) unsafe fn task_of(handle: pthread_t) -> Result<scheduler::TaskRef> {
    // SAFETY: by the caller's contract.
    let thread = unsafe { shared(handle as *const Thread) }.map_err(|_| ESRCH)?;
    scheduler::task_by_id(thread.tid()).ok_or(ESRCH)
}

/// Reads a thread's policy (always round robin, `SCHED_RR` = 2) and priority.
///
/// # Safety
/// `handle` a live thread; `policy` and `param` writable.
#[no_mangle]
pub unsafe extern "C" fn pthread_getschedparam(
    handle: pthread_t,
    policy: *mut c_int,
    param: *mut sched_param,
) -> c_int {
    // SAFETY: by the caller's contract.
    let result = unsafe { task_of(handle) }.and_then(|task| {
        // SAFETY: by the caller's contract.
        let (policy, param) = unsafe { (object(policy)?, object(param)?) };
        *policy = 2;
        param.sched_priority = c_int::from(task.priority());
        Ok(())
    });
    status(result)
}

/// Sets a thread's priority (the policy is accepted and ignored). 0, `EINVAL`, `ESRCH`.
///
/// # Safety
/// `handle` a live thread; `param` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_setschedparam(handle: pthread_t, policy: c_int, param: *const sched_param) -> c_int {
    let _ = policy;
    // SAFETY: by the caller's contract.
    let result = unsafe { shared(param) }.and_then(|p| {
        let prio = scheduler::checked_priority(p.sched_priority)?;
        // SAFETY: by the caller's contract.
        let task = unsafe { task_of(handle) }?;
        scheduler::set_priority(&task, prio);
        Ok(())
    });
    status(result)
}

/// Sets a thread's priority.
///
/// # Safety
/// `handle` a live thread.
#[no_mangle]
pub unsafe extern "C" fn pthread_setschedprio(handle: pthread_t, prio: c_int) -> c_int {
    let param = sched_param { sched_priority: prio };
    // SAFETY: forwarded from the caller.
    unsafe { pthread_setschedparam(handle, 2, &param) }
}

/// Sets the priority used with `PTHREAD_EXPLICIT_SCHED`.
///
/// # Safety
/// `attr` and `param` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_attr_setschedparam(attr: *mut pthread_attr_t, param: *const sched_param) -> c_int {
    // SAFETY: by the caller's contract.
    let (attr, param) = unsafe { (object(attr), shared(param)) };
    status(attr.and_then(|a| {
        a.priority = c_int::from(scheduler::checked_priority(param?.sched_priority)?);
        Ok(())
    }))
}

/// Reads the priority of thread attributes.
///
/// # Safety
/// `attr` valid, `param` writable.
#[no_mangle]
pub unsafe extern "C" fn pthread_attr_getschedparam(attr: *const pthread_attr_t, param: *mut sched_param) -> c_int {
    // SAFETY: by the caller's contract.
    let (attr, param) = unsafe { (shared(attr), object(param)) };
    status(attr.and_then(|a| param.map(|p| p.sched_priority = a.priority)))
}
