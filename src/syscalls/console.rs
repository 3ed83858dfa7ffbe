//! The kernel console: `kputs`, `kputchar` and `kprintf`. Output goes to the `.kmsg` ring and,
//! when the loader runs verbose, to its stderr.

use core::arch::global_asm;
use core::ffi::{c_char, c_int, CStr};

use crate::drivers::console;
use crate::fmt::{format_c, ArgSource, StackWriter};

/// Writes a string (without adding a newline); returns the number of bytes.
///
/// # Safety
/// `s` must be null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn kputs(s: *const c_char) -> c_int {
    if s.is_null() {
        return 0;
    }
    // SAFETY: non-null and NUL-terminated by the caller's contract.
    let bytes = unsafe { CStr::from_ptr(s) }.to_bytes();
    console::write(bytes);
    bytes.len() as c_int
}

/// Writes one character; returns it.
#[no_mangle]
pub extern "C" fn kputchar(c: c_int) -> c_int {
    console::write(&[c as u8]);
    c
}

/// Variadic arguments as the trampoline saved them: the five register arguments after the
/// format, then the caller's stack arguments.
struct VaArgs {
    regs: *const u64,
    stack: *const u64,
    index: usize,
}

impl ArgSource for VaArgs {
    fn next_int(&mut self) -> u64 {
        let i = self.index;
        self.index += 1;
        // SAFETY: the trampoline saved 5 register slots; further arguments are on the
        // caller's stack, which the C caller provided for the conversions in its format.
        unsafe {
            if i < 5 {
                self.regs.add(i).read()
            } else {
                self.stack.add(i - 5).read()
            }
        }
    }

    fn string(&mut self, ptr: u64) -> Option<&[u8]> {
        if ptr == 0 {
            return None;
        }
        // SAFETY: a `%s` argument is a NUL-terminated string by the printf contract.
        Some(unsafe { CStr::from_ptr(ptr as *const c_char) }.to_bytes())
    }
}

/// Body of `kprintf`, called by the trampoline below with the saved arguments.
extern "C" fn kprintf_impl(format: *const c_char, regs: *const u64, stack: *const u64) -> c_int {
    if format.is_null() {
        return 0;
    }
    // SAFETY: the format is NUL-terminated by the printf contract.
    let format = unsafe { CStr::from_ptr(format) }.to_bytes();
    let mut args = VaArgs { regs, stack, index: 0 };
    let mut line = StackWriter::<512>::new();
    let count = format_c(format, &mut args, &mut |bytes| {
        line.push_bytes(bytes);
    });
    console::write(line.as_bytes());
    count as c_int
}

// `int kprintf(const char *format, ...)`: C-variadic functions cannot be written in stable
// Rust, so a trampoline spills the register arguments and calls `kprintf_impl`. Floating-
// point conversions are not supported (neither were they in the original).
global_asm!(
    r#"
    .section .text.kprintf, "ax", @progbits
    .globl kprintf
    .type kprintf, @function
kprintf:
    push rbp
    mov rbp, rsp
    push r9
    push r8
    push rcx
    push rdx
    push rsi
    mov rsi, rsp
    lea rdx, [rbp + 16]
    sub rsp, 8
    call {body}
    leave
    ret
    .size kprintf, . - kprintf
"#,
    body = sym kprintf_impl,
);
