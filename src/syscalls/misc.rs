//! Entropy for `getentropy`/`arc4random`.

use super::ptr::{bytes_mut, ret_isize};
use super::types::ssize_t;

/// Fills `buf` with `len` random bytes from the CPU's `rdrand` (mixed with the TSC where the
/// CPU has none). Returns `len` or `-EFAULT`. `flags` is reserved. An extension of the
/// original ABI (named as in the later Rust hermit kernel).
///
/// # Safety
/// `buf` must be valid for writes of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn sys_read_entropy(buf: *mut u8, len: usize, flags: u32) -> ssize_t {
    let _ = flags;
    // SAFETY: forwarded from the caller.
    let buf = unsafe { bytes_mut(buf, len) };
    ret_isize(buf.map(|b| {
        for chunk in b.chunks_mut(8) {
            let value = random_u64();
            chunk.copy_from_slice(&value.to_le_bytes()[..chunk.len()]);
        }
        len as isize
    }))
}

/// 64 random bits: `rdrand`, or the scrambled TSC on CPUs without it.
pub(crate) fn random_u64() -> u64 {
    // CPUID.1:ECX bit 30, as the boot check read it (`cpuid` traps to the host).
    if crate::arch::cpu::leaf1_ecx() & (1 << 30) != 0 {
        for _ in 0..10 {
            let (value, ok): (u64, u8);
            // SAFETY: the CPU has `rdrand` (checked above); it only writes the registers.
            unsafe {
                core::arch::asm!("rdrand {v}", "setc {ok}", v = out(reg) value, ok = out(reg_byte) ok, options(nomem, nostack))
            };
            if ok == 1 {
                return value;
            }
        }
    }
    let t = crate::arch::rdtsc();
    t.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29) ^ t
}
