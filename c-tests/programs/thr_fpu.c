/* thr_fpu.c: SSE, AVX/FMA and x87 state (and rounding modes) survive preemption: threaded results equal single-threaded ones bit for bit. */
#include <fenv.h>
#include <immintrin.h>
#include <stdint.h>
#include "thr_common.h"

/*
 * Each kernel iterates the logistic map x <- r x (1 - x) (r = 3.99, chaotic) on many
 * independent lanes held in registers, plus a running sum. A single flipped bit, a lost
 * register or another rounding mode changes the results completely, and the inputs come from
 * volatile variables, so nothing is computed at compile time.
 */
#define OUT_WORDS 40

static volatile double seed_base = 0.1234567;
static volatile double r_value = 3.99;
static volatile long double r_value_ld = 3.99L;

/* SSE2: 16 chains of doubles. */
static __attribute__((noinline)) void sse_kernel(long n, uint64_t *out)
{
	double x[16], r = r_value, sum = 0;
	for (int i = 0; i < 16; i++)
		x[i] = seed_base + i * 0.0371;
	for (long k = 0; k < n; k++) {
		for (int i = 0; i < 16; i++)
			x[i] = r * x[i] * (1.0 - x[i]);
		sum += x[k & 15];
	}
	memcpy(out, x, sizeof(x));
	memcpy(out + 16, &sum, sizeof(sum));
}

/* AVX2 + FMA: 8 vectors of 4 doubles in ymm registers. */
__attribute__((target("avx2,fma"), noinline)) static void avx_kernel(long n, uint64_t *out)
{
	__m256d r = _mm256_set1_pd(r_value);
	__m256d x[8];
	for (int i = 0; i < 8; i++)
		x[i] = _mm256_set_pd(seed_base + i * 0.0411, seed_base + i * 0.0411 + 0.011, seed_base + i * 0.0411 + 0.022,
				     seed_base + i * 0.0411 + 0.033);
	__m256d sum = _mm256_setzero_pd();
	for (long k = 0; k < n; k++) {
		for (int i = 0; i < 8; i++) {
			__m256d rx = _mm256_mul_pd(r, x[i]);
			x[i] = _mm256_fnmadd_pd(rx, x[i], rx); /* r x - r x x */
		}
		sum = _mm256_add_pd(sum, x[k & 7]);
	}
	for (int i = 0; i < 8; i++)
		_mm256_storeu_pd((double *)(out + 4 * i), x[i]);
	_mm256_storeu_pd((double *)(out + 32), sum);
}

/* x87: 6 chains of long doubles on the x87 stack. */
static __attribute__((noinline)) void x87_kernel(long n, uint64_t *out)
{
	long double x[6], r = r_value_ld, sum = 0;
	for (int i = 0; i < 6; i++)
		x[i] = seed_base + i * 0.0523L;
	for (long k = 0; k < n; k++) {
		for (int i = 0; i < 6; i++)
			x[i] = r * x[i] * (1.0L - x[i]);
		sum += x[k % 6];
	}
	memset(out, 0, OUT_WORDS * sizeof(uint64_t));
	for (int i = 0; i < 6; i++)
		memcpy(out + 2 * i, &x[i], 10);
	memcpy(out + 12, &sum, 10);
}

struct job {
	const char *name;
	void (*kernel)(long, uint64_t *);
	int round; /* FE_* */
	int avx;
	long n;
	uint64_t expected[OUT_WORDS], got[OUT_WORDS];
	int round_after;
	int start_tags; /* x87 tag word when the thread started */
	int64_t start, end;
};

static struct job jobs[] = {
	{ .name = "sse nearest", .kernel = sse_kernel, .round = FE_TONEAREST },
	{ .name = "sse upward", .kernel = sse_kernel, .round = FE_UPWARD },
	{ .name = "avx+fma nearest", .kernel = avx_kernel, .round = FE_TONEAREST, .avx = 1 },
	{ .name = "avx+fma toward zero", .kernel = avx_kernel, .round = FE_TOWARDZERO, .avx = 1 },
	{ .name = "x87 nearest", .kernel = x87_kernel, .round = FE_TONEAREST },
	{ .name = "x87 downward", .kernel = x87_kernel, .round = FE_DOWNWARD },
};
#define JOBS (int)(sizeof(jobs) / sizeof(jobs[0]))
#define SKIP(j) (((j)->avx && !have_avx) || ((j)->kernel == x87_kernel && !with_x87))

static void run(struct job *j, uint64_t *out)
{
	CHECK_INT(fesetround(j->round), 0);
	j->kernel(j->n, out);
	j->round_after = fegetround();
	CHECK_INT(fesetround(FE_TONEAREST), 0);
}

/* The x87 tag word: 0xffff when the x87 register stack is empty, as the ABI requires at calls. */
static int x87_tags(void)
{
	struct {
		uint16_t cw, r1, sw, r2, tw, r3;
		uint32_t rest[4];
	} env;
	__asm__ volatile("fnstenv %0" : "=m"(env));
	__asm__ volatile("fldcw %0" ::"m"(env.cw)); /* fnstenv masked the exceptions */
	return env.tw;
}

static void *job_thread(void *arg)
{
	struct job *j = arg;
	j->start_tags = x87_tags();
	j->start = thr_now_ns();
	run(j, j->got);
	j->end = thr_now_ns();
	return NULL;
}

/* Iterations that take about `ms` milliseconds on this machine. */
static long calibrate(void (*kernel)(long, uint64_t *), long ms)
{
	uint64_t scratch[OUT_WORDS];
	long n = 1 << 16;
	for (;;) {
		int64_t start = thr_now_ns();
		kernel(n, scratch);
		int64_t took = thr_now_ns() - start;
		if (took > 20000000)
			return (long)((double)n * ms * 1e6 / took);
		n *= 4;
	}
}

/* Whether HERMIT_CPU_HIDE (a comma-separated list) names `feature`. */
static int hidden_by_proxy(const char *feature)
{
	const char *list = getenv("HERMIT_CPU_HIDE");
	size_t len = strlen(feature);
	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, feature, len) == 0 && (p[len] == ',' || p[len] == '\0'))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	/* "no-x87": only the SSE and AVX jobs. */
	int with_x87 = !(argc > 1 && strcmp(argv[1], "no-x87") == 0);
	int have_avx = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	/* HERMIT_CPU_HIDE hides features from the kernel only: on PVM hosts our own cpuid still
	 * sees them, so the program honours the variable itself. */
	if (hidden_by_proxy("xsave") || hidden_by_proxy("avx"))
		have_avx = 0;
	if (!have_avx)
		printf("AVX2/FMA not supported: skipping the AVX part\n");
	long n_sse = calibrate(sse_kernel, 300), n_x87 = with_x87 ? calibrate(x87_kernel, 300) : 0;
	long n_avx = have_avx ? calibrate(avx_kernel, 300) : 0;

	/* The reference: each job alone, in the main thread. */
	for (int i = 0; i < JOBS; i++) {
		struct job *j = &jobs[i];
		j->n = j->kernel == sse_kernel ? n_sse : j->kernel == avx_kernel ? n_avx : n_x87;
		if (SKIP(j))
			continue;
		run(j, j->expected);
		CHECK_INT(j->round_after, j->round);
	}
	/* Rounding modes matter: otherwise a leaked mode would go unnoticed. */
	CHECK(memcmp(jobs[0].expected, jobs[1].expected, sizeof(jobs[0].expected)) != 0);
	if (with_x87)
		CHECK(memcmp(jobs[4].expected, jobs[5].expected, sizeof(jobs[0].expected)) != 0);
	if (have_avx)
		CHECK(memcmp(jobs[2].expected, jobs[3].expected, sizeof(jobs[0].expected)) != 0);

	/* All at once: more threads than CPUs, preempted every time slice. */
	pthread_t t[JOBS];
	int64_t start = thr_now_ns();
	for (int i = 0; i < JOBS; i++)
		if (!SKIP(&jobs[i]))
			CHECK_INT(pthread_create(&t[i], NULL, job_thread, &jobs[i]), 0);
	for (int i = 0; i < JOBS; i++)
		if (!SKIP(&jobs[i]))
			CHECK_INT(pthread_join(t[i], NULL), 0);
	int64_t latest_start = 0, earliest_end = INT64_MAX;
	for (int i = 0; i < JOBS; i++) {
		struct job *j = &jobs[i];
		if (SKIP(j))
			continue;
		int same = memcmp(j->expected, j->got, sizeof(j->got)) == 0;
		printf("%-20s %10ld iterations, %6.1f ms in its thread: %s\n", j->name, j->n, (j->end - j->start) / 1e6,
		       same ? "identical" : "DIFFERENT");
		CHECK(same);
		CHECK_INT(j->round_after, j->round);
		CHECK_INT(j->start_tags, 0xffff);
		latest_start = j->start > latest_start ? j->start : latest_start;
		earliest_end = j->end < earliest_end ? j->end : earliest_end;
	}
	/* They really ran interleaved (no thread ran to completion before another started). */
	CHECK(latest_start < earliest_end);
	CHECK_INT(fegetround(), FE_TONEAREST);
	printf("threads took %.1f ms together\n", (thr_now_ns() - start) / 1e6);
	TEST_DONE();
}
