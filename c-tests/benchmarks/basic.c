/* basic: the rows of the original HermitCore's usr/benchmarks/basic (getpid, sched_yield, thread creation, malloc, first page access), in cycles. */
/*
 * usage: basic
 * Our own program measuring what the original's `basic` prints: getpid() and sched_yield()
 * (1,000,000 calls each; the yields stop after one second), creating and joining a thread
 * (10,000 times), malloc(1 MiB) (256 times, memory the program never used) and the first write to each 4 KiB page of those
 * blocks; basic_malloc_touch_1MiB is the two together per MiB (issue 12: it must not
 * exceed native, also beside busy host loops). Natively getpid is the system call
 * (syscall(SYS_getpid)), as in the original.
 */
#ifndef __hermit__
#define _GNU_SOURCE
#include <sys/syscall.h>
#endif
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

enum { CALLS = 1000000, THREADS = 10000, BLOCKS = 256, BLOCK = 1 << 20, PAGE = 4096 };

static long my_getpid(void)
{
#ifdef __hermit__
	return getpid();
#else
	return syscall(SYS_getpid);
#endif
}

static void *started(void *arg)
{
	(void)arg;
	return (void *)(uintptr_t)bench_rdtsc();
}

static char *blocks[BLOCKS];

int main(void)
{
	volatile long sink = my_getpid();
	uint64_t start = bench_rdtsc();
	for (int i = 0; i < CALLS; i++)
		sink += my_getpid();
	BENCH_RESULT("basic_getpid", (bench_rdtsc() - start) / CALLS, "cycles");

	/* At most CALLS yields or one second: beside busy loops each native yield hands the CPU
	 * to them for a time slice, and a million of them would take an hour. */
	sched_yield();
	int yields = 0;
	double until = bench_seconds() + 1.0;
	start = bench_rdtsc();
	while (yields < CALLS && ((yields & 63) != 0 || bench_seconds() < until)) {
		sched_yield();
		yields++;
	}
	BENCH_RESULT("basic_sched_yield", (bench_rdtsc() - start) / yields, "cycles");

	uint64_t sum = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_t t;
		void *ret;
		uint64_t begin = bench_rdtsc();
		if (pthread_create(&t, NULL, started, NULL) != 0)
			return 1;
		sched_yield();
		pthread_join(t, &ret);
		(void)ret;
		sum += bench_rdtsc() - begin;
	}
	BENCH_RESULT("basic_thread_create_join", sum / THREADS, "cycles");

	start = bench_rdtsc();
	for (int i = 0; i < BLOCKS; i++)
		if (!(blocks[i] = malloc(BLOCK)))
			return 1;
	uint64_t alloc = (bench_rdtsc() - start) / BLOCKS;
	start = bench_rdtsc();
	for (int i = 0; i < BLOCKS; i++)
		for (int off = 0; off < BLOCK; off += PAGE)
			((volatile char *)blocks[i])[off] = 1;
	uint64_t touch = (bench_rdtsc() - start) / BLOCKS;
	BENCH_RESULT("basic_malloc_1MiB", alloc, "cycles");
	BENCH_RESULT("basic_first_page_access", touch / (BLOCK / PAGE), "cycles");
	BENCH_RESULT("basic_malloc_touch_1MiB", alloc + touch, "cycles");
	for (int i = 0; i < BLOCKS; i++)
		free(blocks[i]);
	return sink == 0x7fffffff;
}
