/* cwd.c: getcwd, chdir, fchdir (the kernel keeps the guest's working directory) and pathconf. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "glue.h"

/* A null buf allocates the result (size 0: as large as needed), as glibc does. */
char *getcwd(char *buf, size_t size)
{
	if (buf == NULL) {
		char path[4096]; /* Linux's PATH_MAX (newlib's is 1024) */
		long n = sys_getcwd(path, sizeof(path));
		if (n < 0) {
			hermit_result(n);
			return NULL;
		}
		if (size != 0 && (size_t)n > size) {
			errno = ERANGE;
			return NULL;
		}
		char *copy = malloc(size != 0 ? size : (size_t)n);
		if (copy == NULL)
			return NULL;
		return memcpy(copy, path, (size_t)n);
	}
	if (size == 0) {
		errno = EINVAL;
		return NULL;
	}
	long n = sys_getcwd(buf, size);
	if (n < 0) {
		hermit_result(n);
		return NULL;
	}
	return buf;
}

int chdir(const char *path)
{
	return hermit_result(sys_chdir(path));
}

int fchdir(int fd)
{
	return hermit_result(sys_fchdir(fd));
}

/* The Linux limits, which the host applies. */
long pathconf(const char *path, int name)
{
	(void)path;
	switch (name) {
	case _PC_PATH_MAX:
		return 4096;
	case _PC_NAME_MAX:
		return 255;
	case _PC_PIPE_BUF:
		return 4096;
	case _PC_LINK_MAX:
		return 65000;
	default:
		return hermit_fail(EINVAL);
	}
}

long fpathconf(int fd, int name)
{
	(void)fd;
	return pathconf("/", name);
}
