/* omp_app.c: an OpenMP C application built with find_package(OpenMP); exits with 7 when the sum is right. */
#include <omp.h>
#include <stdio.h>

int main(void)
{
	long sum = 0;
	int threads = 0;
#pragma omp parallel reduction(+ : sum)
	{
#pragma omp single
		threads = omp_get_num_threads();
#pragma omp for
		for (long i = 1; i <= 1000; i++)
			sum += i;
	}
	printf("omp_app: %d threads, sum %ld\n", threads, sum);
	return sum == 500500 && threads == omp_get_num_procs() ? 7 : 1;
}
