//! RCCE/iRCCE entry points of the original multi-kernel mode, with its single-kernel answers.
//!
//! The original kernel shared message-passing buffers between isles (kernels side by side
//! with Linux); on a single kernel, which is all this kernel is, its `sys_rcce_*` returned
//! `-ENOSYS` before looking at their arguments. They exist so that RCCE programs link and
//! see the same answers. `isle_id()` comes from crt0 (header field `isle`, -1 here).

use core::ffi::{c_int, c_void};
use core::sync::atomic::AtomicPtr;

use crate::errno::ENOSYS;

/// The original's `islelock_t *rcce_lock` (the lock of the shared RCCE session table),
/// exported as a data symbol; always null on a single kernel.
#[no_mangle]
#[allow(non_upper_case_globals, reason = "the original C name")]
pub static rcce_lock: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());

/// Creates an RCCE session's message-passing buffer: always `-ENOSYS` (single kernel), as
/// the original on a single kernel.
#[no_mangle]
pub extern "C" fn sys_rcce_init(session_id: c_int) -> c_int {
    let _ = session_id;
    ENOSYS.neg()
}

/// Maps isle `ue`'s message-passing buffer: always `(size_t)-ENOSYS` (single kernel), as
/// the original on a single kernel.
#[no_mangle]
pub extern "C" fn sys_rcce_malloc(session_id: c_int, ue: c_int) -> usize {
    let _ = (session_id, ue);
    ENOSYS.neg_isize() as usize
}

/// Frees this isle's message-passing buffer: always `-ENOSYS` (single kernel), as the
/// original on a single kernel.
#[no_mangle]
pub extern "C" fn sys_rcce_fini(session_id: c_int) -> c_int {
    let _ = session_id;
    ENOSYS.neg()
}
