//! Threads: create, join, detach, exit, self, kill, names, attributes.

use alloc::sync::Arc;
use core::ffi::{c_char, c_int, c_void};
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};

use super::types::*;
use super::{object, shared, status};
use crate::config::{DEFAULT_STACK_SIZE, MAX_PRIO, MIN_PRIO, NORMAL_PRIO};
use crate::errno::{Result, EINVAL, ENOTSUP, ESRCH};
use crate::scheduler::{self, TaskRef};
use crate::synch::{futex, SpinLock};

/// A thread's start routine.
pub type StartRoutine = Option<unsafe extern "C" fn(*mut c_void) -> *mut c_void>;

/// The kernel's record of a POSIX thread; `pthread_t` is its address.
///
/// Two references keep it alive: the thread's own (dropped when it ends) and the handle's
/// (dropped by `pthread_join` or `pthread_detach`).
pub struct Thread {
    start: StartRoutine,
    arg: u64,
    task: SpinLock<Option<TaskRef>>,
    tid: AtomicU32,
    result: AtomicU64,
    detached: AtomicBool,
    /// Thread-specific values by key: `(key generation, value)`; only the thread touches it.
    pub specific: SpinLock<alloc::vec::Vec<(u32, u64)>>,
    name: SpinLock<[u8; 16]>,
    /// `pthread_setcancelstate`'s and `pthread_setcanceltype`'s values ([`super::cancel`]).
    pub cancel_state: AtomicI32,
    pub cancel_type: AtomicI32,
    /// Set by `pthread_cancel`.
    pub cancel_pending: AtomicBool,
    /// Held while the cancellation state or request changes, with the task's interrupting
    /// mode that follows from them ([`super::cancel`]).
    pub cancel_lock: SpinLock<()>,
    /// The innermost cleanup handler's context (`pthread_cleanup_push`), 0 for none; only
    /// the thread touches it.
    pub cleanup: AtomicU64,
}

impl Thread {
    /// The id of the thread's task.
    pub fn tid(&self) -> u32 {
        self.tid.load(Ordering::Relaxed)
    }

    fn new(start: StartRoutine, arg: u64) -> Self {
        Self {
            start,
            arg,
            task: SpinLock::new(None),
            tid: AtomicU32::new(0),
            result: AtomicU64::new(0),
            detached: AtomicBool::new(false),
            specific: SpinLock::new(alloc::vec::Vec::new()),
            name: SpinLock::new([0; 16]),
            cancel_state: AtomicI32::new(super::cancel::ENABLE),
            cancel_type: AtomicI32::new(0),
            cancel_pending: AtomicBool::new(false),
            cancel_lock: SpinLock::new(()),
            cleanup: AtomicU64::new(0),
        }
    }
}

/// The record of the calling thread, created on first use for threads that were not made
/// by `pthread_create` (the main thread, `sys_clone` tasks).
pub fn current_thread() -> &'static Thread {
    let task = scheduler::current();
    let mut ptr = task.pthread.load(Ordering::Acquire) as *const Thread;
    if ptr.is_null() {
        let thread = Thread::new(None, 0);
        thread.tid.store(task.id, Ordering::Relaxed);
        ptr = Arc::into_raw(Arc::new(thread));
        task.pthread.store(ptr as u64, Ordering::Release);
    }
    // SAFETY: the task holds a reference to its record until it ends.
    unsafe { &*ptr }
}

/// The record behind a `pthread_t`.
///
/// # Safety
/// `handle` must be a value returned by `pthread_create` or `pthread_self` of a thread that
/// has not been joined or detached and ended.
pub unsafe fn thread_of<'a>(handle: pthread_t) -> Result<&'a Thread> {
    // SAFETY: by the caller's contract.
    unsafe { (handle as *const Thread).as_ref() }.ok_or(ESRCH)
}

extern "C" fn trampoline(raw: u64) -> i32 {
    // SAFETY: `pthread_create` leaked a reference for the thread itself.
    let thread = unsafe { &*(raw as *const Thread) };
    let start = thread.start.expect("pthread_create checks the routine");
    // SAFETY: the application's start routine with its argument.
    let result = unsafe { start(thread.arg as *mut c_void) };
    finish(result)
}

/// Ends the calling thread with `result`: runs its cleanup handlers and key destructors,
/// releases its record.
pub fn finish(result: *mut c_void) -> ! {
    let thread = current_thread();
    // Cleanup handlers and destructors run with cancellation off, their waits as any.
    super::cancel::set_state(thread, super::cancel::DISABLE);
    super::cancel::run_cleanup(thread);
    super::key::run_destructors(thread);
    thread.result.store(result as u64, Ordering::Release);
    let raw = scheduler::current().pthread.swap(0, Ordering::AcqRel) as *const Thread;
    // SAFETY: the thread's own reference, leaked by `pthread_create` or `current_thread`.
    drop(unsafe { Arc::from_raw(raw) });
    scheduler::exit_current(0)
}

/// Creates a thread running `start(arg)`; its handle goes to `*thread`. Honours the stack
/// size, detach state, explicit priority and affinity of `attr` (without one, the thread
/// inherits the creator's affinity, as on Linux). 0, `EINVAL`, `EAGAIN`.
///
/// # Safety
/// `thread` valid for writes; `attr` null or initialised; `start` a C function.
#[no_mangle]
pub unsafe extern "C" fn pthread_create(
    thread: *mut pthread_t,
    attr: *const pthread_attr_t,
    start: StartRoutine,
    arg: *mut c_void,
) -> c_int {
    if thread.is_null() || start.is_none() {
        return EINVAL.0;
    }
    // SAFETY: null or initialised by the caller's contract.
    let attr = unsafe { attr.as_ref() };
    let stack = attr.map_or(DEFAULT_STACK_SIZE, |a| a.stacksize.max(PTHREAD_STACK_MIN as usize));
    let prio = match attr {
        Some(a) if a.inheritsched == PTHREAD_EXPLICIT_SCHED => a.priority.clamp(MIN_PRIO.into(), MAX_PRIO.into()) as u8,
        _ => scheduler::current().priority().max(1),
    };
    let detached = attr.is_some_and(|a| a.detachstate == PTHREAD_CREATE_DETACHED);
    let record = Arc::new(Thread::new(start, arg as u64));
    record.detached.store(detached, Ordering::Relaxed);
    let own = Arc::into_raw(record.clone()) as u64;
    // The task knows its record and the record its task before the task can run, so that
    // `pthread_self` (even in a signal handler before the start routine) and the tid are right.
    let link = |task: &scheduler::Task| {
        task.pthread.store(own, Ordering::Release);
        record.tid.store(task.id, Ordering::Relaxed);
    };
    let affinity = attr.map(|a| scheduler::CpuMask(a.affinity)).filter(|m| m.first().is_some());
    match scheduler::spawn(trampoline, own, prio, stack, affinity, link) {
        Ok(task) => {
            *record.task.lock() = Some(task);
            let handle = if detached { Arc::as_ptr(&record) as pthread_t } else { Arc::into_raw(record) as pthread_t };
            // SAFETY: checked non-null; valid for writes by the caller's contract.
            unsafe { *thread = handle };
            0
        }
        Err(errno) => {
            // SAFETY: the thread's reference was not handed to a task.
            drop(unsafe { Arc::from_raw(own as *const Thread) });
            if errno.0 == crate::errno::ENOMEM.0 {
                crate::errno::EAGAIN.0
            } else {
                errno.0
            }
        }
    }
}

/// Waits for a thread to end and collects its result. 0, `ESRCH`, `EINVAL` (detached or
/// self).
///
/// # Safety
/// `handle` from `pthread_create`, not yet joined or detached; `value` null or writable.
#[no_mangle]
pub unsafe extern "C" fn pthread_join(handle: pthread_t, value: *mut *mut c_void) -> c_int {
    // SAFETY: by the caller's contract.
    let Ok(thread) = (unsafe { thread_of(handle) }) else { return ESRCH.0 };
    if thread.detached.load(Ordering::Relaxed) || core::ptr::eq(thread, current_thread()) {
        return EINVAL.0;
    }
    let Some(task) = thread.task.lock().clone() else { return ESRCH.0 };
    super::cancel::test();
    while task.exited.load(Ordering::Acquire) == 0 {
        let _ = futex::wait(&task.exited, 0, None);
        if super::cancel::requested() {
            // The target stays joinable, as POSIX says of a cancelled join.
            drop(task);
            super::cancel::act();
        }
    }
    // SAFETY: `value` is null or writable by the caller's contract.
    if let Some(value) = unsafe { value.as_mut() } {
        *value = thread.result.load(Ordering::Acquire) as *mut c_void;
    }
    // SAFETY: the handle's reference, leaked by `pthread_create`.
    drop(unsafe { Arc::from_raw(handle as *const Thread) });
    0
}

/// Lets a thread's resources go when it ends, without a join. 0, `ESRCH`, `EINVAL`.
///
/// # Safety
/// `handle` from `pthread_create`, not yet joined or detached.
#[no_mangle]
pub unsafe extern "C" fn pthread_detach(handle: pthread_t) -> c_int {
    // SAFETY: by the caller's contract.
    let Ok(thread) = (unsafe { thread_of(handle) }) else { return ESRCH.0 };
    if thread.detached.swap(true, Ordering::AcqRel) {
        return EINVAL.0;
    }
    if thread.task.lock().is_some() {
        // SAFETY: the handle's reference, leaked by `pthread_create`.
        drop(unsafe { Arc::from_raw(handle as *const Thread) });
    }
    0
}

/// Ends the calling thread with `value` (the program ends when the last thread does).
#[no_mangle]
pub extern "C" fn pthread_exit(value: *mut c_void) -> ! {
    finish(value)
}

/// The calling thread's handle.
#[no_mangle]
pub extern "C" fn pthread_self() -> pthread_t {
    current_thread() as *const Thread as pthread_t
}

/// Whether two handles name the same thread.
#[no_mangle]
pub extern "C" fn pthread_equal(a: pthread_t, b: pthread_t) -> c_int {
    c_int::from(a == b)
}

/// Sends a signal to a thread (see `sys_kill`). 0, `ESRCH`, `EINVAL`.
///
/// # Safety
/// `handle` must name a thread that has not been joined.
#[no_mangle]
pub unsafe extern "C" fn pthread_kill(handle: pthread_t, sig: c_int) -> c_int {
    // SAFETY: by the caller's contract.
    let Ok(thread) = (unsafe { thread_of(handle) }) else { return ESRCH.0 };
    status(scheduler::kill(thread.tid.load(Ordering::Relaxed), sig))
}

/// Names a thread (up to 15 bytes). 0, `ESRCH`, `EINVAL`.
///
/// # Safety
/// `handle` a live thread, `name` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pthread_setname_np(handle: pthread_t, name: *const c_char) -> c_int {
    // SAFETY: by the caller's contract.
    let Ok(thread) = (unsafe { thread_of(handle) }) else { return ESRCH.0 };
    // SAFETY: by the caller's contract.
    let Ok(name) = (unsafe { crate::syscalls::ptr::c_str(name) }) else { return EINVAL.0 };
    let mut stored = [0u8; 16];
    let bytes = name.to_bytes();
    let len = bytes.len().min(15);
    stored[..len].copy_from_slice(&bytes[..len]);
    *thread.name.lock() = stored;
    0
}

/// Copies a thread's name into `buf`. 0, `ESRCH`, `EINVAL` (too small).
///
/// # Safety
/// `handle` a live thread, `buf` writable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn pthread_getname_np(handle: pthread_t, buf: *mut c_char, len: usize) -> c_int {
    // SAFETY: by the caller's contract.
    let Ok(thread) = (unsafe { thread_of(handle) }) else { return ESRCH.0 };
    let name = *thread.name.lock();
    let n = name.iter().position(|b| *b == 0).unwrap_or(16);
    if buf.is_null() || len <= n {
        return EINVAL.0;
    }
    // SAFETY: `buf` holds at least `n + 1` bytes.
    unsafe {
        core::ptr::copy_nonoverlapping(name.as_ptr(), buf.cast(), n);
        *buf.add(n) = 0;
    }
    0
}

/// Initialises thread attributes: joinable, 256 KiB stack, inherited priority.
///
/// # Safety
/// `attr` writable.
#[no_mangle]
pub unsafe extern "C" fn pthread_attr_init(attr: *mut pthread_attr_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { object(attr) }.map(|a| {
        *a = pthread_attr_t {
            is_initialized: 1,
            detachstate: PTHREAD_CREATE_JOINABLE,
            stacksize: DEFAULT_STACK_SIZE,
            stackaddr: core::ptr::null_mut(),
            inheritsched: PTHREAD_INHERIT_SCHED,
            schedpolicy: 0,
            priority: c_int::from(NORMAL_PRIO),
            contentionscope: PTHREAD_SCOPE_SYSTEM,
            guardsize: crate::config::PAGE_SIZE,
            affinity: [0; 8],
        }
    }))
}

/// Destroys thread attributes.
///
/// # Safety
/// `attr` valid.
#[no_mangle]
pub unsafe extern "C" fn pthread_attr_destroy(attr: *mut pthread_attr_t) -> c_int {
    // SAFETY: by the caller's contract.
    status(unsafe { object(attr) }.map(|a| a.is_initialized = 0))
}

/// Defines a setter and a getter of one attribute field.
macro_rules! attr_field {
    ($set:ident, $get:ident, $field:ident, $ty:ty, $valid:expr) => {
        /// Sets the attribute; `EINVAL` for a value it cannot take.
        ///
        /// # Safety
        /// `attr` valid.
        #[no_mangle]
        pub unsafe extern "C" fn $set(attr: *mut pthread_attr_t, value: $ty) -> c_int {
            let valid: fn($ty) -> bool = $valid;
            if !valid(value) {
                return EINVAL.0;
            }
            // SAFETY: by the caller's contract.
            status(unsafe { object(attr) }.map(|a| a.$field = value))
        }

        /// Reads the attribute.
        ///
        /// # Safety
        /// `attr` valid, `value` writable.
        #[no_mangle]
        pub unsafe extern "C" fn $get(attr: *const pthread_attr_t, value: *mut $ty) -> c_int {
            // SAFETY: by the caller's contract.
            let (attr, value) = unsafe { (shared(attr), object(value)) };
            status(attr.and_then(|a| value.map(|v| *v = a.$field)))
        }
    };
}

attr_field!(pthread_attr_setstacksize, pthread_attr_getstacksize, stacksize, usize, |s| s
    >= PTHREAD_STACK_MIN as usize);
attr_field!(pthread_attr_setdetachstate, pthread_attr_getdetachstate, detachstate, c_int, |d| d
    == PTHREAD_CREATE_JOINABLE
    || d == PTHREAD_CREATE_DETACHED);
attr_field!(pthread_attr_setinheritsched, pthread_attr_getinheritsched, inheritsched, c_int, |v| v
    == PTHREAD_INHERIT_SCHED
    || v == PTHREAD_EXPLICIT_SCHED);
attr_field!(pthread_attr_setschedpolicy, pthread_attr_getschedpolicy, schedpolicy, c_int, |p| (0..=2).contains(&p));
attr_field!(pthread_attr_setscope, pthread_attr_getscope, contentionscope, c_int, |s| s == PTHREAD_SCOPE_SYSTEM);
attr_field!(pthread_attr_setguardsize, pthread_attr_getguardsize, guardsize, usize, |_| true);

/// A caller-provided stack is not supported: `ENOTSUP`.
#[no_mangle]
pub extern "C" fn pthread_attr_setstack(attr: *mut pthread_attr_t, addr: *mut c_void, size: usize) -> c_int {
    let _ = (attr, addr, size);
    ENOTSUP.0
}

/// A caller-provided stack is not supported: `ENOTSUP`.
#[no_mangle]
pub extern "C" fn pthread_attr_setstackaddr(attr: *mut pthread_attr_t, addr: *mut c_void) -> c_int {
    let _ = (attr, addr);
    ENOTSUP.0
}
