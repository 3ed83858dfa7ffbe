/* getdents.c: getdents() for newlib's readdir: Linux getdents64 records of a host directory (sys/dirent.h has their layout). */
#include "glue.h"

int getdents(int fd, void *buf, int len);

int getdents(int fd, void *buf, int len)
{
	if (len < 0)
		return hermit_fail(EINVAL);
	return (int)hermit_result(sys_getdents64(fd, buf, (size_t)len));
}
