//! `pselect` and `ppoll`: `select` and `poll` with a `timespec` timeout and a signal mask
//! that holds only for the wait.
//!
//! As on Linux, the mask replaces the thread's for the call: a signal it lets through, pending
//! before or arriving during the wait, runs its handler and ends the call with `EINTR`; the
//! thread's own mask is back when the call returns (a signal blocked again then stays
//! pending). Unlike Linux the handler runs before the old mask is restored, not after: it
//! sees the wait's mask if it asks.

use core::ffi::c_int;

use super::net::{c_int_ret, poll_fds, poll_ns, select_ns, PollFd};
use super::types::timespec as Timespec;
use crate::errno::{Result, EINTR, EINVAL};
use crate::scheduler;

/// The timeout in nanoseconds (`None`: null, forever); `EINVAL` for a negative or
/// malformed one (also `recvmmsg`'s).
pub(super) fn timeout_ns(timeout: Option<&Timespec>) -> Result<Option<u64>> {
    match timeout {
        None => Ok(None),
        Some(t) if t.tv_sec >= 0 && (0..1_000_000_000).contains(&t.tv_nsec) => {
            Ok(Some((t.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(t.tv_nsec as u64)))
        }
        Some(_) => Err(EINVAL),
    }
}

/// Runs `wait` with the thread's signal mask replaced by `mask` (if any), and restores it.
/// A handler that ran meanwhile (also one the new mask let through at once) makes the
/// result `EINTR` unless `wait` found something ready.
pub(super) fn with_mask<R>(mask: Option<u64>, wait: impl FnOnce() -> Result<R>) -> Result<R> {
    let Some(mask) = mask else { return wait() };
    let before = scheduler::delivered_signals();
    let old = scheduler::set_signal_mask(2, Some(mask))?;
    let result = if scheduler::delivered_signals() != before { Err(EINTR) } else { wait() };
    let _ = scheduler::set_signal_mask(2, Some(old));
    result
}

/// POSIX `pselect`: [`super::net::select`] with a `timespec` timeout and a signal mask.
///
/// # Safety
/// Each non-null set must be valid for `(nfds + 7) / 8` bytes, `timeout` null or a
/// `timespec`, `mask` null or a `sigset_t`.
#[no_mangle]
pub unsafe extern "C" fn pselect(
    nfds: c_int,
    readfds: *mut u8,
    writefds: *mut u8,
    exceptfds: *mut u8,
    timeout: *const Timespec,
    mask: *const u64,
) -> c_int {
    // SAFETY: forwarded from the caller.
    let (timeout, mask) = unsafe { (timeout.as_ref(), mask.as_ref().copied()) };
    let result = super::pthread::cancel::call(|| {
        timeout_ns(timeout).and_then(|t| {
            // SAFETY: forwarded from the caller.
            with_mask(mask, || unsafe { select_ns(nfds, readfds, writefds, exceptfds, t) })
        })
    });
    c_int_ret(result)
}

/// Linux's `ppoll`: [`super::net::poll`] with a `timespec` timeout (null: forever) and a
/// signal mask.
///
/// # Safety
/// `fds` must be valid for `nfds` entries, `timeout` null or a `timespec`, `mask` null or a
/// `sigset_t`.
#[no_mangle]
pub unsafe extern "C" fn ppoll(fds: *mut PollFd, nfds: u32, timeout: *const Timespec, mask: *const u64) -> c_int {
    // SAFETY: forwarded from the caller.
    let (fds, timeout, mask) = unsafe { (poll_fds(fds, nfds), timeout.as_ref(), mask.as_ref().copied()) };
    let result = super::pthread::cancel::call(|| {
        fds.and_then(|fds| {
            let t = timeout_ns(timeout)?;
            with_mask(mask, || poll_ns(fds, t))
        })
    });
    c_int_ret(result)
}
