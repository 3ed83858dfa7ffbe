//! The CPL-0 trampolines: one stub per vector and the common handler.
//!
//! These are the only instructions that run at CPL 0 after boot, so they are few:
//! - #GP from CPL 3 on `in`/`out`: perform the port access for the interrupted code and
//!   resume after the 1-byte instruction (PVM hosts ignore IOPL, so every hypercall of the
//!   original port protocol arrives here);
//! - #GP from CPL 3 on `hlt`: halt with interrupts enabled until one arrives, then resume
//!   after the instruction (how an idle core sleeps); not at all if a wakeup is pending or an
//!   interrupt already arrived since the caller checked (its timer may have fired);
//! - #BP and #DB from CPL 3 while the loader's GDB stub is attached (header feature
//!   `FEATURE_DEBUG`): a `DEBUG` port exit with the trap frame on the stack, which the loader
//!   reads and may change (breakpoints, single steps); then resume as the frame says;
//! - any other exception: save the registers into this core's fault frame and resume at
//!   CPL 3 in [`super::fault::report`] on the core's fault stack; from CPL 3 with the
//!   debugger attached, a `DEBUG` exit with the same frame as for #BP comes first, so that
//!   GDB stops at the faulting instruction;
//! - a second fault on a core that is already reporting one: end the guest with the EXIT
//!   hypercall directly;
//! - `rdmsr`/`wrmsr` from CPL 3 on the local APIC or the TSC deadline: perform them (how
//!   the scheduler programs its timer and sends IPIs);
//! - `invlpg [rax]` from CPL 3: perform it; `mov cr3, rax`: reload the current CR3,
//!   whatever `rax` holds (the TLB shootdown of `super::tlb`);
//! - an external interrupt: acknowledge it (the x2APIC EOI MSR, or the xAPIC's EOI register
//!   when `apic::XAPIC_EOI_REGISTER` is set); if it interrupted CPL 3 and preemption is
//!   allowed (and it is not being single-stepped), resume the interrupted code in the CPL-3
//!   preemption trampoline (`super::preempt`), otherwise note it for later or just return
//!   (it woke a `hlt`).

use core::arch::global_asm;
use core::mem::offset_of;

use hermit_interface::hypercall::port;

use super::fault::FaultFrame;
use super::gdt::{USER_CODE64, USER_DATA};
use super::percore::PerCore;

/// IST index used by ordinary exceptions and interrupts.
pub const IST_DEFAULT: u64 = 1;
/// IST index used by NMI, double fault and machine check.
pub const IST_CRITICAL: u64 = 2;
/// IST index used by external interrupts, so that one arriving while the #GP trampoline
/// halts on behalf of CPL 3 does not overwrite the trampoline's frame on IST1.
pub const IST_INTERRUPT: u64 = 3;

/// Bytes between two vector stubs.
const STUB_SIZE: usize = 16;

extern "C" {
    static hermit_trap_stubs: u8;
}

/// Address of the stub of `vector`.
pub fn stub_address(vector: usize) -> u64 {
    let base = core::ptr::addr_of!(hermit_trap_stubs) as u64;
    base + (vector * STUB_SIZE) as u64
}

// Vector stubs, 16 bytes apart. The CPU pushes an error code for vectors 8, 10-14, 17, 21,
// 29 and 30; the other stubs push a zero so that the frame always looks the same.
global_asm!(
    r#"
    .section .text.hermit_traps, "ax", @progbits
    .macro hermit_stubs from, to, err
    .set hermit_vec, \from
    .rept \to - \from + 1
    .balign 16
    .if \err == 0
    pushq $0
    .endif
    pushq $hermit_vec
    jmp hermit_trap_common
    .set hermit_vec, hermit_vec + 1
    .endr
    .endm

    .balign 16
    .globl hermit_trap_stubs
hermit_trap_stubs:
    hermit_stubs 0, 7, 0
    hermit_stubs 8, 8, 1
    hermit_stubs 9, 9, 0
    hermit_stubs 10, 14, 1
    hermit_stubs 15, 16, 0
    hermit_stubs 17, 17, 1
    hermit_stubs 18, 20, 0
    hermit_stubs 21, 21, 1
    hermit_stubs 22, 28, 0
    hermit_stubs 29, 30, 1
    hermit_stubs 31, 255, 0
    .purgem hermit_stubs
"#,
    options(att_syntax)
);

global_asm!(
    r#"
    .section .text.hermit_traps, "ax", @progbits
    .balign 16
    // Frame: [rsp] vector, +8 error, +16 rip, +24 cs, +32 rflags, +40 rsp, +48 ss.
    // Every numeric label appears once in this block: `52f` goes to the nearest `52:`
    // ahead, so a second one would silently take the jumps meant for the first.
hermit_trap_common:
    cmp qword ptr [rsp], 13
    jne 20f
    test byte ptr [rsp + 24], 3
    jz 30f
    push rbx
    mov rbx, qword ptr [rsp + 24]
    movzx ebx, word ptr [rbx]
    cmp bl, 0xef
    je 11f
    cmp bl, 0xee
    je 12f
    cmp bl, 0xed
    je 13f
    cmp bl, 0xec
    je 14f
    cmp bl, 0xf4
    je 16f
    cmp ebx, 0x300f
    je 17f
    cmp ebx, 0x320f
    je 18f
    cmp ebx, 0x220f
    je 23f
    cmp ebx, 0x010f
    je 22f
    pop rbx
    jmp 30f
23:
    mov rbx, qword ptr [rsp + 24]
    cmp byte ptr [rbx + 2], 0xd8
    jne 24f
    mov rbx, cr3
    mov cr3, rbx
    add qword ptr [rsp + 24], 3
    pop rbx
    add rsp, 16
    iretq
22:
    mov rbx, qword ptr [rsp + 24]
    cmp byte ptr [rbx + 2], 0x38
    jne 24f
    invlpg [rax]
    add qword ptr [rsp + 24], 3
    pop rbx
    add rsp, 16
    iretq
24:
    pop rbx
    jmp 30f
11:
    out dx, eax
    jmp 15f
12:
    out dx, al
    jmp 15f
13:
    in eax, dx
    jmp 15f
14:
    in al, dx
    jmp 15f
16:
    cmp dword ptr gs:[{pc_wake_pending}], 0
    jne 15f
    cmp dword ptr gs:[{pc_preempt_pending}], 0
    jne 15f
    sti
    hlt
    cli
15:
    add qword ptr [rsp + 24], 1
    pop rbx
    test byte ptr [rsp + 33], 1
    jnz 52f
    add rsp, 16
    iretq
17:
    cmp ecx, {msr_tsc_deadline}
    je 19f
    cmp ecx, {msr_apic_base}
    je 19f
    mov ebx, ecx
    and ebx, 0xffffff00
    cmp ebx, {msr_x2apic}
    je 19f
    pop rbx
    jmp 30f
19:
    wrmsr
    jmp 27f
18:
    cmp ecx, {msr_apic_base}
    je 28f
    mov ebx, ecx
    and ebx, 0xffffff00
    cmp ebx, {msr_x2apic}
    je 28f
    pop rbx
    jmp 30f
28:
    rdmsr
27:
    add qword ptr [rsp + 24], 2
    pop rbx
    test byte ptr [rsp + 33], 1
    jnz 52f
    add rsp, 16
    iretq

    // External interrupts: acknowledge; if CPL 3 was interrupted and may be preempted, resume
    // it in the CPL-3 preemption trampoline on its own stack, below its red zone.
20:
    cmp qword ptr [rsp], 32
    jb 50f
    cmp qword ptr [rsp], {spurious_vector}
    je 21f
    inc qword ptr gs:[{pc_interrupts}]
    cmp qword ptr [rsp], {net_vector}
    jne 60f
    mov dword ptr gs:[{pc_net_irq}], 1
60:
    push rax
    push rcx
    push rdx
    mov rax, qword ptr [rip + {xapic_eoi}]
    test rax, rax
    jz 61f
    mov dword ptr [rax], 0
    jmp 62f
61:
    mov ecx, {msr_eoi}
    xor eax, eax
    xor edx, edx
    wrmsr
62:
    pop rdx
    pop rcx
    pop rax
    test byte ptr [rsp + 24], 3
    jz 29f
    cmp dword ptr gs:[{pc_preempt_count}], 0
    jne 26f
    // Code being single-stepped by the debugger (trap flag) is not preempted now: the step
    // would end in the preemption trampoline.
    test byte ptr [rsp + 33], 1
    jz 25f
26:
    mov dword ptr gs:[{pc_preempt_pending}], 1
    jmp 29f
21:
    lock inc qword ptr gs:[{pc_spurious}]
29:
    add rsp, 16
    iretq
25:
    push rax
    push rbx
    mov rax, qword ptr [rsp + 56]
    sub rax, 136
    mov rbx, qword ptr [rsp + 32]
    mov qword ptr [rax], rbx
    mov rbx, qword ptr [rsp + 48]
    mov qword ptr [rax - 8], rbx
    sub rax, 8
    mov qword ptr [rsp + 56], rax
    lea rbx, [rip + hermit_preempt_entry]
    mov qword ptr [rsp + 32], rbx
    pop rbx
    pop rax
    add rsp, 16
    iretq

    // #BP and #DB from CPL 3 while the loader's debugger is attached: a DEBUG exit with the
    // frame at RSP (saved RDX and RAX, vector, error, RIP, CS, RFLAGS, RSP, SS); the loader
    // may change it, and the interrupted code resumes as the frame says. A port access made
    // for CPL 3 with the trap flag set reports its single step here too (52), as the CPU
    // would after the instruction.
50:
    test byte ptr [rip + {features}], {feature_debug}
    jz 30f
    test byte ptr [rsp + 24], 3
    jz 30f
    cmp qword ptr [rsp], 3
    je 51f
    cmp qword ptr [rsp], 1
    jne 30f
51:
    push rax
    push rdx
    mov dx, {debug_port}
    out dx, al
    pop rdx
    pop rax
    add rsp, 16
    iretq
52:
    test byte ptr [rip + {features}], {feature_debug}
    jz 53f
    mov qword ptr [rsp], 1
    jmp 51b
53:
    add rsp, 16
    iretq

30:
    cmp dword ptr gs:[{pc_in_fault}], 0
    jne 40f
    // A fault of CPL-3 code while the debugger is attached: a DEBUG exit with the frame
    // first (the loader's stub shows GDB the faulting instruction as a signal), then the
    // report as without a debugger.
    test byte ptr [rip + {features}], {feature_debug}
    jz 31f
    test byte ptr [rsp + 24], 3
    jz 31f
    push rax
    push rdx
    mov dx, {debug_port}
    out dx, al
    pop rdx
    pop rax
31:
    mov dword ptr gs:[{pc_in_fault}], 1
    mov qword ptr gs:[{pc_scratch}], rax
    mov rax, qword ptr gs:[{pc_fault_frame}]
    mov qword ptr [rax + {f_rbx}], rbx
    mov qword ptr [rax + {f_rcx}], rcx
    mov qword ptr [rax + {f_rdx}], rdx
    mov qword ptr [rax + {f_rsi}], rsi
    mov qword ptr [rax + {f_rdi}], rdi
    mov qword ptr [rax + {f_rbp}], rbp
    mov qword ptr [rax + {f_r8}], r8
    mov qword ptr [rax + {f_r9}], r9
    mov qword ptr [rax + {f_r10}], r10
    mov qword ptr [rax + {f_r11}], r11
    mov qword ptr [rax + {f_r12}], r12
    mov qword ptr [rax + {f_r13}], r13
    mov qword ptr [rax + {f_r14}], r14
    mov qword ptr [rax + {f_r15}], r15
    mov rbx, qword ptr gs:[{pc_scratch}]
    mov qword ptr [rax + {f_rax}], rbx
    mov rbx, qword ptr [rsp]
    mov qword ptr [rax + {f_vector}], rbx
    mov rbx, qword ptr [rsp + 8]
    mov qword ptr [rax + {f_error}], rbx
    mov rbx, qword ptr [rsp + 16]
    mov qword ptr [rax + {f_rip}], rbx
    mov rbx, qword ptr [rsp + 24]
    mov qword ptr [rax + {f_cs}], rbx
    mov rbx, qword ptr [rsp + 32]
    mov qword ptr [rax + {f_rflags}], rbx
    mov rbx, qword ptr [rsp + 40]
    mov qword ptr [rax + {f_rsp}], rbx
    mov rbx, qword ptr [rsp + 48]
    mov qword ptr [rax + {f_ss}], rbx
    mov rbx, cr2
    mov qword ptr [rax + {f_cr2}], rbx
    mov rbx, qword ptr gs:[{pc_fault_stack}]
    mov qword ptr [rsp + 40], rbx
    lea rbx, [rip + hermit_fault_entry]
    mov qword ptr [rsp + 16], rbx
    mov qword ptr [rsp + 24], {user_code}
    mov qword ptr [rsp + 32], {user_rflags}
    mov qword ptr [rsp + 48], {user_data}
    add rsp, 16
    iretq

40:
    lea rax, [rip + hermit_fatal_code]
    mov dx, {exit_port}
    out dx, eax
41:
    hlt
    jmp 41b

    // CPL 3: hand the saved frame to the reporter.
hermit_fault_entry:
    and rsp, -16
    mov rdi, qword ptr gs:[{pc_fault_frame}]
    call {report}
    ud2

    .section .rodata.hermit_traps, "a", @progbits
    .balign 4
hermit_fatal_code:
    .long -14
"#,
    pc_spurious = const offset_of!(PerCore, spurious),
    pc_interrupts = const offset_of!(PerCore, interrupts),
    pc_net_irq = const offset_of!(PerCore, net_irq),
    net_vector = const hermit_interface::hypercall::port::NET_RX_VECTOR as u64,
    pc_wake_pending = const offset_of!(PerCore, wake_pending),
    pc_preempt_count = const offset_of!(PerCore, preempt_count),
    pc_preempt_pending = const offset_of!(PerCore, preempt_pending),
    spurious_vector = const super::apic::SPURIOUS_VECTOR as u64,
    msr_tsc_deadline = const super::msr::TSC_DEADLINE,
    msr_apic_base = const super::msr::APIC_BASE,
    msr_x2apic = const super::msr::X2APIC_RANGE,
    msr_eoi = const super::msr::X2APIC_EOI,
    xapic_eoi = sym super::apic::XAPIC_EOI_REGISTER,
    pc_in_fault = const offset_of!(PerCore, in_fault),
    pc_scratch = const offset_of!(PerCore, scratch),
    pc_fault_frame = const offset_of!(PerCore, fault_frame),
    pc_fault_stack = const offset_of!(PerCore, fault_stack_top),
    f_rax = const offset_of!(FaultFrame, rax),
    f_rbx = const offset_of!(FaultFrame, rbx),
    f_rcx = const offset_of!(FaultFrame, rcx),
    f_rdx = const offset_of!(FaultFrame, rdx),
    f_rsi = const offset_of!(FaultFrame, rsi),
    f_rdi = const offset_of!(FaultFrame, rdi),
    f_rbp = const offset_of!(FaultFrame, rbp),
    f_r8 = const offset_of!(FaultFrame, r8),
    f_r9 = const offset_of!(FaultFrame, r9),
    f_r10 = const offset_of!(FaultFrame, r10),
    f_r11 = const offset_of!(FaultFrame, r11),
    f_r12 = const offset_of!(FaultFrame, r12),
    f_r13 = const offset_of!(FaultFrame, r13),
    f_r14 = const offset_of!(FaultFrame, r14),
    f_r15 = const offset_of!(FaultFrame, r15),
    f_vector = const offset_of!(FaultFrame, vector),
    f_error = const offset_of!(FaultFrame, error),
    f_rip = const offset_of!(FaultFrame, rip),
    f_cs = const offset_of!(FaultFrame, cs),
    f_rflags = const offset_of!(FaultFrame, rflags),
    f_rsp = const offset_of!(FaultFrame, rsp),
    f_ss = const offset_of!(FaultFrame, ss),
    f_cr2 = const offset_of!(FaultFrame, cr2),
    user_code = const USER_CODE64 | 3,
    user_data = const USER_DATA | 3,
    user_rflags = const 0x3202u64,
    exit_port = const port::EXIT,
    debug_port = const port::DEBUG,
    features = sym crate::drivers::hypercall::FEATURES,
    feature_debug = const hermit_interface::header::FEATURE_DEBUG,
    report = sym super::fault::report,
);
