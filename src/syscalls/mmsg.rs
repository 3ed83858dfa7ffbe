//! Linux's `sendmmsg` and `recvmmsg`: several messages in one call, on [`sendmsg`] and [`recvmsg`].
//!
//! As Linux: the count of messages done is returned, each one's length in its `msg_len`; an
//! error ends the call, and is returned only when it hit the first message (a later one is
//! left for the next call to meet again). `MSG_WAITFORONE` makes `recvmmsg` non-blocking once
//! a message came, and its timeout, as Linux's, is looked at after each message only: it does
//! not end a wait for the next one.

use core::ffi::{c_int, c_uint};

use super::net::{recvmsg, sendmsg, MsgHdr};
use super::types::timespec;

/// `struct mmsghdr`: a message and the bytes sent or received with it.
#[repr(C)]
pub struct MMsgHdr {
    hdr: MsgHdr,
    len: c_uint,
}

/// Linux's `MSG_WAITFORONE` (lwIP has none).
const MSG_WAITFORONE: c_int = 0x10000;

/// Linux's most messages per call (`UIO_MAXIOV`); more are cut to it.
const MAX_MESSAGES: c_uint = 1024;

/// Runs `one` on each of the `vlen` messages at `vec` until one fails: how many were done,
/// or -1 (with `errno`) if the first failed.
///
/// # Safety
/// `vec` must be valid for `vlen` entries.
unsafe fn each(vec: *mut MMsgHdr, vlen: c_uint, mut one: impl FnMut(usize, *mut MsgHdr) -> Option<isize>) -> c_int {
    let mut done = 0;
    for i in 0..vlen.min(MAX_MESSAGES) as usize {
        // SAFETY: `i` is below `vlen`; the entries are valid by the caller's contract.
        let entry = unsafe { &mut *vec.add(i) };
        let Some(n) = one(i, &mut entry.hdr) else { break };
        if n < 0 {
            return if done == 0 { -1 } else { done };
        }
        entry.len = n as c_uint;
        done += 1;
    }
    done
}

/// Sends the `vlen` messages at `vec` as [`sendmsg`] would one by one.
///
/// # Safety
/// `vec` must be valid for `vlen` entries, each a valid `struct msghdr` with valid buffers.
#[no_mangle]
pub unsafe extern "C" fn sendmmsg(fd: c_int, vec: *mut MMsgHdr, vlen: c_uint, flags: c_int) -> c_int {
    if vec.is_null() && vlen > 0 {
        crate::libc::set_errno(crate::errno::EFAULT);
        return -1;
    }
    // SAFETY: forwarded from the caller.
    unsafe { each(vec, vlen, |_, hdr| Some(sendmsg(fd, hdr, flags))) }
}

/// Receives up to `vlen` messages into `vec` as [`recvmsg`] would one by one; with
/// `MSG_WAITFORONE` the ones after the first do not wait; a `timeout` (null: none) that has
/// passed when a message came ends the call.
///
/// # Safety
/// `vec` must be valid for `vlen` entries, each a valid `struct msghdr` with valid buffers;
/// `timeout` null or valid.
#[no_mangle]
pub unsafe extern "C" fn recvmmsg(
    fd: c_int,
    vec: *mut MMsgHdr,
    vlen: c_uint,
    flags: c_int,
    timeout: *const timespec,
) -> c_int {
    if vec.is_null() && vlen > 0 {
        crate::libc::set_errno(crate::errno::EFAULT);
        return -1;
    }
    // SAFETY: null or valid by the caller's contract.
    let deadline = match super::pollmask::timeout_ns(unsafe { timeout.as_ref() }) {
        Ok(ns) => ns.map(crate::time::deadline_after),
        Err(e) => {
            crate::libc::set_errno(e);
            return -1;
        }
    };
    let base = flags & !MSG_WAITFORONE;
    let mut ended = false;
    let one = |i: usize, hdr: *mut MsgHdr| {
        if ended {
            return None;
        }
        let dontwait = if i > 0 && flags & MSG_WAITFORONE != 0 { crate::net::socket::MSG_DONTWAIT } else { 0 };
        // SAFETY: forwarded from the caller.
        let n = unsafe { recvmsg(fd, hdr, base | dontwait) };
        ended = deadline.is_some_and(|d| crate::arch::rdtsc() >= d);
        Some(n)
    };
    // SAFETY: forwarded from the caller.
    unsafe { each(vec, vlen, one) }
}
