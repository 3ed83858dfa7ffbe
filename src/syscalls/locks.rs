//! Locks the C library calls: newlib's retargetable locks (`<sys/lock.h>`, with the nine
//! static lock objects newlib expects) and the original `__sys_malloc_lock`/`__sys_env_lock`.
//! All are recursive locks owned by a task.

use alloc::boxed::Box;
use core::ffi::c_int;

use crate::synch::RecursiveLock;

/// `struct __lock` of newlib's `<sys/lock.h>`: opaque to C.
#[allow(non_camel_case_types, reason = "the C name")]
pub type __lock = RecursiveLock;

/// `_LOCK_T`: a pointer to a lock.
#[allow(non_camel_case_types, reason = "the C name")]
pub type _LOCK_T = *mut __lock;

macro_rules! static_locks {
    ($($name:ident),* $(,)?) => {
        $(
            /// A lock object newlib uses by name.
            #[no_mangle]
            pub static $name: RecursiveLock = RecursiveLock::new();
        )*
    };
}

static_locks!(
    __lock___sinit_recursive_mutex,
    __lock___sfp_recursive_mutex,
    __lock___atexit_recursive_mutex,
    __lock___at_quick_exit_mutex,
    __lock___malloc_recursive_mutex,
    __lock___env_recursive_mutex,
    __lock___tz_mutex,
    __lock___dd_hash_mutex,
    __lock___arc4random_mutex,
);

/// Converts a lock pointer from C; null pointers are ignored by the callers.
fn lock<'a>(lock: _LOCK_T) -> Option<&'a RecursiveLock> {
    // SAFETY: newlib passes pointers from `__retarget_lock_init*` or to the static locks.
    unsafe { lock.as_ref() }
}

/// Creates a lock for newlib.
///
/// # Safety
/// `lock` must be valid for writes.
#[no_mangle]
pub unsafe extern "C" fn __retarget_lock_init(lock: *mut _LOCK_T) {
    // SAFETY: by the caller's contract.
    if let Some(slot) = unsafe { lock.as_mut() } {
        *slot = Box::into_raw(Box::new(RecursiveLock::new()));
    }
}

/// Creates a recursive lock for newlib.
///
/// # Safety
/// `lock` must be valid for writes.
#[no_mangle]
pub unsafe extern "C" fn __retarget_lock_init_recursive(lock: *mut _LOCK_T) {
    // SAFETY: forwarded from the caller.
    unsafe { __retarget_lock_init(lock) }
}

/// Destroys a lock made by `__retarget_lock_init`.
///
/// # Safety
/// `lock` must come from `__retarget_lock_init*` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn __retarget_lock_close(lock: _LOCK_T) {
    if !lock.is_null() {
        // SAFETY: by the caller's contract the pointer came from `Box::into_raw`.
        drop(unsafe { Box::from_raw(lock) });
    }
}

/// Destroys a recursive lock made by `__retarget_lock_init_recursive`.
///
/// # Safety
/// As [`__retarget_lock_close`].
#[no_mangle]
pub unsafe extern "C" fn __retarget_lock_close_recursive(lock: _LOCK_T) {
    // SAFETY: forwarded from the caller.
    unsafe { __retarget_lock_close(lock) }
}

/// Takes a lock.
#[no_mangle]
pub extern "C" fn __retarget_lock_acquire(lock: _LOCK_T) {
    if let Some(l) = self::lock(lock) {
        l.acquire();
    }
}

/// Takes a recursive lock.
#[no_mangle]
pub extern "C" fn __retarget_lock_acquire_recursive(lock: _LOCK_T) {
    __retarget_lock_acquire(lock)
}

/// Tries to take a lock; 1 on success, 0 if another task holds it.
#[no_mangle]
pub extern "C" fn __retarget_lock_try_acquire(lock: _LOCK_T) -> c_int {
    self::lock(lock).map_or(1, |l| c_int::from(l.try_acquire()))
}

/// Tries to take a recursive lock; 1 on success, 0 if another task holds it.
#[no_mangle]
pub extern "C" fn __retarget_lock_try_acquire_recursive(lock: _LOCK_T) -> c_int {
    __retarget_lock_try_acquire(lock)
}

/// Releases a lock.
#[no_mangle]
pub extern "C" fn __retarget_lock_release(lock: _LOCK_T) {
    if let Some(l) = self::lock(lock) {
        l.release();
    }
}

/// Releases a recursive lock.
#[no_mangle]
pub extern "C" fn __retarget_lock_release_recursive(lock: _LOCK_T) {
    __retarget_lock_release(lock)
}

static MALLOC_LOCK: RecursiveLock = RecursiveLock::new();
static ENV_LOCK: RecursiveLock = RecursiveLock::new();

/// The original global recursive malloc lock (used by pthread-embedded's `__malloc_lock`).
#[no_mangle]
pub extern "C" fn __sys_malloc_lock() {
    MALLOC_LOCK.acquire();
}

/// Releases [`__sys_malloc_lock`].
#[no_mangle]
pub extern "C" fn __sys_malloc_unlock() {
    MALLOC_LOCK.release();
}

/// The original global recursive environment lock.
#[no_mangle]
pub extern "C" fn __sys_env_lock() {
    ENV_LOCK.acquire();
}

/// Releases [`__sys_env_lock`].
#[no_mangle]
pub extern "C" fn __sys_env_unlock() {
    ENV_LOCK.release();
}
