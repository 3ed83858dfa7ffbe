/* pi: a compute-bound OpenMP kernel (pi by midpoint integration) on 1 thread and on all threads; parallel efficiency. */
/*
 * usage: pi [steps (default 400000000)]
 * Runs the integration with 1 thread and with omp_get_max_threads() threads (one per
 * vCPU unless OMP_NUM_THREADS says otherwise), best of 3 each. Efficiency is
 * t(1) / (threads * t(threads)).
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "bench.h"

static double integrate(long steps, int threads)
{
	const double width = 1.0 / steps;
	double sum = 0.0;
#pragma omp parallel for num_threads(threads) reduction(+ : sum) schedule(static)
	for (long i = 0; i < steps; i++) {
		double x = (i + 0.5) * width;
		sum += 4.0 / (1.0 + x * x);
	}
	return sum * width;
}

/* Best of 3 wall-clock times; fails the run if the result is not pi. */
static double best_time(long steps, int threads)
{
	double best = 1e30;
	for (int round = 0; round < 3; round++) {
		double start = bench_seconds();
		double pi = integrate(steps, threads);
		double elapsed = bench_seconds() - start;
		if (fabs(pi - M_PI) > 1e-8) {
			fprintf(stderr, "pi: %d threads computed %.12f\n", threads, pi);
			exit(1);
		}
		best = elapsed < best ? elapsed : best;
	}
	return best;
}

int main(int argc, char **argv)
{
	long steps = argc > 1 ? atol(argv[1]) : 400000000L;
	int threads = omp_get_max_threads();
	double one = best_time(steps, 1);
	double all = best_time(steps, threads);
	printf("pi: %ld steps, 1 thread %.3f s, %d threads %.3f s\n", steps, one, threads, all);
	char name[32];
	BENCH_RESULT("pi_1t", one, "s");
	snprintf(name, sizeof name, "pi_%dt", threads);
	BENCH_RESULT(name, all, "s");
	snprintf(name, sizeof name, "pi_efficiency_%dt", threads);
	BENCH_RESULT(name, 100.0 * one / (threads * all), "%");
	return 0;
}
