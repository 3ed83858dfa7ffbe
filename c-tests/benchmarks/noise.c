/* noise: OS noise seen by a busy thread: gaps in a tight rdtsc loop (like the original hg benchmark). */
/*
 * usage: noise [seconds [warm-up seconds]]   (default 10 and 2)
 * Reads the TSC back to back; any step of at least GAP cycles means the thread was
 * interrupted (by the kernel, the hypervisor or the host). Prints how many gaps there were,
 * their distribution, the largest, and the share of time lost. The warm-up spins first, so
 * that start-up work (the loader populating guest memory) is over.
 */
#include <stdlib.h>

#include "bench.h"

enum { GAP = 1000, MAX_GAPS = 1 << 20 };

static uint64_t gaps[MAX_GAPS];

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* bench_rdtsc without its lfence: the loop must be as tight as possible, and an
 * interruption still shows as a large step between two reads. */
static inline uint64_t tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 10;
	double warm_up = argc > 2 ? atof(argv[2]) : 2;
	/* Warm up, and calibrate cycles per second meanwhile. */
	double start_s = bench_seconds();
	uint64_t start = tsc();
	while (bench_seconds() - start_s < warm_up + 0.1)
		;
	uint64_t cycles = (uint64_t)((tsc() - start) / (bench_seconds() - start_s) * seconds);
	size_t count = 0;
	uint64_t lost = 0;
	uint64_t prev = tsc(), end = prev + cycles;
	while (prev < end) {
		uint64_t now = tsc();
		uint64_t step = now - prev;
		if (step >= GAP) {
			lost += step;
			if (count < MAX_GAPS)
				gaps[count] = step;
			count++;
		}
		prev = now;
	}
	size_t kept = count < MAX_GAPS ? count : MAX_GAPS;
	qsort(gaps, kept, sizeof gaps[0], by_value);
	BENCH_RESULT("noise_gaps_per_s", count / seconds, "gaps");
	BENCH_RESULT("noise_gap_p50", kept ? gaps[kept / 2] : 0, "cycles");
	BENCH_RESULT("noise_gap_p99", kept ? gaps[kept * 99 / 100] : 0, "cycles");
	BENCH_RESULT("noise_gap_p99.99", kept ? gaps[kept * 9999 / 10000] : 0, "cycles");
	BENCH_RESULT("noise_gap_max", kept ? gaps[kept - 1] : 0, "cycles");
	BENCH_RESULT("noise_time_lost", 100.0 * lost / cycles, "%");
	return 0;
}
