/* ucontext.c: getcontext/setcontext/makecontext/swapcontext with the original's ucontext_t layout. */
/*
 * A coroutine ping-pong of 1000 round trips, a context with uc_link that resumes main when
 * its function returns, arguments in registers and on the new stack, a getcontext/
 * setcontext loop, and MXCSR and the x87 control word restored by setcontext.
 * With the argument "null-link": a function whose uc_link is null returns, and the program
 * ends through exit(0) (atexit handlers run), as in the original.
 */
#include <stddef.h>
#include <stdint.h>
#include <ucontext.h>
#include <hermit/syscall.h> /* both headers together must compile */
#include "test.h"

#define ROUNDS 1000
#define STACK_SIZE (64 * 1024)

_Static_assert(offsetof(mregs_t, r15) == 0x00, "r15");
_Static_assert(offsetof(mregs_t, r9) == 0x20, "r9");
_Static_assert(offsetof(mregs_t, rdi) == 0x30, "rdi");
_Static_assert(offsetof(mregs_t, rsp) == 0x60, "rsp");
_Static_assert(offsetof(mregs_t, rip) == 0x68, "rip");
_Static_assert(offsetof(mregs_t, mxcsr) == 0x70, "mxcsr");
_Static_assert(offsetof(mregs_t, fpu_env) == 0x74, "x87 environment");
_Static_assert(offsetof(ucontext_t, uc_link) == 152, "uc_link");
_Static_assert(offsetof(ucontext_t, uc_stack) == 160, "uc_stack");
_Static_assert(sizeof(ucontext_t) == 184, "size");

static ucontext_t main_ctx, coro_ctx, linked_ctx, args_ctx;
static char coro_stack[STACK_SIZE] __attribute__((aligned(16)));
static char linked_stack[STACK_SIZE] __attribute__((aligned(16)));
static char args_stack[STACK_SIZE] __attribute__((aligned(16)));
static volatile int ping, pong;

static void coroutine(void)
{
	for (;;) {
		pong++;
		CHECK_INT(swapcontext(&coro_ctx, &main_ctx), 0);
	}
}

static volatile int linked_ran;
static void linked(int a, int b)
{
	linked_ran = a + b;
	/* returns: uc_link (main_ctx) resumes */
}

static volatile long args_sum;
static volatile int args_aligned;
static void eight_args(long a, long b, long c, long d, long e, long f, long g, long h)
{
	/* 16-byte stack alignment as after a call: a local's address proves it here. */
	long probe __attribute__((aligned(16))) = 0;
	args_aligned = ((uintptr_t)&probe % 16) == 0;
	args_sum = a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h;
}

static void last_words(void)
{
	printf("ucontext: a context without uc_link ended, exit(0) ran the atexit handlers\n");
}

static void no_link(void)
{
	printf("ucontext: running without uc_link\n");
}

static int end_through_null_link(void)
{
	static ucontext_t ctx;
	static char stack[STACK_SIZE] __attribute__((aligned(16)));
	atexit(last_words);
	CHECK_INT(getcontext(&ctx), 0);
	ctx.uc_stack.ss_sp = stack;
	ctx.uc_stack.ss_size = sizeof stack;
	ctx.uc_link = NULL;
	makecontext(&ctx, no_link, 0);
	setcontext(&ctx);
	fprintf(stderr, "setcontext returned\n");
	return 1;
}

static unsigned get_mxcsr(void)
{
	unsigned v;
	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static void set_mxcsr(unsigned v)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(v) : "memory");
}

static unsigned short get_fpucw(void)
{
	unsigned short v;
	__asm__ volatile("fnstcw %0" : "=m"(v));
	return v;
}

static void set_fpucw(unsigned short v)
{
	__asm__ volatile("fldcw %0" : : "m"(v) : "memory");
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "null-link") == 0)
		return end_through_null_link();

	/* 1. Coroutine ping-pong. */
	CHECK_INT(getcontext(&coro_ctx), 0);
	coro_ctx.uc_stack.ss_sp = coro_stack;
	coro_ctx.uc_stack.ss_size = sizeof coro_stack;
	coro_ctx.uc_link = NULL;
	makecontext(&coro_ctx, coroutine, 0);
	for (int i = 0; i < ROUNDS; i++) {
		ping++;
		CHECK_INT(swapcontext(&main_ctx, &coro_ctx), 0);
		if (pong != ping) {
			CHECK_INT(pong, ping);
			break;
		}
	}
	printf("ucontext: %d round trips between main and a coroutine\n", pong);
	CHECK_INT(pong, ROUNDS);

	/* 2. uc_link: the function returns and main_ctx resumes. */
	CHECK_INT(getcontext(&linked_ctx), 0);
	linked_ctx.uc_stack.ss_sp = linked_stack;
	linked_ctx.uc_stack.ss_size = sizeof linked_stack;
	linked_ctx.uc_link = &main_ctx;
	makecontext(&linked_ctx, (void (*)())linked, 2, 40, 2);
	CHECK_INT(swapcontext(&main_ctx, &linked_ctx), 0);
	CHECK_INT(linked_ran, 42);

	/* 3. Eight arguments: six in registers, two on the new stack. */
	CHECK_INT(getcontext(&args_ctx), 0);
	args_ctx.uc_stack.ss_sp = args_stack;
	args_ctx.uc_stack.ss_size = sizeof args_stack - 8; /* an unaligned top */
	args_ctx.uc_link = &main_ctx;
	makecontext(&args_ctx, (void (*)())eight_args, 8, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L);
	CHECK_INT(swapcontext(&main_ctx, &args_ctx), 0);
	CHECK_INT(args_sum, 1 + 4 + 9 + 16 + 25 + 36 + 49 + 64);
	CHECK(args_aligned);

	/* 4. A getcontext/setcontext loop; locals in memory survive, volatile ones count. */
	static ucontext_t loop_ctx;
	volatile int iterations = 0;
	CHECK_INT(getcontext(&loop_ctx), 0);
	iterations++;
	if (iterations < 100)
		setcontext(&loop_ctx);
	CHECK_INT(iterations, 100);

	/* 5. MXCSR and the x87 control word come back with the context. */
	unsigned mxcsr0 = get_mxcsr();
	unsigned short cw0 = get_fpucw();
	static ucontext_t fpu_ctx;
	volatile int resumed = 0;
	unsigned mxcsr_rz = (mxcsr0 & ~0x6000u) | 0x6000u; /* round toward zero */
	unsigned short cw_down = (unsigned short)((cw0 & ~0x0c00) | 0x0400); /* round down */
	set_mxcsr(mxcsr_rz);
	set_fpucw(cw_down);
	CHECK_INT(getcontext(&fpu_ctx), 0);
	if (!resumed) {
		resumed = 1;
		set_mxcsr(mxcsr0);
		set_fpucw(cw0);
		setcontext(&fpu_ctx);
		CHECK(!"setcontext returned");
	}
	CHECK_INT(get_mxcsr(), mxcsr_rz);
	CHECK_INT(get_fpucw(), cw_down);
	CHECK_INT(fpu_ctx.uc_mregs.mxcsr, mxcsr_rz);
	volatile float third = 1.0f, three = 3.0f;
	volatile float q = third / three; /* rounded toward zero under the restored MXCSR */
	set_mxcsr(mxcsr0);
	set_fpucw(cw0);
	volatile float q_nearest = third / three;
	CHECK(q < q_nearest);
	TEST_DONE();
}
