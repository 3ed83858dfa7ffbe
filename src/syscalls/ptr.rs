//! Conversion of the raw pointers C passes in, and of results into the C convention.

use core::ffi::{c_char, CStr};

use crate::errno::{Result, EFAULT};

/// A NUL-terminated string from C; `EFAULT` for a null pointer.
///
/// # Safety
/// A non-null `ptr` must point to a NUL-terminated string that outlives the returned value.
pub unsafe fn c_str<'a>(ptr: *const c_char) -> Result<&'a CStr> {
    if ptr.is_null() {
        return Err(EFAULT);
    }
    // SAFETY: non-null, NUL-terminated by the caller's contract.
    Ok(unsafe { CStr::from_ptr(ptr) })
}

/// A byte buffer from C; `EFAULT` for a null pointer with a non-zero length.
///
/// # Safety
/// A non-null `ptr` must be valid for reads of `len` bytes while the slice is used.
pub unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(EFAULT);
    }
    // SAFETY: valid for `len` bytes by the caller's contract.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// A writable byte buffer from C; `EFAULT` for a null pointer with a non-zero length.
///
/// # Safety
/// A non-null `ptr` must be valid for writes of `len` bytes while the slice is used.
pub unsafe fn bytes_mut<'a>(ptr: *mut u8, len: usize) -> Result<&'a mut [u8]> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(EFAULT);
    }
    // SAFETY: valid for `len` bytes by the caller's contract.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

/// A writable object from C; `EFAULT` for a null pointer.
///
/// # Safety
/// A non-null `ptr` must be valid and aligned for writes of `T`.
pub unsafe fn out<'a, T>(ptr: *mut T) -> Result<&'a mut T> {
    // SAFETY: by the caller's contract.
    unsafe { ptr.as_mut() }.ok_or(EFAULT)
}

/// `int` result: the value, or the negative errno.
pub fn ret_int(result: Result<i32>) -> i32 {
    result.unwrap_or_else(|e| e.neg())
}

/// `ssize_t`/`off_t` result: the value, or the negative errno.
pub fn ret_isize(result: Result<isize>) -> isize {
    result.unwrap_or_else(|e| e.neg_isize())
}
