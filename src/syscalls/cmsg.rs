//! Control messages of `sendmsg`/`recvmsg`: descriptors passed over Unix sockets (`SCM_RIGHTS`).
//!
//! The layout is that of lwIP 2.1, the original's kernel stack (its installed headers, lwIP
//! 2.0's, declared no control messages, and the original passed none):
//! `cmsg_len` is a 4-byte `socklen_t` (Linux's is a `size_t`), then `cmsg_level` and
//! `cmsg_type`; the data starts at 16 and each message at a multiple of 8, as on Linux. The
//! checks are Linux's: a header whose length runs short or past the buffer is `EINVAL`, as are
//! more than 253 descriptors in one call and socket-level types not taken here (on a Unix
//! socket `SCM_CREDENTIALS`); a descriptor not open is `EBADF`. An Internet socket ignores
//! `SCM_RIGHTS` and `SCM_CREDENTIALS`, as Linux's do. Other levels (`IP_PKTINFO` and the
//! like) are ignored, as the Unix sockets of Linux ignore them.

use alloc::vec::Vec;

use crate::errno::{Result, EINVAL};
use crate::fs::fd;
use crate::fs::unix::Rights;

/// `SCM_RIGHTS`: the data is an array of descriptors (`int`).
const SCM_RIGHTS: i32 = 1;

/// `SCM_CREDENTIALS` (Linux's): a `struct ucred`, not taken here.
const SCM_CREDENTIALS: i32 = 2;

/// Bytes of a header as the C structure has them (`sizeof(struct cmsghdr)`).
const HEADER: usize = 12;

/// Where a message's data starts (`CMSG_DATA`): the header rounded up to [`ALIGN`].
const DATA: usize = 16;

/// Messages start at multiples of this (`sizeof(long)`).
const ALIGN: usize = 8;

/// Descriptors one call may pass (Linux's `SCM_MAX_FD`).
const MAX_FDS: usize = 253;

/// `MSG_CMSG_CLOEXEC` (Linux's): descriptors received get `FD_CLOEXEC`.
pub const MSG_CMSG_CLOEXEC: i32 = 0x4000_0000;

/// `MSG_CTRUNC` in `msg_flags` (lwIP's 0x08): not every descriptor fit the control buffer.
pub const MSG_CTRUNC: i32 = 0x08;

fn int_at(bytes: &[u8], at: usize) -> i32 {
    i32::from_ne_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

/// The open descriptions named by the `SCM_RIGHTS` messages of `control`, in order, for a
/// Unix socket (`unix`) or an Internet one.
pub fn rights(control: &[u8], unix: bool) -> Result<Rights> {
    let mut rights = Rights::new();
    let mut at = 0;
    while control.len() - at >= HEADER {
        let len = int_at(control, at) as u32 as usize;
        if len < HEADER || len > control.len() - at {
            return Err(EINVAL);
        }
        let (level, kind) = (int_at(control, at + 4), int_at(control, at + 8));
        if level == super::sockopt::SOL_SOCKET && !unix && matches!(kind, SCM_RIGHTS | SCM_CREDENTIALS) {
            // Linux's Internet sockets take these for Unix sockets' business and pass over them.
        } else if level == super::sockopt::SOL_SOCKET {
            if kind != SCM_RIGHTS {
                return Err(EINVAL);
            }
            let data = control.get(at + DATA..at + len).unwrap_or_default();
            let count = data.len() / 4;
            if rights.len() + count > MAX_FDS {
                return Err(EINVAL);
            }
            for i in 0..count {
                rights.push(fd::get(int_at(data, i * 4))?);
            }
        }
        at += len.next_multiple_of(ALIGN).min(control.len() - at);
    }
    Ok(rights)
}

/// Puts `rights` into `control` as one `SCM_RIGHTS` message of new descriptors (with
/// `FD_CLOEXEC` if `cloexec`): (the bytes used, whether some were left out). Those that do
/// not fit, or find no free descriptor, are closed, and the caller sets `MSG_CTRUNC`.
pub fn deliver(control: &mut [u8], rights: Rights, cloexec: bool) -> (usize, bool) {
    if rights.is_empty() {
        return (0, false);
    }
    let (count, room) = (rights.len(), control.len().saturating_sub(DATA) / 4);
    let mut fds = Vec::new();
    // Those beyond the buffer, and any after the first no descriptor was free for, are
    // closed as the loop ends.
    for object in rights.into_iter().take(room) {
        match fd::insert_shared(object, cloexec) {
            Ok(fd) => fds.push(fd),
            Err(_) => break,
        }
    }
    let cut = fds.len() < count;
    if fds.is_empty() {
        return (0, true);
    }
    let len = DATA + fds.len() * 4;
    control[..DATA].fill(0);
    control[..4].copy_from_slice(&(len as u32).to_ne_bytes());
    control[4..8].copy_from_slice(&super::sockopt::SOL_SOCKET.to_ne_bytes());
    control[8..12].copy_from_slice(&SCM_RIGHTS.to_ne_bytes());
    for (slot, fd) in control[DATA..len].chunks_exact_mut(4).zip(&fds) {
        slot.copy_from_slice(&fd.to_ne_bytes());
    }
    (len.next_multiple_of(ALIGN).min(control.len()), cut)
}
