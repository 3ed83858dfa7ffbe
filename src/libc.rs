//! What the kernel calls in the C library (newlib and crt0): the one home of such imports.

use core::ffi::{c_char, c_int};

use crate::errno::Errno;

extern "C" {
    fn libc_start(argc: c_int, argv: *mut *mut c_char, envp: *mut *mut c_char) -> c_int;
    /// newlib's `exit`: atexit handlers, stdio flush, then `sys_exit`.
    fn exit(status: c_int) -> !;
    /// newlib's per-thread `errno` location.
    fn __errno() -> *mut c_int;
}

/// Runs crt0's start-up and `main`; returns `main`'s value.
///
/// # Safety
/// `argv` and `envp` must be NULL-terminated arrays of NUL-terminated strings that live
/// for the rest of the program.
pub unsafe fn start(argc: c_int, argv: *mut *mut c_char, envp: *mut *mut c_char) -> c_int {
    // SAFETY: by the caller's contract (libhermit-abi.md §3.3).
    unsafe { libc_start(argc, argv, envp) }
}

/// Ends the program through the C library's `exit`, so that its handlers run and buffered
/// output is written.
pub fn exit_program(code: c_int) -> ! {
    // SAFETY: newlib's `exit` may be called from any task; crt0 links it into every image.
    unsafe { exit(code) }
}

/// Sets the calling thread's `errno`.
pub fn set_errno(errno: Errno) {
    // SAFETY: `__errno` returns the calling thread's errno location (in its TLS reent).
    unsafe { *__errno() = errno.0 };
}
