/* fileio: host file write and read at 4 KiB, 16 KiB and 1 MiB per call (MiB/s, best of 3), */
/* and the latency of small calls: lseek and fstat (microseconds per call). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

static const struct {
	const char *name;
	int chunk;
	int total;
} sizes[] = {
	{ "4k", 4 << 10, 16 << 20 },
	{ "16k", 16 << 10, 32 << 20 },
	{ "1m", 1 << 20, 64 << 20 },
};

int main(int argc, char **argv)
{
	if (argc != 2)
		return 100;
	char *buf = malloc(1 << 20);
	if (!buf)
		return 1;
	memset(buf, 'h', 1 << 20);
	char name[64];
	for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		int chunk = sizes[s].chunk, total = sizes[s].total;
		double best_write = 0, best_read = 0;
		for (int round = 0; round < 3; round++) {
			int fd = open(argv[1], O_CREAT | O_TRUNC | O_RDWR, 0644);
			if (fd < 0)
				return 2;
			double start = bench_seconds();
			for (int done = 0; done < total; done += chunk)
				if (write(fd, buf, chunk) != chunk)
					return 3;
			double rate = total / (double)(1 << 20) / (bench_seconds() - start);
			if (rate > best_write)
				best_write = rate;
			if (lseek(fd, 0, SEEK_SET) != 0)
				return 4;
			start = bench_seconds();
			for (int done = 0; done < total; done += chunk)
				if (read(fd, buf, chunk) != chunk)
					return 5;
			rate = total / (double)(1 << 20) / (bench_seconds() - start);
			if (rate > best_read)
				best_read = rate;
			close(fd);
		}
		snprintf(name, sizeof(name), "file_write_%s", sizes[s].name);
		BENCH_RESULT(name, best_write, "MiB/s");
		snprintf(name, sizeof(name), "file_read_%s", sizes[s].name);
		BENCH_RESULT(name, best_read, "MiB/s");
	}
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0)
		return 6;
	enum { CALLS = 20000 };
	double start = bench_seconds();
	for (int i = 0; i < CALLS; i++)
		if (lseek(fd, i, SEEK_SET) != i)
			return 7;
	BENCH_RESULT("lseek_us", (bench_seconds() - start) * 1e6 / CALLS, "us/call");
	struct stat st;
	start = bench_seconds();
	for (int i = 0; i < CALLS; i++)
		if (fstat(fd, &st) != 0)
			return 8;
	BENCH_RESULT("fstat_us", (bench_seconds() - start) * 1e6 / CALLS, "us/call");
	close(fd);
	unlink(argv[1]);
	return 0;
}
