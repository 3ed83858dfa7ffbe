/* hostcalls: the latency of each small host call SQLite's point lookup makes (fstat, stat of */
/* an absent path, fcntl F_SETLK lock and unlock, a 4 KiB pread) and of lseek(SEEK_END), in  */
/* nanoseconds per call: the mean of the best of 5 rounds, and the median and 99th percentile */
/* of single calls timed with rdtsc (the TSC rate is taken from CLOCK_MONOTONIC).             */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

enum { CALLS = 20000, ROUNDS = 5 };

static int fd;
static char absent[4200];
static char page[4096];

static int do_fstat(int i)
{
	struct stat st;
	(void)i;
	return fstat(fd, &st) == 0 && st.st_size > 0;
}

static int do_stat_absent(int i)
{
	struct stat st;
	(void)i;
	return stat(absent, &st) != 0;
}

static int do_lock(int i)
{
	struct flock fl = { .l_type = (i & 1) ? F_UNLCK : F_RDLCK, .l_whence = SEEK_SET, .l_start = 1 << 30, .l_len = 1 };
	return fcntl(fd, F_SETLK, &fl) == 0;
}

static int do_pread(int i)
{
	return pread(fd, page, sizeof(page), (off_t)(i & 15) * 4096) == (ssize_t)sizeof(page);
}

static int do_lseek_end(int i)
{
	(void)i;
	return lseek(fd, 0, SEEK_END) == 16 * 4096;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t samples[CALLS];

/* Times `call`; returns 0 on success. ns_per_cycle converts rdtsc counts. */
static int measure(const char *name, int (*call)(int), double ns_per_cycle)
{
	double best = 1e30;
	for (int round = 0; round < ROUNDS; round++) {
		double start = bench_seconds();
		for (int i = 0; i < CALLS; i++) {
			uint64_t t0 = bench_rdtsc();
			if (!call(i))
				return 1;
			samples[i] = bench_rdtsc() - t0;
		}
		double ns = (bench_seconds() - start) * 1e9 / CALLS;
		if (ns < best)
			best = ns;
	}
	qsort(samples, CALLS, sizeof(samples[0]), cmp);
	long slow = 0;
	for (int i = 0; i < CALLS; i++)
		slow += samples[i] * ns_per_cycle > 20000;
	char label[64];
	snprintf(label, sizeof(label), "%s_ns", name);
	BENCH_RESULT(label, best, "ns/call");
	snprintf(label, sizeof(label), "%s_p50_ns", name);
	BENCH_RESULT(label, samples[CALLS / 2] * ns_per_cycle, "ns/call");
	snprintf(label, sizeof(label), "%s_p99_ns", name);
	BENCH_RESULT(label, samples[CALLS * 99 / 100] * ns_per_cycle, "ns/call");
	snprintf(label, sizeof(label), "%s_over_20us", name);
	BENCH_RESULT(label, slow, "calls");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 100;
	fd = open(argv[1], O_CREAT | O_TRUNC | O_RDWR, 0644);
	if (fd < 0)
		return 2;
	memset(page, 'c', sizeof(page));
	for (int i = 0; i < 16; i++)
		if (write(fd, page, sizeof(page)) != (ssize_t)sizeof(page))
			return 3;
	/* Beside the file, as SQLite's journal: the same directory, a name that does not exist. */
	snprintf(absent, sizeof(absent), "%s-journal", argv[1]);
	unlink(absent);
	/* The TSC rate over 20 ms of CLOCK_MONOTONIC. */
	double t0 = bench_seconds();
	uint64_t c0 = bench_rdtsc();
	while (bench_seconds() - t0 < 0.02)
		;
	double ns_per_cycle = (bench_seconds() - t0) * 1e9 / (double)(bench_rdtsc() - c0);
	static const struct {
		const char *name;
		int (*call)(int);
	} calls[] = {
		{ "fstat", do_fstat },		 { "stat_absent", do_stat_absent }, { "setlk", do_lock },
		{ "pread_4k", do_pread },	 { "lseek_end", do_lseek_end },
	};
	for (unsigned i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (measure(calls[i].name, calls[i].call, ns_per_cycle))
			return 10 + (int)i;
	close(fd);
	unlink(argv[1]);
	return 0;
}
