/* time.c: gettimeofday() for newlib's _gettimeofday_r/time(), clock_gettime() and clock_getres(), on sys_clock_gettime. */
/*
 * The kernel uses newlib's clock numbering (CLOCK_REALTIME 1, CLOCK_MONOTONIC 4, the CPU-time
 * clocks 2 and 3), so clock ids pass through unchanged.
 */
#include <sys/time.h>
#include <time.h>
#include "glue.h"

int clock_gettime(clockid_t id, struct timespec *tp)
{
	return hermit_result(sys_clock_gettime((uint64_t)id, tp));
}

/* Every clock counts nanoseconds (TSC based). */
int clock_getres(clockid_t id, struct timespec *res)
{
	struct timespec now;
	if (sys_clock_gettime((uint64_t)id, &now) < 0)
		return hermit_fail(EINVAL);
	if (res != NULL) {
		res->tv_sec = 0;
		res->tv_nsec = 1;
	}
	return 0;
}

/* A non-null time zone gets zeros (UTC), as on Linux. */
int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec now;
	if (sys_clock_gettime(CLOCK_REALTIME, &now) < 0)
		return hermit_fail(EINVAL);
	if (tv != NULL) {
		tv->tv_sec = now.tv_sec;
		tv->tv_usec = now.tv_nsec / 1000;
	}
	if (tz != NULL) {
		struct timezone *zone = tz;
		zone->tz_minuteswest = 0;
		zone->tz_dsttime = 0;
	}
	return 0;
}
