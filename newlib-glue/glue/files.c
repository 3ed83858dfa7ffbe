/* files.c: path calls on the kernel's host calls: unlink, mkdir, rmdir, access, chmod, chown, truncate, times, and their *at forms. */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "at.h"
#include "glue.h"

int unlinkat(int dirfd, const char *path, int flags)
{
	int f = linux_at_flags(flags, AT_REMOVEDIR);
	if (f < 0)
		return hermit_fail(EINVAL);
	return hermit_result(sys_unlinkat(linux_dirfd(dirfd), path, f));
}

int unlink(const char *path)
{
	return hermit_result(sys_unlink(path));
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	return hermit_result(sys_mkdirat(linux_dirfd(dirfd), path, (int)mode));
}

int mkdir(const char *path, mode_t mode)
{
	return hermit_result(sys_mkdir(path, (int)mode));
}

int rmdir(const char *path)
{
	return hermit_result(sys_rmdir(path));
}

int openat(int dirfd, const char *path, int flags, ...)
{
	int mode = 0;
	if (flags & (O_CREAT | _FTMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, int);
		va_end(ap);
	}
	return hermit_result(sys_openat(linux_dirfd(dirfd), path, flags, mode));
}

int faccessat(int dirfd, const char *path, int mode, int flags)
{
	int f = linux_at_flags(flags, AT_EACCESS | AT_SYMLINK_NOFOLLOW);
	if (f < 0)
		return hermit_fail(EINVAL);
	return hermit_result(sys_faccessat(linux_dirfd(dirfd), path, mode, f));
}

int access(const char *path, int mode)
{
	return faccessat(AT_FDCWD, path, mode, 0);
}

int eaccess(const char *path, int mode)
{
	return faccessat(AT_FDCWD, path, mode, AT_EACCESS);
}

int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	int f = linux_at_flags(flags, AT_SYMLINK_NOFOLLOW);
	if (f < 0)
		return hermit_fail(EINVAL);
	return hermit_result(sys_fchmodat(linux_dirfd(dirfd), path, (int)mode, f));
}

int chmod(const char *path, mode_t mode)
{
	return fchmodat(AT_FDCWD, path, mode, 0);
}

int fchmod(int fd, mode_t mode)
{
	return hermit_result(sys_fchmod(fd, (int)mode));
}

int fchownat(int dirfd, const char *path, uid_t owner, gid_t group, int flags)
{
	int f = linux_at_flags(flags, AT_SYMLINK_NOFOLLOW);
	if (f < 0)
		return hermit_fail(EINVAL);
	return hermit_result(sys_fchownat(linux_dirfd(dirfd), path, (uint32_t)owner, (uint32_t)group, f));
}

/* newlib's uid_t/gid_t are 16 bits: (uid_t)-1, "unchanged", becomes Linux's 32-bit -1. */
static uint32_t id32(unsigned id, unsigned all_ones)
{
	return id == all_ones ? UINT32_MAX : id;
}

int chown(const char *path, uid_t owner, gid_t group)
{
	return hermit_result(sys_fchownat(-100, path, id32(owner, (uid_t)-1), id32(group, (gid_t)-1), 0));
}

int lchown(const char *path, uid_t owner, gid_t group)
{
	return hermit_result(sys_fchownat(-100, path, id32(owner, (uid_t)-1), id32(group, (gid_t)-1), 0x100));
}

int fchown(int fd, uid_t owner, gid_t group)
{
	return hermit_result(sys_fchown(fd, id32(owner, (uid_t)-1), id32(group, (gid_t)-1)));
}

int truncate(const char *path, off_t len)
{
	return hermit_result(sys_truncate(path, len));
}

int utimensat(int dirfd, const char *path, const struct timespec *times, int flags)
{
	int f = linux_at_flags(flags, AT_SYMLINK_NOFOLLOW);
	if (f < 0)
		return hermit_fail(EINVAL);
	return hermit_result(sys_utimensat(linux_dirfd(dirfd), path, (const int64_t(*)[4])times, f));
}

int futimens(int fd, const struct timespec *times)
{
	return hermit_result(sys_futimens(fd, (const int64_t(*)[4])times));
}

/* Microseconds to a timespec pair; NULL stays NULL (now). */
static const struct timespec *from_timevals(const struct timeval *tv, struct timespec ts[2])
{
	if (tv == NULL)
		return NULL;
	for (int i = 0; i < 2; i++) {
		if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000) {
			errno = EINVAL;
			return (const struct timespec *)-1;
		}
		ts[i].tv_sec = tv[i].tv_sec;
		ts[i].tv_nsec = tv[i].tv_usec * 1000;
	}
	return ts;
}

int utimes(const char *path, const struct timeval *tv)
{
	struct timespec ts[2];
	const struct timespec *t = from_timevals(tv, ts);
	if (t == (const struct timespec *)-1)
		return -1;
	return utimensat(AT_FDCWD, path, t, 0);
}

int lutimes(const char *path, const struct timeval *tv)
{
	struct timespec ts[2];
	const struct timespec *t = from_timevals(tv, ts);
	if (t == (const struct timespec *)-1)
		return -1;
	return utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW);
}

int futimes(int fd, const struct timeval *tv)
{
	struct timespec ts[2];
	const struct timespec *t = from_timevals(tv, ts);
	if (t == (const struct timespec *)-1)
		return -1;
	return futimens(fd, t);
}
