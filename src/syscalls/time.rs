//! Time: clocks, sleeping and ticks. Clocks read the TSC at CPL 3; sleeping blocks the task
//! (other tasks run, an idle core halts with its timer armed).

use core::ffi::{c_int, c_uint};
use core::sync::atomic::AtomicU64;

use super::ptr::{out, ret_int};
use super::types::timespec;
use crate::config::TIMER_FREQ;
use crate::errno::{Result, EFAULT, EINTR, EINVAL};
use crate::time;

/// TSC value at the first instruction of the first core (the original exported `boot_tsc`
/// too). `rdtsc() - boot_tsc` is the time since boot in cycles.
#[no_mangle]
pub static boot_tsc: AtomicU64 = AtomicU64::new(0);

/// newlib's `CLOCK_REALTIME`.
const CLOCK_REALTIME: u64 = 1;
/// newlib's `CLOCK_PROCESS_CPUTIME_ID`.
const CLOCK_PROCESS_CPUTIME_ID: u64 = 2;
/// newlib's `CLOCK_THREAD_CPUTIME_ID`.
const CLOCK_THREAD_CPUTIME_ID: u64 = 3;
/// newlib's `CLOCK_MONOTONIC`.
const CLOCK_MONOTONIC: u64 = 4;
/// newlib's `CLOCK_MONOTONIC_RAW`, `CLOCK_MONOTONIC_COARSE` and `CLOCK_BOOTTIME` (Linux's, with
/// `_GNU_SOURCE`): the monotonic clock here (the guest neither adjusts nor suspends it).
const CLOCK_MONOTONIC_RAW: u64 = 5;
const CLOCK_MONOTONIC_COARSE: u64 = 6;
const CLOCK_BOOTTIME: u64 = 7;

const NS_PER_SEC: u64 = 1_000_000_000;

fn to_timespec(ns: u64) -> timespec {
    timespec { tv_sec: (ns / NS_PER_SEC) as i64, tv_nsec: (ns % NS_PER_SEC) as i64 }
}

/// Reads clock `clock_id` (newlib numbering: 1 realtime, 4 monotonic (the host's, continued),
/// 5 to 7 the same, 2 and 3 the time the program has run) into `tp`. 0 or
/// `-EINVAL`/`-EFAULT`. An extension of the original ABI (with the prototype of the later
/// Rust hermit kernel).
///
/// # Safety
/// `tp` must be valid for writes.
#[no_mangle]
pub unsafe extern "C" fn sys_clock_gettime(clock_id: u64, tp: *mut timespec) -> c_int {
    // SAFETY: forwarded from the caller.
    let tp = unsafe { out(tp) };
    ret_int(tp.and_then(|tp| {
        let ns = match clock_id {
            CLOCK_REALTIME => time::realtime_ns(),
            CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME => time::monotonic_ns(),
            CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => time::uptime_ns(),
            _ => return Err(EINVAL),
        };
        *tp = to_timespec(ns);
        Ok(0)
    }))
}

/// Sleeps for `*req`. 0, or `-EINTR` when a signal handler ran meanwhile (`*rem`, if given,
/// receives the time left, else zero), `-EINVAL`, `-EFAULT`.
///
/// # Safety
/// `req` must be valid for reads, `rem` null or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn sys_nanosleep(req: *const timespec, rem: *mut timespec) -> c_int {
    // SAFETY: forwarded from the caller.
    let (req, rem) = unsafe { (req.as_ref(), rem.as_mut()) };
    // A cancellation point (`super::pthread::cancel`).
    ret_int(super::pthread::cancel::call(|| nanosleep(req, rem)))
}

fn nanosleep(req: Option<&timespec>, rem: Option<&mut timespec>) -> Result<i32> {
    let req = req.ok_or(EFAULT)?;
    if req.tv_sec < 0 || !(0..NS_PER_SEC as i64).contains(&req.tv_nsec) {
        return Err(EINVAL);
    }
    let ns = (req.tv_sec as u64).saturating_mul(NS_PER_SEC).saturating_add(req.tv_nsec as u64);
    let left = crate::scheduler::sleep_ns(ns).err();
    if let Some(rem) = rem {
        let left = left.unwrap_or(0);
        *rem = timespec { tv_sec: (left / NS_PER_SEC) as i64, tv_nsec: (left % NS_PER_SEC) as i64 };
    }
    match left {
        Some(_) => Err(EINTR),
        None => Ok(0),
    }
}

/// Sleeps `usecs` microseconds (a signal handler that runs meanwhile ends it early).
#[no_mangle]
pub extern "C" fn sys_usleep(usecs: u64) {
    let sleep = || crate::scheduler::sleep_ns(usecs.saturating_mul(1000));
    let _ = super::pthread::cancel::point(sleep, |left| left.is_err());
}

/// Sleeps `ms` milliseconds (the original `sys_msleep`; a signal handler ends it early).
#[no_mangle]
pub extern "C" fn sys_msleep(ms: c_uint) {
    let sleep = || crate::scheduler::sleep_ns(u64::from(ms) * 1_000_000);
    let _ = super::pthread::cancel::point(sleep, |left| left.is_err());
}

/// Timer ticks since boot at the original `TIMER_FREQ` of 100 Hz.
#[no_mangle]
pub extern "C" fn sys_get_ticks() -> usize {
    (time::uptime_ns() / (NS_PER_SEC / TIMER_FREQ)) as usize
}
