/* threads: pthread_create + pthread_join of a thread that returns at once, and parallel speed-up. */
/*
 * usage: threads create    cycles per create+join pair
 *        threads parallel  the same CPU-bound work on 1 thread and on one thread per CPU
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static void *nothing(void *arg)
{
	return arg;
}

static uint64_t create_join(void)
{
	enum { N = 2000, REPEATS = 5 };
	uint64_t best = UINT64_MAX;
	for (int r = 0; r < REPEATS; r++) {
		uint64_t start = bench_rdtsc();
		for (int i = 0; i < N; i++) {
			pthread_t t;
			void *ret;
			void *arg = (void *)(uintptr_t)(i + 1);
			if (pthread_create(&t, NULL, nothing, arg) != 0 || pthread_join(t, &ret) != 0 || ret != arg)
				return 0;
		}
		uint64_t cycles = (bench_rdtsc() - start) / N;
		best = cycles < best ? cycles : best;
	}
	return best;
}

/* A CPU-bound kernel that the compiler cannot shorten: an LCG mixed into a float sum. */
static void *work(void *arg)
{
	uint64_t x = (uintptr_t)arg | 1;
	double sum = 0;
	for (long i = 0; i < 200000000L; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		sum += (double)(x >> 40);
	}
	return (void *)(uintptr_t)(sum > 0);
}

/* Seconds to run `threads` copies of the work concurrently. */
static double run_parallel(int threads)
{
	pthread_t t[64];
	double start = bench_seconds();
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, work, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return bench_seconds() - start;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "parallel") == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		int n = cpus < 1 ? 1 : cpus > 64 ? 64 : (int)cpus;
		double one = run_parallel(1);
		double all = run_parallel(n);
		/* n times the work in `all` seconds versus once in `one` seconds. */
		BENCH_RESULT("parallel_speedup", n * one / all, "x");
		BENCH_RESULT("parallel_cpus", n, "cpus");
		return 0;
	}
	BENCH_RESULT("pthread_create_join", create_join(), "cycles");
	return 0;
}
