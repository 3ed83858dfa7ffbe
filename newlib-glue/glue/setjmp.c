/* setjmp.c: setjmp/longjmp (replacing newlib's, whose longjmp(env, 0) made setjmp return 0 again), _setjmp/_longjmp and sigsetjmp/siglongjmp. */
/*
 * The jmp_buf layout is newlib's for x86-64 (_JBLEN 8): rbx, rbp, r12-r15, the caller's
 * stack pointer and return address. The other names are tail jumps, which keep the caller's
 * return address and stack pointer, so setjmp records the caller's context exactly. Signal
 * masks are not kept (sigprocmask reports an empty mask), so savemask changes nothing.
 */
__asm__(
	".text\n"
	".globl setjmp\n.type setjmp, @function\nsetjmp:\n"
	"\tmovq %rbx, 0(%rdi)\n"
	"\tmovq %rbp, 8(%rdi)\n"
	"\tmovq %r12, 16(%rdi)\n"
	"\tmovq %r13, 24(%rdi)\n"
	"\tmovq %r14, 32(%rdi)\n"
	"\tmovq %r15, 40(%rdi)\n"
	"\tleaq 8(%rsp), %rax\n"
	"\tmovq %rax, 48(%rdi)\n"
	"\tmovq (%rsp), %rax\n"
	"\tmovq %rax, 56(%rdi)\n"
	"\txorl %eax, %eax\n"
	"\tret\n"
	".size setjmp, .-setjmp\n"
	/* longjmp(env, 0) makes setjmp return 1 (C11 7.13.2.1). */
	".globl longjmp\n.type longjmp, @function\nlongjmp:\n"
	"\tmovl %esi, %eax\n"
	"\ttestl %eax, %eax\n"
	"\tjnz 1f\n"
	"\tmovl $1, %eax\n"
	"1:\tmovq 8(%rdi), %rbp\n"
	"\tmovq 48(%rdi), %rsp\n"
	"\tpushq 56(%rdi)\n"
	"\tmovq 0(%rdi), %rbx\n"
	"\tmovq 16(%rdi), %r12\n"
	"\tmovq 24(%rdi), %r13\n"
	"\tmovq 32(%rdi), %r14\n"
	"\tmovq 40(%rdi), %r15\n"
	"\tret\n"
	".size longjmp, .-longjmp\n"
	".globl _setjmp\n.type _setjmp, @function\n_setjmp:\n\tjmp setjmp\n.size _setjmp, .-_setjmp\n"
	".globl sigsetjmp\n.type sigsetjmp, @function\nsigsetjmp:\n\tjmp setjmp\n.size sigsetjmp, .-sigsetjmp\n"
	".globl _longjmp\n.type _longjmp, @function\n_longjmp:\n\tjmp longjmp\n.size _longjmp, .-_longjmp\n"
	".globl siglongjmp\n.type siglongjmp, @function\nsiglongjmp:\n\tjmp longjmp\n.size siglongjmp, .-siglongjmp\n");
