/* getpid: cycles per getpid() through the C library (a Linux process pays a system call). */
#include <unistd.h>

#include "bench.h"

int main(void)
{
	enum { N = 1000000 };
	volatile pid_t sink = 0;
	uint64_t best = UINT64_MAX;
	for (int round = 0; round < 5; round++) {
		uint64_t start = bench_rdtsc();
		for (int i = 0; i < N; i++)
			sink += getpid();
		uint64_t cycles = (bench_rdtsc() - start) / N;
		if (cycles < best)
			best = cycles;
	}
	BENCH_RESULT("getpid", best, "cycles");
	return sink == 0x7fffffff;
}
