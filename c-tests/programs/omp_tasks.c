/* omp_tasks.c: OpenMP explicit tasks (recursive fib with taskwait, taskgroup, depend, taskloop) and nested parallel regions. */
#include <omp.h>
#include "test.h"

static long fib_serial(int n)
{
	return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

/* Recursive fib: every call spawns two tasks and waits for them. */
static long fib(int n)
{
	if (n < 2)
		return n;
	if (n < 12)
		return fib_serial(n);
	long a, b;
#pragma omp task shared(a)
	a = fib(n - 1);
#pragma omp task shared(b)
	b = fib(n - 2);
#pragma omp taskwait
	return a + b;
}

static void tasks(int threads)
{
	long result = 0;
	int executors = 0;
	int seen[64] = {0};
#pragma omp parallel
#pragma omp single
	result = fib(27);
	CHECK_INT(result, 196418);

	/* taskgroup waits for descendants too, not only children. */
	int done = 0;
#pragma omp parallel
#pragma omp single
	{
#pragma omp taskgroup
		{
			for (int i = 0; i < 100; i++) {
#pragma omp task
				{
#pragma omp task
					__atomic_add_fetch(&done, 1, __ATOMIC_RELAXED);
					int me = omp_get_thread_num();
					if (me < 64)
						__atomic_store_n(&seen[me], 1, __ATOMIC_RELAXED);
				}
			}
		}
		CHECK_INT(done, 100);
	}
	for (int i = 0; i < 64; i++)
		executors += seen[i];
	CHECK(executors >= 1 && executors <= threads);

	/* depend: a chain of tasks runs in order. */
	int chain[10], position = 0;
#pragma omp parallel
#pragma omp single
	for (int i = 0; i < 10; i++) {
#pragma omp task depend(inout : position) firstprivate(i)
		chain[position++] = i;
	}
	int ordered = position == 10;
	for (int i = 0; i < 10; i++)
		ordered &= chain[i] == i;
	CHECK(ordered);

	long sum = 0;
#pragma omp parallel
#pragma omp single
#pragma omp taskloop reduction(+ : sum) grainsize(50)
	for (int i = 0; i < 5000; i++)
		sum += i;
	CHECK_INT(sum, 4999L * 5000 / 2);
}

static void nested(int threads)
{
	omp_set_max_active_levels(2);
	CHECK_INT(omp_get_max_active_levels(), 2);
	int inner_teams = 0, inner_threads = 0, levels_ok = 0;
#pragma omp parallel num_threads(2)
	{
		int outer = omp_get_thread_num();
#pragma omp parallel num_threads(2)
		{
			if (omp_get_level() == 2 && omp_get_active_level() == 2 &&
			    omp_get_ancestor_thread_num(1) == outer && omp_get_team_size(1) == 2)
				__atomic_add_fetch(&levels_ok, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&inner_threads, 1, __ATOMIC_RELAXED);
#pragma omp single
			__atomic_add_fetch(&inner_teams, 1, __ATOMIC_RELAXED);
		}
	}
	CHECK_INT(inner_teams, 2);
	CHECK_INT(inner_threads, 4);
	CHECK_INT(levels_ok, 4);

	/* With one active level the inner regions get one thread each. */
	omp_set_max_active_levels(1);
	int serialized = 0;
#pragma omp parallel
#pragma omp parallel
	__atomic_add_fetch(&serialized, omp_get_num_threads(), __ATOMIC_RELAXED);
	CHECK_INT(serialized, threads);
}

int main(void)
{
	const char *n = getenv("OMP_NUM_THREADS");
	int threads = n ? atoi(n) : omp_get_num_procs();
	tasks(threads);
	nested(threads);
	printf("omp_tasks: %d threads\n", threads);
	TEST_DONE();
}
