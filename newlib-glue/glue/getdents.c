/* getdents.c: getdents() for newlib's readdir; the kernel has no directory listing yet (ENOSYS). */
#include "glue.h"

int getdents(int fd, void *buf, int len);

int getdents(int fd, void *buf, int len)
{
	(void)fd;
	(void)buf;
	(void)len;
	return hermit_fail(ENOSYS);
}
