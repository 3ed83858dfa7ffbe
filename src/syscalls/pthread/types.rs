//! The C layouts of the POSIX thread types, generated into `sys/_pthreadtypes.h` (which
//! replaces newlib's, whose handle types would need a lookup table).
//!
//! Every object is usable when all-zero, which is what the static initializers are, so a
//! `PTHREAD_MUTEX_INITIALIZER` mutex needs no lazy creation: locking it is one atomic
//! operation on the object itself. The constants are newlib's values, which its
//! `<pthread.h>` and applications use.
#![allow(non_camel_case_types, reason = "the C names")]

use core::ffi::{c_int, c_uint, c_ulong, c_void};
use core::sync::atomic::AtomicU32;

/// A thread: the address of the kernel's thread record.
pub type pthread_t = c_ulong;

/// A thread-specific data key.
pub type pthread_key_t = c_uint;

/// A spin lock: 0 free, 1 taken.
pub type pthread_spinlock_t = AtomicU32;

/// Thread creation attributes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct pthread_attr_t {
    /// Non-zero once initialised.
    pub is_initialized: c_int,
    /// `PTHREAD_CREATE_JOINABLE` or `PTHREAD_CREATE_DETACHED`.
    pub detachstate: c_int,
    /// Stack size in bytes.
    pub stacksize: usize,
    /// Caller-provided stack (not supported; always null).
    pub stackaddr: *mut c_void,
    /// `PTHREAD_INHERIT_SCHED` or `PTHREAD_EXPLICIT_SCHED`.
    pub inheritsched: c_int,
    /// `SCHED_*` policy.
    pub schedpolicy: c_int,
    /// Priority for `PTHREAD_EXPLICIT_SCHED`.
    pub priority: c_int,
    /// `PTHREAD_SCOPE_*`.
    pub contentionscope: c_int,
    /// Guard size (the guard is always one page).
    pub guardsize: usize,
    /// Cores the thread may run on (`pthread_attr_setaffinity_np`), bit `i` of word
    /// `i / 64` for core `i`; all zero: the creator's set.
    pub affinity: [u64; 8],
}

/// A mutex. All-zero is an unlocked default mutex.
#[repr(C)]
pub struct pthread_mutex_t {
    /// 0 free, 1 locked, 2 locked with waiters (a futex word).
    pub state: AtomicU32,
    /// `PTHREAD_MUTEX_*` type.
    pub kind: AtomicU32,
    /// Owner's task id (recursive and error-checking mutexes).
    pub owner: AtomicU32,
    /// Recursion depth.
    pub count: AtomicU32,
}

/// Mutex attributes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct pthread_mutexattr_t {
    /// Non-zero once initialised.
    pub is_initialized: c_int,
    /// `PTHREAD_MUTEX_*` type.
    pub kind: c_int,
    /// `PTHREAD_PROCESS_*`.
    pub pshared: c_int,
    /// `PTHREAD_PRIO_*`.
    pub protocol: c_int,
}

/// A condition variable. All-zero waits on `CLOCK_REALTIME`.
#[repr(C)]
pub struct pthread_cond_t {
    /// Incremented by every signal and broadcast (a futex word).
    pub seq: AtomicU32,
    /// Number of waiting threads.
    pub waiters: AtomicU32,
    /// Clock of timed waits (0: `CLOCK_REALTIME`).
    pub clock: c_ulong,
}

/// Condition variable attributes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct pthread_condattr_t {
    /// Non-zero once initialised.
    pub is_initialized: c_int,
    /// `PTHREAD_PROCESS_*`.
    pub pshared: c_int,
    /// Clock of timed waits.
    pub clock: c_ulong,
}

/// State of a one-time initialisation (0: not run).
#[repr(C)]
pub struct pthread_once_t {
    /// 0 not run, 1 running, 2 done (a futex word).
    pub state: AtomicU32,
}

/// A reader-writer lock. All-zero is unlocked.
#[repr(C)]
pub struct pthread_rwlock_t {
    /// Number of readers, or `u32::MAX` when a writer holds it (a futex word).
    pub state: AtomicU32,
    /// Writers waiting (readers give way to them).
    pub writers: AtomicU32,
    /// Owner's task id while write-locked.
    pub owner: AtomicU32,
    /// Reserved.
    pub reserved: c_uint,
}

/// Reader-writer lock attributes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct pthread_rwlockattr_t {
    /// Non-zero once initialised.
    pub is_initialized: c_int,
    /// `PTHREAD_PROCESS_*`.
    pub pshared: c_int,
}

/// A barrier.
#[repr(C)]
pub struct pthread_barrier_t {
    /// Threads per round.
    pub count: c_uint,
    /// Threads arrived in this round.
    pub arrived: AtomicU32,
    /// Round number (a futex word).
    pub generation: AtomicU32,
    /// Reserved.
    pub reserved: c_uint,
}

/// Barrier attributes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct pthread_barrierattr_t {
    /// Non-zero once initialised.
    pub is_initialized: c_int,
    /// `PTHREAD_PROCESS_*`.
    pub pshared: c_int,
}

/// `PTHREAD_SCOPE_PROCESS`
#[allow(dead_code, reason = "only C uses it, through the generated header")]
pub const PTHREAD_SCOPE_PROCESS: c_int = 0;
/// `PTHREAD_SCOPE_SYSTEM`
pub const PTHREAD_SCOPE_SYSTEM: c_int = 1;
/// `PTHREAD_INHERIT_SCHED`
pub const PTHREAD_INHERIT_SCHED: c_int = 1;
/// `PTHREAD_EXPLICIT_SCHED`
pub const PTHREAD_EXPLICIT_SCHED: c_int = 2;
/// `PTHREAD_CREATE_DETACHED` (newlib's value)
pub const PTHREAD_CREATE_DETACHED: c_int = 0;
/// `PTHREAD_CREATE_JOINABLE` (newlib's value)
pub const PTHREAD_CREATE_JOINABLE: c_int = 1;
/// `PTHREAD_STACK_MIN`
pub const PTHREAD_STACK_MIN: c_int = 16384;
/// `PTHREAD_PROCESS_PRIVATE`
pub const PTHREAD_PROCESS_PRIVATE: c_int = 0;
/// `PTHREAD_PROCESS_SHARED`
pub const PTHREAD_PROCESS_SHARED: c_int = 1;
/// `PTHREAD_PRIO_NONE`
pub const PTHREAD_PRIO_NONE: c_int = 0;
/// `PTHREAD_PRIO_INHERIT`
#[allow(dead_code, reason = "only C uses it, through the generated header")]
pub const PTHREAD_PRIO_INHERIT: c_int = 1;
/// `PTHREAD_PRIO_PROTECT`
#[allow(dead_code, reason = "only C uses it, through the generated header")]
pub const PTHREAD_PRIO_PROTECT: c_int = 2;
/// `PTHREAD_MUTEX_NORMAL`
pub const PTHREAD_MUTEX_NORMAL: c_int = 0;
/// `PTHREAD_MUTEX_RECURSIVE`
pub const PTHREAD_MUTEX_RECURSIVE: c_int = 1;
/// `PTHREAD_MUTEX_ERRORCHECK`
pub const PTHREAD_MUTEX_ERRORCHECK: c_int = 2;
/// `PTHREAD_MUTEX_DEFAULT` (behaves as `PTHREAD_MUTEX_NORMAL`)
pub const PTHREAD_MUTEX_DEFAULT: c_int = 3;
/// `PTHREAD_KEYS_MAX`
pub const PTHREAD_KEYS_MAX: c_int = 1024;
/// `PTHREAD_DESTRUCTOR_ITERATIONS`
pub const PTHREAD_DESTRUCTOR_ITERATIONS: c_int = 4;
