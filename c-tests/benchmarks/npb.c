/* npb: NPB-style OpenMP kernels of our own: a 3-D multigrid V-cycle (MG), a Monte Carlo with log/sqrt (EP), a pipelined SSOR sweep (LU-like). */
/*
 * usage: npb [mg|ep|ssor|all (default)]
 * Each kernel is timed REPS times after a warm-up and reported as a rate named
 * npb_<kernel>_<threads>t (higher is better) from the median time, so one host interruption
 * does not decide the result, with a check line "npb: <kernel> check ..." that must be the
 * same natively and in the unikernel for the same thread count.
 *  - MG: a Poisson problem -lap(u) = v on a periodic 128^3 grid, V-cycles down to 4^3
 *    (residual, restriction, damped-Jacobi smoothing, prolongation), as in NPB MG;
 *    the residual norm must fall by 10x, else the run fails.
 *  - EP: 2^24 uniform pairs; accepted pairs (x^2+y^2 <= 1) become Gaussian deviates with
 *    sqrt(-2 log t / t) and are counted in square annuli, as in NPB EP; batches have seeds
 *    of their own, so the counts do not depend on the thread count, and about pi/4 of
 *    the pairs must be accepted.
 *  - SSOR: forward and backward SOR sweeps over a 64^3 grid in lexicographic order, the
 *    threads pipelined plane by plane over blocks of rows with point-to-point flags (as
 *    NPB LU does), so the result is bit-identical to one thread's.
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static void *alloc(size_t bytes)
{
	void *p = NULL;
	if (posix_memalign(&p, 64, bytes) != 0) {
		fprintf(stderr, "npb: cannot allocate %zu bytes\n", bytes);
		exit(1);
	}
	return p;
}

enum { REPS = 5 };

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median of the REPS timings in seconds[] (sorted in place). */
static double median(double *seconds)
{
	qsort(seconds, REPS, sizeof *seconds, by_value);
	return seconds[REPS / 2];
}

static void result(const char *kernel, double rate, const char *unit)
{
	char name[64];
	snprintf(name, sizeof name, "npb_%s_%dt", kernel, omp_get_max_threads());
	BENCH_RESULT(name, rate, unit);
}

/* ---- MG ---- */

enum { MG_N = 128, MG_LEVELS = 6, MG_CYCLES = 8 };

#define AT(a, n, i, j, k) (a)[((size_t)(i) * (n) + (j)) * (n) + (k)]

/* r = v + lap(u) (the residual of -lap(u) = v, grid spacing 1). */
static double mg_resid(double *r, const double *u, const double *v, int n)
{
	double norm = 0;
#pragma omp parallel for reduction(+ : norm) schedule(static)
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			int im = i ? i - 1 : n - 1, ip = i + 1 < n ? i + 1 : 0;
			int jm = j ? j - 1 : n - 1, jp = j + 1 < n ? j + 1 : 0;
			for (int k = 0; k < n; k++) {
				int km = k ? k - 1 : n - 1, kp = k + 1 < n ? k + 1 : 0;
				double lap = AT(u, n, im, j, k) + AT(u, n, ip, j, k) + AT(u, n, i, jm, k) + AT(u, n, i, jp, k) +
					     AT(u, n, i, j, km) + AT(u, n, i, j, kp) - 6.0 * AT(u, n, i, j, k);
				double x = AT(v, n, i, j, k) + lap;
				AT(r, n, i, j, k) = x;
				norm += x * x;
			}
		}
	return sqrt(norm / ((double)n * n * n));
}

/* u += omega/6 * r after r = v + lap(u): one damped Jacobi step, using tmp for r. */
static void mg_smooth(double *u, const double *v, double *tmp, int n)
{
	mg_resid(tmp, u, v, n);
#pragma omp parallel for schedule(static)
	for (size_t x = 0; x < (size_t)n * n * n; x++)
		u[x] += (0.8 / 6.0) * tmp[x];
}

/* Coarse = sum of the 8 fine children / 2 (full-weighting-like restriction, h^2 scaled). */
static void mg_restrict(double *coarse, const double *fine, int nc)
{
	int nf = 2 * nc;
#pragma omp parallel for schedule(static)
	for (int i = 0; i < nc; i++)
		for (int j = 0; j < nc; j++)
			for (int k = 0; k < nc; k++) {
				double s = 0;
				for (int d = 0; d < 8; d++)
					s += AT(fine, nf, 2 * i + (d >> 2), 2 * j + ((d >> 1) & 1), 2 * k + (d & 1));
				AT(coarse, nc, i, j, k) = s * 0.5;
			}
}

/* fine += coarse parent (piecewise-constant prolongation). */
static void mg_prolong(double *fine, const double *coarse, int nc)
{
	int nf = 2 * nc;
#pragma omp parallel for schedule(static)
	for (int i = 0; i < nf; i++)
		for (int j = 0; j < nf; j++)
			for (int k = 0; k < nf; k++)
				AT(fine, nf, i, j, k) += AT(coarse, nc, i / 2, j / 2, k / 2);
}

static double *mg_u[MG_LEVELS], *mg_v[MG_LEVELS], *mg_r[MG_LEVELS];

static void mg_zero(double *a, int n)
{
#pragma omp parallel for schedule(static)
	for (size_t x = 0; x < (size_t)n * n * n; x++)
		a[x] = 0;
}

/* One V-cycle on level l (n = MG_N >> l) for -lap(u) = v. */
static void mg_vcycle(int l)
{
	int n = MG_N >> l;
	double *u = mg_u[l], *v = mg_v[l], *r = mg_r[l];
	mg_smooth(u, v, r, n);
	mg_smooth(u, v, r, n);
	if (l + 1 < MG_LEVELS) {
		mg_resid(r, u, v, n);
		mg_restrict(mg_v[l + 1], r, n / 2);
		mg_zero(mg_u[l + 1], n / 2);
		mg_vcycle(l + 1);
		mg_prolong(u, mg_u[l + 1], n / 2);
	}
	mg_smooth(u, v, r, n);
	mg_smooth(u, v, r, n);
}

static void mg(void)
{
	for (int l = 0; l < MG_LEVELS; l++) {
		size_t cells = (size_t)(MG_N >> l) * (MG_N >> l) * (MG_N >> l);
		mg_u[l] = alloc(cells * sizeof(double));
		mg_v[l] = alloc(cells * sizeof(double));
		mg_r[l] = alloc(cells * sizeof(double));
		mg_zero(mg_u[l], MG_N >> l);
		mg_zero(mg_v[l], MG_N >> l);
		mg_zero(mg_r[l], MG_N >> l);
	}
	/* NPB MG's right-hand side: +1 and -1 charges at pseudo-random points (sum zero). */
	uint64_t s = 314159265;
	for (int c = 0; c < 20; c++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		size_t at = (s >> 20) % ((size_t)MG_N * MG_N * MG_N);
		mg_v[0][at] += c < 10 ? 1.0 : -1.0;
	}
	mg_vcycle(0); /* warm-up */
	double first = 0, seconds[REPS];
	for (int rep = 0; rep < REPS; rep++) {
		mg_zero(mg_u[0], MG_N);
		first = mg_resid(mg_r[0], mg_u[0], mg_v[0], MG_N);
		double start = bench_seconds();
		for (int c = 0; c < MG_CYCLES; c++)
			mg_vcycle(0);
		seconds[rep] = bench_seconds() - start;
	}
	double last = mg_resid(mg_r[0], mg_u[0], mg_v[0], MG_N);
	printf("npb: mg check residual %.6e -> %.6e\n", first, last);
	if (!(last < first / 10)) {
		fprintf(stderr, "npb: mg did not converge\n");
		exit(1);
	}
	result("mg", (double)MG_N * MG_N * MG_N * MG_CYCLES / median(seconds) * 1e-6, "Mcells/s");
	for (int l = 0; l < MG_LEVELS; l++) {
		free(mg_u[l]);
		free(mg_v[l]);
		free(mg_r[l]);
	}
}

/* ---- EP ---- */

enum { EP_LOG2_PAIRS = 24, EP_BATCH = 1 << 14, EP_ANNULI = 10 };

static void ep_run(long batches, long counts[EP_ANNULI], double sums[2])
{
	long q[EP_ANNULI] = { 0 };
	double sx = 0, sy = 0;
#pragma omp parallel for reduction(+ : q[:EP_ANNULI], sx, sy) schedule(static)
	for (long b = 0; b < batches; b++) {
		/* splitmix64 of the batch number seeds a 64-bit LCG. */
		uint64_t z = (uint64_t)b * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
		uint64_t x = z ^ (z >> 31);
		for (int i = 0; i < EP_BATCH; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			double u1 = 2.0 * (double)(x >> 11) * 0x1p-53 - 1.0;
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			double u2 = 2.0 * (double)(x >> 11) * 0x1p-53 - 1.0;
			double t = u1 * u1 + u2 * u2;
			if (t <= 1.0 && t > 0.0) {
				double f = sqrt(-2.0 * log(t) / t);
				double gx = u1 * f, gy = u2 * f;
				int l = (int)fmax(fabs(gx), fabs(gy));
				if (l < EP_ANNULI)
					q[l]++;
				sx += gx;
				sy += gy;
			}
		}
	}
	memcpy(counts, q, sizeof q);
	sums[0] = sx;
	sums[1] = sy;
}

static void ep(void)
{
	long counts[EP_ANNULI];
	double sums[2];
	ep_run(16, counts, sums); /* warm-up */
	double seconds[REPS];
	for (int rep = 0; rep < REPS; rep++) {
		double start = bench_seconds();
		ep_run((1L << EP_LOG2_PAIRS) / EP_BATCH, counts, sums);
		seconds[rep] = bench_seconds() - start;
	}
	long accepted = 0;
	printf("npb: ep check counts");
	for (int l = 0; l < EP_ANNULI; l++) {
		printf(" %ld", counts[l]);
		accepted += counts[l];
	}
	printf(" sums %.6e %.6e\n", sums[0], sums[1]);
	double fraction = (double)accepted / (1L << EP_LOG2_PAIRS);
	if (fabs(fraction - M_PI / 4) > 1e-3) {
		fprintf(stderr, "npb: ep accepted %.6f of the pairs, not pi/4\n", fraction);
		exit(1);
	}
	result("ep", (double)(1L << EP_LOG2_PAIRS) / median(seconds) * 1e-6, "Mpairs/s");
}

/* ---- SSOR ---- */

enum { SS_N = 64, SS_SWEEPS = 30, SS_MAX_THREADS = 256 };

static double *ss_u, *ss_f;
static struct {
	volatile int plane;
	char pad[60];
} ss_done[SS_MAX_THREADS];

static inline double ss_point(int i, int j, int k)
{
	const int n = SS_N;
	double nb = AT(ss_u, n, i - 1, j, k) + AT(ss_u, n, i + 1, j, k) + AT(ss_u, n, i, j - 1, k) +
		    AT(ss_u, n, i, j + 1, k) + AT(ss_u, n, i, j, k - 1) + AT(ss_u, n, i, j, k + 1);
	double gs = (nb + AT(ss_f, n, i, j, k)) / 6.0;
	return AT(ss_u, n, i, j, k) + 1.2 * (gs - AT(ss_u, n, i, j, k));
}

static void ss_wait(int who, int plane)
{
	while (__atomic_load_n(&ss_done[who].plane, __ATOMIC_ACQUIRE) < plane)
		__builtin_ia32_pause();
}

/* Sweeps in lexicographic order (i outer planes, j rows, k inner); threads own row blocks. */
static void ss_sweeps(int sweeps)
{
#pragma omp parallel
	{
		int t = omp_get_thread_num(), nt = omp_get_num_threads();
		int rows = SS_N - 2, j0 = 1 + rows * t / nt, j1 = 1 + rows * (t + 1) / nt;
		for (int s = 0; s < sweeps; s++) {
			/* Forward: plane i of my rows needs plane i of thread t-1's rows. */
			__atomic_store_n(&ss_done[t].plane, 0, __ATOMIC_RELEASE);
#pragma omp barrier
			for (int i = 1; i < SS_N - 1; i++) {
				if (t > 0)
					ss_wait(t - 1, i);
				for (int j = j0; j < j1; j++)
					for (int k = 1; k < SS_N - 1; k++)
						AT(ss_u, SS_N, i, j, k) = ss_point(i, j, k);
				__atomic_store_n(&ss_done[t].plane, i, __ATOMIC_RELEASE);
			}
#pragma omp barrier
			/* Backward: the reverse order; plane i of my rows needs thread t+1's. */
			__atomic_store_n(&ss_done[t].plane, 0, __ATOMIC_RELEASE);
#pragma omp barrier
			for (int i = SS_N - 2; i >= 1; i--) {
				int step = SS_N - 1 - i;
				if (t < nt - 1)
					ss_wait(t + 1, step);
				for (int j = j1 - 1; j >= j0; j--)
					for (int k = SS_N - 2; k >= 1; k--)
						AT(ss_u, SS_N, i, j, k) = ss_point(i, j, k);
				__atomic_store_n(&ss_done[t].plane, step, __ATOMIC_RELEASE);
			}
#pragma omp barrier
		}
	}
}

static void ssor(void)
{
	size_t cells = (size_t)SS_N * SS_N * SS_N;
	ss_u = alloc(cells * sizeof(double));
	ss_f = alloc(cells * sizeof(double));
	for (size_t x = 0; x < cells; x++) {
		ss_u[x] = 0;
		ss_f[x] = (double)((x * 2654435761u) % 1000) * 1e-3 - 0.5;
	}
	if (omp_get_max_threads() > SS_MAX_THREADS) {
		fprintf(stderr, "npb: ssor supports at most %d threads\n", SS_MAX_THREADS);
		exit(1);
	}
	ss_sweeps(2); /* warm-up */
	double seconds[REPS];
	for (int rep = 0; rep < REPS; rep++) {
		double start = bench_seconds();
		ss_sweeps(SS_SWEEPS);
		seconds[rep] = bench_seconds() - start;
	}
	double sum = 0, sq = 0;
	for (size_t x = 0; x < cells; x++) {
		sum += ss_u[x];
		sq += ss_u[x] * ss_u[x];
	}
	printf("npb: ssor check %.15e %.15e\n", sum, sq);
	result("ssor", 2.0 * (SS_N - 2) * (SS_N - 2) * (SS_N - 2) * SS_SWEEPS / median(seconds) * 1e-6, "Mcells/s");
	free(ss_u);
	free(ss_f);
}

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "all";
	int all = strcmp(which, "all") == 0;
	if (all || strcmp(which, "mg") == 0)
		mg();
	if (all || strcmp(which, "ep") == 0)
		ep();
	if (all || strcmp(which, "ssor") == 0)
		ssor();
	return 0;
}
