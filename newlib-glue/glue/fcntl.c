/* fcntl.c: fcntl() for newlib's _fcntl_r; no kernel support yet, so every command fails with ENOSYS. */
#include <fcntl.h>
#include "glue.h"

int fcntl(int fd, int cmd, ...)
{
	(void)fd;
	(void)cmd;
	return hermit_fail(ENOSYS);
}
