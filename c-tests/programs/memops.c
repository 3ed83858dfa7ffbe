/* memops: memcpy and memset at every size to 4200 bytes and every alignment, guard bytes untouched; two threads copying under preemption on one vCPU keep their data. */
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
