/* links.c: link() for newlib's _link_r/rename, and readlink/symlink/chown: the host offers none of them. */
#include <unistd.h>
#include "glue.h"

/* Hard links are not supported (EMLINK, as in the original newlib port). */
int link(const char *old, const char *new)
{
	(void)old;
	(void)new;
	return hermit_fail(EMLINK);
}

ssize_t readlink(const char *restrict path, char *restrict buf, size_t len)
{
	(void)path;
	(void)buf;
	(void)len;
	return hermit_fail(ENOSYS);
}

int symlink(const char *target, const char *path)
{
	(void)target;
	(void)path;
	return hermit_fail(ENOSYS);
}

int chown(const char *path, uid_t owner, gid_t group)
{
	(void)path;
	(void)owner;
	(void)group;
	return hermit_fail(ENOSYS);
}
