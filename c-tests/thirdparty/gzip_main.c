/* gzip_main: the unchanged zlib through its gz* API on host files. */
/*
 * gzip_main gen <file> <MiB>: writes deterministic, compressible text (words from a small
 *   vocabulary with numbers, as logs are).
 * gzip_main compress <in> <out.gz> / decompress <in.gz> <out>: one gzip round trip each way.
 * gzip_main bench <in> <scratch.gz>: compresses and decompresses <in>; MB/s of input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zlib.h"

enum { CHUNK = 128 << 10 };

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int gen(const char *path, long mib)
{
	static const char *words[] = { "hermit", "kernel", "proxy", "guest", "host", "page", "exit", "core",
		"thread", "futex", "channel", "request", "served", "read", "write", "bytes" };
	FILE *f = fopen(path, "w");
	if (!f)
		return 1;
	unsigned seed = 2026;
	long total = mib << 20, done = 0;
	while (done < total) {
		seed = seed * 1103515245u + 12345u;
		int n = fprintf(f, "%s %s %u\n", words[(seed >> 8) & 15], words[(seed >> 12) & 15], (seed >> 16) % 10000);
		if (n < 0)
			return 1;
		done += n;
	}
	return fclose(f) != 0;
}

/* Copies <in> to <out> with stdio on one side and gz* on the other. */
static long long compress_file(const char *in, const char *out)
{
	FILE *src = fopen(in, "rb");
	gzFile dst = gzopen(out, "wb6");
	if (!src || !dst)
		return -1;
	static char buf[CHUNK];
	long long total = 0;
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), src)) > 0) {
		if (gzwrite(dst, buf, (unsigned)n) != (int)n)
			return -1;
		total += n;
	}
	if (ferror(src) || fclose(src) != 0 || gzclose(dst) != Z_OK)
		return -1;
	return total;
}

static long long decompress_file(const char *in, const char *out)
{
	gzFile src = gzopen(in, "rb");
	FILE *dst = fopen(out, "wb");
	if (!src || !dst)
		return -1;
	static char buf[CHUNK];
	long long total = 0;
	int n;
	while ((n = gzread(src, buf, sizeof(buf))) > 0) {
		if (fwrite(buf, 1, n, dst) != (size_t)n)
			return -1;
		total += n;
	}
	if (n < 0 || gzclose(src) != Z_OK || fclose(dst) != 0)
		return -1;
	return total;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "gen") == 0)
		return gen(argv[2], atol(argv[3]));
	if (argc == 4 && strcmp(argv[1], "compress") == 0) {
		long long n = compress_file(argv[2], argv[3]);
		printf("gzip_main: compressed %lld bytes (zlib %s)\n", n, zlibVersion());
		return n < 0;
	}
	if (argc == 4 && strcmp(argv[1], "decompress") == 0) {
		long long n = decompress_file(argv[2], argv[3]);
		printf("gzip_main: decompressed %lld bytes (zlib %s)\n", n, zlibVersion());
		return n < 0;
	}
	if (argc == 4 && strcmp(argv[1], "bench") == 0) {
		char out[4096];
		snprintf(out, sizeof(out), "%s.out", argv[3]);
		double start = seconds();
		long long n = compress_file(argv[2], argv[3]);
		double mid = seconds();
		long long m = decompress_file(argv[3], out);
		double end = seconds();
		remove(out);
		remove(argv[3]);
		if (n <= 0 || m != n)
			return 1;
		printf("RESULT gzip_compress %.3f MB/s\n", n / 1e6 / (mid - start));
		printf("RESULT gzip_decompress %.3f MB/s\n", n / 1e6 / (end - mid));
		return 0;
	}
	fprintf(stderr, "usage: gzip_main gen <file> <MiB> | compress <in> <out.gz> | decompress <in.gz> <out> | bench <in> <tmp.gz>\n");
	return 2;
}
