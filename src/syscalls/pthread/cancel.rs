//! Cancellation (`pthread_cancel`, acted on at cancellation points) and cleanup handlers.
//!
//! The original's pthread-embedded port had neither: `pthread_cancel` did not link, nor did
//! newlib's `pthread_cleanup_push`/`pthread_cleanup_pop` macros. Here a request is recorded
//! on the thread, and while cancellation is enabled every wait of the thread ends at once as
//! interrupted ([`scheduler::set_interrupting`]: a signal that runs no handler and stays
//! pending), so a blocked call returns to its cancellation point; the thread acts on the
//! request there: it runs its cleanup handlers (innermost first), then its key destructors, and
//! ends with `PTHREAD_CANCELED` for `pthread_join`, as POSIX says. The points are
//! `pthread_testcancel`, `pthread_join`, `pthread_cond_wait`/`timedwait` (the mutex held
//! again first), `sem_wait`/`sem_timedwait`, the sleeps, and `read`, `write`, the socket
//! calls, `poll`, `select` and `epoll_wait`, at their start and when they were interrupted.
//! A call that had done its work returns it; the next point acts. Unlike Linux, the
//! asynchronous type acts at these points too, not between any two instructions. Until the
//! thread reaches a point, a wait that is none (a contended mutex, as `pthread_cond_wait`
//! takes its mutex again) ends at once each time and is tried again: it spins, not sleeps.

use core::ffi::{c_int, c_void};
use core::sync::atomic::Ordering;

use super::thread::{current_thread, finish, thread_of, Thread};
use super::types::pthread_t;
use crate::errno::{Result, EINTR, EINVAL, ESRCH};
use crate::scheduler;

/// `PTHREAD_CANCEL_ENABLE` and `PTHREAD_CANCEL_DISABLE`.
pub const ENABLE: c_int = 0;
pub const DISABLE: c_int = 1;

/// `PTHREAD_CANCEL_DEFERRED`.
const DEFERRED: c_int = 0;

/// `PTHREAD_CANCELED`: what `pthread_join` gets for a cancelled thread.
const CANCELED: *mut c_void = usize::MAX as *mut c_void;

/// newlib's `struct _pthread_cleanup_context`, which `pthread_cleanup_push` puts on the
/// thread's stack.
#[repr(C)]
pub struct CleanupContext {
    routine: Option<unsafe extern "C" fn(*mut c_void)>,
    arg: *mut c_void,
    canceltype: c_int,
    previous: *mut CleanupContext,
}

/// Whether the calling thread has a cancellation request to act on now: its task is
/// interrupting exactly then ([`update`]).
pub fn requested() -> bool {
    scheduler::interrupting()
}

/// Acts on the calling thread's cancellation request: ends it with `PTHREAD_CANCELED`
/// after its cleanup handlers and key destructors.
pub fn act() -> ! {
    finish(CANCELED)
}

/// Makes the waits of `thread` end at once while a request is pending and enabled, and
/// block as usual otherwise (under its cancellation lock).
fn update(thread: &Thread) {
    let on = thread.cancel_pending.load(Ordering::Acquire) && thread.cancel_state.load(Ordering::Relaxed) == ENABLE;
    // A thread that ended has no waits left to end.
    let _ = scheduler::set_interrupting(thread.tid(), on);
}

/// Sets the cancellation state of `thread` (`ENABLE` or `DISABLE`); returns the old one.
pub fn set_state(thread: &Thread, state: c_int) -> c_int {
    let _lock = thread.cancel_lock.lock();
    let previous = thread.cancel_state.swap(state, Ordering::Relaxed);
    update(thread);
    previous
}

/// Acts on a cancellation request of the calling thread, if there is one to act on.
pub fn test() {
    if requested() {
        act();
    }
}

/// Runs `body` as a cancellation point: a request is acted on before it, and after it when
/// `interrupted` says it did not do its work (a request ended its wait).
pub fn point<R>(body: impl FnOnce() -> R, interrupted: impl FnOnce(&R) -> bool) -> R {
    test();
    let result = body();
    if interrupted(&result) {
        test();
    }
    result
}

/// [`point`] for a call whose wait a request ends with `EINTR`.
pub fn call<T>(body: impl FnOnce() -> Result<T>) -> Result<T> {
    point(body, |result| matches!(result, Err(EINTR)))
}

/// Runs and removes the calling thread's cleanup handlers, innermost first (`pthread_exit`,
/// cancellation).
pub fn run_cleanup(thread: &Thread) {
    loop {
        let top = thread.cleanup.load(Ordering::Relaxed) as *mut CleanupContext;
        // SAFETY: pushed by `_pthread_cleanup_push` from a frame of this thread that has not
        // returned (the macros pair push and pop in one block).
        let Some(context) = (unsafe { top.as_ref() }) else { return };
        thread.cleanup.store(context.previous as u64, Ordering::Relaxed);
        if let Some(routine) = context.routine {
            // SAFETY: the application's handler with its argument.
            unsafe { routine(context.arg) };
        }
    }
}

/// Asks `handle` to end at its next cancellation point (at once if it is blocked in one):
/// 0, also for a thread that ended already (its join gets its own result); `ESRCH` for a
/// null handle.
///
/// # Safety
/// `handle` must name a thread that has not been joined, or detached and ended.
#[no_mangle]
pub unsafe extern "C" fn pthread_cancel(handle: pthread_t) -> c_int {
    // SAFETY: by the caller's contract.
    let Ok(thread) = (unsafe { thread_of(handle) }) else { return ESRCH.0 };
    let _lock = thread.cancel_lock.lock();
    thread.cancel_pending.store(true, Ordering::Release);
    // A thread that ended already is joined with its own result.
    update(thread);
    0
}

/// A cancellation point and nothing else.
#[no_mangle]
pub extern "C" fn pthread_testcancel() {
    test();
}

/// Sets the calling thread's cancellation state, `PTHREAD_CANCEL_ENABLE` (0) or `DISABLE`
/// (1); the old one goes to `*old`. 0 or `EINVAL`. Enabling is no cancellation point.
///
/// # Safety
/// `old` null or writable.
#[no_mangle]
pub unsafe extern "C" fn pthread_setcancelstate(state: c_int, old: *mut c_int) -> c_int {
    if state != ENABLE && state != DISABLE {
        return EINVAL.0;
    }
    let previous = set_state(current_thread(), state);
    // SAFETY: null or writable by the caller's contract.
    if let Some(old) = unsafe { old.as_mut() } {
        *old = previous;
    }
    0
}

/// Sets the calling thread's cancellation type, `PTHREAD_CANCEL_DEFERRED` (0) or
/// `ASYNCHRONOUS` (1, acted on at the same points here); the old one goes to `*old`. 0 or
/// `EINVAL`.
///
/// # Safety
/// `old` null or writable.
#[no_mangle]
pub unsafe extern "C" fn pthread_setcanceltype(kind: c_int, old: *mut c_int) -> c_int {
    if kind != DEFERRED && kind != 1 {
        return EINVAL.0;
    }
    let previous = current_thread().cancel_type.swap(kind, Ordering::Relaxed);
    // SAFETY: null or writable by the caller's contract.
    if let Some(old) = unsafe { old.as_mut() } {
        *old = previous;
    }
    0
}

/// `pthread_cleanup_push(routine, arg)`: `routine(arg)` runs if the thread ends by
/// `pthread_exit` or cancellation before the matching pop.
///
/// # Safety
/// `context` must stay valid and in place until the matching `_pthread_cleanup_pop` (it is
/// the macro's block-local variable).
#[no_mangle]
pub unsafe extern "C" fn _pthread_cleanup_push(
    context: *mut CleanupContext,
    routine: Option<unsafe extern "C" fn(*mut c_void)>,
    arg: *mut c_void,
) {
    let thread = current_thread();
    // SAFETY: valid by the caller's contract.
    let Some(context) = (unsafe { context.as_mut() }) else { return };
    context.routine = routine;
    context.arg = arg;
    context.previous = thread.cleanup.load(Ordering::Relaxed) as *mut CleanupContext;
    thread.cleanup.store(context as *mut CleanupContext as u64, Ordering::Relaxed);
}

/// `pthread_cleanup_pop(execute)`: removes the innermost handler and runs it if `execute`.
///
/// # Safety
/// `context` the one the matching push took.
#[no_mangle]
pub unsafe extern "C" fn _pthread_cleanup_pop(context: *mut CleanupContext, execute: c_int) {
    // SAFETY: valid by the caller's contract.
    let Some(context) = (unsafe { context.as_ref() }) else { return };
    current_thread().cleanup.store(context.previous as u64, Ordering::Relaxed);
    if let (true, Some(routine)) = (execute != 0, context.routine) {
        // SAFETY: the application's handler with its argument.
        unsafe { routine(context.arg) };
    }
}

/// `pthread_cleanup_push_defer_np`: a push that also makes the type deferred until the pop.
///
/// # Safety
/// As [`_pthread_cleanup_push`].
#[no_mangle]
pub unsafe extern "C" fn _pthread_cleanup_push_defer(
    context: *mut CleanupContext,
    routine: Option<unsafe extern "C" fn(*mut c_void)>,
    arg: *mut c_void,
) {
    // SAFETY: forwarded from the caller.
    unsafe { _pthread_cleanup_push(context, routine, arg) };
    // SAFETY: as above.
    if let Some(context) = unsafe { context.as_mut() } {
        context.canceltype = current_thread().cancel_type.swap(DEFERRED, Ordering::Relaxed);
    }
}

/// `pthread_cleanup_pop_restore_np`: a pop that puts back the type the push saved.
///
/// # Safety
/// As [`_pthread_cleanup_pop`].
#[no_mangle]
pub unsafe extern "C" fn _pthread_cleanup_pop_restore(context: *mut CleanupContext, execute: c_int) {
    // SAFETY: as above.
    if let Some(context) = unsafe { context.as_ref() } {
        current_thread().cancel_type.store(context.canceltype, Ordering::Relaxed);
    }
    // SAFETY: forwarded from the caller.
    unsafe { _pthread_cleanup_pop(context, execute) };
}
