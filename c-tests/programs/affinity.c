/* affinity: sched_{set,get}affinity, pthread_{set,get}affinity_np, pthread_attr_{set,get}affinity_np, sched_getcpu and CPU_* macros; pinned threads never move. */
/*
 * usage: affinity <number of vCPUs>
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <unistd.h>

#include "test.h"

enum { SAMPLES = 100, STEP = 300000 };

static int ncpus;

/* Busy work with sched_getcpu() samples; returns how many samples were not on `cpu`. */
static int busy_on(int cpu)
{
	volatile uint64_t x = 1;
	int elsewhere = 0;
	for (int s = 0; s < SAMPLES; s++) {
		for (int i = 0; i < STEP; i++)
			x = x * 3 + 1;
		elsewhere += sched_getcpu() != cpu;
		if (s % 20 == 19)
			usleep(200); /* blocks: the core idles, another may try to steal */
	}
	return elsewhere;
}

static void *pinned_worker(void *arg)
{
	int cpu = (int)(intptr_t)arg;
	cpu_set_t set;
	CHECK_INT(pthread_getaffinity_np(pthread_self(), sizeof set, &set), 0);
	CHECK_INT(CPU_COUNT(&set), 1);
	CHECK(CPU_ISSET(cpu, &set));
	CHECK_INT(sched_getcpu(), cpu);
	CHECK_INT(busy_on(cpu), 0);
	return NULL;
}

static void *inherit_worker(void *arg)
{
	int cpu = (int)(intptr_t)arg;
	cpu_set_t set;
	CHECK_INT(sched_getaffinity(0, sizeof set, &set), 0);
	CHECK_INT(CPU_COUNT(&set), 1);
	CHECK(CPU_ISSET(cpu, &set));
	CHECK_INT(sched_getcpu(), cpu);
	return NULL;
}

static volatile int moved_to = -1, stop;

static void *movable_worker(void *arg)
{
	(void)arg;
	volatile uint64_t x = 1;
	/* Busy (never blocks or yields): only an interruption can move it. */
	for (long i = 0; !stop && i < 4000000000l; i++) {
		x = x * 3 + 1;
		if ((i & 0xffff) == 0 && sched_getcpu() == 1) {
			moved_to = 1;
			break;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	ncpus = argc > 1 ? atoi(argv[1]) : 1;
	int last = ncpus - 1;
	cpu_set_t set, one, empty, absent;

	/* Everything by default; the caller runs on one of the cores. */
	CHECK_INT(sched_getaffinity(0, sizeof set, &set), 0);
	CHECK_INT(CPU_COUNT(&set), ncpus);
	for (int i = 0; i < ncpus; i++)
		CHECK(CPU_ISSET(i, &set));
	CHECK(!CPU_ISSET(ncpus, &set));
	CHECK(sched_getcpu() >= 0 && sched_getcpu() < ncpus);

	/* Errors: no existing core, an unknown task, a buffer too small, null pointers. */
	CPU_ZERO(&empty);
	CHECK_INT(sched_setaffinity(0, sizeof empty, &empty), -1);
	CHECK_INT(errno, EINVAL);
	CPU_ZERO(&absent);
	CPU_SET(ncpus, &absent);
	CHECK_INT(sched_setaffinity(0, sizeof absent, &absent), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(sched_getaffinity(0, 0, &set), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(sched_getaffinity(99999, sizeof set, &set), -1);
	CHECK_INT(errno, ESRCH);
	CHECK_INT(pthread_setaffinity_np(pthread_self(), sizeof empty, &empty), EINVAL);
	CHECK_INT(pthread_getaffinity_np(pthread_self(), sizeof set, NULL), EINVAL);
	/* A small set works when it covers the cores (8 bits here). */
	unsigned char small = 0;
	CHECK_INT(sched_getaffinity(0, 1, (cpu_set_t *)&small), 0);
	CHECK_INT(small, (1 << ncpus) - 1);

	/* Pin the caller to the last core: it moves there at once and stays. */
	CPU_ZERO(&one);
	CPU_SET(last, &one);
	CHECK_INT(sched_setaffinity(0, sizeof one, &one), 0);
	CHECK_INT(sched_getcpu(), last);
	CHECK_INT(sched_getaffinity(0, sizeof set, &set), 0);
	CHECK(CPU_EQUAL(&set, &one));
	int away = 0;
	for (int i = 0; i < 2000; i++) {
		sched_yield();
		if (i % 100 == 0)
			usleep(100);
		away += sched_getcpu() != last;
	}
	CHECK_INT(away, 0);

	/* A thread inherits its creator's set. */
	pthread_t t[2];
	CHECK_INT(pthread_create(&t[0], NULL, inherit_worker, (void *)(intptr_t)last), 0);
	CHECK_INT(pthread_join(t[0], NULL), 0);

	/* Back to every core. */
	CPU_ZERO(&set);
	for (int i = 0; i < ncpus; i++)
		CPU_SET(i, &set);
	CHECK_INT(pthread_setaffinity_np(pthread_self(), sizeof set, &set), 0);
	CHECK_INT(pthread_getaffinity_np(pthread_self(), sizeof one, &one), 0);
	CHECK_INT(CPU_COUNT(&one), ncpus);

	/* Attributes: every core unless set; a set is read back; an empty set is refused. */
	pthread_attr_t attr;
	CHECK_INT(pthread_attr_init(&attr), 0);
	CHECK_INT(pthread_attr_getaffinity_np(&attr, sizeof one, &one), 0);
	CHECK_INT(CPU_COUNT(&one), ncpus);
	CHECK_INT(pthread_attr_setaffinity_np(&attr, sizeof empty, &empty), EINVAL);
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	CHECK_INT(pthread_attr_setaffinity_np(&attr, sizeof one, &one), 0);
	CHECK_INT(pthread_attr_getaffinity_np(&attr, sizeof set, &set), 0);
	CHECK(CPU_EQUAL(&set, &one));

	/* Two busy threads pinned to core 0 share it while the other cores idle: they never move. */
	for (int i = 0; i < 2; i++)
		CHECK_INT(pthread_create(&t[i], &attr, pinned_worker, (void *)(intptr_t)0), 0);
	for (int i = 0; i < 2; i++)
		CHECK_INT(pthread_join(t[i], NULL), 0);
	printf("two threads pinned to core 0 stayed there (%d vCPUs)\n", ncpus);

	/* Re-pinning a running thread from outside moves it (it is interrupted). */
	if (ncpus >= 2) {
		CHECK_INT(pthread_create(&t[0], &attr, movable_worker, NULL), 0);
		usleep(20000);
		CPU_ZERO(&one);
		CPU_SET(1, &one);
		CHECK_INT(pthread_setaffinity_np(t[0], sizeof one, &one), 0);
		for (int i = 0; i < 2000 && moved_to < 0; i++)
			usleep(1000);
		stop = 1;
		CHECK_INT(pthread_join(t[0], NULL), 0);
		CHECK_INT(moved_to, 1);
		printf("a busy thread re-pinned from outside moved to core %d\n", moved_to);
	}
	TEST_DONE();
}
