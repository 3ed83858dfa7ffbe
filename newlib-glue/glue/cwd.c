/* cwd.c: getcwd, chdir, chmod and pathconf, which libstdc++'s std::filesystem links against; the host offers no directory state or modes. */
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include "glue.h"

/* Relative paths are the proxy's business (its working directory), unknown to the guest. */
char *getcwd(char *buf, size_t size)
{
	(void)buf;
	(void)size;
	hermit_fail(ENOSYS);
	return NULL;
}

int chdir(const char *path)
{
	(void)path;
	return hermit_fail(ENOSYS);
}

int chmod(const char *path, mode_t mode)
{
	(void)path;
	(void)mode;
	return hermit_fail(ENOSYS);
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
	default:
		return hermit_fail(EINVAL);
	}
}
