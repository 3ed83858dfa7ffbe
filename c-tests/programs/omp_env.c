/* omp_env.c: OMP_* variables from the proxy's environment reach libgomp (run with the values tests.cmake sets). */
#include <omp.h>
#include <string.h>
#include "test.h"

#define STACK_USE (700 * 1024) /* more than a thread's default 256 KiB, less than OMP_STACKSIZE=1M */

/* Touches most of a large stack frame, so that a too small thread stack faults. */
static int deep_frame(int seed)
{
	volatile char frame[STACK_USE];
	for (size_t i = 0; i < sizeof frame; i += 4096)
		frame[i] = (char)(seed + i);
	return frame[STACK_USE - 4096 * 2] + frame[0];
}

int main(void)
{
	/* tests.cmake: OMP_NUM_THREADS=3 OMP_SCHEDULE=guided,7 OMP_DYNAMIC=false
	 * OMP_MAX_ACTIVE_LEVELS=3 OMP_THREAD_LIMIT=8 OMP_STACKSIZE=1M OMP_WAIT_POLICY=passive
	 * GOMP_SPINCOUNT=1000 OMP_DISPLAY_ENV=verbose */
	CHECK_STR(getenv("OMP_NUM_THREADS"), "3");
	CHECK_INT(omp_get_max_threads(), 3);
	omp_sched_t kind;
	int chunk;
	omp_get_schedule(&kind, &chunk);
	CHECK_INT(kind, omp_sched_guided);
	CHECK_INT(chunk, 7);
	CHECK_INT(omp_get_dynamic(), 0);
	CHECK_INT(omp_get_max_active_levels(), 3);
	CHECK_INT(omp_get_thread_limit(), 8);

	int team = 0, deep = 0;
#pragma omp parallel reduction(+ : deep)
	{
#pragma omp single
		team = omp_get_num_threads();
		deep += deep_frame(omp_get_thread_num()) >= -512;
	}
	CHECK_INT(team, 3);
	CHECK_INT(deep, 3);
	TEST_DONE();
}
