/* stream: memory bandwidth in the STREAM style (Copy, Scale, Add, Triad), OpenMP, best of N runs in MB/s. */
/*
 * usage: stream [elements per array (default 14000000)] [runs (default 20)]
 * Three arrays of doubles, touched first by the threads that later use them (static
 * schedule); each kernel's best run over all runs counts. Results are named
 * stream_<kernel>_<threads>t. The final array contents are checked against the same
 * arithmetic done on scalars; a mismatch fails the run.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "bench.h"

enum { COPY, SCALE, ADD, TRIAD, KERNELS };
static const char *const names[KERNELS] = {"copy", "scale", "add", "triad"};
static const int arrays_moved[KERNELS] = {2, 2, 3, 3}; /* reads + writes per element */

static double *new_array(long n)
{
	void *p = NULL;
	if (posix_memalign(&p, 64, (size_t)n * sizeof(double)) != 0) {
		fprintf(stderr, "stream: cannot allocate %ld doubles\n", n);
		exit(1);
	}
	return p;
}

/* a, b, c after `runs` rounds of the four kernels, computed on one element. */
static void expected(int runs, double scalar, double *ea, double *eb, double *ec)
{
	double a = 1.0, b = 2.0, c = 0.0;
	a *= 2.0; /* the timing-resolution pass of init() */
	for (int r = 0; r < runs; r++) {
		c = a;
		b = scalar * c;
		c = a + b;
		a = b + scalar * c;
	}
	*ea = a, *eb = b, *ec = c;
}

static int valid(const double *x, long n, double want, const char *name)
{
	double error = 0;
#pragma omp parallel for reduction(+ : error) schedule(static)
	for (long j = 0; j < n; j++)
		error += fabs(x[j] - want);
	error /= n;
	if (error > 1e-13 * fabs(want)) {
		fprintf(stderr, "stream: array %s is wrong: average error %g, expected %g\n", name, error, want);
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 14000000;
	int runs = argc > 2 ? atoi(argv[2]) : 20;
	if (n < 1000 || runs < 2) {
		fprintf(stderr, "usage: stream [elements >= 1000] [runs >= 2]\n");
		return 2;
	}
	const double scalar = 3.0;
	double *a = new_array(n), *b = new_array(n), *c = new_array(n);
#pragma omp parallel for schedule(static)
	for (long j = 0; j < n; j++) {
		a[j] = 1.0;
		b[j] = 2.0;
		c[j] = 0.0;
	}
#pragma omp parallel for schedule(static)
	for (long j = 0; j < n; j++)
		a[j] = 2.0 * a[j];

	double best[KERNELS];
	for (int k = 0; k < KERNELS; k++)
		best[k] = 1e30;
	for (int r = 0; r < runs; r++) {
		double t[KERNELS + 1];
		t[0] = bench_seconds();
#pragma omp parallel for schedule(static)
		for (long j = 0; j < n; j++)
			c[j] = a[j];
		t[1] = bench_seconds();
#pragma omp parallel for schedule(static)
		for (long j = 0; j < n; j++)
			b[j] = scalar * c[j];
		t[2] = bench_seconds();
#pragma omp parallel for schedule(static)
		for (long j = 0; j < n; j++)
			c[j] = a[j] + b[j];
		t[3] = bench_seconds();
#pragma omp parallel for schedule(static)
		for (long j = 0; j < n; j++)
			a[j] = b[j] + scalar * c[j];
		t[4] = bench_seconds();
		for (int k = 0; k < KERNELS; k++)
			if (r > 0 && t[k + 1] - t[k] < best[k]) /* the first run warms up */
				best[k] = t[k + 1] - t[k];
	}

	double ea, eb, ec;
	expected(runs, scalar, &ea, &eb, &ec);
	if (!valid(a, n, ea, "a") || !valid(b, n, eb, "b") || !valid(c, n, ec, "c"))
		return 1;
	int threads = omp_get_max_threads();
	printf("stream: %ld doubles per array (%.1f MiB), %d runs, %d threads\n", n,
	       n * sizeof(double) / 1048576.0, runs, threads);
	for (int k = 0; k < KERNELS; k++) {
		char name[40];
		snprintf(name, sizeof name, "stream_%s_%dt", names[k], threads);
		BENCH_RESULT(name, arrays_moved[k] * sizeof(double) * (double)n / best[k] / 1e6, "MB/s");
	}
	free(a);
	free(b);
	free(c);
	return 0;
}
