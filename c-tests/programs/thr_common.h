/* thr_common.h: shared helpers of the thread tests (monotonic clock, deadlines, starting threads). */
#ifndef THR_COMMON_H
#define THR_COMMON_H

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "test.h"

/*
 * How much wider wall-clock slack must be because the vCPUs outnumber the host's CPUs: vCPUs /
 * TEST_HOST_CPUS (the host's logical CPUs, set by CTest and by the test bundle's runner), or 1
 * when the host has a CPU for every vCPU or the variable is not set. A vCPU whose host thread
 * waits for a CPU delays its wake-ups by up to that many host time slices.
 */
static inline double thr_slack_scale(void)
{
	const char *host = getenv("TEST_HOST_CPUS");
	long host_cpus = host ? atol(host) : 0, vcpus = sysconf(_SC_NPROCESSORS_ONLN);
	return host_cpus > 0 && vcpus > host_cpus ? (double)vcpus / (double)host_cpus : 1.0;
}

/* Nanoseconds of CLOCK_MONOTONIC. */
static inline int64_t thr_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The time `ms` milliseconds from now (negative: ago) on `clock`, as an absolute timespec. */
static inline struct timespec thr_deadline(clockid_t clock, long ms)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	int64_t ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + (int64_t)ms * 1000000;
	ts.tv_sec = ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	return ts;
}

/* Busy-waits (no blocking call) for `ms` milliseconds. */
static inline void thr_spin_ms(long ms)
{
	int64_t end = thr_now_ns() + ms * 1000000LL;
	while (thr_now_ns() < end)
		__asm__ volatile("" ::: "memory");
}

/*
 * Waits, yielding, until *flag (read atomically) reaches at least `value`, for at most
 * `ms` milliseconds; returns whether it did.
 */
static inline int thr_wait_for(const int *flag, int value, long ms)
{
	int64_t end = thr_now_ns() + ms * 1000000LL;
	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) < value) {
		if (thr_now_ns() > end)
			return 0;
		sched_yield();
	}
	return 1;
}

/* Checks that an elapsed time (ns) lies in [ms, ms * (1 + slack * thr_slack_scale())]. */
#define CHECK_ELAPSED(elapsed_ns, ms, slack) \
	do { \
		double e_ms_ = (double)(elapsed_ns) / 1e6, s_ = (slack) * thr_slack_scale(); \
		TEST_COUNT_CHECK(); \
		if (!(e_ms_ >= (double)(ms) && e_ms_ <= (double)(ms) * (1.0 + s_))) { \
			fprintf(stderr, "%s:%d: CHECK_ELAPSED failed: %s took %.3f ms, expected %ld ms (+%.0f%%)\n", \
				__FILE__, __LINE__, #elapsed_ns, e_ms_, (long)(ms), s_ * 100.0); \
			TEST_COUNT_FAILURE(); \
		} \
	} while (0)

#endif
