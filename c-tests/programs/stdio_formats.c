/* stdio_formats.c: printf/snprintf/sscanf conversions of newlib as configured (floats, long double, C99 sizes), and 4000 formats against glibc's output. */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "printf_cases.h"
#include "test.h"

/* What the host's glibc prints for printf_cases.h (see there): bytes and hash. */
#define PRINTF_CASES_GLIBC_BYTES 86734
#define PRINTF_CASES_GLIBC_HASH "54cb593a441dc7a2"

static char cases_expected[1 << 17], cases_read[1 << 17];

/* Writes the cases into `path` with fprintf through a stream buffer of `bufsize` bytes (0: the
   default), reads the file back and compares it with the snprintf outputs. */
static void check_cases_file(const char *path, size_t bufsize)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	static char small[256];
	if (bufsize)
		CHECK_INT(setvbuf(f, small, _IOFBF, bufsize), 0);
	CHECK_INT(printf_cases_write(f), PRINTF_CASES_GLIBC_BYTES);
	CHECK_INT(fclose(f), 0);
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	size_t n = fread(cases_read, 1, sizeof(cases_read), f);
	fclose(f);
	CHECK_INT(n, PRINTF_CASES_GLIBC_BYTES);
	CHECK(memcmp(cases_read, cases_expected, PRINTF_CASES_GLIBC_BYTES) == 0);
	remove(path);
}

/* The truncation below is what the test is about. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

int main(int argc, char **argv)
{
	char buf[128];

	/* Integer, character and string conversions with every flag, width, precision and
	   length, between literal text with UTF-8 and invalid bytes: as glibc prints them,
	   through snprintf and through fprintf to a host file with a 256-byte buffer (full and
	   flushed every few lines) and with the default one. */
	size_t total = 0;
	snprintf(buf, sizeof(buf), "%016llx",
		 (unsigned long long)printf_cases_hash(cases_expected, sizeof(cases_expected), &total));
	CHECK_STR(buf, PRINTF_CASES_GLIBC_HASH);
	CHECK_INT(total, PRINTF_CASES_GLIBC_BYTES);
	if (argc > 1) {
		char path[512];
		snprintf(path, sizeof(path), "%s/stdio_formats.txt", argv[1]);
		check_cases_file(path, 256);
		check_cases_file(path, 0);
	}
	printf("printf cases: %d formats, hash %s\n", PRINTF_CASES, buf);

	snprintf(buf, sizeof(buf), "%f|%.3f|%e|%g|%g", 3.5, 2.0 / 3.0, 12345.678, 0.0001, 1e20);
	CHECK_STR(buf, "3.500000|0.667|1.234568e+04|0.0001|1e+20");
	snprintf(buf, sizeof(buf), "%Lf|%.2Le", (long double)1.25, (long double)-7.5e-3);
	CHECK_STR(buf, "1.250000|-7.50e-03");
	snprintf(buf, sizeof(buf), "%a", 1.0);
	CHECK_STR(buf, "0x1p+0");
	snprintf(buf, sizeof(buf), "%lld|%llu|%zu|%jd|%" PRIu64 "|%td", -9000000000LL,
		 18446744073709551615ULL, (size_t)42, (intmax_t)-5, UINT64_C(1) << 40, (ptrdiff_t)-3);
	CHECK_STR(buf, "-9000000000|18446744073709551615|42|-5|1099511627776|-3");
	snprintf(buf, sizeof(buf), "[%5s|%-5s|%05d|%x|%#o|%c|%%]", "ab", "cd", 42, 255, 8, 'z');
	CHECK_STR(buf, "[   ab|cd   |00042|ff|010|z|%]");
	CHECK_INT(snprintf(buf, 4, "%s", "truncated"), 9);
	CHECK_STR(buf, "tru");
	snprintf(buf, sizeof(buf), "%f %f", 1.0 / 0.0, -0.0);
	CHECK_STR(buf, "inf -0.000000");

	/* Doubles print correctly: %.17g reads back exactly, for values across the whole range. */
	uint64_t bits = 0x9e3779b97f4a7c15ULL;
	int round_trips = 0;
	for (int n = 0; n < 20000; n++) {
		bits ^= bits << 13, bits ^= bits >> 7, bits ^= bits << 17;
		double x;
		uint64_t b = bits & 0x7fefffffffffffffULL; /* finite, any sign below */
		memcpy(&x, &b, sizeof(x));
		if (n & 1)
			x = -x;
		snprintf(buf, sizeof(buf), "%.17g", x);
		round_trips += strtod(buf, NULL) == x;
	}
	CHECK_INT(round_trips, 20000);
	snprintf(buf, sizeof(buf), "%.3f|%.10f|%.0f|%g|%.3Lf", 1234.5675, 0.1, 2.5, 123456789.0, 1234.5675L);
	CHECK_STR(buf, "1234.568|0.1000000000|2|1.23457e+08|1234.568");

	int i;
	double d;
	long double ld;
	char word[16];
	CHECK_INT(sscanf("17 2.5e3 0.125 hermit", "%d %lf %Lf %15s", &i, &d, &ld, word), 4);
	CHECK_INT(i, 17);
	CHECK_NEAR(d, 2500.0, 0);
	CHECK_NEAR((double)ld, 0.125, 0);
	CHECK_STR(word, "hermit");

	/* The same conversions through the real stdout, for the log. */
	printf("printf: %f %e %g %Lf\n", 3.5, 12345.678, 0.0001, (long double)1.25);
	TEST_DONE();
}
