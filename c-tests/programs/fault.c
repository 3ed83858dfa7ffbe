/* fault: provokes the exception named in argv[1]; the kernel must report it and end the
 * program with status 242 (-EFAULT), as the original did. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static volatile int zero;
static volatile int depth_limit = -1;
static volatile uintptr_t addresses[] = { 0, 16, 0x7fff00000000ULL };

static int recurse(int depth)
{
	volatile char frame[256];
	frame[0] = (char)depth;
	if (depth == depth_limit)
		return 0;
	return recurse(depth + 1) + frame[0];
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 100;
	fflush(stdout);
	if (strcmp(argv[1], "null") == 0)
		return *(volatile int *)addresses[0];
	if (strcmp(argv[1], "null-write") == 0)
		*(volatile int *)addresses[1] = 1;
	if (strcmp(argv[1], "stack") == 0)
		return recurse(0);
	if (strcmp(argv[1], "ud") == 0)
		__builtin_trap();
	if (strcmp(argv[1], "div") == 0)
		return (argc * 1000) / zero;
	if (strcmp(argv[1], "wild") == 0)
		return *(volatile int *)addresses[2];
	return 101;
}
