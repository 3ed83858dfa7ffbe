/* malloc_api: the kernel's malloc family as C programs use it; "double-free"/"bad-free" must abort. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* Sizes the compiler cannot see, so that it does not warn about or fold the requests. */
static volatile size_t huge = (size_t)64 << 30, half_max = SIZE_MAX / 2, near_max = SIZE_MAX - 8;

static int aligned(const void *p, size_t align)
{
	return ((uintptr_t)p & (align - 1)) == 0;
}

/* Fills `n` bytes with a pattern derived from `seed`; checks it back. */
static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

static int intact(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

static void basics(void)
{
	void *zero1 = malloc(0), *zero2 = malloc(0);
	CHECK(zero1 != NULL && zero2 != NULL && zero1 != zero2);
	free(zero1);
	free(zero2);
	free(NULL);
	/* Every size class and some large sizes: 16-byte alignment, usable size, no overlap. */
	static const size_t sizes[] = { 1, 15, 16, 17, 100, 255, 256, 257, 1000, 4096, 32768, 32769,
		100000, 1 << 20, 10 << 20 };
	void *blocks[sizeof sizes / sizeof sizes[0]];
	for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		blocks[i] = malloc(sizes[i]);
		CHECK(blocks[i] != NULL && aligned(blocks[i], 16));
		CHECK(malloc_usable_size(blocks[i]) >= sizes[i]);
		fill(blocks[i], sizes[i], i);
	}
	for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		CHECK(intact(blocks[i], sizes[i], i));
		free(blocks[i]);
	}
	CHECK_INT(malloc_usable_size(NULL), 0);
}

static void zeroing_and_overflow(void)
{
	/* calloc zeroes even a recycled block. */
	unsigned char *dirty = malloc(4000);
	memset(dirty, 0xa5, 4000);
	free(dirty);
	unsigned char *clean = calloc(1000, 4);
	int zero = clean != NULL;
	for (int i = 0; clean && i < 4000; i++)
		zero &= clean[i] == 0;
	CHECK(zero);
	free(clean);
	errno = 0;
	CHECK(calloc(half_max, 4) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(malloc(near_max) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(malloc(huge) == NULL && errno == ENOMEM);
}

static void resizing(void)
{
	unsigned char *p = realloc(NULL, 24);
	CHECK(p != NULL);
	fill(p, 24, 3);
	/* Grow through several classes into the large allocator, keeping the contents. */
	size_t size = 24;
	for (size_t next = 100; next <= (4 << 20); next *= 3) {
		unsigned char *q = realloc(p, next);
		CHECK(q != NULL);
		if (!q)
			break;
		CHECK(intact(q, 24, 3));
		p = q;
		size = next;
	}
	/* Shrink keeps the prefix. */
	p = realloc(p, 10);
	CHECK(p != NULL && intact(p, 10, 3));
	(void)size;
	/* realloc(p, 0) frees and returns NULL; failure leaves the block alone. */
	unsigned char *volatile keep = malloc(64);
	fill(keep, 64, 9);
	errno = 0;
	CHECK(realloc(keep, huge) == NULL && errno == ENOMEM);
	CHECK(intact(keep, 64, 9));
	/* The failed realloc left the block allocated (volatile: gcc would warn otherwise). */
	CHECK(realloc(keep, 0) == NULL);
	free(p);
#ifdef __hermit__
	void *r = reallocf(malloc(16), 32); /* newlib's, on the kernel's realloc */
	CHECK(r != NULL);
	free(r);
#endif
}

static void alignment(void)
{
	for (size_t align = 8; align <= (1 << 21); align *= 4) {
		void *p = memalign(align, 100);
		CHECK(p != NULL && aligned(p, align));
		fill(p, 100, 1);
		CHECK(intact(p, 100, 1));
		free(p);
	}
	void *p = NULL;
	CHECK_INT(posix_memalign(&p, 64, 1000), 0);
	CHECK(p != NULL && aligned(p, 64));
	free(p);
	CHECK_INT(posix_memalign(&p, 24, 10), EINVAL);
	CHECK_INT(posix_memalign(&p, 4, 10), EINVAL);
	p = aligned_alloc(256, 512);
	CHECK(p != NULL && aligned(p, 256));
	free(p);
	p = valloc(10);
	CHECK(p != NULL && aligned(p, 4096));
	free(p);
	p = pvalloc(5000);
	CHECK(p != NULL && aligned(p, 4096) && malloc_usable_size(p) >= 8192);
	free(p);
	/* memalign rounds a non-power of two up, as glibc does. */
	p = memalign(48, 10);
	CHECK(p != NULL && aligned(p, 64));
	free(p);
}

static void accounting(void)
{
	struct mallinfo before = mallinfo();
	char *volatile big = malloc(5 << 20); /* volatile: gcc may drop an unused malloc */
	big[0] = 1;
	struct mallinfo during = mallinfo();
	/* Bytes in use, whether the allocator counts big blocks apart (glibc maps them). */
	CHECK(during.uordblks + during.hblkhd >= before.uordblks + before.hblkhd + (5 << 20));
	CHECK(during.arena + during.hblkhd >= during.uordblks);
	free(big);
	struct mallinfo after = mallinfo();
	CHECK(after.uordblks + after.hblkhd + (5 << 20) <= during.uordblks + during.hblkhd);
	CHECK_INT(mallopt(M_TRIM_THRESHOLD, 1 << 20), 1);
	int trimmed = malloc_trim(0);
	CHECK(trimmed == 0 || trimmed == 1);
}

/* Many blocks alive at once, freed in a scrambled order, twice. */
static void churn(void)
{
	enum { N = 20000 };
	static unsigned char *blocks[N];
	static size_t sizes[N];
	unsigned seed = 1;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			seed = seed * 1103515245u + 12345u;
			sizes[i] = (seed >> 16) % (i % 100 == 0 ? 70000 : 600);
			blocks[i] = malloc(sizes[i]);
			fill(blocks[i], sizes[i], i);
		}
		int ok = 1;
		for (int i = 0; i < N; i++) {
			int j = (int)(((unsigned)i * 7919u) % N);
			ok &= intact(blocks[j], sizes[j], j);
			free(blocks[j]);
		}
		CHECK(ok);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "double-free") == 0) {
		void *volatile p = malloc(40);
		free(p);
		free(p);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "bad-free") == 0) {
		static char not_from_malloc[64];
		char *volatile laundered = not_from_malloc + 32;
		free(laundered);
		return 0;
	}
	basics();
	zeroing_and_overflow();
	resizing();
	alignment();
	accounting();
	churn();
	TEST_DONE();
}
