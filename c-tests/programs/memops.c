/* memops: memcpy, memset and memmove (overlapping either way) at every size to 4200 bytes and every alignment, guard bytes untouched; two threads copying under preemption on one vCPU keep their data. */
/*
 * The glue's memcpy/memset take AVX paths (128 bytes to 2 KiB) only when the kernel saves
 * AVX state across preemption; run also with HERMIT_CPU_HIDE=avx for the SSE paths.
 * usage: memops [expected value of sys_avx_usable: 0 or 1]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "test.h"

extern const uint32_t sys_avx_usable;

enum { MAX = 4200, PAD = 64 };

static unsigned char src[MAX + 2 * PAD], dst[MAX + 2 * PAD];

/* Fails (counts) the first wrong byte of one memcpy or memset, for a short report. */
static int check_one(int set, size_t size, size_t soff, size_t doff)
{
	for (size_t i = 0; i < sizeof src; i++) {
		src[i] = (unsigned char)(i * 131 + size);
		dst[i] = 0xee;
	}
	void *ret = set ? memset(dst + PAD + doff, (int)(size + 1), size)
			: memcpy(dst + PAD + doff, src + PAD + soff, size);
	if (ret != dst + PAD + doff)
		return 1;
	for (size_t i = 0; i < sizeof dst; i++) {
		int inside = i >= PAD + doff && i < PAD + doff + size;
		unsigned char want = !inside ? 0xee : set ? (unsigned char)(size + 1) : src[i - doff + soff];
		if (dst[i] != want) {
			fprintf(stderr, "%s of %zu bytes (offsets %zu, %zu): byte %zu is %#x, not %#x\n",
				set ? "memset" : "memcpy", size, soff, doff, i, dst[i], want);
			return 1;
		}
	}
	return 0;
}

static unsigned char area[MAX + 1000 + 2 * PAD], want[MAX + 1000 + 2 * PAD];

/* Fails (counts) a wrong memmove of `size` bytes from area + `from` to area + `to`, which may
   overlap either way, against a copy through a separate buffer. */
static int check_move(size_t size, size_t from, size_t to)
{
	for (size_t i = 0; i < sizeof area; i++)
		area[i] = want[i] = (unsigned char)(i * 7 + size);
	memcpy(dst, area + from, size);
	memcpy(want + to, dst, size);
	if (memmove(area + to, area + from, size) != area + to)
		return 1;
	for (size_t i = 0; i < sizeof area; i++)
		if (area[i] != want[i]) {
			fprintf(stderr, "memmove of %zu bytes from %zu to %zu: byte %zu is %#x, not %#x\n", size, from,
				to, i, area[i], want[i]);
			return 1;
		}
	return 0;
}

/* Copies back and forth with its own pattern; returns the number of wrong results. */
static void *copier(void *arg)
{
	uintptr_t seed = (uintptr_t)arg;
	static __thread unsigned char a[2048], b[2048];
	long wrong = 0;
	for (int round = 0; round < 20000; round++) {
		size_t size = 128 + (round * 37 + seed * 11) % 1900;
		memset(a, (int)(seed + round), size);
		memcpy(b, a, size);
		for (size_t i = 0; i < size; i += 61)
			wrong += b[i] != (unsigned char)(seed + round);
	}
	return (void *)wrong;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		CHECK_INT(sys_avx_usable, atoi(argv[1]));
	int failures = 0;
	for (int set = 0; set < 2; set++)
		for (size_t size = 0; size <= MAX; size += size < 300 ? 1 : 7)
			for (size_t off = 0; off < 8 && failures < 5; off++)
				failures += check_one(set, size, off, (off * 3) % 8);
	CHECK_INT(failures, 0);
	/* memmove: disjoint, and overlapping by every distance up to 40 bytes and by a few larger
	   ones, forwards and backwards. */
	failures = 0;
	static const size_t distances[] = { 0, 1, 2, 3, 5, 8, 15, 16, 17, 31, 32, 33, 40, 100, 1000, 2 * PAD };
	for (size_t size = 0; size <= MAX && failures < 5; size += size < 300 ? 1 : 13)
		for (size_t d = 0; d < sizeof distances / sizeof distances[0]; d++) {
			failures += check_move(size, PAD + 3, PAD + 3 + distances[d]);
			failures += check_move(size, PAD + 3 + distances[d], PAD + 3);
		}
	CHECK_INT(failures, 0);
	/* Two copiers share one vCPU: the round-robin tick preempts them in the middle of copies. */
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		CHECK_INT(pthread_create(&t[i], NULL, copier, (void *)(uintptr_t)(i * 100 + 1)), 0);
	for (int i = 0; i < 2; i++) {
		void *wrong;
		pthread_join(t[i], &wrong);
		CHECK_INT((long)wrong, 0);
	}
	printf("memops: avx %u\n", sys_avx_usable);
	TEST_DONE();
}
