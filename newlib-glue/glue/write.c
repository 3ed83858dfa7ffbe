/* write.c: write() for newlib's _write_r, on sys_write. */
#include <unistd.h>
#include "glue.h"

ssize_t write(int fd, const void *buf, size_t len)
{
	return hermit_result(sys_write(fd, buf, len));
}
