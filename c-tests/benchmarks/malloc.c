/* malloc: cycles per malloc(1 MiB) and per first write to a fresh page; threads doing malloc/free. */
/*
 * usage: malloc big      256 x malloc(1 MiB) of memory the program never used, the first write
 *                        to each 4 KiB page of it, and both together per MiB; then the same
 *                        mallocs again after freeing everything (memory the program reuses)
 *        malloc threads  128 threads, each 100,000 malloc/free pairs of small sizes, twice:
 *                        the first round (cold: stacks and heap are new) and the second
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum { BIG = 1 << 20, BIGS = 256, PAGE = 4096 };

static char *blocks[BIGS];

/* Cycles per malloc(1 MiB), 0 if one failed. */
static uint64_t alloc_all(void)
{
	uint64_t start = bench_rdtsc();
	for (int i = 0; i < BIGS; i++)
		blocks[i] = malloc(BIG);
	uint64_t cycles = (bench_rdtsc() - start) / BIGS;
	for (int i = 0; i < BIGS; i++)
		if (!blocks[i])
			return 0;
	return cycles;
}

static void big(void)
{
	uint64_t alloc = alloc_all();
	if (!alloc)
		return;
	uint64_t start = bench_rdtsc();
	for (int i = 0; i < BIGS; i++)
		for (int off = 0; off < BIG; off += PAGE)
			((volatile char *)blocks[i])[off] = 1;
	uint64_t touch = (bench_rdtsc() - start) / BIGS;
	for (int i = 0; i < BIGS; i++)
		free(blocks[i]);
	uint64_t again = alloc_all();
	if (!again)
		return;
	BENCH_RESULT("malloc_1MiB", alloc, "cycles");
	BENCH_RESULT("first_touch_page", touch / (BIG / PAGE), "cycles");
	BENCH_RESULT("malloc_touch_1MiB", alloc + touch, "cycles");
	BENCH_RESULT("malloc_1MiB_reused", again, "cycles");
}

enum { THREADS = 128, PAIRS = 100000 };

static void *churn(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	void *keep[8] = { 0 };
	for (int i = 0; i < PAIRS; i++) {
		seed = seed * 1103515245u + 12345u;
		size_t size = 16 + (seed >> 16) % 240;
		char *p = malloc(size);
		if (!p)
			return arg;
		p[0] = (char)i;
		/* Keep a few blocks alive for a while, as real programs do. */
		int slot = (seed >> 8) & 7;
		free(keep[slot]);
		keep[slot] = p;
	}
	for (int i = 0; i < 8; i++)
		free(keep[i]);
	return NULL;
}

/* Milliseconds for one round of all threads, or -1 if something failed. */
static double round_ms(void)
{
	pthread_t t[THREADS];
	double start = bench_seconds();
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)(i + 1)) != 0)
			return -1;
	int failed = 0;
	for (int i = 0; i < THREADS; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		failed |= ret != NULL;
	}
	return failed ? -1 : (bench_seconds() - start) * 1000;
}

static void threads(void)
{
	double cold = round_ms(), warm = round_ms();
	if (cold < 0 || warm < 0)
		return;
	BENCH_RESULT("malloc_free_128threads", warm, "ms");
	BENCH_RESULT("malloc_free_128thr_cold", cold, "ms");
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "threads") == 0)
		threads();
	else
		big();
	return 0;
}
