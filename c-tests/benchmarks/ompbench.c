/* ompbench: OpenMP construct overheads in the style of the EPCC syncbench (PARALLEL, FOR, BARRIER, SINGLE, CRITICAL, LOCK, REDUCTION), in microseconds. */
/*
 * usage: ompbench [outer repetitions (default 21)]
 * As in EPCC: each test times `reps` executions of a construct wrapped around a short
 * delay, the reference times `reps` delays on one thread, and the overhead is
 * (test - reference) / reps. `reps` is grown until a test takes at least 2 ms; the
 * median of the outer repetitions is reported, as omp_<construct>_<threads>t.
 * Beyond EPCC, omp_wake_<gap>_<threads>t is the time of one empty parallel region entered
 * after the team idled for <gap> (median of 41): at 1 ms libgomp's workers still spin, at
 * 20 ms they have blocked in a futex wait and their CPUs have gone idle (halted), so the
 * region pays the wake-up of an idle CPU.
 */
#include <omp.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"

#define DELAY_LENGTH 100 /* iterations of the delay loop: well under a microsecond */
#define TARGET_SECONDS 2e-3

/* The delay EPCC places inside every construct: a loop the compiler must keep. */
static void delay(int length)
{
	volatile double a = 0.0;
	for (int i = 0; i < length; i++)
		a += i;
	if (a < 0)
		printf("%f\n", a);
}

typedef void (*test_fn)(int reps);

static void reference(int reps)
{
	for (int j = 0; j < reps; j++)
		delay(DELAY_LENGTH);
}

static void test_parallel(int reps)
{
	for (int j = 0; j < reps; j++) {
#pragma omp parallel
		delay(DELAY_LENGTH);
	}
}

static void test_for(int reps)
{
	int threads = omp_get_max_threads();
#pragma omp parallel
	for (int j = 0; j < reps; j++) {
#pragma omp for
		for (int i = 0; i < threads; i++)
			delay(DELAY_LENGTH);
	}
}

static void test_barrier(int reps)
{
#pragma omp parallel
	for (int j = 0; j < reps; j++) {
		delay(DELAY_LENGTH);
#pragma omp barrier
	}
}

static void test_reduction(int reps)
{
	int sum = 0;
	for (int j = 0; j < reps; j++) {
#pragma omp parallel reduction(+ : sum)
		{
			delay(DELAY_LENGTH);
			sum += 1;
		}
	}
	if (sum != reps * omp_get_max_threads())
		fprintf(stderr, "ompbench: reduction gave %d\n", sum);
}

/* Every thread enters the critical section reps / threads times: reps delays in total. */
static void test_critical(int reps)
{
#pragma omp parallel
	{
		int mine = reps / omp_get_num_threads();
		for (int j = 0; j < mine; j++) {
#pragma omp critical
			delay(DELAY_LENGTH);
		}
	}
}

/* Every thread takes the lock reps / threads times around the delay (EPCC's LOCK). */
static omp_lock_t lock;

static void test_lock(int reps)
{
#pragma omp parallel
	{
		int mine = reps / omp_get_num_threads();
		for (int j = 0; j < mine; j++) {
			omp_set_lock(&lock);
			delay(DELAY_LENGTH);
			omp_unset_lock(&lock);
		}
	}
}

static void test_single(int reps)
{
#pragma omp parallel
	for (int j = 0; j < reps; j++) {
#pragma omp single
		delay(DELAY_LENGTH);
	}
}

static double time_once(test_fn fn, int reps)
{
	double start = bench_seconds();
	fn(reps);
	return bench_seconds() - start;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median over `outer` runs of the time per repetition, in microseconds. */
static double per_rep_us(test_fn fn, int reps, int outer)
{
	double samples[101];
	for (int i = 0; i < outer; i++)
		samples[i] = time_once(fn, reps) / reps * 1e6;
	qsort(samples, outer, sizeof samples[0], compare);
	return samples[outer / 2];
}

static void measure(const char *name, test_fn fn, int outer)
{
	int reps = 16 * omp_get_max_threads();
	fn(reps); /* warm up: threads created and spinning */
	while (time_once(fn, reps) < TARGET_SECONDS && reps < (1 << 24))
		reps *= 2;
	double test = per_rep_us(fn, reps, outer);
	double ref = per_rep_us(reference, reps, outer);
	char label[48];
	snprintf(label, sizeof label, "omp_%s_%dt", name, omp_get_max_threads());
	printf("%-10s %8d reps: %9.3f us per construct, reference %7.3f us\n", name, reps, test, ref);
	BENCH_RESULT(label, test - ref, "us");
}

/* Median time of an empty parallel region entered `gap_us` after the previous one ended. */
static void measure_wake(int gap_us)
{
	enum { N = 41 };
	double samples[N];
	volatile int sink = 0;
#pragma omp parallel
	sink++;
	for (int i = 0; i < N; i++) {
		struct timespec gap = { 0, gap_us * 1000L };
		nanosleep(&gap, NULL);
		double start = bench_seconds();
#pragma omp parallel
		sink++;
		samples[i] = (bench_seconds() - start) * 1e6;
	}
	qsort(samples, N, sizeof samples[0], compare);
	char label[48];
	snprintf(label, sizeof label, "omp_wake_%dms_%dt", gap_us / 1000, omp_get_max_threads());
	printf("wake after %d ms: %9.3f us median, %9.3f us max\n", gap_us / 1000, samples[N / 2], samples[N - 1]);
	BENCH_RESULT(label, samples[N / 2], "us");
}

int main(int argc, char **argv)
{
	int outer = argc > 1 ? atoi(argv[1]) : 21;
	if (outer < 1 || outer > 101) {
		fprintf(stderr, "usage: ompbench [outer repetitions, 1..101]\n");
		return 2;
	}
	printf("ompbench: %d threads, %d outer repetitions\n", omp_get_max_threads(), outer);
	measure("parallel", test_parallel, outer);
	measure("for", test_for, outer);
	measure("barrier", test_barrier, outer);
	measure("reduction", test_reduction, outer);
	measure("critical", test_critical, outer);
	omp_init_lock(&lock);
	measure("lock", test_lock, outer);
	omp_destroy_lock(&lock);
	measure("single", test_single, outer);
	measure_wake(1000);
	measure_wake(20000);
	return 0;
}
