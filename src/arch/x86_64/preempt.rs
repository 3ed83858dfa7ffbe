//! The CPL-3 preemption trampoline and the voluntary context switch.
//!
//! A voluntary switch ([`switch_stack`]) is a function call, so by the SysV ABI only the
//! callee-saved registers, MXCSR's control bits, the x87 control word and the FS base need
//! saving: a thread switch costs tens of cycles and never leaves CPL 3.
//!
//! An interrupt that preempts CPL 3 is turned by the CPL-0 trampoline into a jump to
//! `hermit_preempt_entry` on the interrupted stack, 136 bytes below the interrupted stack
//! pointer (the red zone stays intact), with the interrupted RIP and RFLAGS stored there.
//! The entry saves every register and the x87/SSE/AVX/AVX-512 state (XSAVE with the mask of
//! [`super::xstate`], or FXSAVE without XSAVE), calls the scheduler, restores everything and
//! returns with `ret 128`, which also skips the red zone. PKRU and AMX tile state are not
//! saved (see [`super::xstate`]).

use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, Ordering};

use super::xstate::SavePlan;

/// Bytes reserved for an XSAVE area (0: use FXSAVE), set once at boot.
pub static XSAVE_BYTES: AtomicU64 = AtomicU64::new(0);
/// Requested-feature bitmap of the XSAVE/XRSTOR in the preemption path (EDX:EAX), set once at
/// boot: the components [`super::xstate`] manages, never all ones (which on hosts whose XCR0
/// enables AMX would write 11 KB into the area).
pub static XSAVE_MASK: AtomicU64 = AtomicU64::new(0);

/// Records how the preemption path saves the vector state.
pub fn init_xsave(plan: SavePlan) {
    let (mask, bytes) = match plan {
        SavePlan::Fxsave => (0, 0),
        SavePlan::Xsave { mask, bytes } => (mask, u64::from(bytes)),
    };
    XSAVE_MASK.store(mask, Ordering::Relaxed);
    XSAVE_BYTES.store(bytes, Ordering::Relaxed);
    let avx = u32::from(mask & super::xstate::AVX != 0);
    crate::syscalls::memory::sys_avx_usable.store(avx, Ordering::Relaxed);
}

extern "C" {
    /// Saves the running context, stores its stack pointer into `*save`, and continues the
    /// context whose stack pointer is `next`.
    pub fn hermit_switch(save: *mut u64, next: u64);
}

/// MXCSR and x87 control word of a fresh task (all exceptions masked, round to nearest).
const FPU_DEFAULTS: u64 = 0x1f80 | (0x037f << 32);

/// MXCSR while the scheduler runs after a preemption.
static MXCSR_DEFAULT: u32 = FPU_DEFAULTS as u32;

/// Words a fresh stack needs for its first [`hermit_switch`] into it.
pub const START_FRAME_WORDS: usize = 11;

/// Writes the frame that makes the first switch to `stack_top` call
/// `entry(arg)` (through `hermit_task_start`) with FS base `fs_base`. Returns the stack
/// pointer to switch to.
///
/// # Safety
/// `stack_top` must be the 16-byte-aligned top of an exclusively owned, mapped stack.
pub unsafe fn prepare_stack(stack_top: u64, entry: extern "C" fn(u64) -> !, arg: u64, fs_base: u64) -> u64 {
    let frame = (stack_top - (START_FRAME_WORDS as u64) * 8) as *mut u64;
    let words: [u64; START_FRAME_WORDS] = [
        fs_base,                               // popped into FS base
        FPU_DEFAULTS,                          // MXCSR | FCW << 32
        0,                                     // r15
        0,                                     // r14
        entry as usize as u64,                 // r13: function
        arg,                                   // r12: argument
        0,                                     // rbx
        0,                                     // rbp
        hermit_task_start as *const () as u64, // return address
        0,                                     // padding, so that the call in
        0,                                     // hermit_task_start is 16-byte aligned
    ];
    // SAFETY: the frame lies inside the caller's stack, below its top.
    unsafe { core::ptr::copy_nonoverlapping(words.as_ptr(), frame, START_FRAME_WORDS) };
    frame as u64
}

extern "C" {
    fn hermit_task_start();
}

global_asm!(
    r#"
    .section .text.hermit_switch, "ax", @progbits
    .globl hermit_switch
    .type hermit_switch, @function
hermit_switch:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    sub rsp, 8
    stmxcsr dword ptr [rsp]
    fnstcw word ptr [rsp + 4]
    rdfsbase rax
    push rax
    mov qword ptr [rdi], rsp
    mov rsp, rsi
    pop rax
    wrfsbase rax
    ldmxcsr dword ptr [rsp]
    fldcw word ptr [rsp + 4]
    add rsp, 8
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret
    .size hermit_switch, . - hermit_switch

    // First code of a new task: call entry(arg) from r13/r12.
    .globl hermit_task_start
hermit_task_start:
    mov rdi, r12
    xor ebp, ebp
    call r13
    ud2

    // Preemption: [rsp] rflags, [rsp + 8] rip, then the interrupted red zone.
    .globl hermit_preempt_entry
hermit_preempt_entry:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rbp, rsp
    mov rbx, qword ptr [rip + {xsave_bytes}]
    test rbx, rbx
    jz 2f
    sub rsp, rbx
    and rsp, -64
    xor eax, eax
    mov qword ptr [rsp + 512], rax
    mov qword ptr [rsp + 520], rax
    mov qword ptr [rsp + 528], rax
    mov qword ptr [rsp + 536], rax
    mov qword ptr [rsp + 544], rax
    mov qword ptr [rsp + 552], rax
    mov qword ptr [rsp + 560], rax
    mov qword ptr [rsp + 568], rax
    mov eax, dword ptr [rip + {xsave_mask}]
    mov edx, dword ptr [rip + {xsave_mask} + 4]
    xsave64 [rsp]
    call 4f
    mov eax, dword ptr [rip + {xsave_mask}]
    mov edx, dword ptr [rip + {xsave_mask} + 4]
    xrstor64 [rsp]
    jmp 3f
2:
    sub rsp, 512
    and rsp, -64
    fxsave64 [rsp]
    call 4f
    fxrstor64 [rsp]
3:
    mov rsp, rbp
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    popfq
    ret 128

    // With the interrupted state saved: give the scheduler (and the task it may switch to)
    // the state a function call starts with: empty x87 stack, default control words, DF
    // clear. Voluntary switches restore only the control words, so a preempted task's x87
    // registers must not stay behind for them.
4:
    fninit
    ldmxcsr dword ptr [rip + {mxcsr_default}]
    cld
    jmp {preempted}
"#,
    mxcsr_default = sym MXCSR_DEFAULT,
    xsave_bytes = sym XSAVE_BYTES,
    xsave_mask = sym XSAVE_MASK,
    preempted = sym crate::scheduler::preempted,
);
