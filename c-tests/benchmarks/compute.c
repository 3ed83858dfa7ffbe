/* compute: an integer loop and an AVX/SSE floating-point loop; cycles per iteration. */
#include <immintrin.h>

#include "bench.h"

/* Seeds the compiler cannot see, so that no loop is evaluated at compile time. */
static volatile double seed_a = 1.5, seed_b = 1e-9, seed_c = 0.999999999;

static uint64_t integer_loop(uint64_t n)
{
	uint64_t x = 1, y = 0;
	for (uint64_t i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		y ^= x >> 17;
	}
	return y;
}

__attribute__((target("avx2,fma"))) static double vector_loop(uint64_t n)
{
	__m256d a = _mm256_set1_pd(seed_a), b = _mm256_set1_pd(seed_b), c = _mm256_set1_pd(seed_c);
	__m256d d = _mm256_set1_pd(seed_a * 2);
	for (uint64_t i = 0; i < n; i++) {
		a = _mm256_fmadd_pd(a, c, b);
		d = _mm256_fmadd_pd(d, c, b);
	}
	double out[4];
	_mm256_storeu_pd(out, _mm256_add_pd(a, d));
	return out[0] + out[1] + out[2] + out[3];
}

static double sse_loop(uint64_t n)
{
	__m128d a = _mm_set1_pd(seed_a), b = _mm_set1_pd(seed_b), c = _mm_set1_pd(seed_c);
	for (uint64_t i = 0; i < n; i++)
		a = _mm_add_pd(_mm_mul_pd(a, c), b);
	double out[2];
	_mm_storeu_pd(out, a);
	return out[0] + out[1];
}

int main(void)
{
	const uint64_t n = 200000000;
	uint64_t best_int = UINT64_MAX, best_sse = UINT64_MAX, best_avx = UINT64_MAX;
	volatile double sink = 0;
	for (int round = 0; round < 3; round++) {
		uint64_t t = bench_rdtsc();
		sink += integer_loop(n);
		uint64_t c = bench_rdtsc() - t;
		best_int = c < best_int ? c : best_int;
		t = bench_rdtsc();
		sink += sse_loop(n);
		c = bench_rdtsc() - t;
		best_sse = c < best_sse ? c : best_sse;
		if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
			t = bench_rdtsc();
			sink += vector_loop(n);
			c = bench_rdtsc() - t;
			best_avx = c < best_avx ? c : best_avx;
		}
	}
	BENCH_RESULT("compute_integer", (double)best_int / n, "cycles/iter");
	BENCH_RESULT("compute_sse", (double)best_sse / n, "cycles/iter");
	if (best_avx != UINT64_MAX)
		BENCH_RESULT("compute_avx_fma", (double)best_avx / n, "cycles/iter");
	return sink == 0.5;
}
