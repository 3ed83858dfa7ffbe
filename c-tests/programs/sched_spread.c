/* sched_spread: two CPU-bound threads on two vCPUs end up on two cores (placement, and work stealing for threads created on one core) and stay there. */
/*
 * usage: sched_spread   (HERMIT_CPUS=2; the minimal reproduction of issue 12: each thread runs
 *                        the same 150M-iteration integer loop and records sched_getcpu() after
 *                        every million iterations)
 * Phase "placed": the threads are created normally. Phase "stolen": both are created pinned to
 * core 0 and, once running, allow every core: only an idle core stealing one of them can
 * separate them. In both phases, after the first fifth of the loop the two threads must be on
 * different cores and must not move again. The ratio of two-thread to one-thread wall time is
 * printed for information (the host may be loaded; the check is on the cores).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>

#include "test.h"

enum { SAMPLES = 150, STEP = 1000000, SETTLED = SAMPLES / 5 };

struct worker {
	int cpu[SAMPLES];
	uint64_t result;
	int release;
};

static volatile int go;

static uint64_t loop(uint64_t x, int *cpu)
{
	for (int s = 0; s < SAMPLES; s++) {
		for (int i = 0; i < STEP; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			x ^= x >> 29;
		}
		if (cpu)
			cpu[s] = sched_getcpu();
	}
	return x;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	if (w->release) {
		cpu_set_t all;
		CPU_ZERO(&all);
		CPU_SET(0, &all);
		CPU_SET(1, &all);
		CHECK_INT(sched_getcpu(), 0);
		CHECK_INT(sched_setaffinity(0, sizeof all, &all), 0);
	}
	while (!go)
		;
	w->result = loop(1, w->cpu);
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void phase(const char *name, int pinned_start, double one)
{
	static struct worker w[2];
	pthread_t t[2];
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	if (pinned_start) {
		cpu_set_t zero;
		CPU_ZERO(&zero);
		CPU_SET(0, &zero);
		CHECK_INT(pthread_attr_setaffinity_np(&attr, sizeof zero, &zero), 0);
	}
	memset(w, 0, sizeof w);
	w[0].release = w[1].release = pinned_start;
	go = 0;
	double start = now();
	for (int i = 0; i < 2; i++)
		CHECK_INT(pthread_create(&t[i], &attr, work, &w[i]), 0);
	go = 1;
	for (int i = 0; i < 2; i++)
		CHECK_INT(pthread_join(t[i], NULL), 0);
	double two = now() - start;
	CHECK(w[0].result == w[1].result);
	int moves = 0, shared = 0;
	for (int s = SETTLED; s < SAMPLES; s++) {
		moves += (w[0].cpu[s] != w[0].cpu[SETTLED]) + (w[1].cpu[s] != w[1].cpu[SETTLED]);
		shared += w[0].cpu[s] == w[1].cpu[s];
	}
	printf("%s: cores %d and %d (first samples %d, %d), %d moves and %d shared samples after the first fifth; "
	       "2 threads %.3f s, 1 thread %.3f s, ratio %.2f\n",
	       name, w[0].cpu[SETTLED], w[1].cpu[SETTLED], w[0].cpu[0], w[1].cpu[0], moves, shared, two, one,
	       two / one);
	CHECK(w[0].cpu[SETTLED] != w[1].cpu[SETTLED]);
	CHECK_INT(moves, 0);
	CHECK_INT(shared, 0);
}

int main(void)
{
	double start = now();
	uint64_t single = loop(1, NULL);
	double one = now() - start;
	CHECK(single != 0);
	phase("placed", 0, one);
	phase("stolen", 1, one);
	TEST_DONE();
}
