//! Reader-writer locks: many readers or one writer; waiting writers keep new readers out.

use core::ffi::c_int;
use core::sync::atomic::{AtomicU32, Ordering};

use super::types::*;
use super::{deadline, initialise, object, shared, status};
use crate::errno::{Result, EBUSY, EDEADLK, EINVAL, EPERM, ETIMEDOUT};
use crate::synch::futex;
use crate::syscalls::types::timespec;

/// State of a write-locked lock.
const WRITER: u32 = u32::MAX;

fn try_read(l: &pthread_rwlock_t) -> core::result::Result<(), u32> {
    let s = l.state.load(Ordering::Relaxed);
    if s != WRITER && s + 1 != WRITER && l.writers.load(Ordering::Relaxed) == 0 {
        l.state.compare_exchange(s, s + 1, Ordering::Acquire, Ordering::Relaxed).map(drop)
    } else {
        Err(s)
    }
}

/// Takes the lock for reading. A reader that finds it write-locked waits for `state` to
/// change (the writer's unlock wakes it); one that gives way to waiting writers waits for
/// `writers` to change (each writer wakes those waiters when it stops waiting). Waiting on
/// `state` in the second case could sleep forever: a writer can take the lock and release it,
/// leaving `state` as it was, between the reader's look and its wait.
fn read(l: &pthread_rwlock_t, until: Option<u64>) -> Result<()> {
    loop {
        let (word, seen) = match try_read(l) {
            Ok(()) => return Ok(()),
            Err(WRITER) => (&l.state, WRITER),
            Err(_) => match l.writers.load(Ordering::SeqCst) {
                0 => continue,
                writers => (&l.writers, writers),
            },
        };
        if futex::wait(word, seen, until) == Err(ETIMEDOUT) {
            return Err(ETIMEDOUT);
        }
    }
}

fn write(l: &pthread_rwlock_t, until: Option<u64>) -> Result<()> {
    let me = crate::scheduler::current_id();
    if l.state.load(Ordering::Relaxed) == WRITER && l.owner.load(Ordering::Relaxed) == me {
        return Err(EDEADLK);
    }
    l.writers.fetch_add(1, Ordering::SeqCst);
    let result = loop {
        if l.state.compare_exchange(0, WRITER, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            break Ok(());
        }
        let seen = l.state.load(Ordering::Relaxed);
        if seen != 0 && futex::wait(&l.state, seen, until) == Err(ETIMEDOUT) {
            break Err(ETIMEDOUT);
        }
    };
    l.writers.fetch_sub(1, Ordering::SeqCst);
    futex::wake(&l.writers, usize::MAX);
    if result.is_ok() {
        l.owner.store(me, Ordering::Relaxed);
    } else {
        futex::wake(&l.state, usize::MAX);
    }
    result
}

fn unlock(l: &pthread_rwlock_t) -> Result<()> {
    let s = l.state.load(Ordering::Relaxed);
    if s == WRITER {
        if l.owner.load(Ordering::Relaxed) != crate::scheduler::current_id() {
            return Err(EPERM);
        }
        l.owner.store(0, Ordering::Relaxed);
        l.state.store(0, Ordering::Release);
        futex::wake(&l.state, usize::MAX);
    } else if s == 0 {
        return Err(EPERM);
    } else if l.state.fetch_sub(1, Ordering::Release) == 1 {
        futex::wake(&l.state, usize::MAX);
    }
    Ok(())
}

/// Initialises a reader-writer lock.
///
/// # Safety
/// `lock` writable.
#[no_mangle]
pub unsafe extern "C" fn pthread_rwlock_init(lock: *mut pthread_rwlock_t, attr: *const pthread_rwlockattr_t) -> c_int {
    let _ = attr;
    let fresh = pthread_rwlock_t {
        state: AtomicU32::new(0),
        writers: AtomicU32::new(0),
        owner: AtomicU32::new(0),
        reserved: 0,
    };
    // SAFETY: by the caller's contract.
    status(unsafe { initialise(lock, fresh) })
}

/// Destroys a reader-writer lock; `EBUSY` while held.
///
/// # Safety
/// `lock` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_rwlock_destroy(lock: *mut pthread_rwlock_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { shared(lock) }.and_then(|l| if l.state.load(Ordering::Relaxed) == 0 { Ok(()) } else { Err(EBUSY) }))
}

/// Takes the lock for reading.
///
/// # Safety
/// `lock` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_rwlock_rdlock(lock: *mut pthread_rwlock_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { shared(lock) }.and_then(|l| read(l, None)))
}

/// Takes the lock for reading if no writer holds or wants it. 0 or `EBUSY`.
///
/// # Safety
/// `lock` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_rwlock_tryrdlock(lock: *mut pthread_rwlock_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { shared(lock) }.and_then(|l| try_read(l).map_err(|_| EBUSY)))
}

/// Takes the lock for reading, giving up at `abstime` (`CLOCK_REALTIME`).
///
/// # Safety
/// `lock` and `abstime` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_rwlock_timedrdlock(lock: *mut pthread_rwlock_t, abstime: *const timespec) -> c_int {
    // SAFETY: by the caller's contract.
    let Some(abstime) = (unsafe { abstime.as_ref() }) else { return EINVAL.0 };
    // SAFETY: by the caller's contract.
    status(unsafe { shared(lock) }.and_then(|l| read(l, Some(deadline(abstime, 1)?))))
}

/// Takes the lock for writing. 0 or `EDEADLK` if the caller already writes.
///
/// # Safety
/// `lock` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_rwlock_wrlock(lock: *mut pthread_rwlock_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { shared(lock) }.and_then(|l| write(l, None)))
}

/// Takes the lock for writing if it is free. 0 or `EBUSY`.
///
/// # Safety
/// `lock` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_rwlock_trywrlock(lock: *mut pthread_rwlock_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { shared(lock) }.and_then(|l| {
        l.state.compare_exchange(0, WRITER, Ordering::Acquire, Ordering::Relaxed).map_err(|_| EBUSY)?;
        l.owner.store(crate::scheduler::current_id(), Ordering::Relaxed);
        Ok(())
    }))
}

/// Takes the lock for writing, giving up at `abstime` (`CLOCK_REALTIME`).
///
/// # Safety
/// `lock` and `abstime` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_rwlock_timedwrlock(lock: *mut pthread_rwlock_t, abstime: *const timespec) -> c_int {
    // SAFETY: by the caller's contract.
    let Some(abstime) = (unsafe { abstime.as_ref() }) else { return EINVAL.0 };
    // SAFETY: by the caller's contract.
    status(unsafe { shared(lock) }.and_then(|l| write(l, Some(deadline(abstime, 1)?))))
}

/// Releases a read or write hold. 0 or `EPERM`.
///
/// # Safety
/// `lock` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_rwlock_unlock(lock: *mut pthread_rwlock_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { shared(lock) }.and_then(unlock))
}

/// Initialises reader-writer lock attributes.
///
/// # Safety
/// `attr` writable.
#[no_mangle]
pub unsafe extern "C" fn pthread_rwlockattr_init(attr: *mut pthread_rwlockattr_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { initialise(attr, pthread_rwlockattr_t { is_initialized: 1, pshared: 0 }) })
}

/// Destroys reader-writer lock attributes.
///
/// # Safety
/// `attr` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_rwlockattr_destroy(attr: *mut pthread_rwlockattr_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { object(attr) }.map(|a| a.is_initialized = 0))
}
