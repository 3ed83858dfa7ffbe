/* boot: time from the kernel's first instruction (boot_tsc) to main, inside the unikernel. */
#include <stdint.h>

#include "bench.h"

#ifdef __hermit__
extern const uint64_t boot_tsc;
extern int get_cpufreq(void);
#endif

int main(void)
{
#ifdef __hermit__
	uint64_t cycles = bench_rdtsc() - boot_tsc;
	BENCH_RESULT("boot_to_main", cycles / (double)get_cpufreq(), "us");
#else
	BENCH_RESULT("boot_to_main", 0, "us");
#endif
	return 0;
}
