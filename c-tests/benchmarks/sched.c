/* sched: scheduler costs: sched_yield alone, yield and semaphore ping-pong between two threads. */
/*
 * usage: sched one    both threads on one core (HermitCore: HERMIT_CPUS=1; Linux: pinned to CPU 0)
 *        sched cross  semaphore ping-pong with the threads on two cores (HERMIT_CPUS=2; CPUs 0, 1)
 *        sched wake   wake-up latency of a thread blocked on another core, posted 100 us and
 *                     5 ms after it blocked: at 100 us its core still polls (HermitCore: no
 *                     IPI), at 5 ms the core has halted (an IPI and the host scheduling the
 *                     vCPU); median and worst of 201 wake-ups, and the poster's cost
 *        sched sleep  timer precision: how much longer than asked `nanosleep` of 100 us, 600
 *                     us, 1 ms and 5 ms slept (ns; median and 99th percentile of 201 each)
 */
#ifdef __linux__
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

enum { ROUNDS = 200000, REPEATS = 5 };

static sem_t ping, pong;
static volatile int turn;

static uint64_t yield_alone(void)
{
	enum { N = 1000000 };
	uint64_t best = UINT64_MAX;
	for (int r = 0; r < REPEATS; r++) {
		uint64_t start = bench_rdtsc();
		for (int i = 0; i < N; i++)
			sched_yield();
		uint64_t cycles = (bench_rdtsc() - start) / N;
		best = cycles < best ? cycles : best;
	}
	return best;
}

/* The partner in the yield ping-pong: waits for its turn by yielding, then hands it back. */
static void *yield_partner(void *arg)
{
	bench_pin(0);
	(void)arg;
	for (int i = 0; i < ROUNDS * REPEATS; i++) {
		while (turn != 1)
			sched_yield();
		turn = 0;
	}
	return NULL;
}

/* Cycles per hand-over between two threads that take turns by yielding. */
static uint64_t yield_pingpong(void)
{
	pthread_t partner;
	uint64_t best = UINT64_MAX;
	turn = 0;
	pthread_create(&partner, NULL, yield_partner, NULL);
	for (int r = 0; r < REPEATS; r++) {
		uint64_t start = bench_rdtsc();
		for (int i = 0; i < ROUNDS; i++) {
			turn = 1;
			while (turn != 0)
				sched_yield();
		}
		uint64_t cycles = (bench_rdtsc() - start) / (2 * ROUNDS);
		best = cycles < best ? cycles : best;
	}
	pthread_join(partner, NULL);
	return best;
}

static void *sem_partner(void *arg)
{
	bench_pin(*(int *)arg);
	for (int i = 0; i < ROUNDS * REPEATS; i++) {
		sem_wait(&ping);
		sem_post(&pong);
	}
	return NULL;
}

/* Cycles per round trip: post to the partner, wait for its answer. */
static uint64_t sem_pingpong(int partner_cpu, int rounds)
{
	pthread_t partner;
	uint64_t best = UINT64_MAX;
	sem_init(&ping, 0, 0);
	sem_init(&pong, 0, 0);
	pthread_create(&partner, NULL, sem_partner, &partner_cpu);
	for (int r = 0; r < REPEATS; r++) {
		uint64_t start = bench_rdtsc();
		for (int i = 0; i < rounds; i++) {
			sem_post(&ping);
			sem_wait(&pong);
		}
		uint64_t cycles = (bench_rdtsc() - start) / rounds;
		best = cycles < best ? cycles : best;
	}
	/* Let the partner finish its remaining rounds. */
	for (int i = rounds * REPEATS; i < ROUNDS * REPEATS; i++) {
		sem_post(&ping);
		sem_wait(&pong);
	}
	pthread_join(partner, NULL);
	return best;
}

static volatile uint64_t posted_at;
static uint64_t wake_cycles[201];

static void *wake_partner(void *arg)
{
	bench_pin(1);
	int rounds = *(int *)arg;
	for (int i = 0; i < rounds; i++) {
		sem_wait(&ping);
		wake_cycles[i] = bench_rdtsc() - posted_at;
		sem_post(&pong);
	}
	return NULL;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Posts to a partner blocked on CPU 1 `gap_us` after it blocked; reports the cycles from
   the post to the partner running (median, worst) and the post's own cost (median). */
static void wake_latency(int gap_us, const char *name)
{
	enum { N = 201 };
	static uint64_t post_cycles[N];
	int rounds = N;
	pthread_t partner;
	sem_init(&ping, 0, 0);
	sem_init(&pong, 0, 0);
	pthread_create(&partner, NULL, wake_partner, &rounds);
	for (int i = 0; i < N; i++) {
		struct timespec gap = { 0, gap_us * 1000L };
		if (gap_us < 1000) {
			uint64_t until = bench_rdtsc() + (uint64_t)gap_us * 2300;
			while (bench_rdtsc() < until)
				;
		} else {
			nanosleep(&gap, NULL);
		}
		posted_at = bench_rdtsc();
		sem_post(&ping);
		post_cycles[i] = bench_rdtsc() - posted_at;
		sem_wait(&pong);
	}
	pthread_join(partner, NULL);
	qsort(wake_cycles, N, sizeof wake_cycles[0], compare_u64);
	qsort(post_cycles, N, sizeof post_cycles[0], compare_u64);
	char label[64];
	snprintf(label, sizeof label, "wake_%s_median", name);
	BENCH_RESULT(label, wake_cycles[N / 2], "cycles");
	snprintf(label, sizeof label, "wake_%s_worst", name);
	BENCH_RESULT(label, wake_cycles[N - 1], "cycles");
	snprintf(label, sizeof label, "wake_%s_post", name);
	BENCH_RESULT(label, post_cycles[N / 2], "cycles");
}

/* Sleeps `us` microseconds 201 times; reports the oversleep's median and 99th percentile. */
static void oversleep(long us)
{
	enum { N = 201 };
	static uint64_t over[N];
	for (int i = 0; i < N; i++) {
		struct timespec gap = { us / 1000000, us % 1000000 * 1000 }, t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		nanosleep(&gap, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		int64_t ns = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec);
		over[i] = ns > us * 1000 ? (uint64_t)(ns - us * 1000) : 0;
	}
	qsort(over, N, sizeof over[0], compare_u64);
	char label[64];
	snprintf(label, sizeof label, "oversleep_%ldus_median", us);
	BENCH_RESULT(label, over[N / 2], "ns");
	snprintf(label, sizeof label, "oversleep_%ldus_p99", us);
	BENCH_RESULT(label, over[N * 99 / 100], "ns");
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "sleep") == 0) {
		static const long lengths_us[] = { 100, 600, 1000, 5000 };
		for (unsigned i = 0; i < sizeof lengths_us / sizeof lengths_us[0]; i++)
			oversleep(lengths_us[i]);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "wake") == 0) {
		bench_pin(0);
		if (argc > 2) {
			/* sched wake <gap in us>...: the same at other gaps, named by the gap */
			for (int i = 2; i < argc; i++) {
				char name[32];
				snprintf(name, sizeof name, "%sus", argv[i]);
				wake_latency(atoi(argv[i]), name);
			}
			return 0;
		}
		wake_latency(100, "polling");
		wake_latency(5000, "halted");
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "cross") == 0) {
		bench_pin(0);
		BENCH_RESULT("sem_pingpong_2cores", sem_pingpong(1, ROUNDS / 10), "cycles");
		return 0;
	}
	bench_pin(0);
	BENCH_RESULT("sched_yield", yield_alone(), "cycles");
	BENCH_RESULT("yield_pingpong", yield_pingpong(), "cycles");
	BENCH_RESULT("sem_pingpong_1core", sem_pingpong(0, ROUNDS), "cycles");
	return 0;
}
