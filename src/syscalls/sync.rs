//! Synchronisation: the original `sys_sem_*` and `sys_spinlock_*`, and futexes with the
//! signatures of the later Rust hermit kernel.

use alloc::boxed::Box;
use core::ffi::{c_int, c_uint};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::ptr::{out, ret_int};
use super::types::timespec;
use crate::errno::{Result, EFAULT, EINVAL, ETIME, ETIMEDOUT};
use crate::synch::{futex, Semaphore};

/// `sem_t` of the original `hermit/syscall.h`: opaque here; the same object as POSIX `sem_t`.
#[allow(non_camel_case_types, reason = "the C name")]
pub type sem_t = Semaphore;

/// Converts a timeout in milliseconds (0: none) to a TSC deadline.
fn ms_deadline(ms: c_uint) -> Option<u64> {
    (ms != 0).then(|| crate::time::deadline_after(u64::from(ms) * 1_000_000))
}

/// Creates a semaphore with `value` units and stores it in `*sem`. 0, `-EINVAL` or `-ENOMEM`.
///
/// # Safety
/// `sem` must be null or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn sys_sem_init(sem: *mut *mut sem_t, value: c_uint) -> c_int {
    // SAFETY: forwarded from the caller.
    let slot = unsafe { out(sem) };
    ret_int(slot.map_err(|_| EINVAL).map(|slot| {
        *slot = Box::into_raw(Box::new(Semaphore::new(value)));
        0
    }))
}

/// Destroys a semaphore made by `sys_sem_init`. 0 or `-EINVAL`.
///
/// # Safety
/// `sem` must come from `sys_sem_init` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn sys_sem_destroy(sem: *mut sem_t) -> c_int {
    if sem.is_null() {
        return EINVAL.neg();
    }
    // SAFETY: by the caller's contract the pointer came from `Box::into_raw`.
    drop(unsafe { Box::from_raw(sem) });
    0
}

/// The semaphore behind a C pointer; `EINVAL` for null.
///
/// # Safety
/// `sem` must be null or point to a live semaphore.
unsafe fn semaphore<'a>(sem: *mut sem_t) -> Result<&'a Semaphore> {
    // SAFETY: by the caller's contract.
    unsafe { sem.as_ref() }.ok_or(EINVAL)
}

/// Takes a unit, blocking while there is none; waiters are served in arrival order.
/// 0 or `-EINVAL`.
///
/// # Safety
/// `sem` must be null or a live semaphore.
#[no_mangle]
pub unsafe extern "C" fn sys_sem_wait(sem: *mut sem_t) -> c_int {
    // SAFETY: forwarded from the caller.
    ret_int(unsafe { semaphore(sem) }.and_then(|s| s.wait(None)).map(|()| 0))
}

/// Returns a unit: if tasks wait, the longest waiter gets it directly (FIFO hand-off, so a
/// task that waits right after this post cannot take it first), else it is counted.
/// 0, `-EINVAL`, or `-EOVERFLOW` when the count is at its limit.
///
/// # Safety
/// `sem` must be null or a live semaphore.
#[no_mangle]
pub unsafe extern "C" fn sys_sem_post(sem: *mut sem_t) -> c_int {
    // SAFETY: forwarded from the caller.
    ret_int(unsafe { semaphore(sem) }.and_then(|s| s.post()).map(|()| 0))
}

/// Takes a unit, waiting at most `ms` milliseconds (`ms == 0`: forever). 0, `-ETIME` on
/// timeout, or `-EINVAL`. A waiter whose time runs out just as a post hands it a unit keeps
/// the unit and returns 0, so no unit is lost.
///
/// # Safety
/// `sem` must be null or a live semaphore.
#[no_mangle]
pub unsafe extern "C" fn sys_sem_timedwait(sem: *mut sem_t, ms: c_uint) -> c_int {
    // SAFETY: forwarded from the caller.
    let result = unsafe { semaphore(sem) }.and_then(|s| s.wait(ms_deadline(ms)));
    ret_int(result.map(|()| 0).map_err(|e| if e == ETIMEDOUT { ETIME } else { e }))
}

/// Identical to `sys_sem_timedwait` (there is no cancellation), as in the original.
///
/// # Safety
/// `sem` must be null or a live semaphore.
#[no_mangle]
pub unsafe extern "C" fn sys_sem_cancelablewait(sem: *mut sem_t, ms: c_uint) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { sys_sem_timedwait(sem, ms) }
}

/// A recursive spin lock: the owner's id and a counter (`spinlock_t` of the original, opaque
/// to C).
#[allow(non_camel_case_types, reason = "the C name")]
pub struct spinlock {
    owner: AtomicU64,
    count: AtomicU32,
}

/// `spinlock_t` of the original `hermit/syscall.h`.
#[allow(non_camel_case_types, reason = "the C name")]
pub type spinlock_t = spinlock;

/// Creates a spin lock and stores it in `*lock`. 0, `-EINVAL`.
///
/// # Safety
/// `lock` must be null or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn sys_spinlock_init(lock: *mut *mut spinlock_t) -> c_int {
    // SAFETY: forwarded from the caller.
    let slot = unsafe { out(lock) };
    ret_int(slot.map_err(|_| EINVAL).map(|slot| {
        *slot = Box::into_raw(Box::new(spinlock { owner: AtomicU64::new(0), count: AtomicU32::new(0) }));
        0
    }))
}

/// Destroys a spin lock made by `sys_spinlock_init`. 0 or `-EINVAL`.
///
/// # Safety
/// `lock` must come from `sys_spinlock_init` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn sys_spinlock_destroy(lock: *mut spinlock_t) -> c_int {
    if lock.is_null() {
        return EINVAL.neg();
    }
    // SAFETY: by the caller's contract the pointer came from `Box::into_raw`.
    drop(unsafe { Box::from_raw(lock) });
    0
}

/// Takes a spin lock (recursively for its owner); spins, yielding to other tasks of this core
/// while it waits. 0 or `-EINVAL`.
///
/// # Safety
/// `lock` must be null or a live spin lock.
#[no_mangle]
pub unsafe extern "C" fn sys_spinlock_lock(lock: *mut spinlock_t) -> c_int {
    // SAFETY: by the caller's contract.
    let Some(lock) = (unsafe { lock.as_ref() }) else { return EINVAL.neg() };
    let me = crate::scheduler::lock_owner_id();
    if lock.owner.load(Ordering::Relaxed) == me {
        lock.count.fetch_add(1, Ordering::Relaxed);
        return 0;
    }
    let mut spins = 0u32;
    while lock.owner.compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed).is_err() {
        spins += 1;
        if spins.is_multiple_of(256) {
            crate::scheduler::yield_now();
        }
        core::hint::spin_loop();
    }
    lock.count.store(1, Ordering::Relaxed);
    0
}

/// Releases one level of a spin lock. 0, or `-EINVAL` if the caller does not hold it.
///
/// # Safety
/// `lock` must be null or a live spin lock.
#[no_mangle]
pub unsafe extern "C" fn sys_spinlock_unlock(lock: *mut spinlock_t) -> c_int {
    // SAFETY: by the caller's contract.
    let Some(lock) = (unsafe { lock.as_ref() }) else { return EINVAL.neg() };
    if lock.owner.load(Ordering::Relaxed) != crate::scheduler::lock_owner_id() {
        return EINVAL.neg();
    }
    if lock.count.fetch_sub(1, Ordering::Relaxed) == 1 {
        lock.owner.store(0, Ordering::Release);
    }
    0
}

/// `flags` bit of `sys_futex_wait`: the timeout is relative, not an absolute
/// `CLOCK_MONOTONIC` time.
const FUTEX_RELATIVE_TIMEOUT: u32 = 1;

/// Blocks while `*address == expected`, until `sys_futex_wake` or the timeout (absolute
/// `CLOCK_MONOTONIC`, or relative with flag 1; null: none). 0 when woken, `-EAGAIN` if the
/// value differs, `-ETIMEDOUT`, `-EINTR` for a signal, `-EFAULT`/`-EINVAL` for bad arguments.
///
/// # Safety
/// `address` must be a valid, aligned 32-bit word; `timeout` null or valid.
#[no_mangle]
pub unsafe extern "C" fn sys_futex_wait(
    address: *mut u32,
    expected: u32,
    timeout: *const timespec,
    flags: u32,
) -> c_int {
    if address.is_null() || !address.is_aligned() {
        return EFAULT.neg();
    }
    // SAFETY: a valid, aligned word by the caller's contract; atomics have its layout.
    let word = unsafe { AtomicU32::from_ptr(address) };
    // SAFETY: null or valid by the caller's contract.
    let deadline = match unsafe { timeout.as_ref() } {
        None => None,
        Some(t) if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) => return EINVAL.neg(),
        Some(t) => {
            let ns = (t.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(t.tv_nsec as u64);
            let ns =
                if flags & FUTEX_RELATIVE_TIMEOUT != 0 { ns } else { ns.saturating_sub(crate::time::monotonic_ns()) };
            Some(crate::time::deadline_after(ns))
        }
    };
    ret_int(futex::wait(word, expected, deadline).map(|()| 0))
}

/// Wakes up to `count` tasks waiting on `address` (all for a negative count); returns how
/// many, or `-EFAULT`.
///
/// # Safety
/// `address` must be a valid, aligned 32-bit word.
#[no_mangle]
pub unsafe extern "C" fn sys_futex_wake(address: *mut u32, count: i32) -> c_int {
    if address.is_null() || !address.is_aligned() {
        return EFAULT.neg();
    }
    let count = if count < 0 { usize::MAX } else { count as usize };
    futex::wake_addr(address as usize, count) as c_int
}
