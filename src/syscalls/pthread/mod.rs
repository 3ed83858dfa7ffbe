//! POSIX threads and semaphores for C programs (`<pthread.h>`, `<semaphore.h>`).
//!
//! Implemented on the kernel's tasks and futexes; every object lives in the caller's memory
//! and uncontended operations are one atomic instruction. The symbols are made weak in
//! `libhermit.a`, so an application linked against the original toolchain's
//! pthread-embedded `libpthread.a` still links (its definitions win).
//! Functions return POSIX error numbers, except the semaphore functions, which set `errno`.

mod affinity;
mod barrier;
pub mod cancel;
mod cond;
mod key;
mod mutex;
mod once;
mod rwlock;
mod sched;
mod sem;
mod spin;
mod thread;
pub mod types;

use core::ffi::c_int;

use crate::errno::{Errno, Result, EINVAL};
use crate::syscalls::types::timespec;

/// A POSIX error-number result: 0 or the error.
fn status(result: Result<()>) -> c_int {
    match result {
        Ok(()) => 0,
        Err(Errno(e)) => e,
    }
}

/// For the functions that report through `errno`: 0, or -1 with `errno` set.
fn posix(result: Result<()>) -> c_int {
    match result {
        Ok(()) => 0,
        Err(errno) => {
            crate::libc::set_errno(errno);
            -1
        }
    }
}

/// Checks a `PTHREAD_PROCESS_*` value; both are accepted, sharing being moot in one address space.
fn pshared_value(pshared: c_int) -> Result<c_int> {
    match pshared {
        types::PTHREAD_PROCESS_PRIVATE | types::PTHREAD_PROCESS_SHARED => Ok(pshared),
        _ => Err(EINVAL),
    }
}

/// newlib's `CLOCK_MONOTONIC`.
const CLOCK_MONOTONIC: u64 = 4;

/// The TSC deadline of an absolute time on `clock` (`CLOCK_MONOTONIC`, else the realtime
/// clock). `EINVAL` for a malformed time.
fn deadline(abstime: &timespec, clock: u64) -> Result<u64> {
    if abstime.tv_sec < 0 || !(0..1_000_000_000).contains(&abstime.tv_nsec) {
        return Err(EINVAL);
    }
    let at = (abstime.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(abstime.tv_nsec as u64);
    let now = if clock == CLOCK_MONOTONIC { crate::time::monotonic_ns() } else { crate::time::realtime_ns() };
    Ok(crate::time::deadline_after(at.saturating_sub(now)))
}

/// A shared object behind a C pointer (its mutable fields are atomics); `EINVAL` for null.
///
/// # Safety
/// A non-null `ptr` must point to a valid, initialised object for the returned lifetime.
unsafe fn shared<'a, T>(ptr: *const T) -> Result<&'a T> {
    // SAFETY: by the caller's contract.
    unsafe { ptr.as_ref() }.ok_or(EINVAL)
}

/// An object only the caller uses (an attribute object); `EINVAL` for null.
///
/// # Safety
/// A non-null `ptr` must point to a valid object that no other thread uses meanwhile.
unsafe fn object<'a, T>(ptr: *mut T) -> Result<&'a mut T> {
    // SAFETY: by the caller's contract.
    unsafe { ptr.as_mut() }.ok_or(EINVAL)
}

/// Stores a freshly initialised object, without forming a reference to the old contents.
///
/// # Safety
/// A non-null `ptr` must be valid for writes and not in use by other threads.
unsafe fn initialise<T>(ptr: *mut T, value: T) -> Result<()> {
    if ptr.is_null() {
        return Err(EINVAL);
    }
    // SAFETY: non-null and writable by the caller's contract.
    unsafe { ptr.write(value) };
    Ok(())
}
