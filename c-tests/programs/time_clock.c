/* time_clock.c: clock_gettime (the monotonic clock the host's), gettimeofday, nanosleep/usleep, time, strftime/mktime on the kernel's clocks. */
#define _GNU_SOURCE
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>
#include "test.h"

static double seconds(const struct timespec *t)
{
	return (double)t->tv_sec + (double)t->tv_nsec * 1e-9;
}

int main(void)
{
	struct timespec real, mono1, mono2, res;
	struct timeval tv;

	/* Wall clock: after 2024-01-01 and before 2100, consistent across the three interfaces. */
	CHECK_INT(clock_gettime(CLOCK_REALTIME, &real), 0);
	CHECK(real.tv_sec > 1704067200 && real.tv_sec < 4102444800);
	CHECK(real.tv_nsec >= 0 && real.tv_nsec < 1000000000);
	CHECK_INT(gettimeofday(&tv, NULL), 0);
	CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
	CHECK_NEAR((double)tv.tv_sec + tv.tv_usec * 1e-6, seconds(&real), 1.0);
	CHECK_NEAR((double)time(NULL), seconds(&real), 2.0);

	/* Monotonic clock and sleeping: 20 ms asleep show up as at least 20 ms, not seconds. */
	CHECK_INT(clock_gettime(CLOCK_MONOTONIC, &mono1), 0);
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	CHECK_INT(nanosleep(&nap, NULL), 0);
	CHECK_INT(clock_gettime(CLOCK_MONOTONIC, &mono2), 0);
	double slept = seconds(&mono2) - seconds(&mono1);
	CHECK(slept >= 0.020 && slept < 2.0);
	CHECK_INT(usleep(5000), 0);
	struct timespec mono3;
	clock_gettime(CLOCK_MONOTONIC, &mono3);
	CHECK(seconds(&mono3) - seconds(&mono2) >= 0.005);
	CHECK_INT(clock_getres(CLOCK_MONOTONIC, &res), 0);
	CHECK(res.tv_sec == 0 && res.tv_nsec > 0);
	CHECK_INT(clock_gettime((clockid_t)77, &res), -1);
	CHECK_INT(errno, EINVAL);
	/* The monotonic clock continues the host's, as a Linux process sees it: not the guest's
	 * second or so since boot, and at most the host's uptime (read from its /proc; it also
	 * counts time the host was suspended, the monotonic clock does not). */
	double host_uptime = 0;
	FILE *uptime = fopen("/proc/uptime", "r");
	CHECK(uptime != NULL && fscanf(uptime, "%lf", &host_uptime) == 1);
	if (uptime != NULL)
		fclose(uptime);
	clock_gettime(CLOCK_MONOTONIC, &mono3);
	CHECK(seconds(&mono3) > 5.0);
	CHECK(seconds(&mono3) <= host_uptime + 1.0);
	struct timespec coarse;
	CHECK_INT(clock_gettime(CLOCK_MONOTONIC_COARSE, &coarse), 0);
	CHECK(seconds(&coarse) >= seconds(&mono3));
	CHECK_INT(clock_gettime(CLOCK_BOOTTIME, &coarse), 0);
	CHECK_NEAR(seconds(&coarse), seconds(&mono3), 1.0);
	struct tms t;
	CHECK(times(&t) != (clock_t)-1);
	CHECK(sysconf(_SC_CLK_TCK) > 0);

	/* Calendar conversions (UTC). */
	struct tm tm = { 0 };
	time_t stamp = 1614834367; /* 2021-03-04 05:06:07 UTC, a Thursday */
	char buf[64];
	CHECK(gmtime_r(&stamp, &tm) != NULL);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %a %j", &tm);
	CHECK_STR(buf, "2021-03-04 05:06:07 Thu 063");
	tm.tm_mday += 30; /* normalised by mktime into April */
	time_t later = mktime(&tm);
	CHECK_INT(later - stamp, 30 * 86400);
	CHECK_INT(tm.tm_mon, 3);
	printf("now: %lld.%09ld, slept %.3f ms\n", (long long)real.tv_sec, real.tv_nsec, slept * 1e3);
	TEST_DONE();
}
