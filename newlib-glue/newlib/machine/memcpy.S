/* memcpy.S (HermitCore): replaces newlib's x86_64 memcpy, whose non-temporal stores from 256 bytes on evict the copy from the cache. */
/*
 * Below 16 bytes: two overlapping moves of 8, 4 or 2 (+1) bytes. 16 to 32: two overlapping
 * 16-byte SSE moves. Up to 2 KiB: 32 bytes per iteration and an overlapping 32-byte tail.
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
