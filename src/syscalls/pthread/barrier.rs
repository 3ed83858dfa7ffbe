//! Barriers: the last of `count` threads to arrive releases the round.

use core::ffi::{c_int, c_uint};
use core::sync::atomic::{AtomicU32, Ordering};

use super::types::*;
use super::{initialise, object, shared, status};
use crate::errno::{Result, EINVAL};
use crate::synch::futex;

/// `PTHREAD_BARRIER_SERIAL_THREAD`: returned to one thread per round.
const SERIAL_THREAD: c_int = -1;

/// Initialises a barrier for `count` threads. 0 or `EINVAL`.
///
/// # Safety
/// `barrier` writable.
#[no_mangle]
pub unsafe extern "C" fn pthread_barrier_init(
    barrier: *mut pthread_barrier_t,
    attr: *const pthread_barrierattr_t,
    count: c_uint,
) -> c_int {
    let _ = attr;
    if count == 0 {
        return EINVAL.0;
    }
    let fresh = pthread_barrier_t { count, arrived: AtomicU32::new(0), generation: AtomicU32::new(0), reserved: 0 };
    // SAFETY: by the caller's contract.
    status(unsafe { initialise(barrier, fresh) })
}

/// Destroys a barrier.
///
/// # Safety
/// `barrier` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_barrier_destroy(barrier: *mut pthread_barrier_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { shared(barrier) }.map(drop))
}

fn wait(b: &pthread_barrier_t) -> Result<c_int> {
    let (count, arrived, generation) = (b.count, &b.arrived, &b.generation);
    let round = generation.load(Ordering::Acquire);
    if arrived.fetch_add(1, Ordering::AcqRel) + 1 == count {
        arrived.store(0, Ordering::Relaxed);
        generation.fetch_add(1, Ordering::Release);
        futex::wake(generation, usize::MAX);
        return Ok(SERIAL_THREAD);
    }
    while generation.load(Ordering::Acquire) == round {
        let _ = futex::wait(generation, round, None);
    }
    Ok(0)
}

/// Waits until `count` threads have arrived. `PTHREAD_BARRIER_SERIAL_THREAD` for one of
/// them, 0 for the others.
///
/// # Safety
/// `barrier` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_barrier_wait(barrier: *mut pthread_barrier_t) -> c_int {
    // SAFETY: by the caller's contract.
    match unsafe { shared(barrier) }.and_then(wait) {
        Ok(value) => value,
        Err(errno) => errno.0,
    }
}

/// Initialises barrier attributes.
///
/// # Safety
/// `attr` writable.
#[no_mangle]
pub unsafe extern "C" fn pthread_barrierattr_init(attr: *mut pthread_barrierattr_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { initialise(attr, pthread_barrierattr_t { is_initialized: 1, pshared: 0 }) })
}

/// Destroys barrier attributes.
///
/// # Safety
/// `attr` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_barrierattr_destroy(attr: *mut pthread_barrierattr_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { object(attr) }.map(|a| a.is_initialized = 0))
}
