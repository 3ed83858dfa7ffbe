//! CPU affinity (`sched_setaffinity`, `pthread_setaffinity_np`, ...) and `sched_getcpu`.
//!
//! Sets are glibc's `cpu_set_t` (our `<sys/cpuset.h>`): bit `i` is core `i`; bits of cores
//! the machine lacks are ignored, a set without an existing core is `EINVAL`. A thread whose
//! core leaves its set moves at once (the caller) or at its next scheduling point (a thread
//! running on another core is interrupted for it; a waiting one moves when woken). Pinned
//! threads never migrate; the others may move to an idle core at any scheduling point.

use core::ffi::{c_int, c_void};

use super::sched::{task_of, task_of_pid};
use super::types::{pthread_attr_t, pthread_t};
use super::{object, posix, shared, status};
use crate::errno::{Result, EINVAL};
use crate::scheduler::{self, CpuMask};

/// The set a caller passed, as a mask of existing cores.
///
/// # Safety
/// `set` readable for `size` bytes (or null, which is `EINVAL`).
unsafe fn read_set(size: usize, set: *const c_void) -> Result<CpuMask> {
    if set.is_null() {
        return Err(EINVAL);
    }
    // SAFETY: by the caller's contract.
    let bytes = unsafe { core::slice::from_raw_parts(set.cast::<u8>(), size) };
    CpuMask::from_c(bytes, scheduler::cores()).ok_or(EINVAL)
}

/// Writes `mask` into a caller's set of `size` bytes (`EINVAL` if too small for the cores).
///
/// # Safety
/// `set` writable for `size` bytes (or null, which is `EINVAL`).
unsafe fn write_set(mask: CpuMask, size: usize, set: *mut c_void) -> Result<()> {
    if set.is_null() {
        return Err(EINVAL);
    }
    // SAFETY: by the caller's contract.
    let bytes = unsafe { core::slice::from_raw_parts_mut(set.cast::<u8>(), size) };
    mask.write_c(bytes, scheduler::cores()).then_some(()).ok_or(EINVAL)
}

/// The core the caller runs on.
#[no_mangle]
pub extern "C" fn sched_getcpu() -> c_int {
    scheduler::current_core() as c_int
}

/// Restricts task `pid` (0: the caller) to the cores of `set`. 0, or -1 with `errno`
/// (`EINVAL`, `ESRCH`).
///
/// # Safety
/// `set` readable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn sched_setaffinity(pid: c_int, size: usize, set: *const c_void) -> c_int {
    // SAFETY: by the caller's contract.
    posix(unsafe { read_set(size, set) }.and_then(|mask| {
        let task = task_of_pid(pid)?;
        scheduler::set_affinity(&task, mask);
        Ok(())
    }))
}

/// Reads the cores task `pid` (0: the caller) may run on. 0, or -1 with `errno`.
///
/// # Safety
/// `set` writable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn sched_getaffinity(pid: c_int, size: usize, set: *mut c_void) -> c_int {
    // SAFETY: by the caller's contract.
    posix(task_of_pid(pid).and_then(|task| unsafe { write_set(task.affinity(), size, set) }))
}

/// Restricts a thread to the cores of `set`. 0, `EINVAL` or `ESRCH`.
///
/// # Safety
/// `thread` a live thread; `set` readable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn pthread_setaffinity_np(thread: pthread_t, size: usize, set: *const c_void) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { read_set(size, set) }.and_then(|mask| {
        // SAFETY: by the caller's contract.
        let task = unsafe { task_of(thread) }?;
        scheduler::set_affinity(&task, mask);
        Ok(())
    }))
}

/// Reads the cores a thread may run on. 0, `EINVAL` or `ESRCH`.
///
/// # Safety
/// `thread` a live thread; `set` writable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn pthread_getaffinity_np(thread: pthread_t, size: usize, set: *mut c_void) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { task_of(thread) }.and_then(|task| unsafe { write_set(task.affinity(), size, set) }))
}

/// Sets the cores a thread created with `attr` may run on. 0 or `EINVAL`.
///
/// # Safety
/// `attr` initialised; `set` readable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn pthread_attr_setaffinity_np(
    attr: *mut pthread_attr_t,
    size: usize,
    set: *const c_void,
) -> c_int {
    // SAFETY: by the caller's contract.
    let (attr, mask) = unsafe { (object(attr), read_set(size, set)) };
    status(attr.and_then(|a| {
        a.affinity = mask?.0;
        Ok(())
    }))
}

/// Reads the cores of `attr` (every core unless set). 0 or `EINVAL`.
///
/// # Safety
/// `attr` initialised; `set` writable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn pthread_attr_getaffinity_np(
    attr: *const pthread_attr_t,
    size: usize,
    set: *mut c_void,
) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { shared(attr) }.and_then(|a| {
        let mask = CpuMask(a.affinity);
        let mask = if mask.first().is_some() { mask } else { CpuMask::ALL };
        // SAFETY: by the caller's contract.
        unsafe { write_set(mask, size, set) }
    }))
}
