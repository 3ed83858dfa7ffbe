/* fault: provokes the exception named in argv[1]; the kernel must report it and end the
 * program with status 242 (-EFAULT), as the original did. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int zero;
static volatile int depth_limit = -1;
static volatile uintptr_t addresses[] = { 0, 16, 0x7fff00000000ULL };

static int recurse(int depth)
{
	volatile char frame[256];
	frame[0] = (char)depth;
	if (depth == depth_limit)
		return 0;
	return recurse(depth + 1) + frame[0];
}

/* Overflows the stack of a new thread; on several cores, the others touch their stacks
 * meanwhile (each new stack arena changes page tables and shoots down TLB entries). */
static void *overflow(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)recurse(0);
}

static void *touch(void *arg)
{
	volatile char buffer[64 << 10];
	buffer[0] = buffer[sizeof buffer - 1] = 1;
	return arg;
}

static int thread_stack(void)
{
	pthread_t helpers[16], victim;
	for (int i = 0; i < 16; i++)
		pthread_create(&helpers[i], NULL, touch, NULL);
	for (int i = 0; i < 16; i++)
		pthread_join(helpers[i], NULL);
	pthread_create(&victim, NULL, overflow, NULL);
	pthread_join(victim, NULL);
	return 102;
}

/* Writes to the first byte above the running stack's top. Called from a stack's first C
 * frame: the kernel's start frame and the few frames below it take far less than a page, and
 * every stack top is page aligned, so that byte starts the page above the local. */
static __attribute__((noinline)) int write_above_top(void)
{
	volatile char local = 1;
	volatile char *above = (volatile char *)(((uintptr_t)&local | 4095) + 1);
	printf("writing above the stack top at %p\n", (void *)above);
	fflush(stdout);
	*above = local;
	return 103;
}

static void *top_writer(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)write_above_top();
}

/* A 2 MiB frame on a 256 KiB thread stack: with -fstack-clash-protection (the driver's
 * default) the frame is probed page by page, so the first probe below the stack hits its
 * guard page; without it, memset would start writing 2 MiB below the stack pointer. */
static __attribute__((noinline)) int big_frame(int fill)
{
	char array[2 << 20];
	memset(array, fill, sizeof array);
	__asm__ volatile("" : : "r"(array) : "memory"); /* the array must exist */
	return array[fill] + array[sizeof array - 1];
}

static void *big_frame_thread(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)big_frame(rand() & 1);
}

static int run_thread(void *(*body)(void *), size_t stack_size)
{
	pthread_attr_t attr;
	pthread_t thread;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, stack_size);
	if (pthread_create(&thread, &attr, body, NULL) != 0)
		return 104;
	pthread_join(thread, NULL);
	return 102;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 100;
	fflush(stdout);
	if (strcmp(argv[1], "null") == 0)
		return *(volatile int *)addresses[0];
	if (strcmp(argv[1], "null-write") == 0)
		*(volatile int *)addresses[1] = 1;
	if (strcmp(argv[1], "stack") == 0)
		return recurse(0);
	if (strcmp(argv[1], "thread-stack") == 0)
		return thread_stack();
	if (strcmp(argv[1], "main-stack-top") == 0)
		return write_above_top();
	if (strcmp(argv[1], "thread-stack-top") == 0)
		return run_thread(top_writer, 256 << 10);
	if (strcmp(argv[1], "thread-stack-top-8m") == 0)
		return run_thread(top_writer, 8 << 20);
	if (strcmp(argv[1], "stack-clash") == 0)
		return run_thread(big_frame_thread, 256 << 10);
	if (strcmp(argv[1], "ud") == 0)
		__builtin_trap();
	if (strcmp(argv[1], "div") == 0)
		return (argc * 1000) / zero;
	if (strcmp(argv[1], "wild") == 0)
		return *(volatile int *)addresses[2];
	return 101;
}
