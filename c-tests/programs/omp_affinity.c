/* omp_affinity: OMP_PROC_BIND, OMP_PLACES and GOMP_CPU_AFFINITY bind libgomp's threads to the vCPUs they name (sched_getcpu, omp_get_place_num, omp_get_num_places). */
/*
 * usage: omp_affinity <places> <vCPUs in place 0> <vCPU of thread 0> <vCPU of thread 1> ...
 *        omp_affinity unbound
 * With binding: omp_get_num_places() and omp_get_place_num_procs(0) must be the numbers
 * given; the team has one thread per vCPU argument, thread t runs on the t-th vCPU in every
 * sample (with yields between them), and its place (omp_get_place_num) contains that vCPU.
 * A vCPU of -1: the thread's place has several vCPUs, any of them will do.
 * "unbound": no binding variable set, so omp_get_proc_bind() is false and there are no places.
 */
#define _GNU_SOURCE
#include <omp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include "test.h"

enum { SAMPLES = 200, MAX_THREADS = 16 };

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "unbound") == 0) {
		CHECK_INT(omp_get_proc_bind(), omp_proc_bind_false);
		CHECK_INT(omp_get_num_places(), 0);
		TEST_DONE();
	}
	if (argc < 4 || argc - 3 > MAX_THREADS) {
		fprintf(stderr, "usage: omp_affinity <places> <cpus in place 0> <cpu of thread 0> ...\n");
		return 2;
	}
	int places = atoi(argv[1]), threads = argc - 3;
	int want[MAX_THREADS];
	for (int t = 0; t < threads; t++)
		want[t] = atoi(argv[3 + t]);
	CHECK(omp_get_proc_bind() != omp_proc_bind_false);
	CHECK_INT(omp_get_num_places(), places);
	CHECK_INT(omp_get_place_num_procs(0), atoi(argv[2]));
	int cpu[MAX_THREADS], place[MAX_THREADS], moved[MAX_THREADS], in_place[MAX_THREADS];
	int team = 0;
#pragma omp parallel num_threads(threads)
	{
		int t = omp_get_thread_num();
#pragma omp single
		team = omp_get_num_threads();
		cpu[t] = sched_getcpu();
		place[t] = omp_get_place_num();
		moved[t] = 0;
		for (int i = 0; i < SAMPLES; i++) {
			volatile unsigned spin = 0;
			while (spin < 20000)
				spin++;
			moved[t] += sched_getcpu() != cpu[t];
			sched_yield();
		}
		int ids[MAX_THREADS * 4];
		int n = omp_get_place_num_procs(place[t]);
		in_place[t] = 0;
		if (n > 0 && n <= MAX_THREADS * 4) {
			omp_get_place_proc_ids(place[t], ids);
			for (int i = 0; i < n; i++)
				in_place[t] |= ids[i] == cpu[t];
		}
	}
	CHECK_INT(team, threads);
	for (int t = 0; t < threads && t < team; t++) {
		printf("omp_affinity: thread %d on vCPU %d, place %d\n", t, cpu[t], place[t]);
		if (want[t] >= 0) {
			CHECK_INT(cpu[t], want[t]);
			CHECK_INT(moved[t], 0);
		}
		CHECK(in_place[t]);
	}
	TEST_DONE();
}
