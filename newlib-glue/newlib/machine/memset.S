/* memset.S (HermitCore): replaces newlib's x86_64 memset, whose non-temporal stores from 256 bytes on evict the buffer from the cache. */
/*
 * The same size classes as memcpy.S: overlapping 8/4/2/1-byte stores below 16 bytes, two
 * overlapping 16-byte SSE stores up to 32, 32 bytes per iteration up to 2 KiB (from 128 bytes
 * with AVX state preserved, sys_avx_usable: 128 bytes per iteration in 32-byte AVX stores),
 * rep stosb above.
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
	cmp	rdx, 128
	jb	.Lsse
	cmp	dword ptr [rip + sys_avx_usable], 0
	jne	.Lavx
.Lsse:
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
.Lavx:
	vinsertf128 ymm0, ymm0, xmm0, 1
	lea	r9, [rdi + rdx - 128]
	vmovdqu	[r9], ymm0
	vmovdqu	[r9 + 32], ymm0
	vmovdqu	[r9 + 64], ymm0
	vmovdqu	[r9 + 96], ymm0
	mov	r8, rdi
	.p2align 4
.Lavxloop:
	vmovdqu	[r8], ymm0
	vmovdqu	[r8 + 32], ymm0
	vmovdqu	[r8 + 64], ymm0
	vmovdqu	[r8 + 96], ymm0
	sub	r8, -128
	cmp	r8, r9
	jb	.Lavxloop
	vzeroupper
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
