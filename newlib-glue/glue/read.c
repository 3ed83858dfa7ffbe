/* read.c: read() for newlib's _read_r, on sys_read. */
#include <unistd.h>
#include "glue.h"

ssize_t read(int fd, void *buf, size_t len)
{
	return hermit_result(sys_read(fd, buf, len));
}
