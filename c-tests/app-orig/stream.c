/* stream.c: an OpenMP program linked with -fopenmp as the original stream benchmark; sums 1..1000. */
#include <omp.h>
#include <stdio.h>

int main(void)
{
	long sum = 0;
#pragma omp parallel for reduction(+ : sum)
	for (int i = 1; i <= 1000; i++)
		sum += i;
	printf("stream: %d threads, sum %ld\n", omp_get_max_threads(), sum);
	return sum == 500500 ? 0 : 1;
}
