/* bench.h: timing helpers shared by the benchmarks, the same on Linux and on HermitCore. */
#ifndef BENCH_H
#define BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

static inline uint64_t bench_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

static inline double bench_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#if !defined(__linux__) || defined(_GNU_SOURCE)
#include <pthread.h>
#include <sched.h>

/* Pins the calling thread to one CPU on Linux (there for programs built with _GNU_SOURCE,
 * which Linux's affinity call needs); HermitCore places threads itself. */
static inline void bench_pin(int cpu)
{
#ifdef __linux__
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof set, &set);
#else
	(void)cpu;
#endif
}
#endif

/* One result line: the runner pairs the native and the unikernel value by name. */
#define BENCH_RESULT(name, value, unit) printf("RESULT %s %.3f %s\n", (name), (double)(value), (unit))

#endif
