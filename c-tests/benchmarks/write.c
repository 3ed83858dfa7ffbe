/* write: 64 MiB written to a host file in 1 MiB chunks; MiB/s. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

int main(int argc, char **argv)
{
	if (argc != 2)
		return 100;
	enum { CHUNK = 1 << 20, TOTAL = 64 << 20 };
	char *buf = malloc(CHUNK);
	if (!buf)
		return 1;
	memset(buf, 'h', CHUNK);
	double best = 0;
	for (int round = 0; round < 5; round++) {
		int fd = open(argv[1], O_CREAT | O_TRUNC | O_WRONLY, 0644);
		if (fd < 0)
			return 2;
		double start = bench_seconds();
		for (int done = 0; done < TOTAL; done += CHUNK)
			if (write(fd, buf, CHUNK) != CHUNK)
				return 3;
		double rate = TOTAL / (1 << 20) / (bench_seconds() - start);
		close(fd);
		if (rate > best)
			best = rate;
	}
	unlink(argv[1]);
	BENCH_RESULT("write_64MiB", best, "MiB/s");
	return 0;
}
