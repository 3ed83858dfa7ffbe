/* strings_stdlib.c: string.h, strtod/strtol, qsort/bsearch, getopt, libgen.h and the malloc family of newlib. */
#include <ctype.h>
#include <libgen.h>
#include <malloc.h>
#include <stdint.h>
#include <unistd.h>
#include "test.h"

static int compare_ints(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static void strings(void)
{
	char buf[64];
	char *save = NULL;

	CHECK_INT(strlen("hermit"), 6);
	strcpy(buf, "uni");
	strcat(buf, "kernel");
	CHECK_STR(buf, "unikernel");
	CHECK(strcmp("abc", "abd") < 0);
	CHECK(strncmp("abcdef", "abcxyz", 3) == 0);
	CHECK_STR(strstr("find the needle here", "needle"), "needle here");
	CHECK_STR(strrchr("a/b/c", '/'), "/c");
	memmove(buf + 2, buf, 5);
	CHECK(memcmp(buf, "ununike", 7) == 0);
	strcpy(buf, "x,y,,z");
	CHECK_STR(strtok_r(buf, ",", &save), "x");
	CHECK_STR(strtok_r(NULL, ",", &save), "y");
	CHECK_STR(strtok_r(NULL, ",", &save), "z");
	CHECK(strtok_r(NULL, ",", &save) == NULL);
	CHECK(toupper('q') == 'Q' && isdigit('7') && !isalpha('7'));
	char *dup = strdup("copy");
	CHECK_STR(dup, "copy");
	free(dup);
}

static void conversions(void)
{
	char *end;
	CHECK_NEAR(strtod("3.14159xyz", &end), 3.14159, 1e-12);
	CHECK_STR(end, "xyz");
	CHECK_NEAR(strtod("-1.5e-3", NULL), -1.5e-3, 1e-18);
	CHECK_NEAR(strtod("0x1.8p1", NULL), 3.0, 0);
	CHECK_INT(strtol("-0x7f", NULL, 16), -127);
	CHECK_INT(strtol("777", NULL, 8), 511);
	CHECK_INT(strtoull("18446744073709551615", NULL, 10) == UINT64_MAX, 1);
	CHECK_INT(atoi("  42abc"), 42);
}

static void sorting(void)
{
	int v[] = { 9, -3, 7, 0, 7, 100, -50, 2 };
	const int sorted[] = { -50, -3, 0, 2, 7, 7, 9, 100 };
	size_t n = sizeof(v) / sizeof(v[0]);
	qsort(v, n, sizeof(int), compare_ints);
	CHECK(memcmp(v, sorted, sizeof(v)) == 0);
	int key = 9;
	int *hit = bsearch(&key, v, n, sizeof(int), compare_ints);
	CHECK(hit != NULL && hit - v == 6);
}

static void memory(void)
{
	size_t total = 0;
	for (int round = 0; round < 200; round++) {
		size_t size = 16 + (size_t)round * 1031;
		unsigned char *p = malloc(size);
		CHECK(p != NULL);
		if (p == NULL)
			return;
		memset(p, round & 0xff, size);
		p = realloc(p, size * 2);
		CHECK(p != NULL && p[size - 1] == (round & 0xff));
		free(p);
		total += size;
	}
	CHECK(total > 1000000);
	int *zeros = calloc(1000, sizeof(int));
	int sum = 0;
	for (int i = 0; i < 1000; i++)
		sum += zeros[i];
	CHECK_INT(sum, 0);
	free(zeros);
	void *big = malloc(64 << 20);
	CHECK(big != NULL);
	if (big) {
		memset(big, 0x5a, 64 << 20);
		CHECK(((unsigned char *)big)[(64 << 20) - 1] == 0x5a);
	}
	free(big);
	void *aligned = NULL;
	CHECK_INT(posix_memalign(&aligned, 4096, 100), 0);
	CHECK(((uintptr_t)aligned & 4095) == 0);
	free(aligned);
	CHECK_INT(posix_memalign(&aligned, 3, 100), EINVAL);
	void *a2 = aligned_alloc(256, 512);
	CHECK(a2 != NULL && ((uintptr_t)a2 & 255) == 0);
	free(a2);
}

/* strlen and memchr (SSE2, whole aligned blocks) at every alignment and length against a
 * byte loop, with the match before, at and after the end of the buffer. */
static void scanning(void)
{
	static char area[512] __attribute__((aligned(64)));
	long wrong = 0;
	for (int start = 0; start < 48; start++) {
		for (int len = 0; len < 200; len++) {
			memset(area, 'a', sizeof(area));
			area[start + len] = 0;
			wrong += strlen(area + start) != (size_t)len;
			memset(area, 'x', sizeof(area));
			for (int pos = -1; pos <= len + 17; pos += (len > 40 ? 7 : 1)) {
				if (pos >= 0)
					area[start + pos] = (char)0xe9;
				const char *hit = memchr(area + start, 0xe9, (size_t)len);
				const char *expect = pos >= 0 && pos < len ? area + start + pos : NULL;
				wrong += hit != expect;
				if (pos >= 0)
					area[start + pos] = 'x';
			}
		}
	}
	CHECK_INT(wrong, 0);
	CHECK(memchr(area, 'x', 0) == NULL);
	memset(area, 'x', sizeof(area));
	area[300] = 'y';
	volatile size_t unbounded = (size_t)-1; /* a bound past the buffer: the first match ends it */
	CHECK(memchr(area + 5, 'y', unbounded) == area + 300);
}

/* argv from the test: -v -n 5 -o out.txt rest */
static void options(int argc, char **argv)
{
	int verbose = 0, number = 0, opt;
	const char *output = NULL;
	while ((opt = getopt(argc, argv, "vn:o:")) != -1) {
		switch (opt) {
		case 'v': verbose = 1; break;
		case 'n': number = atoi(optarg); break;
		case 'o': output = optarg; break;
		default: CHECK(!"unexpected option");
		}
	}
	CHECK_INT(verbose, 1);
	CHECK_INT(number, 5);
	CHECK_STR(output, "out.txt");
	CHECK_INT(argc - optind, 1);
	CHECK_STR(argv[optind], "rest");
}

/* POSIX basename/dirname (libgen.h, after string.h: the POSIX ones, not GNU's): POSIX's
 * table of examples, on writable copies (both may write into the path). */
static void paths(void)
{
	static const char *const cases[][3] = {
		{"usr", ".", "usr"}, {"usr/", ".", "usr"}, {"", ".", "."}, {"/", "/", "/"},
		{"//", "/", "/"}, {"///", "/", "/"}, {"/usr/", "/", "usr"}, {"/usr/lib", "/usr", "lib"},
		{"//usr//lib//", "//usr", "lib"}, {"/home//dwc//test", "/home//dwc", "test"},
		{"a/b", "a", "b"}, {"a//b//", "a", "b"}, {".", ".", "."}, {"..", ".", ".."},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char dir[32], base[32];
		strcpy(dir, cases[i][0]);
		strcpy(base, cases[i][0]);
		CHECK_STR(dirname(dir), cases[i][1]);
		CHECK_STR(basename(base), cases[i][2]);
	}
	CHECK_STR(dirname(NULL), ".");
	CHECK_STR(basename(NULL), ".");
}

int main(int argc, char **argv)
{
	strings();
	conversions();
	sorting();
	memory();
	scanning();
	paths();
	options(argc, argv);
	TEST_DONE();
}
