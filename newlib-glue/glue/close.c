/* close.c: close() for newlib's _close_r, on sys_close. */
#include <unistd.h>
#include "glue.h"

int close(int fd)
{
	return hermit_result(sys_close(fd));
}
