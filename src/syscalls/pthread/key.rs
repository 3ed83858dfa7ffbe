//! Thread-specific data: keys with destructors.

use core::ffi::{c_int, c_void};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::thread::{current_thread, Thread};
use super::types::{pthread_key_t, PTHREAD_DESTRUCTOR_ITERATIONS, PTHREAD_KEYS_MAX};
use crate::errno::{EAGAIN, EINVAL};

const KEYS: usize = PTHREAD_KEYS_MAX as usize;

/// Generation of each key: odd while the key exists, bumped by create and delete, so a
/// value stored under a deleted key is never returned for a new one.
static GENERATION: [AtomicU32; KEYS] = [const { AtomicU32::new(0) }; KEYS];

/// Destructor of each key (a C function pointer, 0 for none).
static DESTRUCTOR: [AtomicU64; KEYS] = [const { AtomicU64::new(0) }; KEYS];

/// Destructor of a key.
pub type KeyDestructor = Option<unsafe extern "C" fn(*mut c_void)>;

/// Creates a key. 0, `EAGAIN` when all 1024 are in use.
///
/// # Safety
/// `key` writable.
#[no_mangle]
pub unsafe extern "C" fn pthread_key_create(key: *mut pthread_key_t, destructor: KeyDestructor) -> c_int {
    if key.is_null() {
        return EINVAL.0;
    }
    for (index, generation) in GENERATION.iter().enumerate() {
        let current = generation.load(Ordering::Acquire);
        if current % 2 == 0
            && generation.compare_exchange(current, current + 1, Ordering::AcqRel, Ordering::Relaxed).is_ok()
        {
            DESTRUCTOR[index].store(destructor.map_or(0, |d| d as usize as u64), Ordering::Release);
            // SAFETY: checked non-null; writable by the caller's contract.
            unsafe { *key = index as pthread_key_t };
            return 0;
        }
    }
    EAGAIN.0
}

/// Deletes a key (values stay unreachable; destructors are not run). 0 or `EINVAL`.
#[no_mangle]
pub extern "C" fn pthread_key_delete(key: pthread_key_t) -> c_int {
    let Some(generation) = GENERATION.get(key as usize) else { return EINVAL.0 };
    let current = generation.load(Ordering::Acquire);
    if current % 2 == 0
        || generation.compare_exchange(current, current + 1, Ordering::AcqRel, Ordering::Relaxed).is_err()
    {
        return EINVAL.0;
    }
    0
}

/// The calling thread's value for `key` (null if none).
#[no_mangle]
pub extern "C" fn pthread_getspecific(key: pthread_key_t) -> *mut c_void {
    let Some(generation) = GENERATION.get(key as usize) else { return core::ptr::null_mut() };
    let generation = generation.load(Ordering::Acquire);
    let values = current_thread().specific.lock();
    match values.get(key as usize) {
        Some(&(g, value)) if g == generation => value as *mut c_void,
        _ => core::ptr::null_mut(),
    }
}

/// Sets the calling thread's value for `key`. 0 or `EINVAL`.
#[no_mangle]
pub extern "C" fn pthread_setspecific(key: pthread_key_t, value: *const c_void) -> c_int {
    let Some(generation) = GENERATION.get(key as usize) else { return EINVAL.0 };
    let generation = generation.load(Ordering::Acquire);
    if generation.is_multiple_of(2) {
        return EINVAL.0;
    }
    let mut values = current_thread().specific.lock();
    if values.len() <= key as usize {
        values.resize(key as usize + 1, (0, 0));
    }
    values[key as usize] = (generation, value as u64);
    0
}

/// Runs the destructors of the ending thread's non-null values, up to
/// `PTHREAD_DESTRUCTOR_ITERATIONS` rounds.
pub fn run_destructors(thread: &Thread) {
    for _ in 0..PTHREAD_DESTRUCTOR_ITERATIONS {
        let mut ran = false;
        for key in 0..KEYS {
            let generation = GENERATION[key].load(Ordering::Acquire);
            let destructor = DESTRUCTOR[key].load(Ordering::Acquire);
            if generation.is_multiple_of(2) || destructor == 0 {
                continue;
            }
            let value = {
                let mut values = thread.specific.lock();
                match values.get_mut(key) {
                    Some(slot) if slot.0 == generation && slot.1 != 0 => core::mem::replace(&mut slot.1, 0),
                    _ => continue,
                }
            };
            // SAFETY: registered through `pthread_key_create` as a C function pointer.
            let destructor: unsafe extern "C" fn(*mut c_void) = unsafe { core::mem::transmute(destructor as usize) };
            // SAFETY: the application's destructor with the value it stored.
            unsafe { destructor(value as *mut c_void) };
            ran = true;
        }
        if !ran {
            break;
        }
    }
}
