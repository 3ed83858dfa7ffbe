/* write.c: write() for newlib's _write_r, on sys_write; EPIPE raises SIGPIPE first, as on Linux. */
#include <signal.h>
#include <unistd.h>
#include "glue.h"

ssize_t write(int fd, const void *buf, size_t len)
{
	ssize_t ret = sys_write(fd, buf, len);
	if (ret == -EPIPE)
		raise(SIGPIPE);
	return hermit_result(ret);
}
