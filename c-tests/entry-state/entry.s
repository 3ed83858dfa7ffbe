/* entry.s: a minimal image that reports the register state each vCPU starts in (see check-entry-state.sh).
 *
 * Not a kernel: no header of its own (the loader fills the uhyve header fields at 0x800000),
 * uhyve's boot page tables and GDT, CPL 0 throughout. Each vCPU records, before changing any
 * register, its 16 general registers, RFLAGS, CR0, CR3, CR4, EFER, a placeholder for XCR0
 * (which cannot be read on PVM hosts, see below), the six segment selectors, the GDTR, the x87
 * control word and a placeholder for MXCSR into its own 32-quadword table, then raises cpu_online so that the loader starts the next vCPU. The boot vCPU waits until every vCPU has reported, writes all tables to fd 1 with the WRITE
 * hypercall and exits with status 0 through the EXIT hypercall.
 *
 * Table (quadwords): 0-15 rax rbx rcx rdx rsi rdi rbp rsp r8-r15, 16 rflags, 17 cr0, 18 cr3,
 * 19 cr4, 20 efer, 21 0 (XCR0 not read), 22-27 cs ds es fs gs ss, 28 gdt base, 29 gdt limit, 30 fcw,
 * 31 0 (MXCSR not read).
 */
	.intel_syntax noprefix
	.set CPU_ONLINE, 0x20
	.set POSSIBLE_CPUS, 0x24
	.set CURRENT_BOOT_ID, 0x30
	.set TABLE, 32 * 8
	.set MAX_CPUS, 4
	.set PORT_WRITE, 0x400
	.set PORT_EXIT, 0x540

	.text
	.globl _start
_start:
	jmp start
	/* The loader writes the header fields (and its extension block) up to here. */
	.org 0x400
start:
	/* Nothing before this point may change a register or a flag. */
	mov [scratch_rax], rax
	mov [scratch_rsp], rsp
	lea rsp, [stack_top]
	pushfq
	pop qword ptr [scratch_rflags]
	mov eax, [_start + CURRENT_BOOT_ID]
	and eax, MAX_CPUS - 1
	imul eax, eax, TABLE
	lea rax, [tables + rax]
	mov [rax + 1 * 8], rbx
	mov [rax + 2 * 8], rcx
	mov [rax + 3 * 8], rdx
	mov [rax + 4 * 8], rsi
	mov [rax + 5 * 8], rdi
	mov [rax + 6 * 8], rbp
	mov [rax + 8 * 8], r8
	mov [rax + 9 * 8], r9
	mov [rax + 10 * 8], r10
	mov [rax + 11 * 8], r11
	mov [rax + 12 * 8], r12
	mov [rax + 13 * 8], r13
	mov [rax + 14 * 8], r14
	mov [rax + 15 * 8], r15
	mov rdi, rax
	mov rax, [scratch_rax]
	mov [rdi + 0 * 8], rax
	mov rax, [scratch_rsp]
	mov [rdi + 7 * 8], rax
	mov rax, [scratch_rflags]
	mov [rdi + 16 * 8], rax
	mov rax, cr0
	mov [rdi + 17 * 8], rax
	mov rax, cr3
	mov [rdi + 18 * 8], rax
	mov rax, cr4
	mov [rdi + 19 * 8], rax
	mov ecx, 0xc0000080
	rdmsr
	shl rdx, 32
	or rax, rdx
	mov [rdi + 20 * 8], rax
	/* XCR0 is not reported: KVM's instruction emulator, which runs every CPL-0 instruction on
	 * PVM hosts, fails on xgetbv (and at CPL 3 a PVM guest sees the host's XCR0). */
	mov qword ptr [rdi + 21 * 8], 0
	mov ax, cs
	movzx eax, ax
	mov [rdi + 22 * 8], rax
	mov ax, ds
	movzx eax, ax
	mov [rdi + 23 * 8], rax
	mov ax, es
	movzx eax, ax
	mov [rdi + 24 * 8], rax
	mov ax, fs
	movzx eax, ax
	mov [rdi + 25 * 8], rax
	mov ax, gs
	movzx eax, ax
	mov [rdi + 26 * 8], rax
	mov ax, ss
	movzx eax, ax
	mov [rdi + 27 * 8], rax
	sgdt [gdtr]
	mov rax, [gdtr + 2]
	mov [rdi + 28 * 8], rax
	movzx eax, word ptr [gdtr]
	mov [rdi + 29 * 8], rax
	mov qword ptr [rdi + 30 * 8], 0
	fnstcw word ptr [rdi + 30 * 8]
	/* MXCSR is not reported either: the emulator has no stmxcsr. */
	mov qword ptr [rdi + 31 * 8], 0

	mov ebx, [_start + CURRENT_BOOT_ID]
	lock inc dword ptr [_start + CPU_ONLINE]
	test ebx, ebx
	jnz park
	/* The boot vCPU: wait for the others, report, exit. */
2:
	pause
	mov eax, [_start + CPU_ONLINE]
	cmp eax, [_start + POSSIBLE_CPUS]
	jb 2b
	mov eax, [_start + POSSIBLE_CPUS]
	cmp eax, MAX_CPUS
	jbe 3f
	mov eax, MAX_CPUS
3:
	imul eax, eax, TABLE
	mov [write_args + 12], rax
	lea eax, [write_args]
	mov dx, PORT_WRITE
	out dx, eax
	lea eax, [exit_status]
	mov dx, PORT_EXIT
	out dx, eax
park:
	cli
	hlt
	jmp park

	/* Page tables at image + 0x1000, where the loader looks for the kernel's boot PML4 to
	 * translate hypercall buffers (the first GiB, identity-mapped). The image itself runs on
	 * the loader's tables (CR3 = 0x10000) and never loads these. */
	.org 0x1000
boot_pml4:
	.quad boot_pdpt + 0x3
	.fill 511, 8, 0
boot_pdpt:
	.quad boot_pd + 0x3
	.fill 511, 8, 0
boot_pd:
	.set page, 0
	.rept 512
	.quad (page << 21) | 0x83
	.set page, page + 1
	.endr

	.data
	.balign 8
write_args:			/* uhyve_write_t, packed: fd, buf, len */
	.long 1
	.quad tables
	.quad 0
	.balign 8
exit_status:
	.long 0
	.balign 8
scratch_rax:
	.quad 0
scratch_rsp:
	.quad 0
scratch_rflags:
	.quad 0
gdtr:
	.fill 16, 1, 0
tables:
	.fill MAX_CPUS * TABLE, 1, 0xee
	.balign 16
stack:
	.fill 256, 1, 0
stack_top:
