/* times.c: times() for newlib's _times_r and clock(): CPU time and elapsed time in CLK_TCK units. */
#include <sys/times.h>
#include <time.h>
#include "glue.h"

/* The kernel's CPU-time clock of the program (newlib's CLOCK_PROCESS_CPUTIME_ID, hidden without _POSIX_CPUTIME). */
#define PROGRAM_CPUTIME_CLOCK ((clockid_t)2)

static clock_t ticks(clockid_t id)
{
	struct timespec t;
	if (sys_clock_gettime((uint64_t)id, &t) < 0)
		return 0;
	return (clock_t)(t.tv_sec * CLK_TCK + t.tv_nsec / (1000000000L / CLK_TCK));
}

/* The program is a single process: its CPU time is all user time, children have none. */
clock_t times(struct tms *buf)
{
	if (buf != NULL) {
		buf->tms_utime = ticks(PROGRAM_CPUTIME_CLOCK);
		buf->tms_stime = 0;
		buf->tms_cutime = 0;
		buf->tms_cstime = 0;
	}
	return ticks(CLOCK_MONOTONIC);
}
