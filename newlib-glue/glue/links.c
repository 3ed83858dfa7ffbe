/* links.c: link, symlink, readlink and their *at forms, rename/renameat and remove (replacing newlib's _rename_r and remove), on the kernel's host calls. */
#include <stdio.h>
#include <reent.h>
#include <unistd.h>
#include "at.h"
#include "glue.h"

int linkat(int olddirfd, const char *old, int newdirfd, const char *new, int flags)
{
	int f = linux_at_flags(flags, AT_SYMLINK_FOLLOW);
	if (f < 0)
		return hermit_fail(EINVAL);
	return hermit_result(sys_linkat(linux_dirfd(olddirfd), old, linux_dirfd(newdirfd), new, f));
}

int link(const char *old, const char *new)
{
	return linkat(AT_FDCWD, old, AT_FDCWD, new, 0);
}

int symlinkat(const char *target, int dirfd, const char *path)
{
	return hermit_result(sys_symlinkat(target, linux_dirfd(dirfd), path));
}

int symlink(const char *target, const char *path)
{
	return symlinkat(target, AT_FDCWD, path);
}

ssize_t readlinkat(int dirfd, const char *restrict path, char *restrict buf, size_t len)
{
	return hermit_result(sys_readlinkat(linux_dirfd(dirfd), path, buf, len));
}

ssize_t readlink(const char *restrict path, char *restrict buf, size_t len)
{
	return readlinkat(AT_FDCWD, path, buf, len);
}

int renameat(int olddirfd, const char *old, int newdirfd, const char *new)
{
	return hermit_result(sys_renameat(linux_dirfd(olddirfd), old, linux_dirfd(newdirfd), new));
}

/* newlib's rename() calls this. */
int _rename_r(struct _reent *r, const char *old, const char *new)
{
	(void)r;
	return renameat(AT_FDCWD, old, AT_FDCWD, new);
}

/* remove(): a directory is removed as by rmdir, as POSIX says (newlib's only unlinked, so
 * std::filesystem::remove_all failed with EISDIR); replaces newlib's lib_a-remove.o. */
int _remove_r(struct _reent *r, const char *path)
{
	(void)r;
	long ret = sys_unlink(path);
	if (ret == -EISDIR)
		ret = sys_rmdir(path);
	return hermit_result(ret);
}

int remove(const char *path)
{
	return _remove_r(_REENT, path);
}
