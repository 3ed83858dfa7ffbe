//! POSIX spin locks.

use core::ffi::c_int;
use core::sync::atomic::Ordering;

use super::types::pthread_spinlock_t;
use super::{shared, status};
use crate::errno::{EBUSY, EINVAL};

/// Initialises a spin lock (unlocked).
///
/// # Safety
/// `lock` writable.
#[no_mangle]
pub unsafe extern "C" fn pthread_spin_init(lock: *mut pthread_spinlock_t, pshared: c_int) -> c_int {
    let _ = pshared;
    // SAFETY: by the caller's contract.
    status(unsafe { super::initialise(lock, pthread_spinlock_t::new(0)) })
}

/// Destroys a spin lock.
#[no_mangle]
pub extern "C" fn pthread_spin_destroy(lock: *mut pthread_spinlock_t) -> c_int {
    if lock.is_null() {
        EINVAL.0
    } else {
        0
    }
}

/// Takes a spin lock, spinning (and letting other tasks of this core run now and then).
///
/// # Safety
/// `lock` a valid spin lock.
#[no_mangle]
pub unsafe extern "C" fn pthread_spin_lock(lock: *mut pthread_spinlock_t) -> c_int {
    // SAFETY: by the caller's contract.
    let Ok(word) = (unsafe { shared(lock) }) else { return EINVAL.0 };
    let mut spins = 0u32;
    while word.swap(1, Ordering::Acquire) != 0 {
        while word.load(Ordering::Relaxed) != 0 {
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(1024) {
                crate::scheduler::yield_now();
            }
            core::hint::spin_loop();
        }
    }
    0
}

/// Takes a spin lock if it is free. 0 or `EBUSY`.
///
/// # Safety
/// `lock` a valid spin lock.
#[no_mangle]
pub unsafe extern "C" fn pthread_spin_trylock(lock: *mut pthread_spinlock_t) -> c_int {
    // SAFETY: by the caller's contract.
    let Ok(word) = (unsafe { shared(lock) }) else { return EINVAL.0 };
    status(if word.swap(1, Ordering::Acquire) == 0 { Ok(()) } else { Err(EBUSY) })
}

/// Releases a spin lock.
///
/// # Safety
/// `lock` a valid spin lock held by the caller.
#[no_mangle]
pub unsafe extern "C" fn pthread_spin_unlock(lock: *mut pthread_spinlock_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { shared(lock) }.map(|word| word.store(0, Ordering::Release)))
}
