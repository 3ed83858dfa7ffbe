//! Memory: `sys_sbrk`, `getpagesize`, and the CPU flags of newlib's `memcpy`/`memset` and libm.

use core::ffi::c_int;
use core::sync::atomic::AtomicU32;

use super::types::ssize_t;

/// Moves the program break by `incr` bytes and returns the old break, or `-ENOMEM` when the
/// heap would run into kernel memory (the original contract). The heap starts at the
/// original `HEAP_START`; all of it is mapped already, so the new memory never faults.
#[no_mangle]
pub extern "C" fn sys_sbrk(incr: ssize_t) -> ssize_t {
    match crate::mm::sbrk(incr as i64) {
        Ok(old) => old as ssize_t,
        Err(e) => e.neg_isize(),
    }
}

/// The page size, 4096.
#[no_mangle]
pub extern "C" fn getpagesize() -> c_int {
    crate::config::PAGE_SIZE as c_int
}

/// 1 once the kernel preserves the AVX registers across preemption (its XSAVE mask includes
/// AVX state), else 0; set at boot before `main`. newlib-glue's `memcpy` and `memset` use
/// 32-byte AVX moves only then (not with `HERMIT_CPU_HIDE=avx` or `xsave`).
#[no_mangle]
pub static sys_avx_usable: AtomicU32 = AtomicU32::new(0);

/// 1 when libm may use its FMA variants of `exp`, `exp2`, `log`, `log2`, `pow` and their
/// float versions (compiled with `-mfma -mavx2`): the kernel saves AVX state
/// ([`sys_avx_usable`]) and CPUID reports FMA and AVX2, else 0 (also with
/// `HERMIT_CPU_HIDE=avx` or `xsave`); set at boot before `main`.
#[no_mangle]
pub static sys_fma_usable: AtomicU32 = AtomicU32::new(0);
