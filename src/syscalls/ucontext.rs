//! User contexts: `getcontext`, `setcontext`, `swapcontext`, `makecontext` (original layout).
//!
//! `ucontext_t` keeps the original's layout (libhermit-abi.md §2.1): the registers r15, r14,
//! r13, r12, r9, r8, rdi, rsi, rbp, rbx, rdx, rcx, rsp, rip at 0x00..0x68, MXCSR at 0x70, the
//! x87 environment as `fnstenv` stores it at 0x74, `uc_link` at 0x98 and `uc_stack` at 0xa0
//! (184 bytes). The original's C struct named a `fenv_t uc_fenv` at 0x78 although its code
//! stored the environment at 0x74; here the struct says where the bytes really are
//! (`uc_mregs.fpu_env`), and C code that only uses `uc_mregs`, `uc_link` and `uc_stack`, as
//! the original's callers did, sees the same offsets.
//!
//! Everything runs at CPL 3 with plain loads and stores (the original disabled interrupts).
//! Deviations from the original: `swapcontext` works (it returned `-ENOSYS`), and a function
//! started by `makecontext` that returns with a null `uc_link` ends the program through
//! `exit(0)` as the original did.

use core::arch::global_asm;
use core::ffi::{c_int, c_void};

/// `stack_t` of newlib's `<signal.h>` (the C header includes it from there).
#[allow(non_camel_case_types, reason = "the C name")]
#[repr(C)]
pub struct stack_t {
    /// Lowest address of the stack.
    pub ss_sp: *mut c_void,
    /// Flags (unused).
    pub ss_flags: c_int,
    /// Size in bytes.
    pub ss_size: usize,
}

/// Saved registers (`mregs_t`), MXCSR and x87 environment.
#[allow(non_camel_case_types, reason = "the C name")]
#[repr(C)]
pub struct mregs {
    /// r15.
    pub r15: u64,
    /// r14.
    pub r14: u64,
    /// r13.
    pub r13: u64,
    /// r12.
    pub r12: u64,
    /// r9 (sixth argument of a function started by `makecontext`).
    pub r9: u64,
    /// r8 (fifth argument).
    pub r8: u64,
    /// rdi (first argument).
    pub rdi: u64,
    /// rsi (second argument).
    pub rsi: u64,
    /// rbp.
    pub rbp: u64,
    /// rbx.
    pub rbx: u64,
    /// rdx (third argument).
    pub rdx: u64,
    /// rcx (fourth argument).
    pub rcx: u64,
    /// Stack pointer.
    pub rsp: u64,
    /// Instruction pointer.
    pub rip: u64,
    /// SSE control and status (`stmxcsr`).
    pub mxcsr: u32,
    /// x87 environment (`fnstenv`, 28 bytes: control, status and tag words, last instruction
    /// and operand).
    pub fpu_env: [u8; 28],
}

/// A user context (`ucontext_t`).
#[allow(non_camel_case_types, reason = "the C name")]
#[repr(C)]
pub struct ucontext {
    /// Registers, MXCSR and x87 environment.
    pub uc_mregs: mregs,
    /// Unused (the end of the original's `uc_fenv`).
    pub uc_reserved: u64,
    /// The context resumed when a function started by `makecontext` returns.
    pub uc_link: *mut ucontext,
    /// The stack `makecontext` runs the function on.
    pub uc_stack: stack_t,
}

const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(offset_of!(mregs, rip) == 0x68);
    assert!(offset_of!(mregs, mxcsr) == 0x70);
    assert!(offset_of!(mregs, fpu_env) == 0x74);
    assert!(offset_of!(ucontext, uc_link) == 0x98);
    assert!(offset_of!(ucontext, uc_stack) == 0xa0);
    assert!(size_of::<ucontext>() == 184);
};

// `int getcontext(ucontext_t *)`, `int setcontext(const ucontext_t *)`,
// `int swapcontext(ucontext_t *, const ucontext_t *)`: the offsets are those asserted above.
// `fnstenv` masks the x87 exceptions, so the environment is reloaded right after saving it.
// A resumed context returns 0 from the getcontext or swapcontext that saved it.
global_asm!(
    r#"
    .section .text.ucontext, "ax", @progbits
    .globl getcontext
    .type getcontext, @function
    .globl swapcontext
    .type swapcontext, @function
    .globl setcontext
    .type setcontext, @function
getcontext:
    xor esi, esi
swapcontext:
    mov [rdi + 0x00], r15
    mov [rdi + 0x08], r14
    mov [rdi + 0x10], r13
    mov [rdi + 0x18], r12
    mov [rdi + 0x20], r9
    mov [rdi + 0x28], r8
    mov [rdi + 0x30], rdi
    mov [rdi + 0x38], rsi
    mov [rdi + 0x40], rbp
    mov [rdi + 0x48], rbx
    mov [rdi + 0x50], rdx
    mov [rdi + 0x58], rcx
    lea rax, [rsp + 8]
    mov [rdi + 0x60], rax
    mov rax, [rsp]
    mov [rdi + 0x68], rax
    stmxcsr [rdi + 0x70]
    fnstenv [rdi + 0x74]
    fldenv [rdi + 0x74]
    xor eax, eax
    test rsi, rsi
    jnz 1f
    ret
1:
    mov rdi, rsi
setcontext:
    mov rax, rdi
    fldenv [rax + 0x74]
    ldmxcsr [rax + 0x70]
    mov r15, [rax + 0x00]
    mov r14, [rax + 0x08]
    mov r13, [rax + 0x10]
    mov r12, [rax + 0x18]
    mov r9, [rax + 0x20]
    mov r8, [rax + 0x28]
    mov rdi, [rax + 0x30]
    mov rsi, [rax + 0x38]
    mov rbp, [rax + 0x40]
    mov rbx, [rax + 0x48]
    mov rdx, [rax + 0x50]
    mov rcx, [rax + 0x58]
    mov rsp, [rax + 0x60]
    mov r11, [rax + 0x68]
    xor eax, eax
    jmp r11
    .size getcontext, . - getcontext
    .size swapcontext, . - swapcontext
    .size setcontext, . - setcontext

    .globl makecontext
    .type makecontext, @function
makecontext:
    push r9
    push r8
    push rcx
    mov rcx, rsp
    lea r8, [rsp + 32]
    call {setup}
    add rsp, 24
    ret
    .size makecontext, . - makecontext

    .globl hermit_startcontext
    .type hermit_startcontext, @function
hermit_startcontext:
    mov rdi, rbx
    test rdi, rdi
    jz 2f
    call setcontext
2:
    call {end}
    ud2
    .size hermit_startcontext, . - hermit_startcontext
"#,
    setup = sym makecontext_setup,
    end = sym context_ended,
);

extern "C" {
    /// The trampoline a function started by `makecontext` returns to (above).
    fn hermit_startcontext();
}

/// A function started by `makecontext` returned and its `uc_link` is null: the program ends
/// with status 0, as in the original.
extern "C" fn context_ended() -> ! {
    crate::libc::exit_program(0)
}

/// The body of `void makecontext(ucontext_t *ucp, void (*func)(), int argc, ...)`. The
/// trampoline passes the three register arguments after `argc` (`regs`: rcx, r8, r9) and
/// the caller's stack arguments (`stack`). Up to six arguments go to registers like a call,
/// the rest onto the new stack; `uc_link` is kept in rbx for the return trampoline. A null
/// `ucp` is ignored, as in the original.
///
/// # Safety
/// `ucp` is null or a context whose `uc_stack` describes writable memory large enough for
/// the arguments; `argc` integer arguments were passed.
unsafe extern "C" fn makecontext_setup(
    ucp: *mut ucontext,
    func: usize,
    argc: c_int,
    regs: *const u64,
    stack: *const u64,
) {
    // SAFETY: null or a valid context by the caller's contract.
    let Some(uc) = (unsafe { ucp.as_mut() }) else { return };
    let argc = usize::try_from(argc).unwrap_or(0);
    // SAFETY: the trampoline passes three register slots and the caller's stack arguments,
    // of which there are `argc - 3` when `argc > 3`.
    let arg = |i: usize| unsafe {
        if i < 3 {
            regs.add(i).read()
        } else {
            stack.add(i - 3).read()
        }
    };
    let on_stack = argc.saturating_sub(6);
    let (args_base, sp) =
        super::context_stack::entry_stack(uc.uc_stack.ss_sp as u64, uc.uc_stack.ss_size as u64, on_stack);
    // SAFETY: `[sp, top)` lies within `uc_stack` by the caller's contract.
    unsafe {
        (sp as *mut u64).write(hermit_startcontext as *const () as u64);
        for j in 0..on_stack {
            (args_base as *mut u64).add(j).write(arg(6 + j));
        }
    }
    let m = &mut uc.uc_mregs;
    for (i, reg) in [&mut m.rdi, &mut m.rsi, &mut m.rdx, &mut m.rcx, &mut m.r8, &mut m.r9].into_iter().enumerate() {
        if i < argc {
            *reg = arg(i);
        }
    }
    m.rip = func as u64;
    m.rsp = sp;
    m.rbx = uc.uc_link as u64;
}
