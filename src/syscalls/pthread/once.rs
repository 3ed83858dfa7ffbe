//! `pthread_once`: run an initialiser exactly once; concurrent callers wait for it. Nested
//! calls with other once-objects work (there is no global lock).

use core::ffi::c_int;
use core::sync::atomic::Ordering;

use super::types::pthread_once_t;
use super::{shared, status};
use crate::synch::futex;

const NOT_RUN: u32 = 0;
const RUNNING: u32 = 1;
const DONE: u32 = 2;

/// Runs `init` once for `once`. 0 or `EINVAL`.
///
/// # Safety
/// `once` valid (`PTHREAD_ONCE_INIT` initially); `init` a C function.
#[no_mangle]
pub unsafe extern "C" fn pthread_once(once: *mut pthread_once_t, init: Option<unsafe extern "C" fn()>) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { shared(once) }.map(|once| {
        let state = &once.state;
        loop {
            match state.compare_exchange(NOT_RUN, RUNNING, Ordering::Acquire, Ordering::Acquire) {
                Ok(_) => {
                    if let Some(init) = init {
                        // SAFETY: the application's initialiser.
                        unsafe { init() };
                    }
                    state.store(DONE, Ordering::Release);
                    futex::wake(state, usize::MAX);
                    return;
                }
                Err(DONE) => return,
                Err(_) => {
                    let _ = futex::wait(state, RUNNING, None);
                }
            }
        }
    }))
}
