/* spin2: the issue-12 reproduction as a benchmark: wall time of two threads each running a 150M-iteration integer loop, over the time of one. */
/*
 * usage: spin2 [runs]   (HermitCore: HERMIT_CPUS=2; natively, any machine with 2+ CPUs)
 * Prints the worst and the median ratio over the runs (1.0: the threads ran in parallel;
 * 2.0: they shared a core).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "bench.h"

enum { ITERATIONS = 150000000 };

static volatile uintptr_t sink;

static void *loop(void *arg)
{
	uint64_t x = (uintptr_t)arg;
	for (int i = 0; i < ITERATIONS; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		x ^= x >> 29;
	}
	return (void *)(uintptr_t)x;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 10;
	if (runs < 1 || runs > 100)
		runs = 10;
	double ratios[100];
	for (int r = 0; r < runs; r++) {
		double start = bench_seconds();
		sink = (uintptr_t)loop((void *)1);
		double one = bench_seconds() - start;
		pthread_t t[2];
		start = bench_seconds();
		for (int i = 0; i < 2; i++)
			pthread_create(&t[i], NULL, loop, (void *)(uintptr_t)(i + 1));
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], (void **)&sink);
		ratios[r] = (bench_seconds() - start) / one;
	}
	qsort(ratios, runs, sizeof ratios[0], compare);
	BENCH_RESULT("spin2_ratio_median", ratios[runs / 2], "x one thread");
	BENCH_RESULT("spin2_ratio_worst", ratios[runs - 1], "x one thread");
	return 0;
}
