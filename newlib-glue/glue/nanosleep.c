/* nanosleep.c: nanosleep() on sys_nanosleep; newlib's sleep() and usleep() use it (HAVE_NANOSLEEP). */
#include <time.h>
#include "glue.h"

int nanosleep(const struct timespec *req, struct timespec *rem)
{
	return hermit_result(sys_nanosleep(req, rem));
}
