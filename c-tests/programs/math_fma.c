/* math_fma: libm's FMA variants of exp, exp2, log, log2, pow (double and float) agree with the generic code: special cases and errno exactly, other results within 1 ULP. */
/*
 * libm's exp/exp2/log/log2/pow and their float versions branch to a second build of the same
 * source (-mfma -mavx2) when the kernel's sys_fma_usable is 1. The test checks that flag
 * against the CPU (CPUID FMA and AVX2, XCR0 with SSE and AVX state), then calls every
 * function on the same arguments twice: as the flag chooses, and with the flag cleared for
 * the moment, which takes the generic code. Without FMA (or with HERMIT_CPU_HIDE=avx) both
 * calls run the generic code.
 * usage: math_fma [hidden]   ("hidden": the loader hides AVX, the flag must be 0)
 */
#include <cpuid.h>
#include <float.h>
#include <stdint.h>
#include "test.h"

extern uint32_t sys_fma_usable;

/* Whether the CPU and the state the OS enabled allow VEX-encoded FMA and AVX2 code. */
static int cpu_has_fma(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_FMA) || !(c & bit_OSXSAVE))
		return 0;
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if ((lo & 6) != 6)
		return 0;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_AVX2);
}

static uint64_t seed = 0x9e3779b97f4a7c15u;

static uint64_t next(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

/* A uniform double in [lo, hi). */
static double uniform(double lo, double hi)
{
	return lo + (hi - lo) * (double)(next() >> 11) * 0x1p-53;
}

static double as_double(uint64_t u)
{
	double d;
	memcpy(&d, &u, sizeof d);
	return d;
}

/* Distance in representable values between two doubles of the same sign (ULPs). */
static uint64_t ulps(double a, double b)
{
	int64_t ia, ib;
	memcpy(&ia, &a, sizeof a);
	memcpy(&ib, &b, sizeof b);
	if ((ia < 0) != (ib < 0))
		return UINT64_MAX;
	return ia > ib ? (uint64_t)(ia - ib) : (uint64_t)(ib - ia);
}

struct result {
	double value;
	int err;
};

struct fn {
	const char *name;
	double (*d1)(double);
	double (*d2)(double, double);
	float (*f1)(float);
	float (*f2)(float, float);
};

/* f(x, y) as the flag chooses (fma = 1) or by the generic code (fma = 0), with its errno. */
static struct result call(const struct fn *f, double x, double y, int fma)
{
	uint32_t saved = sys_fma_usable;
	if (!fma)
		*(volatile uint32_t *)&sys_fma_usable = 0;
	errno = 0;
	struct result r;
	r.value = f->d1 ? f->d1(x) : f->d2 ? f->d2(x, y) : f->f1 ? f->f1((float)x) : f->f2((float)x, (float)y);
	r.err = errno;
	*(volatile uint32_t *)&sys_fma_usable = saved;
	return r;
}

/* Compares both variants on (x, y): NaN, infinite and zero results and errno must be the same;
   finite nonzero results may differ by 1 ULP where the two roundings differ (both stay within
   the algorithms' 0.52 ULP, e.g. pow(DBL_MAX, 0.5)). Returns 1 if they differ. */
static int compare(const struct fn *f, double x, double y)
{
	struct result a = call(f, x, y, 1), b = call(f, x, y, 0);
	uint64_t ia, ib;
	memcpy(&ia, &a.value, sizeof ia);
	memcpy(&ib, &b.value, sizeof ib);
	if (ia == ib && a.err == b.err)
		return 0;
	int near = a.err == b.err && isfinite(a.value) && isfinite(b.value) && a.value != 0 && b.value != 0
		   && ulps(a.value, b.value) <= 1;
	if (!near) {
		fprintf(stderr, "%s(%a, %a): %a (errno %d) with FMA, %a (errno %d) generic\n", f->name, x, y,
			a.value, a.err, b.value, b.err);
		TEST_COUNT_FAILURE();
	}
	return 1;
}

/* Random arguments where each function's main paths run; for pow, (x, y) pairs. */
static void argument(const char *name, double *x, double *y)
{
	int kind = (int)(next() % 4);
	*y = 0;
	if (!strncmp(name, "log", 3)) {
		if (kind == 0)
			*x = uniform(0.9, 1.1); /* the separate path near 1 */
		else if (kind == 1)
			*x = as_double(next() & 0x000fffffffffffffu); /* subnormal */
		else
			*x = as_double(next() & 0x7fefffffffffffffu); /* any positive finite */
	} else if (!strncmp(name, "exp", 3)) {
		*x = kind == 0 ? uniform(-1e-3, 1e-3) : kind == 1 ? uniform(-1100, -700) : uniform(-710, 710);
	} else {
		*x = kind == 0 ? uniform(0.99, 1.01) : kind == 1 ? -(double)(next() % 20) : uniform(0, 20);
		*y = kind == 1 ? (double)(int)(next() % 60) - 30 : uniform(-300, 300);
	}
}

int main(int argc, char **argv)
{
	int hidden = argc > 1 && !strcmp(argv[1], "hidden");
	CHECK_INT(sys_fma_usable, hidden ? 0 : cpu_has_fma());
	const struct fn fns[] = {
		{ "exp", exp, 0, 0, 0 },	{ "exp2", exp2, 0, 0, 0 },    { "log", log, 0, 0, 0 },
		{ "log2", log2, 0, 0, 0 },	{ "pow", 0, pow, 0, 0 },      { "expf", 0, 0, expf, 0 },
		{ "exp2f", 0, 0, exp2f, 0 },	{ "logf", 0, 0, logf, 0 },    { "log2f", 0, 0, log2f, 0 },
		{ "powf", 0, 0, 0, powf },
	};
	const double specials[] = { 0.0,      -0.0,	  1.0,	   -1.0, 2.0,	   0.5,	    -3.0,   INFINITY,
				    -INFINITY, NAN,	  -NAN,	   DBL_MIN, DBL_MAX, 0x1p-1074, 710.0, -746.0,
				    1024.0,   -1075.0,	  89.0,	   -104.0, 128.0,   -150.0,   1e300,  -1e-300 };
	const size_t nspecial = sizeof specials / sizeof specials[0];
	enum { RANDOM = 10000 };
	int total = 0;
	for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
		const struct fn *f = &fns[i];
		int differ = 0, special_differ = 0;
		/* Every special value, and for pow every pair of them (0^-1, (-1)^inf, NaN^0, ...). */
		for (size_t j = 0; j < nspecial; j++)
			for (size_t k = 0; k < (f->d2 || f->f2 ? nspecial : 1); k++)
				special_differ += compare(f, specials[j], specials[k]);
		for (int j = 0; j < RANDOM; j++) {
			double x, y;
			argument(f->name, &x, &y);
			differ += compare(f, x, y);
		}
		printf("%s: %d of %d random arguments and %d special ones differ by 1 ULP\n", f->name, differ,
		       RANDOM, special_differ);
		TEST_COUNT_CHECK();
		total += differ + special_differ;
	}
	/* The FMA code ran: its roundings differ from the generic code's somewhere. */
	CHECK(sys_fma_usable ? total > 0 : total == 0);
	/* Exact cases, and errno of the error cases, in whichever variant the flag chooses. */
	static volatile double two = 2.0, zero = 0.0;
	CHECK_NEAR(pow(two, 10.0 * two / 2), 1024.0, 0);
	CHECK_NEAR(exp(zero), 1.0, 0);
	CHECK_NEAR(log(two / 2), 0.0, 0);
	CHECK_NEAR((log2)(two * 4), 3.0, 0);
	CHECK_NEAR(exp2(two + 1), 8.0, 0);
	CHECK_NEAR(log(two), 0.6931471805599453, 0);
	CHECK_NEAR(logf((float)two), 0.693147182f, 0);
	errno = 0;
	CHECK(log(zero) == -INFINITY && errno == ERANGE);
	errno = 0;
	CHECK(isnan(log(-two)) && errno == EDOM);
	errno = 0;
	CHECK(isinf(exp(1000 * two)) && errno == ERANGE);
	errno = 0;
	CHECK(isnan(pow(-two, 0.5 * two / 2)) && errno == EDOM);
	printf("math_fma: fma %u\n", sys_fma_usable);
	TEST_DONE();
}
