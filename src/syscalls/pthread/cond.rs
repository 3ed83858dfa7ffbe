//! Condition variables on a sequence counter: a waiter sleeps while the counter is what it
//! saw before releasing the mutex, so no signal between the release and the sleep is lost.

use core::ffi::{c_int, c_ulong};
use core::sync::atomic::{AtomicU32, Ordering};

use super::types::*;
use super::{deadline, initialise, mutex, object, pshared_value, shared, status};
use crate::errno::{Result, EINVAL, ETIMEDOUT};
use crate::synch::futex;
use crate::syscalls::types::timespec;

/// newlib's `CLOCK_REALTIME`.
const CLOCK_REALTIME: c_ulong = 1;
/// newlib's `CLOCK_MONOTONIC`.
const CLOCK_MONOTONIC: c_ulong = 4;

fn wait(c: &pthread_cond_t, m: &pthread_mutex_t, until: Option<u64>) -> Result<()> {
    let seen = c.seq.load(Ordering::Acquire);
    c.waiters.fetch_add(1, Ordering::SeqCst);
    mutex::unlock(m)?;
    let result = futex::wait(&c.seq, seen, until);
    c.waiters.fetch_sub(1, Ordering::SeqCst);
    mutex::lock(m, None)?;
    match result {
        Err(ETIMEDOUT) => Err(ETIMEDOUT),
        _ => Ok(()),
    }
}

fn wake(c: &pthread_cond_t, count: usize) -> Result<()> {
    if c.waiters.load(Ordering::SeqCst) != 0 {
        c.seq.fetch_add(1, Ordering::Release);
        futex::wake(&c.seq, count);
    }
    Ok(())
}

/// Initialises a condition variable with the clock of `attr` (default `CLOCK_REALTIME`).
///
/// # Safety
/// `cond` writable; `attr` null or initialised.
#[no_mangle]
pub unsafe extern "C" fn pthread_cond_init(cond: *mut pthread_cond_t, attr: *const pthread_condattr_t) -> c_int {
    // SAFETY: null or initialised by the caller's contract.
    let clock = unsafe { attr.as_ref() }.map_or(0, |a| a.clock);
    let fresh = pthread_cond_t { seq: AtomicU32::new(0), waiters: AtomicU32::new(0), clock };
    // SAFETY: by the caller's contract.
    status(unsafe { initialise(cond, fresh) })
}

/// Destroys a condition variable.
///
/// # Safety
/// `cond` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_cond_destroy(cond: *mut pthread_cond_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { shared(cond) }.map(drop))
}

/// Releases `mutex`, waits for a signal, and takes `mutex` again.
///
/// # Safety
/// `cond` and `mutex` valid, `mutex` held by the caller.
#[no_mangle]
pub unsafe extern "C" fn pthread_cond_wait(cond: *mut pthread_cond_t, mutex: *mut pthread_mutex_t) -> c_int {
    // SAFETY: by the caller's contract.
    let (c, m) = unsafe { (shared(cond), shared(mutex)) };
    // A cancellation point: a request acts once the mutex is held again.
    status(super::cancel::point(|| c.and_then(|c| m.and_then(|m| wait(c, m, None))), |_| true))
}

/// Like `pthread_cond_wait`, giving up at `abstime` on the variable's clock: `ETIMEDOUT`.
///
/// # Safety
/// `cond`, `mutex` and `abstime` valid, `mutex` held by the caller.
#[no_mangle]
pub unsafe extern "C" fn pthread_cond_timedwait(
    cond: *mut pthread_cond_t,
    mutex: *mut pthread_mutex_t,
    abstime: *const timespec,
) -> c_int {
    // SAFETY: by the caller's contract.
    let Some(abstime) = (unsafe { abstime.as_ref() }) else { return EINVAL.0 };
    // SAFETY: by the caller's contract.
    let (c, m) = unsafe { (shared(cond), shared(mutex)) };
    let waited = || c.and_then(|c| m.and_then(|m| wait(c, m, Some(deadline(abstime, c.clock)?))));
    status(super::cancel::point(waited, |_| true))
}

/// Wakes one waiter.
///
/// # Safety
/// `cond` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_cond_signal(cond: *mut pthread_cond_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { shared(cond) }.and_then(|c| wake(c, 1)))
}

/// Wakes all waiters.
///
/// # Safety
/// `cond` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_cond_broadcast(cond: *mut pthread_cond_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { shared(cond) }.and_then(|c| wake(c, usize::MAX)))
}

/// Initialises condition variable attributes (`CLOCK_REALTIME`).
///
/// # Safety
/// `attr` writable.
#[no_mangle]
pub unsafe extern "C" fn pthread_condattr_init(attr: *mut pthread_condattr_t) -> c_int {
    let fresh = pthread_condattr_t { is_initialized: 1, pshared: 0, clock: CLOCK_REALTIME };
    // SAFETY: by the caller's contract.
    status(unsafe { initialise(attr, fresh) })
}

/// Destroys condition variable attributes.
///
/// # Safety
/// `attr` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_condattr_destroy(attr: *mut pthread_condattr_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { object(attr) }.map(|a| a.is_initialized = 0))
}

/// Selects the clock of timed waits: `CLOCK_REALTIME` or `CLOCK_MONOTONIC`.
///
/// # Safety
/// `attr` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_condattr_setclock(attr: *mut pthread_condattr_t, clock: c_ulong) -> c_int {
    if clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC {
        return EINVAL.0;
    }
    // SAFETY: by the caller's contract.
    status(unsafe { object(attr) }.map(|a| a.clock = clock))
}

/// Reads the clock of timed waits.
///
/// # Safety
/// `attr` valid, `clock` writable.
#[no_mangle]
pub unsafe extern "C" fn pthread_condattr_getclock(attr: *const pthread_condattr_t, clock: *mut c_ulong) -> c_int {
    // SAFETY: by the caller's contract.
    let (attr, clock) = unsafe { (shared(attr), object(clock)) };
    status(attr.and_then(|a| clock.map(|c| *c = a.clock)))
}

/// Process sharing is meaningless in a unikernel; both valid values are accepted.
///
/// # Safety
/// `attr` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_condattr_setpshared(attr: *mut pthread_condattr_t, pshared: c_int) -> c_int {
    // SAFETY: by the caller's contract.
    let attr = unsafe { object(attr) };
    status(attr.and_then(|a| pshared_value(pshared).map(|p| a.pshared = p)))
}

/// Reads the process-sharing attribute.
///
/// # Safety
/// `attr` valid, `pshared` writable.
#[no_mangle]
pub unsafe extern "C" fn pthread_condattr_getpshared(attr: *const pthread_condattr_t, pshared: *mut c_int) -> c_int {
    // SAFETY: by the caller's contract.
    let (attr, pshared) = unsafe { (shared(attr), object(pshared)) };
    status(attr.and_then(|a| pshared.map(|p| *p = a.pshared)))
}
