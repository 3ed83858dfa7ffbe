//! Linux's epoll calls (`epoll_create`, `epoll_create1`, `epoll_ctl`, `epoll_wait`,
//! `epoll_pwait`) over every descriptor `poll` takes ([`crate::net::epoll`]); the C
//! declarations are in the toolchain's `<sys/epoll.h>`.

use alloc::sync::Arc;
use core::ffi::c_int;

use super::net::c_int_ret;
use super::pollmask::with_mask;
use super::ptr::bytes_mut;
use crate::errno::{EBADF, EFAULT, EINVAL};
use crate::fs::fd::{self, Object};
use crate::net::epoll::Epoll;

/// `EPOLL_CLOEXEC` (Linux's `O_CLOEXEC`).
const EPOLL_CLOEXEC: c_int = 0o2000000;
/// `EPOLL_CTL_ADD`.
const EPOLL_CTL_ADD: c_int = 1;
/// `EPOLL_CTL_DEL`.
const EPOLL_CTL_DEL: c_int = 2;
/// `EPOLL_CTL_MOD`.
const EPOLL_CTL_MOD: c_int = 3;

/// Linux's `struct epoll_event`: packed on x86-64, 12 bytes, as glibc declares it.
#[repr(C, packed)]
#[derive(Clone, Copy)]
pub struct EpollEvent {
    events: u32,
    data: u64,
}

/// A new epoll instance; `size` must be positive and is otherwise ignored, as on Linux.
#[no_mangle]
pub extern "C" fn epoll_create(size: c_int) -> c_int {
    if size <= 0 {
        return c_int_ret(Err(EINVAL));
    }
    epoll_create1(0)
}

/// A new epoll instance; `flags` 0 or `EPOLL_CLOEXEC`.
#[no_mangle]
pub extern "C" fn epoll_create1(flags: c_int) -> c_int {
    if flags & !EPOLL_CLOEXEC != 0 {
        return c_int_ret(Err(EINVAL));
    }
    c_int_ret(fd::insert(Object::Epoll(Arc::new(Epoll::new())), flags & EPOLL_CLOEXEC != 0, 0))
}

/// Adds, changes or removes the entry of `fd` in instance `epfd`: `EBADF` for a closed
/// descriptor, `EINVAL` if `epfd` is no instance or is `fd`, `EEXIST`/`ENOENT` for an entry
/// that is there/missing, `ELOOP` for instances watching each other. Host files are
/// accepted (always ready), unlike Linux's regular files (`EPERM`): our `poll` takes them.
///
/// # Safety
/// `event` must be a valid `struct epoll_event` for `EPOLL_CTL_ADD` and `EPOLL_CTL_MOD`.
#[no_mangle]
pub unsafe extern "C" fn epoll_ctl(epfd: c_int, op: c_int, target: c_int, event: *const EpollEvent) -> c_int {
    let result = (|| {
        let instance = fd::get(epfd)?;
        let object = fd::get(target)?;
        let Object::Epoll(epoll) = &*instance else { return Err(EINVAL) };
        let index = fd::index(target).ok_or(EBADF)?;
        // SAFETY: forwarded from the caller.
        let event = || unsafe { event.as_ref() }.map(|e| (e.events, e.data)).ok_or(EFAULT);
        match op {
            EPOLL_CTL_ADD => {
                let (events, data) = event()?;
                epoll.add(index, &object, events, data)
            }
            EPOLL_CTL_MOD => {
                let (events, data) = event()?;
                epoll.modify(index, &object, events, data)
            }
            EPOLL_CTL_DEL => epoll.delete(index, &object),
            _ => Err(EINVAL),
        }
        .map(|()| 0)
    })();
    c_int_ret(result)
}

/// Waits up to `timeout` ms (negative: forever, 0: not at all) for entries of `epfd` to
/// report; writes up to `max` to `events` and returns their number (`EINTR` after a signal
/// handler ran).
///
/// # Safety
/// `events` must be valid for writes of `max` entries.
#[no_mangle]
pub unsafe extern "C" fn epoll_wait(epfd: c_int, events: *mut EpollEvent, max: c_int, timeout: c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { epoll_pwait(epfd, events, max, timeout, core::ptr::null()) }
}

/// [`epoll_wait`] with the thread's signal mask replaced by `*mask` for the wait (if not
/// null), as `pselect` does.
///
/// # Safety
/// `events` must be valid for writes of `max` entries, `mask` null or a `sigset_t`.
#[no_mangle]
pub unsafe extern "C" fn epoll_pwait(
    epfd: c_int,
    events: *mut EpollEvent,
    max: c_int,
    timeout: c_int,
    mask: *const u64,
) -> c_int {
    let result = super::pthread::cancel::call(|| {
        let count = usize::try_from(max).ok().filter(|&n| n > 0 && n <= i32::MAX as usize / 12).ok_or(EINVAL)?;
        // SAFETY: forwarded from the caller.
        let out = unsafe { bytes_mut(events.cast::<u8>(), count * size_of::<EpollEvent>()) }?;
        let instance = fd::get(epfd)?;
        let Object::Epoll(epoll) = &*instance else { return Err(EINVAL) };
        let timeout_ns = u64::try_from(timeout).ok().map(|ms| ms * 1_000_000);
        // SAFETY: forwarded from the caller.
        let mask = unsafe { mask.as_ref() }.copied();
        // Written as the scan finds them: `wait` gives at most `count` indices.
        let put = |i: usize, ev: u32, data: u64| {
            let slot = &mut out[i * size_of::<EpollEvent>()..][..size_of::<EpollEvent>()];
            slot[..4].copy_from_slice(&ev.to_ne_bytes());
            slot[4..].copy_from_slice(&data.to_ne_bytes());
        };
        let ready = with_mask(mask, || epoll.wait(count, timeout_ns, put))?;
        Ok(ready as c_int)
    });
    c_int_ret(result)
}
