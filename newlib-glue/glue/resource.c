/* resource.c: getrlimit/setrlimit (the limits the kernel has), getrusage, the niceness (nice, getpriority, setpriority) and uname. */
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "glue.h"

/* The program's CPU-time clock (newlib's CLOCK_PROCESS_CPUTIME_ID) and the thread's. */
#define PROGRAM_CPUTIME_CLOCK 2
#define THREAD_CPUTIME_CLOCK 3

/* Main task's stack (8 MiB, between guard pages) and core files (none). */
static const struct rlimit fixed[RLIMIT_NLIMITS] = {
	[RLIMIT_STACK] = { 8UL << 20, 8UL << 20 },
	[RLIMIT_CORE] = { 0, 0 },
};

static int has_fixed(int resource)
{
	return resource == RLIMIT_STACK || resource == RLIMIT_CORE;
}

/* The descriptor limit: the kernel's table has 1024 entries, and new descriptors take numbers
 * below the soft limit (sys_setfdlimit). */
static struct rlimit nofile = { 1024, 1024 };

int getrlimit(int resource, struct rlimit *limit)
{
	if (resource < 0 || resource >= RLIMIT_NLIMITS)
		return hermit_fail(EINVAL);
	if (resource == RLIMIT_NOFILE) {
		*limit = nofile;
	} else if (has_fixed(resource)) {
		*limit = fixed[resource];
	} else {
		limit->rlim_cur = RLIM_INFINITY;
		limit->rlim_max = RLIM_INFINITY;
	}
	return 0;
}

/* Raising a limit above its maximum is EPERM. RLIMIT_NOFILE takes effect, as on Linux (its
 * maximum can be lowered, not raised again); lowering another limit is accepted without
 * effect. */
int setrlimit(int resource, const struct rlimit *limit)
{
	struct rlimit current;
	if (getrlimit(resource, &current) < 0)
		return -1;
	if (limit->rlim_cur > limit->rlim_max)
		return hermit_fail(EINVAL);
	if (limit->rlim_max > current.rlim_max)
		return hermit_fail(EPERM);
	if (resource == RLIMIT_NOFILE) {
		if (sys_setfdlimit((size_t)limit->rlim_cur) < 0)
			return hermit_fail(EINVAL);
		nofile = *limit;
	}
	return 0;
}

/* The program's niceness: kept and reported, not applied (the kernel schedules threads by
 * their pthread priorities). Every thread, the process group and the user are this one
 * process, as `who` 0 is. */
static int niceness;

/* A niceness within Linux's range, -20 to 19. */
static int nice_range(long value)
{
	return value < -20 ? -20 : value > 19 ? 19 : (int)value;
}

static int prio_target(int which, id_t who)
{
	if (which < PRIO_PROCESS || which > PRIO_USER)
		return hermit_fail(EINVAL);
	if (who != 0 && who != (id_t)getpid() && !(which == PRIO_USER && who == (id_t)getuid()))
		return hermit_fail(ESRCH);
	return 0;
}

int getpriority(int which, id_t who)
{
	if (prio_target(which, who) < 0)
		return -1;
	return niceness;
}

int setpriority(int which, id_t who, int prio)
{
	if (prio_target(which, who) < 0)
		return -1;
	niceness = nice_range(prio);
	return 0;
}

/* As Linux's: the new niceness, within -20 to 19 (-1 is also a success; errno tells). */
int nice(int increment)
{
	niceness = nice_range((long)niceness + increment);
	return niceness;
}

/* CPU time is all user time; children have none. */
int getrusage(int who, struct rusage *usage)
{
	struct timespec t = { 0, 0 };
	if (who != RUSAGE_SELF && who != RUSAGE_CHILDREN && who != RUSAGE_THREAD)
		return hermit_fail(EINVAL);
	memset(usage, 0, sizeof(*usage));
	if (who == RUSAGE_CHILDREN)
		return 0;
	sys_clock_gettime(who == RUSAGE_SELF ? PROGRAM_CPUTIME_CLOCK : THREAD_CPUTIME_CLOCK, &t);
	usage->ru_utime.tv_sec = t.tv_sec;
	usage->ru_utime.tv_usec = t.tv_nsec / 1000;
	return 0;
}

int uname(struct utsname *name)
{
	memset(name, 0, sizeof(*name));
	strcpy(name->sysname, "HermitCore");
	strcpy(name->nodename, "hermit");
	strcpy(name->release, "0.3.0-rust");
	strcpy(name->version, "HermitCore in Rust");
	strcpy(name->machine, "x86_64");
	return 0;
}
