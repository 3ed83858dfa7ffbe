/* test.h: tiny self-checking helpers for the C tests; any failed CHECK makes the program exit non-zero. */
/*
 * Each CHECK prints the failing expression (and values where the macro knows them) to
 * stderr and counts the failure; TEST_DONE() prints a summary and returns 1 from main if
 * anything failed. The counters are updated atomically, so checks may run in several threads
 * at once (TEST_DONE belongs in main after the threads are joined).
 */
#ifndef HERMIT_TEST_H
#define HERMIT_TEST_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_checks;
static int test_failures;

#define TEST_COUNT_CHECK() ((void)__atomic_fetch_add(&test_checks, 1, __ATOMIC_RELAXED))
#define TEST_COUNT_FAILURE() ((void)__atomic_fetch_add(&test_failures, 1, __ATOMIC_SEQ_CST))

static inline int test_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, what);
	TEST_COUNT_FAILURE();
	return 0;
}

#define CHECK(cond) \
	((void)(TEST_COUNT_CHECK(), (cond) ? 1 : test_fail(__FILE__, __LINE__, #cond)))

#define CHECK_INT(actual, expected) \
	do { \
		long long a_ = (long long)(actual), e_ = (long long)(expected); \
		TEST_COUNT_CHECK(); \
		if (a_ != e_) { \
			fprintf(stderr, "%s:%d: CHECK_INT failed: %s == %lld, expected %s == %lld\n", \
				__FILE__, __LINE__, #actual, a_, #expected, e_); \
			TEST_COUNT_FAILURE(); \
		} \
	} while (0)

#define CHECK_STR(actual, expected) \
	do { \
		const char *a_ = (actual), *e_ = (expected); \
		TEST_COUNT_CHECK(); \
		if (a_ == NULL || strcmp(a_, e_) != 0) { \
			fprintf(stderr, "%s:%d: CHECK_STR failed: %s == \"%s\", expected \"%s\"\n", \
				__FILE__, __LINE__, #actual, a_ ? a_ : "(null)", e_); \
			TEST_COUNT_FAILURE(); \
		} \
	} while (0)

#define CHECK_NEAR(actual, expected, tolerance) \
	do { \
		double a_ = (actual), e_ = (expected); \
		TEST_COUNT_CHECK(); \
		if (!(fabs(a_ - e_) <= (tolerance))) { \
			fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s == %.17g, expected %.17g\n", \
				__FILE__, __LINE__, #actual, a_, e_); \
			TEST_COUNT_FAILURE(); \
		} \
	} while (0)

/* Ends main: "N checks passed" or the failure count, and the exit status. */
#define TEST_DONE() \
	do { \
		int failed_ = __atomic_load_n(&test_failures, __ATOMIC_SEQ_CST); \
		int checked_ = __atomic_load_n(&test_checks, __ATOMIC_SEQ_CST); \
		if (failed_) { \
			fprintf(stderr, "%d of %d checks FAILED\n", failed_, checked_); \
			return 1; \
		} \
		printf("all %d checks passed\n", checked_); \
		return 0; \
	} while (0)

#endif
