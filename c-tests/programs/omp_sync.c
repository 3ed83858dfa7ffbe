/* omp_sync.c: OpenMP synchronisation: critical (named too), atomic, single, master, barrier, sections, locks, omp_get_wtime. */
#include <omp.h>
#include <time.h>
#include "test.h"

#define ROUNDS 2000

static void critical_and_atomic(int threads)
{
	long unnamed = 0, named_a = 0, named_b = 0, updates = 0;
	double real = 0;
	long long wide = 0;
	int captured_max = 0;
#pragma omp parallel
	for (int i = 0; i < ROUNDS; i++) {
#pragma omp critical
		unnamed++;
#pragma omp critical(alpha)
		named_a += 2;
#pragma omp critical(beta)
		named_b += 3;
#pragma omp atomic
		updates++;
#pragma omp atomic update
		real += 0.25;
		int mine;
#pragma omp atomic capture
		mine = captured_max++;
		(void)mine;
#pragma omp atomic
		wide += 1LL << 33;
	}
	CHECK_INT(unnamed, (long)threads * ROUNDS);
	CHECK_INT(named_a, 2L * threads * ROUNDS);
	CHECK_INT(named_b, 3L * threads * ROUNDS);
	CHECK_INT(updates, (long)threads * ROUNDS);
	CHECK_NEAR(real, 0.25 * threads * ROUNDS, 1e-9);
	CHECK_INT(captured_max, threads * ROUNDS);
	CHECK(wide == (long long)threads * ROUNDS * (1LL << 33));
}

static void single_master_barrier(int threads)
{
	int singles = 0, masters = 0, master_id = -1, broadcast = 0, late = 0;
	int *phase = calloc(omp_get_max_threads(), sizeof *phase); /* bounds the team size */
#pragma omp parallel
	{
		int me = omp_get_thread_num();
		for (int round = 0; round < 50; round++) {
#pragma omp single
			singles++;
#pragma omp master
			{
				masters++;
				master_id = omp_get_thread_num();
			}
			phase[me] = round + 1;
#pragma omp barrier
			/* After the barrier every thread has finished this round. */
			for (int t = 0; t < omp_get_num_threads(); t++)
				if (phase[t] < round + 1)
					__atomic_add_fetch(&late, 1, __ATOMIC_RELAXED);
#pragma omp barrier
		}
		int value = 0;
#pragma omp single copyprivate(value)
		value = 4242;
		if (value == 4242)
			__atomic_add_fetch(&broadcast, 1, __ATOMIC_RELAXED);
	}
	free(phase);
	CHECK_INT(singles, 50);
	CHECK_INT(masters, 50);
	CHECK_INT(master_id, 0);
	CHECK_INT(late, 0);
	CHECK_INT(broadcast, threads);
}

static void sections(void)
{
	int ran[4] = {0};
	int by[4];
#pragma omp parallel sections
	{
#pragma omp section
		{ ran[0]++; by[0] = omp_get_thread_num(); }
#pragma omp section
		{ ran[1]++; by[1] = omp_get_thread_num(); }
#pragma omp section
		{ ran[2]++; by[2] = omp_get_thread_num(); }
#pragma omp section
		{ ran[3]++; by[3] = omp_get_thread_num(); }
	}
	for (int i = 0; i < 4; i++) {
		CHECK_INT(ran[i], 1);
		CHECK(by[i] >= 0 && by[i] < omp_get_max_threads());
	}
}

static void locks(int threads)
{
	omp_lock_t lock;
	omp_nest_lock_t nest;
	long counter = 0;
	int tested = 0, depth_ok = 0;
	omp_init_lock(&lock);
	omp_init_nest_lock(&nest);
#pragma omp parallel
	{
		for (int i = 0; i < ROUNDS; i++) {
			omp_set_lock(&lock);
			counter++;
			omp_unset_lock(&lock);
		}
		while (!omp_test_lock(&lock))
			;
		tested++;
		omp_unset_lock(&lock);
		omp_set_nest_lock(&nest);
		omp_set_nest_lock(&nest);
		if (omp_test_nest_lock(&nest) == 3)
			depth_ok++;
		omp_unset_nest_lock(&nest);
		omp_unset_nest_lock(&nest);
		omp_unset_nest_lock(&nest);
	}
	omp_destroy_lock(&lock);
	omp_destroy_nest_lock(&nest);
	CHECK_INT(counter, (long)threads * ROUNDS);
	CHECK_INT(tested, threads);
	CHECK_INT(depth_ok, threads);
}

/* omp_get_wtime never goes back, in any thread, and agrees with a 20 ms sleep. */
static void wtime(void)
{
	int backwards = 0;
#pragma omp parallel
	{
		double last = omp_get_wtime();
		for (int i = 0; i < 100000; i++) {
			double now = omp_get_wtime();
			if (now < last)
				__atomic_add_fetch(&backwards, 1, __ATOMIC_RELAXED);
			last = now;
		}
	}
	CHECK_INT(backwards, 0);
	CHECK(omp_get_wtick() > 0 && omp_get_wtick() < 1e-3);
	double start = omp_get_wtime();
	struct timespec pause = {0, 20 * 1000 * 1000};
	nanosleep(&pause, NULL);
	double slept = omp_get_wtime() - start;
	CHECK(slept >= 0.019 && slept < 0.5);
}

int main(void)
{
	const char *n = getenv("OMP_NUM_THREADS");
	int threads = n ? atoi(n) : omp_get_num_procs();
	CHECK_INT(omp_get_max_threads(), threads);
	critical_and_atomic(threads);
	single_master_barrier(threads);
	sections();
	locks(threads);
	wtime();
	printf("omp_sync: %d threads\n", threads);
	TEST_DONE();
}
