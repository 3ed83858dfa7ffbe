/* open.c: open() for newlib's _open_r, on sys_open (flags are Linux O_* values, see fcntl.h). */
#include <fcntl.h>
#include <stdarg.h>
#include "glue.h"

int open(const char *name, int flags, ...)
{
	int mode = 0;
	if (flags & (O_CREAT | _FTMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, int);
		va_end(ap);
	}
	return hermit_result(sys_open(name, flags, mode));
}
