/* isatty.c: isatty() for newlib's _isatty_r and stdio buffering: a character device is a terminal. */
#include <sys/stat.h>
#include <unistd.h>
#include "glue.h"

int isatty(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return 0;
	if (!S_ISCHR(st.st_mode)) {
		errno = ENOTTY;
		return 0;
	}
	return 1;
}
