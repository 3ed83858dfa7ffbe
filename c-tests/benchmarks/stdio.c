/* stdio: fprintf of 400k lines to a host file and fgets of them back (lines/s, best of 3), */
/* with integers (the I/O path); and snprintf of 200k doubles with %.6f (formatting alone). */
#include <stdio.h>
#include <string.h>

#include "bench.h"

enum { LINES = 400000 };

int main(int argc, char **argv)
{
	if (argc != 2)
		return 100;
	double best_write = 0, best_read = 0;
	for (int round = 0; round < 3; round++) {
		FILE *f = fopen(argv[1], "w");
		if (!f)
			return 1;
		double start = bench_seconds();
		for (int i = 0; i < LINES; i++)
			fprintf(f, "line %d of the benchmark, value %d\n", i, i * 5);
		if (fclose(f) != 0)
			return 2;
		double rate = LINES / (bench_seconds() - start);
		if (rate > best_write)
			best_write = rate;
		f = fopen(argv[1], "r");
		if (!f)
			return 3;
		char line[128];
		long n = 0, bytes = 0;
		start = bench_seconds();
		while (fgets(line, sizeof(line), f)) {
			n++;
			bytes += strlen(line);
		}
		rate = LINES / (bench_seconds() - start);
		fclose(f);
		if (n != LINES || bytes < LINES * 30L)
			return 4;
		if (rate > best_read)
			best_read = rate;
	}
	remove(argv[1]);
	double best_format = 0, sink = 0;
	for (int round = 0; round < 3; round++) {
		char text[64];
		double start = bench_seconds();
		for (int i = 0; i < LINES / 2; i++) {
			snprintf(text, sizeof(text), "%.6f", i * 1.000001 + 0.25);
			sink += text[0];
		}
		double rate = LINES / 2 / (bench_seconds() - start);
		if (rate > best_format)
			best_format = rate;
	}
	if (sink <= 0)
		return 5;
	BENCH_RESULT("fprintf_400k", best_write, "lines/s");
	BENCH_RESULT("fgets_400k", best_read, "lines/s");
	BENCH_RESULT("snprintf_f_200k", best_format, "numbers/s");
	return 0;
}
