/* omp_loops.c: OpenMP worksharing loops: reductions, every schedule, collapse, nowait and ordered, checked iteration by iteration. */
#include <limits.h>
#include <omp.h>
#include <unistd.h>
#include "test.h"

#define N 10007 /* prime: no schedule divides it evenly */

static int hits[N];
static int owner[N];

/* The team size the environment asks for: OMP_NUM_THREADS, else one thread per vCPU. */
static int expected_threads(void)
{
	const char *n = getenv("OMP_NUM_THREADS");
	return n ? atoi(n) : omp_get_num_procs();
}

/* Every iteration ran exactly once; static schedules also spread them over the team (the
 * dynamic ones may legitimately leave a late thread without work). */
static void check_once(const char *schedule, int threads)
{
	int wrong = 0, first_owner = owner[0], spread = 0;
	for (int i = 0; i < N; i++) {
		wrong += hits[i] != 1;
		spread |= owner[i] != first_owner;
		hits[i] = 0;
	}
	if (wrong)
		fprintf(stderr, "schedule %s: %d iterations did not run exactly once\n", schedule, wrong);
	CHECK(wrong == 0);
	if (strncmp(schedule, "static", 6) != 0 || threads == 1)
		return;
	if (!spread)
		fprintf(stderr, "schedule %s: one thread ran all iterations\n", schedule);
	CHECK(spread);
}

#define PRAGMA(text) _Pragma(#text)
#define RUN_SCHEDULE(name, clause) \
	do { \
		PRAGMA(omp parallel for clause) \
		for (int i = 0; i < N; i++) { \
			__atomic_add_fetch(&hits[i], 1, __ATOMIC_RELAXED); \
			owner[i] = omp_get_thread_num(); \
		} \
		check_once(name, threads); \
	} while (0)

static void schedules(int threads)
{
	RUN_SCHEDULE("static", schedule(static));
	RUN_SCHEDULE("static,7", schedule(static, 7));
	RUN_SCHEDULE("dynamic", schedule(dynamic));
	RUN_SCHEDULE("dynamic,13", schedule(dynamic, 13));
	RUN_SCHEDULE("guided", schedule(guided));
	RUN_SCHEDULE("guided,5", schedule(guided, 5));
	omp_set_schedule(omp_sched_dynamic, 3);
	RUN_SCHEDULE("runtime dynamic,3", schedule(runtime));
	omp_set_schedule(omp_sched_guided, 2);
	RUN_SCHEDULE("runtime guided,2", schedule(runtime));
	omp_set_schedule(omp_sched_static, 0);
	RUN_SCHEDULE("runtime static", schedule(runtime));
	omp_set_schedule(omp_sched_auto, 0);
	RUN_SCHEDULE("runtime auto", schedule(runtime));
	omp_sched_t kind;
	int chunk;
	omp_get_schedule(&kind, &chunk);
	CHECK_INT(kind, omp_sched_auto);
}

static void reductions(void)
{
	long sum = 0;
	double dsum = 0, product = 1;
	int maximum = INT_MIN, minimum = INT_MAX, all = 1, any = 0;
	unsigned bits = 0;
#pragma omp parallel for reduction(+ : sum, dsum) reduction(* : product) reduction(max : maximum) \
	reduction(min : minimum) reduction(&& : all) reduction(| : bits) reduction(|| : any) schedule(dynamic, 64)
	for (int i = 1; i <= N; i++) {
		sum += i;
		dsum += 0.5;
		product *= (i % 100 == 0) ? 2.0 : 1.0;
		maximum = i > maximum ? i : maximum;
		minimum = i < minimum ? i : minimum;
		all = all && i > 0;
		any = any || i == 5000;
		bits |= 1u << (i % 32);
	}
	CHECK_INT(sum, (long)N * (N + 1) / 2);
	CHECK_NEAR(dsum, N * 0.5, 1e-9);
	CHECK_NEAR(product, ldexp(1.0, N / 100), 0.0);
	CHECK_INT(maximum, N);
	CHECK_INT(minimum, 1);
	CHECK(all && any);
	CHECK_INT(bits, 0xffffffffu);
}

static void collapse_and_nowait(void)
{
	static int grid[40][50];
	long total = 0;
#pragma omp parallel
	{
#pragma omp for collapse(2) schedule(static, 3) nowait
		for (int i = 0; i < 40; i++)
			for (int j = 0; j < 50; j++)
				grid[i][j] = i * 50 + j;
#pragma omp barrier
#pragma omp for reduction(+ : total)
		for (int i = 0; i < 40 * 50; i++)
			total += grid[i / 50][i % 50];
	}
	CHECK_INT(total, 1999L * 2000 / 2);
}

static void ordered(void)
{
	int sequence[200], next = 0;
#pragma omp parallel for ordered schedule(dynamic, 3)
	for (int i = 0; i < 200; i++) {
		volatile double work = i * 1.5; /* unordered part */
		(void)work;
#pragma omp ordered
		sequence[next++] = i;
	}
	int in_order = next == 200;
	for (int i = 0; i < next; i++)
		in_order &= sequence[i] == i;
	CHECK(in_order);
}

int main(void)
{
	const char *cpus = getenv("HERMIT_CPUS");
	CHECK_INT(omp_get_num_procs(), cpus ? atoi(cpus) : 1);
	CHECK_INT(omp_get_num_procs(), sysconf(_SC_NPROCESSORS_ONLN));
	int threads = expected_threads();
	CHECK_INT(omp_get_max_threads(), threads);
	int team = 0;
#pragma omp parallel
	{
#pragma omp master
		team = omp_get_num_threads();
	}
	CHECK_INT(team, threads);
	CHECK(!omp_in_parallel());

	schedules(threads);
	reductions();
	collapse_and_nowait();
	ordered();
	printf("omp_loops: %d threads on %d vCPUs\n", threads, omp_get_num_procs());
	TEST_DONE();
}
