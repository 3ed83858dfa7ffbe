/* files.c: unlink(), mkdir() and rmdir() for newlib's _unlink_r/remove and programs, on the kernel's calls. */
#include <sys/stat.h>
#include <unistd.h>
#include "glue.h"

int unlink(const char *path)
{
	return hermit_result(sys_unlink(path));
}

int mkdir(const char *path, mode_t mode)
{
	return hermit_result(sys_mkdir(path, (int)mode));
}

int rmdir(const char *path)
{
	return hermit_result(sys_rmdir(path));
}
