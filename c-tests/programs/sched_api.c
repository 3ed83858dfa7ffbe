/* sched_api: <sched.h> and <pthread.h> declare the scheduling functions, and they work (priorities 1..31). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "test.h"

int main(void)
{
	int min = sched_get_priority_min(SCHED_RR), max = sched_get_priority_max(SCHED_RR);
	CHECK(min >= 0 && max > min);
	struct sched_param param = { 0 };
	CHECK_INT(sched_getparam(0, &param), 0);
	int mine = param.sched_priority;
#ifdef __hermit__
	CHECK_INT(min, 1);
	CHECK_INT(max, 31);
	CHECK_INT(mine, 8);
	CHECK_INT(sched_getscheduler(0), SCHED_RR);
	/* Raise and restore the caller's priority through both interfaces. */
	param.sched_priority = 12;
	CHECK_INT(sched_setparam(0, &param), 0);
	CHECK_INT(sched_getparam(0, &param), 0);
	CHECK_INT(param.sched_priority, 12);
	int policy = -1;
	CHECK_INT(pthread_getschedparam(pthread_self(), &policy, &param), 0);
	CHECK_INT(param.sched_priority, 12);
	CHECK_INT(pthread_setschedprio(pthread_self(), mine), 0);
	CHECK_INT(sched_getparam(0, &param), 0);
	CHECK_INT(param.sched_priority, mine);
	param.sched_priority = 99;
	errno = 0;
	CHECK_INT(sched_setscheduler(0, SCHED_FIFO, &param), -1);
	CHECK_INT(errno, EINVAL);
	param.sched_priority = mine;
	CHECK_INT(sched_setscheduler(0, SCHED_OTHER, &param), SCHED_RR);
	errno = 0;
	CHECK_INT(sched_getparam(999999, &param), -1);
	CHECK_INT(errno, ESRCH);
#endif
	struct timespec slice = { -1, -1 };
	CHECK_INT(sched_rr_get_interval(0, &slice), 0);
	CHECK(slice.tv_sec >= 0 && slice.tv_nsec >= 0);
	pthread_attr_t attr;
	CHECK_INT(pthread_attr_init(&attr), 0);
	CHECK_INT(pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED), 0);
	CHECK_INT(pthread_attr_setschedpolicy(&attr, SCHED_RR), 0);
	int scope = -1;
	CHECK_INT(pthread_attr_getscope(&attr, &scope), 0);
	CHECK_INT(scope, PTHREAD_SCOPE_SYSTEM);
	CHECK_INT(pthread_attr_destroy(&attr), 0);
	CHECK_INT(sched_yield(), 0);
	TEST_DONE();
}
