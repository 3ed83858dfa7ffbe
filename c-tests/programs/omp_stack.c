/* omp_stack.c: every OpenMP worker has room for a 2 MiB array on its stack (the 4 MiB default). */
/*
 * Each thread of a parallel region fills and sums a 2 MiB array on its own stack, as EPCC
 * arraybench does at its largest size. With the kernel's 256 KiB pthread default this hits
 * the guard page (status 242); libgomp's hermit default is 4 MiB. tests.cmake also runs it
 * with OMP_STACKSIZE=1M, which must still override the default and so must fault.
 */
#include <omp.h>
#include "test.h"

#define ARRAY_BYTES (2 * 1024 * 1024)

static long fill_and_sum(int seed)
{
	volatile unsigned char array[ARRAY_BYTES];
	long sum = 0;
	for (size_t i = 0; i < sizeof array; i += 512)
		array[i] = (unsigned char)(seed + i / 512);
	for (size_t i = 0; i < sizeof array; i += 512)
		sum += array[i];
	return sum;
}

int main(void)
{
	long sums[64] = { 0 };
	int threads = 0;
#pragma omp parallel
	{
		int me = omp_get_thread_num();
#pragma omp single
		threads = omp_get_num_threads();
		if (me < 64)
			sums[me] = fill_and_sum(me);
	}
	CHECK(threads >= 2);
	for (int t = 0; t < threads && t < 64; t++) {
		long expected = 0;
		for (size_t i = 0; i < ARRAY_BYTES; i += 512)
			expected += (unsigned char)(t + i / 512);
		CHECK_INT(sums[t], expected);
	}
	printf("omp_stack: %d threads each used a 2 MiB stack array\n", threads);
	TEST_DONE();
}
