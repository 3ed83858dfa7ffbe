/* at.h: newlib's AT_* values to the kernel's (Linux's), for the *at glue. */
#ifndef HERMIT_GLUE_AT_H
#define HERMIT_GLUE_AT_H

#include <fcntl.h>

#define LINUX_AT_FDCWD (-100)
#define LINUX_AT_SYMLINK_NOFOLLOW 0x100
#define LINUX_AT_EACCESS 0x200
#define LINUX_AT_REMOVEDIR 0x200
#define LINUX_AT_SYMLINK_FOLLOW 0x400

static inline int linux_dirfd(int dirfd)
{
	return dirfd == AT_FDCWD ? LINUX_AT_FDCWD : dirfd;
}

/* The flags in `allowed` translated; -1 if any other bit is set. */
static inline int linux_at_flags(int flags, int allowed)
{
	int out = 0;
	if (flags & ~allowed)
		return -1;
	if (flags & AT_SYMLINK_NOFOLLOW)
		out |= LINUX_AT_SYMLINK_NOFOLLOW;
	if (flags & AT_EACCESS)
		out |= LINUX_AT_EACCESS;
	if (flags & AT_REMOVEDIR)
		out |= LINUX_AT_REMOVEDIR;
	if (flags & AT_SYMLINK_FOLLOW)
		out |= LINUX_AT_SYMLINK_FOLLOW;
	return out;
}

#endif
