//! POSIX semaphores (`<semaphore.h>`). `sem_t` is the kernel's semaphore, the same object
//! `sys_sem_init` creates. These functions report errors through `errno`.

use core::ffi::{c_int, c_uint};

use super::{deadline, initialise, posix, shared};
use crate::errno::{EINVAL, ETIMEDOUT};
use crate::synch::Semaphore;
use crate::syscalls::types::timespec;

/// `sem_t`.
#[allow(non_camel_case_types, reason = "the C name")]
pub type sem_t = Semaphore;

/// Initialises a semaphore with `value` units (`pshared` is accepted and meaningless).
///
/// # Safety
/// `sem` writable and not in use.
#[no_mangle]
pub unsafe extern "C" fn sem_init(sem: *mut sem_t, pshared: c_int, value: c_uint) -> c_int {
    let _ = pshared;
    // SAFETY: by the caller's contract.
    posix(unsafe { initialise(sem, Semaphore::new(value)) })
}

/// Destroys a semaphore.
///
/// # Safety
/// `sem` valid.
#[no_mangle]
pub unsafe extern "C" fn sem_destroy(sem: *mut sem_t) -> c_int {
    // SAFETY: by the caller's contract.
    posix(unsafe { shared(sem) }.map(drop))
}

/// Takes a unit, blocking while there is none; waiters are served in arrival order.
///
/// # Safety
/// `sem` valid.
#[no_mangle]
pub unsafe extern "C" fn sem_wait(sem: *mut sem_t) -> c_int {
    // SAFETY: by the caller's contract.
    let sem = unsafe { shared(sem) };
    posix(super::cancel::call(|| sem.and_then(|s| s.wait_or(None, super::cancel::requested))))
}

/// Takes a unit if one is available; `EAGAIN` otherwise.
///
/// # Safety
/// `sem` valid.
#[no_mangle]
pub unsafe extern "C" fn sem_trywait(sem: *mut sem_t) -> c_int {
    // SAFETY: by the caller's contract.
    posix(unsafe { shared(sem) }.and_then(|s| s.try_wait()))
}

/// Takes a unit, giving up at `abstime` (`CLOCK_REALTIME`): `ETIMEDOUT`.
///
/// # Safety
/// `sem` and `abstime` valid.
#[no_mangle]
pub unsafe extern "C" fn sem_timedwait(sem: *mut sem_t, abstime: *const timespec) -> c_int {
    // SAFETY: by the caller's contract.
    let Some(abstime) = (unsafe { abstime.as_ref() }) else { return posix(Err(EINVAL)) };
    // SAFETY: by the caller's contract.
    let sem = unsafe { shared(sem) };
    let result =
        super::cancel::call(|| sem.and_then(|s| s.wait_or(Some(deadline(abstime, 1)?), super::cancel::requested)));
    posix(result.map_err(|e| if e == ETIMEDOUT { ETIMEDOUT } else { e }))
}

/// Returns a unit: to the longest waiter if tasks wait (FIFO hand-off), else to the count.
///
/// # Safety
/// `sem` valid.
#[no_mangle]
pub unsafe extern "C" fn sem_post(sem: *mut sem_t) -> c_int {
    // SAFETY: by the caller's contract.
    posix(unsafe { shared(sem) }.and_then(Semaphore::post))
}

/// Stores the number of available units in `*value`.
///
/// # Safety
/// `sem` valid, `value` writable.
#[no_mangle]
pub unsafe extern "C" fn sem_getvalue(sem: *mut sem_t, value: *mut c_int) -> c_int {
    // SAFETY: by the caller's contract.
    let (sem, value) = unsafe { (shared(sem), value.as_mut()) };
    posix(sem.and_then(|s| {
        *value.ok_or(EINVAL)? = s.value() as c_int;
        Ok(())
    }))
}

/// Named semaphores do not exist in a unikernel: `SEM_FAILED` with `ENOSYS`.
#[no_mangle]
pub extern "C" fn sem_open(name: *const core::ffi::c_char, oflag: c_int) -> *mut sem_t {
    let _ = (name, oflag);
    posix(Err(crate::errno::ENOSYS));
    core::ptr::null_mut()
}

/// Named semaphores do not exist: -1 with `ENOSYS`.
#[no_mangle]
pub extern "C" fn sem_close(sem: *mut sem_t) -> c_int {
    let _ = sem;
    posix(Err(crate::errno::ENOSYS))
}

/// Named semaphores do not exist: -1 with `ENOSYS`.
#[no_mangle]
pub extern "C" fn sem_unlink(name: *const core::ffi::c_char) -> c_int {
    let _ = name;
    posix(Err(crate::errno::ENOSYS))
}
