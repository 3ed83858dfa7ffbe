/* memlib: memcpy/memset at small and large sizes, and the libm calls exp/log/pow/sqrt (through pointers, so the library's code is timed). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum { REPEATS = 5 };

static void *(*volatile copy)(void *, const void *, size_t) = memcpy;
static void *(*volatile fill)(void *, int, size_t) = memset;
static double (*volatile f_exp)(double) = exp;
static double (*volatile f_log)(double) = log;
static double (*volatile f_sqrt)(double) = sqrt;
static double (*volatile f_pow)(double, double) = pow;

/* Best of REPEATS: cycles per call of memcpy (or memset) of `size` bytes, `calls` times. */
static double mem_cycles(int set, unsigned char *dst, unsigned char *src, size_t size, long calls)
{
	uint64_t best = UINT64_MAX;
	for (int r = 0; r < REPEATS; r++) {
		uint64_t start = bench_rdtsc();
		for (long i = 0; i < calls; i++) {
			if (set)
				fill(dst, (int)i, size);
			else
				copy(dst, src, size);
		}
		uint64_t cycles = bench_rdtsc() - start;
		best = cycles < best ? cycles : best;
	}
	return (double)best / calls;
}

enum { N = 4096 };
static double in[N], out[N];

static double math_cycles(int which)
{
	uint64_t best = UINT64_MAX;
	for (int r = 0; r < REPEATS; r++) {
		uint64_t start = bench_rdtsc();
		for (int k = 0; k < 50; k++)
			for (int i = 0; i < N; i++) {
				double x = in[i];
				switch (which) {
				case 0: out[i] = f_exp(x); break;
				case 1: out[i] = f_log(x); break;
				case 2: out[i] = f_sqrt(x); break;
				default: out[i] = f_pow(x, 1.0 / (1.0 + x)); break;
				}
			}
		uint64_t cycles = bench_rdtsc() - start;
		best = cycles < best ? cycles : best;
	}
	return (double)best / (50.0 * N);
}

int main(void)
{
	size_t big = 64 << 20;
	unsigned char *src = malloc(big), *dst = malloc(big);
	if (!src || !dst)
		return 1;
	memset(src, 1, big);
	memset(dst, 2, big);
	static const struct { const char *name; size_t size; long calls; } sizes[] = {
		{ "16", 16, 2000000 },       { "100", 100, 2000000 },   { "1k", 1024, 500000 },
		{ "8k", 8192, 100000 },      { "256k", 256 << 10, 2000 }, { "64M", 64 << 20, 4 },
	};
	char name[64];
	for (unsigned s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		for (int set = 0; set < 2; set++) {
			double cycles = mem_cycles(set, dst, src, sizes[s].size, sizes[s].calls);
			snprintf(name, sizeof name, "%s_%s", set ? "memset" : "memcpy", sizes[s].name);
			if (sizes[s].size >= 8192)
				BENCH_RESULT(name, sizes[s].size / cycles, "bytes/cycle");
			else
				BENCH_RESULT(name, cycles, "cycles/call");
		}
	}
	for (int i = 0; i < N; i++)
		in[i] = 0.001 + 20.0 * i / N;
	static const char *const names[] = { "exp", "log", "sqrt", "pow" };
	for (int which = 0; which < 4; which++)
		BENCH_RESULT(names[which], math_cycles(which), "cycles/call");
	free(src);
	free(dst);
	return 0;
}
