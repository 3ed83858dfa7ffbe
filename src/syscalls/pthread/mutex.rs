//! Mutexes: normal, recursive and error-checking; uncontended lock and unlock are one atomic
//! operation each, contention blocks on the futex in the mutex.

use core::ffi::c_int;
use core::sync::atomic::{AtomicU32, Ordering};

use super::types::*;
use super::{deadline, initialise, object, pshared_value, shared, status};
use crate::errno::{Result, EBUSY, EDEADLK, EINVAL, EPERM, ETIMEDOUT};
use crate::synch::futex;
use crate::syscalls::types::timespec;

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
const CONTENDED: u32 = 2;

fn tracks_owner(m: &pthread_mutex_t) -> bool {
    let kind = m.kind.load(Ordering::Relaxed);
    kind == PTHREAD_MUTEX_RECURSIVE as u32 || kind == PTHREAD_MUTEX_ERRORCHECK as u32
}

fn take(m: &pthread_mutex_t, me: u32) {
    if tracks_owner(m) {
        m.owner.store(me, Ordering::Relaxed);
        m.count.store(1, Ordering::Relaxed);
    }
}

/// Locks `m`, blocking until the TSC `deadline` at most.
pub fn lock(m: &pthread_mutex_t, until: Option<u64>) -> Result<()> {
    let me = crate::scheduler::current_id();
    if tracks_owner(m) && m.owner.load(Ordering::Relaxed) == me {
        if m.kind.load(Ordering::Relaxed) == PTHREAD_MUTEX_ERRORCHECK as u32 {
            return Err(EDEADLK);
        }
        m.count.fetch_add(1, Ordering::Relaxed);
        return Ok(());
    }
    let state: &AtomicU32 = &m.state;
    if state.compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_err() {
        while state.swap(CONTENDED, Ordering::Acquire) != UNLOCKED {
            if futex::wait(state, CONTENDED, until) == Err(ETIMEDOUT) {
                return Err(ETIMEDOUT);
            }
        }
    }
    take(m, me);
    Ok(())
}

/// Unlocks `m`.
pub fn unlock(m: &pthread_mutex_t) -> Result<()> {
    if tracks_owner(m) {
        if m.owner.load(Ordering::Relaxed) != crate::scheduler::current_id() {
            return Err(EPERM);
        }
        if m.count.fetch_sub(1, Ordering::Relaxed) > 1 {
            return Ok(());
        }
        m.owner.store(0, Ordering::Relaxed);
    }
    if m.state.swap(UNLOCKED, Ordering::Release) == CONTENDED {
        futex::wake(&m.state, 1);
    }
    Ok(())
}

/// Initialises a mutex with the type of `attr` (default: normal). 0 or `EINVAL`.
///
/// # Safety
/// `mutex` writable and not in use; `attr` null or initialised.
#[no_mangle]
pub unsafe extern "C" fn pthread_mutex_init(mutex: *mut pthread_mutex_t, attr: *const pthread_mutexattr_t) -> c_int {
    // SAFETY: null or initialised by the caller's contract.
    let kind = unsafe { attr.as_ref() }.map_or(PTHREAD_MUTEX_DEFAULT, |a| a.kind) as u32;
    let fresh = pthread_mutex_t {
        state: AtomicU32::new(0),
        kind: AtomicU32::new(kind),
        owner: AtomicU32::new(0),
        count: AtomicU32::new(0),
    };
    // SAFETY: by the caller's contract.
    status(unsafe { initialise(mutex, fresh) })
}

/// Destroys a mutex; `EBUSY` if it is locked.
///
/// # Safety
/// `mutex` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_mutex_destroy(mutex: *mut pthread_mutex_t) -> c_int {
    // SAFETY: by the caller's contract.
    let m = unsafe { shared(mutex) };
    status(m.and_then(|m| if m.state.load(Ordering::Relaxed) == UNLOCKED { Ok(()) } else { Err(EBUSY) }))
}

/// Locks a mutex. 0, `EDEADLK` (error-checking, already owned), `EINVAL`.
///
/// # Safety
/// `mutex` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_mutex_lock(mutex: *mut pthread_mutex_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { shared(mutex) }.and_then(|m| lock(m, None)))
}

/// Locks a mutex, giving up at `abstime` (`CLOCK_REALTIME`). 0, `ETIMEDOUT`, `EINVAL`.
///
/// # Safety
/// `mutex` valid, `abstime` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_mutex_timedlock(mutex: *mut pthread_mutex_t, abstime: *const timespec) -> c_int {
    // SAFETY: by the caller's contract.
    let Some(abstime) = (unsafe { abstime.as_ref() }) else { return EINVAL.0 };
    // SAFETY: by the caller's contract.
    status(unsafe { shared(mutex) }.and_then(|m| lock(m, Some(deadline(abstime, 1)?))))
}

/// Locks a mutex if it is free (or, recursive, already ours). 0, `EBUSY`.
///
/// # Safety
/// `mutex` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_mutex_trylock(mutex: *mut pthread_mutex_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { shared(mutex) }.and_then(|m| {
        let me = crate::scheduler::current_id();
        if m.kind.load(Ordering::Relaxed) == PTHREAD_MUTEX_RECURSIVE as u32 && m.owner.load(Ordering::Relaxed) == me {
            m.count.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        m.state.compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed).map_err(|_| EBUSY)?;
        take(m, me);
        Ok(())
    }))
}

/// Unlocks a mutex. 0, `EPERM` (recursive or error-checking, not the owner).
///
/// # Safety
/// `mutex` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_mutex_unlock(mutex: *mut pthread_mutex_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { shared(mutex) }.and_then(unlock))
}

/// Initialises mutex attributes (default type).
///
/// # Safety
/// `attr` writable.
#[no_mangle]
pub unsafe extern "C" fn pthread_mutexattr_init(attr: *mut pthread_mutexattr_t) -> c_int {
    let fresh = pthread_mutexattr_t {
        is_initialized: 1,
        kind: PTHREAD_MUTEX_DEFAULT,
        pshared: PTHREAD_PROCESS_PRIVATE,
        protocol: PTHREAD_PRIO_NONE,
    };
    // SAFETY: by the caller's contract.
    status(unsafe { initialise(attr, fresh) })
}

/// Destroys mutex attributes.
///
/// # Safety
/// `attr` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_mutexattr_destroy(attr: *mut pthread_mutexattr_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { object(attr) }.map(|a| a.is_initialized = 0))
}

/// Sets the mutex type. 0 or `EINVAL`.
///
/// # Safety
/// `attr` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_mutexattr_settype(attr: *mut pthread_mutexattr_t, kind: c_int) -> c_int {
    if !(PTHREAD_MUTEX_NORMAL..=PTHREAD_MUTEX_DEFAULT).contains(&kind) {
        return EINVAL.0;
    }
    // SAFETY: by the caller's contract.
    status(unsafe { object(attr) }.map(|a| a.kind = kind))
}

/// Reads the mutex type.
///
/// # Safety
/// `attr` valid, `kind` writable.
#[no_mangle]
pub unsafe extern "C" fn pthread_mutexattr_gettype(attr: *const pthread_mutexattr_t, kind: *mut c_int) -> c_int {
    // SAFETY: by the caller's contract.
    let (attr, kind) = unsafe { (shared(attr), object(kind)) };
    status(attr.and_then(|a| kind.map(|k| *k = a.kind)))
}

/// Process sharing is meaningless in a unikernel; both valid values are accepted.
///
/// # Safety
/// `attr` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_mutexattr_setpshared(attr: *mut pthread_mutexattr_t, pshared: c_int) -> c_int {
    // SAFETY: by the caller's contract.
    let attr = unsafe { object(attr) };
    status(attr.and_then(|a| pshared_value(pshared).map(|p| a.pshared = p)))
}

/// Reads the process-sharing attribute.
///
/// # Safety
/// `attr` valid, `pshared` writable.
#[no_mangle]
pub unsafe extern "C" fn pthread_mutexattr_getpshared(attr: *const pthread_mutexattr_t, pshared: *mut c_int) -> c_int {
    // SAFETY: by the caller's contract.
    let (attr, pshared) = unsafe { (shared(attr), object(pshared)) };
    status(attr.and_then(|a| pshared.map(|p| *p = a.pshared)))
}
