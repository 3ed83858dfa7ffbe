//! C types of the syscall ABI, as the original `hermit/syscall.h` names them.
#![allow(non_camel_case_types)]

/// A task id (`unsigned int` in the original).
pub type tid_t = core::ffi::c_uint;

/// Signal handler registered with `sys_signal`.
pub type signal_handler_t = Option<extern "C" fn(core::ffi::c_int)>;

/// `ssize_t` of the C library.
///
/// cbindgen:ignore
pub type ssize_t = isize;

/// `off_t` of the C library (64-bit).
///
/// cbindgen:ignore
pub type off_t = i64;

/// `struct timespec` of the C library (64-bit seconds and nanoseconds).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct timespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds.
    pub tv_nsec: i64,
}
