//! The image's first pages and the CPL-0 entry: header, boot page tables, `.kmsg`, `_start`.
//!
//! Layout (`libhermit-abi.md` §6.2): `_start` at 0x800000 is a `jmp rel32` plus three `nop`s,
//! followed by the header fields at the offsets of [`KernelHeader`]; the boot PML4, PDPT, PD
//! and PT occupy image + 0x1000..0x5000 and `.kmsg` follows at image + 0x5000.
//!
//! The boot tables identity-map the first GiB with 2 MiB pages, all user-accessible, except
//! that the first 2 MiB use 4 KiB pages so that page 0 stays unmapped (null pointers fault).
//!
//! The entry runs at CPL 0, where a PVM host emulates every instruction (about 1,000 cycles
//! each), so it does only what needs CPL 0 and drops to CPL 3: load the GDT, CR3, CR0/CR4
//! and XCR0, the IDT and this core's TSS, set the GS
//! base to the core's per-core block, then `iretq` into [`super::super::super::boot`] at
//! CPL 3. The IDT entries are written afterwards from CPL 3.
//!
//! [`KernelHeader`]: hermit_interface::header::KernelHeader

use core::arch::global_asm;
use core::mem::{offset_of, size_of};

use hermit_interface::header::{default, offset};

use super::gdt::{self, Tss, GDT, TSS};
use super::idt::IDT;
use super::percore::{PerCore, PERCORE_SHIFT};
use crate::config::{BOOT_STACK_SIZE, IST_STACK_SIZE};

extern "C" {
    /// First byte of the image and of the header.
    pub static _start: u8;
    /// The kernel message ring.
    pub static kmessages: u8;
}

/// TSC value at the first instruction of the first core; exported as `boot_tsc`.
pub use crate::syscalls::time::boot_tsc;

/// A stack: an aligned byte array whose end is the initial stack pointer.
#[repr(C, align(16))]
pub struct Stack<const N: usize>(pub [u8; N]);

/// Stack the first core's Rust boot code runs on.
static mut BOOT_STACK: Stack<BOOT_STACK_SIZE> = Stack([0; BOOT_STACK_SIZE]);
/// First core's exception stack (IST1).
static mut BSP_IST1: Stack<IST_STACK_SIZE> = Stack([0; IST_STACK_SIZE]);
/// First core's NMI/double-fault/machine-check stack (IST2).
static mut BSP_IST2: Stack<IST_STACK_SIZE> = Stack([0; IST_STACK_SIZE]);
/// First core's external-interrupt stack (IST3).
static mut BSP_IST3: Stack<IST_STACK_SIZE> = Stack([0; IST_STACK_SIZE]);
/// Tiny stack for the CPL-0 entry itself; cores enter strictly one after another.
static mut ENTRY_STACK: Stack<256> = Stack([0; 256]);

/// Flags of a page-table entry that points to a lower table: present, writable, user, accessed.
const PT_TABLE: u64 = 0x27;
/// Flags of a 2 MiB leaf (accessed left clear, see [`crate::mm::pagetable::large`]).
const PT_LARGE: u64 = crate::mm::pagetable::large(0);
/// Flags of a 4 KiB leaf (accessed left clear, see [`crate::mm::pagetable::small`]).
const PT_SMALL: u64 = crate::mm::pagetable::small(0);

/// RFLAGS at CPL 3: IF and IOPL 3 (so that hardware KVM lets `out` through without a trap).
const USER_RFLAGS: u64 = 0x3202;

global_asm!(
    // ---- the header page -------------------------------------------------------------
    r#"
    .section .mboot, "awx", @progbits
    .code64
    .globl _start
    .type _start, @function
_start:
    .byte 0xe9
    .long start64 - . - 4
    .byte 0x90, 0x90, 0x90
    .org {o_base}
base: .quad 0
    .org {o_limit}
limit: .quad 0
    .org {o_cpu_freq}
cpu_freq: .long 0
    .org {o_boot_processor}
boot_processor: .long {d_boot_processor}
    .org {o_cpu_online}
cpu_online: .long 0
    .org {o_possible_cpus}
possible_cpus: .long 0
    .org {o_phy_rcce_internals}
phy_rcce_internals: .quad 0
    .org {o_current_boot_id}
current_boot_id: .long 0
    .org {o_isle}
isle: .long {d_isle}
    .org {o_image_size}
image_size: .quad 0
    .org {o_phy_isle_locks}
phy_isle_locks: .quad 0
    .org {o_heap_phy_start_address}
heap_phy_start_address: .quad 0
    .org {o_header_phy_start_address}
header_phy_start_address: .quad 0
    .org {o_heap_size}
heap_size: .long 0
    .org {o_header_size}
header_size: .long 0
    .org {o_possible_isles}
possible_isles: .long {d_possible_isles}
    .org {o_heap_start_address}
heap_start_address: .quad 0
    .org {o_header_start_address}
header_start_address: .quad 0
    .org {o_disable_x2apic}
disable_x2apic: .long {d_disable_x2apic}
    .org {o_single_kernel}
single_kernel: .long {d_single_kernel}
    .org {o_mb_info}
mb_info: .quad 0
    .org {o_hbmem_base}
hbmem_base: .quad 0
    .org {o_hbmem_size}
hbmem_size: .quad 0
    .org {o_uhyve}
uhyve: .long 0
    .org {o_uartport}
uartport: .quad 0
    .org {o_cmdline}
cmdline: .quad 0
    .org {o_cmdsize}
cmdsize: .quad 0
    .org {o_hcip}
hcip: .byte {ip0}, {ip1}, {ip2}, {ip3}
    .org {o_hcgateway}
hcgateway: .byte {gw0}, {gw1}, {gw2}, {gw3}
    .org {o_hcmask}
hcmask: .byte {nm0}, {nm1}, {nm2}, {nm3}
    .org {o_host_logical_addr}
host_logical_addr: .quad 0
    // The extension block is written by the loader, except the protocol stamp, which the
    // image carries so that a loader can refuse an image of another revision before boot.
    .org {o_kernel_stamp}
kernel_stamp: .quad {d_kernel_stamp}

    // ---- boot page tables at image + 0x1000 ------------------------------------------
    .org 0x1000
    .globl boot_pml4
boot_pml4:
    .quad boot_pdpt + {pt_table}
    .fill 511, 8, 0
boot_pdpt:
    .quad boot_pgd + {pt_table}
    .fill 511, 8, 0
boot_pgd:
    .quad boot_pgt + {pt_table}
    .set hermit_pd_index, 1
    .rept 511
    .quad (hermit_pd_index << 21) | {pt_large}
    .set hermit_pd_index, hermit_pd_index + 1
    .endr
boot_pgt:
    .quad 0
    .set hermit_pt_index, 1
    .rept 511
    .quad (hermit_pt_index << 12) | {pt_small}
    .set hermit_pt_index, hermit_pt_index + 1
    .endr

    // ---- the kernel message ring at image + 0x5000 -----------------------------------
    .section .kmsg, "aw", @progbits
    .globl kmessages
kmessages:
    .zero 4096

    // ---- the per-core template, replicated by the linker script ----------------------
    .section .percore, "aw", @nobits
    .balign 64
    .zero {percore_size}

    // ---- descriptor-table pointers ---------------------------------------------------
    .section .rodata.hermit_descriptors, "a", @progbits
    .balign 16
    .short 0
    .short 0
    .short 0
hermit_gdt_ptr:
    .short {gdt_size} - 1
    .quad {gdt}
    .balign 16
    .short 0
    .short 0
    .short 0
hermit_idt_ptr:
    .short {idt_size} - 1
    .quad {idt}

    // ---- CPL 0 entry: every core, one at a time --------------------------------------
    .section .text.hermit_entry, "ax", @progbits
start64:
    cli
    cld
    lea rsp, [rip + {entry_stack} + 256]
    mov eax, dword ptr [rip + cpu_online]
    test eax, eax
    jnz 2f
    mov qword ptr [rip + mb_info], rdx
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov qword ptr [rip + {boot_tsc}], rax
2:
    lgdt [rip + hermit_gdt_ptr]
    lea rax, [rip + 3f]
    push {kernel_code}
    push rax
    retfq
3:
    mov eax, {kernel_data}
    mov ds, eax
    mov es, eax
    mov ss, eax
    xor eax, eax
    mov fs, eax
    mov gs, eax
    lea rax, [rip + boot_pml4]
    mov cr3, rax
    mov rax, cr0
    and eax, 0x9ffffff3
    or eax, 0x22
    mov cr0, rax
    mov rax, cr4
    or eax, 0x600
    bt eax, 18
    jc 5f
    mov r8, rax
    mov eax, 7
    xor ecx, ecx
    cpuid
    bt ebx, 0
    jnc 4f
    bts r8, 16
4:
    mov eax, 1
    xor ecx, ecx
    cpuid
    bt ecx, 26
    jnc 6f
    bts r8, 18
    mov cr4, r8
    mov eax, 0xd
    xor ecx, ecx
    cpuid
    and eax, 0xe7
    xor edx, edx
    xor ecx, ecx
    xsetbv
    jmp 7f
6:
    mov rax, r8
5:
    mov cr4, rax
7:
    lidt [rip + hermit_idt_ptr]

    mov edi, dword ptr [rip + current_boot_id]
    mov esi, edi
    shl rsi, {tss_shift}
    lea rax, [rip + {tss}]
    add rsi, rax
    mov ebx, edi
    shl rbx, 4
    lea rax, [rip + {gdt}]
    lea rbx, [rax + rbx + {tss_sel0}]
    mov rax, rsi
    shl rax, 16
    mov rcx, 0xffffff0000
    and rax, rcx
    mov rcx, rsi
    shr rcx, 24
    shl rcx, 56
    or rax, rcx
    mov rcx, 0x0000890000000067
    or rax, rcx
    mov qword ptr [rbx], rax
    mov rax, rsi
    shr rax, 32
    mov qword ptr [rbx + 8], rax
    test edi, edi
    jnz 8f
    lea rax, [rip + {bsp_ist1} + {ist_size}]
    mov qword ptr [rsi + {tss_ist1}], rax
    lea rax, [rip + {bsp_ist2} + {ist_size}]
    mov qword ptr [rsi + {tss_ist2}], rax
    lea rax, [rip + {bsp_ist3} + {ist_size}]
    mov qword ptr [rsi + {tss_ist3}], rax
8:
    mov eax, edi
    shl eax, 4
    add eax, {tss_sel0}
    ltr ax

    mov eax, edi
    shl rax, {percore_shift}
    lea rdx, [rip + percore_start]
    add rax, rdx
    mov rsi, rax
    mov rdx, rax
    shr rdx, 32
    mov ecx, 0xc0000101
    wrmsr

    test edi, edi
    jnz 9f
    lea rax, [rip + {boot_stack} + {boot_stack_size}]
    jmp 10f
9:
    mov rax, qword ptr [rsi + {pc_boot_stack}]
10:
    push {user_data}
    push rax
    push {user_rflags}
    push {user_code}
    lea rax, [rip + hermit_cpl3_entry]
    push rax
    iretq

    // ---- first instructions at CPL 3 -------------------------------------------------
hermit_cpl3_entry:
    fninit
    xor ebp, ebp
    and rsp, -16
    call {rust_entry}
    ud2
"#,
    o_base = const offset::BASE,
    o_limit = const offset::LIMIT,
    o_cpu_freq = const offset::CPU_FREQ,
    o_boot_processor = const offset::BOOT_PROCESSOR,
    o_cpu_online = const offset::CPU_ONLINE,
    o_possible_cpus = const offset::POSSIBLE_CPUS,
    o_phy_rcce_internals = const offset::PHY_RCCE_INTERNALS,
    o_current_boot_id = const offset::CURRENT_BOOT_ID,
    o_isle = const offset::ISLE,
    o_image_size = const offset::IMAGE_SIZE,
    o_phy_isle_locks = const offset::PHY_ISLE_LOCKS,
    o_heap_phy_start_address = const offset::HEAP_PHY_START_ADDRESS,
    o_header_phy_start_address = const offset::HEADER_PHY_START_ADDRESS,
    o_heap_size = const offset::HEAP_SIZE,
    o_header_size = const offset::HEADER_SIZE,
    o_possible_isles = const offset::POSSIBLE_ISLES,
    o_heap_start_address = const offset::HEAP_START_ADDRESS,
    o_header_start_address = const offset::HEADER_START_ADDRESS,
    o_disable_x2apic = const offset::DISABLE_X2APIC,
    o_single_kernel = const offset::SINGLE_KERNEL,
    o_mb_info = const offset::MB_INFO,
    o_hbmem_base = const offset::HBMEM_BASE,
    o_hbmem_size = const offset::HBMEM_SIZE,
    o_uhyve = const offset::UHYVE,
    o_uartport = const offset::UARTPORT,
    o_cmdline = const offset::CMDLINE,
    o_cmdsize = const offset::CMDSIZE,
    o_hcip = const offset::HCIP,
    o_hcgateway = const offset::HCGATEWAY,
    o_hcmask = const offset::HCMASK,
    o_host_logical_addr = const offset::HOST_LOGICAL_ADDR,
    o_kernel_stamp = const offset::KERNEL_STAMP,
    d_kernel_stamp = const hermit_interface::header::KERNEL_STAMP,
    d_boot_processor = const default::BOOT_PROCESSOR,
    d_isle = const default::ISLE,
    d_possible_isles = const default::POSSIBLE_ISLES,
    d_disable_x2apic = const default::DISABLE_X2APIC,
    d_single_kernel = const default::SINGLE_KERNEL,
    ip0 = const default::HCIP[0],
    ip1 = const default::HCIP[1],
    ip2 = const default::HCIP[2],
    ip3 = const default::HCIP[3],
    gw0 = const default::HCGATEWAY[0],
    gw1 = const default::HCGATEWAY[1],
    gw2 = const default::HCGATEWAY[2],
    gw3 = const default::HCGATEWAY[3],
    nm0 = const default::HCMASK[0],
    nm1 = const default::HCMASK[1],
    nm2 = const default::HCMASK[2],
    nm3 = const default::HCMASK[3],
    pt_table = const PT_TABLE,
    pt_large = const PT_LARGE,
    pt_small = const PT_SMALL,
    percore_size = const size_of::<PerCore>(),
    percore_shift = const PERCORE_SHIFT,
    gdt = sym GDT,
    gdt_size = const size_of::<gdt::Gdt>(),
    idt = sym IDT,
    idt_size = const size_of::<super::idt::Idt>(),
    entry_stack = sym ENTRY_STACK,
    boot_tsc = sym boot_tsc,
    kernel_code = const gdt::KERNEL_CODE,
    kernel_data = const gdt::KERNEL_DATA,
    user_code = const gdt::USER_CODE64 | 3,
    user_data = const gdt::USER_DATA | 3,
    user_rflags = const USER_RFLAGS,
    tss = sym TSS,
    tss_shift = const gdt::TSS_SHIFT,
    tss_sel0 = const gdt::TSS_SELECTOR_BASE,
    tss_ist1 = const offset_of!(Tss, ist1),
    tss_ist2 = const offset_of!(Tss, ist2),
    tss_ist3 = const offset_of!(Tss, ist3),
    bsp_ist1 = sym BSP_IST1,
    bsp_ist2 = sym BSP_IST2,
    bsp_ist3 = sym BSP_IST3,
    ist_size = const IST_STACK_SIZE,
    boot_stack = sym BOOT_STACK,
    boot_stack_size = const BOOT_STACK_SIZE,
    pc_boot_stack = const offset_of!(PerCore, boot_stack_top),
    rust_entry = sym crate::boot::rust_entry,
);
