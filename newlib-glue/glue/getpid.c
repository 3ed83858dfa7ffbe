/* getpid.c: getpid() for newlib's _getpid_r and raise(): the id of the calling task. */
#include <unistd.h>
#include "glue.h"

pid_t getpid(void)
{
	return (pid_t)sys_getpid();
}
