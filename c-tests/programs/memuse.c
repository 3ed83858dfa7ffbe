/* memuse: uses a known amount of guest memory and holds it, so that a wrapper can read how
 * much host memory the proxy takes for it (c-tests/scripts/check-memory-use.sh).
 *
 * usage: memuse sleep <seconds>             touch nothing, sleep
 *        memuse touch <MiB> <seconds>       malloc and write every 4 KiB page of <MiB>,
 *                                           check it, then sleep
 *        memuse release <MiB> <seconds>     take and touch <MiB> above the heap with sbrk,
 *                                           hold it <seconds>, give it back with a negative
 *                                           sbrk and sleep <seconds> again
 *        memuse first-touch <seconds>       sleep, then print the cycles per MiB of
 *                                           malloc(1 MiB) plus a write to each page,
 *                                           over 256 MiB (a measurement, not a check)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

enum { PAGE = 4096, MIB = 1 << 20 };

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

int main(int argc, char **argv)
{
	CHECK(argc >= 3);
	if (argc < 3)
		TEST_DONE();
	if (strcmp(argv[1], "sleep") == 0) {
		printf("memuse: sleeping %s s\n", argv[2]);
		fflush(stdout);
		sleep(atoi(argv[2]));
	} else if (strcmp(argv[1], "touch") == 0 && argc == 4) {
		size_t bytes = (size_t)atol(argv[2]) * MIB;
		volatile char *block = malloc(bytes);
		CHECK(block != NULL);
		if (!block)
			TEST_DONE();
		for (size_t off = 0; off < bytes; off += PAGE)
			block[off] = (char)(off / PAGE);
		size_t wrong = 0;
		for (size_t off = 0; off < bytes; off += PAGE)
			wrong += block[off] != (char)(off / PAGE);
		CHECK_INT(wrong, 0);
		printf("memuse: touched %s MiB, holding it %s s\n", argv[2], argv[3]);
		fflush(stdout);
		sleep(atoi(argv[3]));
	} else if (strcmp(argv[1], "release") == 0 && argc == 4) {
		long bytes = atol(argv[2]) * MIB;
		/* stdio allocates its buffer now, below the memory sbrk takes and gives back. */
		printf("memuse: taking %s MiB with sbrk\n", argv[2]);
		fflush(stdout);
		volatile char *block = sbrk(bytes);
		CHECK(block != (void *)-1);
		if (block == (void *)-1)
			TEST_DONE();
		for (long off = 0; off < bytes; off += PAGE)
			block[off] = 1;
		printf("memuse: took %s MiB with sbrk\n", argv[2]);
		fflush(stdout);
		sleep(atoi(argv[3]));
		CHECK(sbrk(-bytes) != (void *)-1);
		printf("memuse: gave it back\n");
		fflush(stdout);
		sleep(atoi(argv[3]));
	} else if (strcmp(argv[1], "first-touch") == 0) {
		enum { BLOCKS = 256 };
		static char *blocks[BLOCKS];
		sleep(atoi(argv[2]));
		uint64_t start = rdtsc();
		for (int i = 0; i < BLOCKS; i++) {
			blocks[i] = malloc(MIB);
			for (int off = 0; off < MIB; off += PAGE)
				((volatile char *)blocks[i])[off] = 1;
		}
		uint64_t cycles = (rdtsc() - start) / BLOCKS;
		printf("memuse: malloc(1 MiB) and its first writes after %s s: %llu cycles per MiB\n", argv[2],
		       (unsigned long long)cycles);
	} else {
		CHECK(!"unknown mode");
	}
	TEST_DONE();
}
