//! Scheduling: `sched_yield`, priority ranges, and thread priorities. POSIX priorities are the
//! kernel's (1 to 31, 8 by default); every policy behaves as round robin.

use core::ffi::c_int;
use core::sync::atomic::Ordering;

use super::thread::Thread;
use super::types::{pthread_attr_t, pthread_t};
use super::{object, shared, status};
use crate::errno::{Result, EINVAL, ESRCH};
use crate::scheduler;

/// `struct sched_param` of newlib's `<sched.h>`.
#[repr(C)]
pub struct sched_param {
    /// Priority.
    pub sched_priority: c_int,
}

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
    31
}

/// Lowest priority (1) of every policy.
#[no_mangle]
pub extern "C" fn sched_get_priority_min(policy: c_int) -> c_int {
    let _ = policy;
    1
}

fn valid_priority(prio: c_int) -> Result<u8> {
    u8::try_from(prio).ok().filter(|p| (1..=31).contains(p)).ok_or(EINVAL)
}

/// The task of a thread handle.
///
/// # Safety
/// `handle` must name a live thread.
unsafe fn task_of(handle: pthread_t) -> Result<scheduler::TaskRef> {
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
        let prio = valid_priority(p.sched_priority)?;
        // SAFETY: by the caller's contract.
        let task = unsafe { task_of(handle) }?;
        task.prio.store(prio, Ordering::Relaxed);
        scheduler::yield_now();
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
        a.priority = c_int::from(valid_priority(param?.sched_priority)?);
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
