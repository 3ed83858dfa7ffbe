/* stat.c: stat(), lstat() and fstat() for newlib's _stat_r/_fstat_r, on sys_hermit_stat/sys_lstat/sys_fstat. */
/*
 * The kernel fills the libc-independent struct hermit_stat; its st_mode already uses the
 * POSIX S_IF* encoding that newlib shares, so the conversion is a field-by-field copy.
 */
#include <string.h>
#include <sys/stat.h>
#include "glue.h"

static int convert(long ret, const struct hermit_stat *hs, struct stat *st)
{
	if (ret < 0)
		return hermit_result(ret);
	memset(st, 0, sizeof(*st));
	st->st_dev = hs->st_dev;
	st->st_ino = hs->st_ino;
	st->st_mode = hs->st_mode;
	st->st_nlink = hs->st_nlink;
	st->st_uid = hs->st_uid;
	st->st_gid = hs->st_gid;
	st->st_rdev = hs->st_rdev;
	st->st_size = hs->st_size;
	st->st_blksize = hs->st_blksize;
	st->st_blocks = hs->st_blocks;
	st->st_atim.tv_sec = hs->st_atime_sec;
	st->st_atim.tv_nsec = hs->st_atime_nsec;
	st->st_mtim.tv_sec = hs->st_mtime_sec;
	st->st_mtim.tv_nsec = hs->st_mtime_nsec;
	st->st_ctim.tv_sec = hs->st_ctime_sec;
	st->st_ctim.tv_nsec = hs->st_ctime_nsec;
	return 0;
}

int stat(const char *restrict path, struct stat *restrict st)
{
	struct hermit_stat hs;
	return convert(sys_hermit_stat(path, &hs), &hs, st);
}

int lstat(const char *restrict path, struct stat *restrict st)
{
	struct hermit_stat hs;
	return convert(sys_lstat(path, &hs), &hs, st);
}

int fstat(int fd, struct stat *st)
{
	struct hermit_stat hs;
	return convert(sys_fstat(fd, &hs), &hs, st);
}
