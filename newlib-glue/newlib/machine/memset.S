/* memset.S (HermitCore): replaces newlib's x86_64 memset, whose non-temporal stores from 256 bytes on evict the buffer from the cache. */
/*
 * The same size classes as memcpy.S: overlapping 8/4/2/1-byte stores below 16 bytes, two
 * overlapping 16-byte SSE stores up to 32, 32 bytes per iteration up to 2 KiB, rep stosb above.
 */
	.intel_syntax noprefix
	.text
	.globl memset
	.type memset, @function
	.p2align 4
memset:
	mov	rax, rdi
	movzx	ecx, sil
	movabs	r8, 0x0101010101010101
	imul	rcx, r8
	cmp	rdx, 16
	jb	.Lsmall
	movq	xmm0, rcx
	punpcklqdq xmm0, xmm0
	cmp	rdx, 32
	ja	.Lover32
	movdqu	[rdi], xmm0
	movdqu	[rdi + rdx - 16], xmm0
	ret
.Lover32:
	cmp	rdx, 2048
	ja	.Llarge
	movdqu	[rdi + rdx - 32], xmm0
	movdqu	[rdi + rdx - 16], xmm0
	lea	r9, [rdx - 32]
	xor	r8d, r8d
	.p2align 4
.Lloop:
	movdqu	[rdi + r8], xmm0
	movdqu	[rdi + r8 + 16], xmm0
	add	r8, 32
	cmp	r8, r9
	jb	.Lloop
	ret
.Llarge:
	mov	r9, rdi
	mov	eax, esi
	mov	rcx, rdx
	rep	stosb
	mov	rax, r9
	ret
.Lsmall:
	cmp	edx, 8
	jb	.L4
	mov	[rdi], rcx
	mov	[rdi + rdx - 8], rcx
	ret
.L4:
	cmp	edx, 4
	jb	.L2
	mov	[rdi], ecx
	mov	[rdi + rdx - 4], ecx
	ret
.L2:
	test	edx, edx
	jz	.Lret
	mov	[rdi], cl
	cmp	edx, 2
	jb	.Lret
	mov	[rdi + rdx - 2], cx
.Lret:
	ret
	.size memset, . - memset
	.section .note.GNU-stack, "", @progbits
