/* ftw.h: ftw() and nftw() (newlib 3.3 ships none; the glue walks host directories with opendir/readdir). */
#ifndef _FTW_H
#define _FTW_H

#include <sys/cdefs.h>
#include <sys/stat.h>

#define FTW_F 0		/* a file */
#define FTW_D 1		/* a directory */
#define FTW_DNR 2	/* a directory that cannot be read */
#define FTW_NS 3	/* stat failed */
#define FTW_SL 4	/* a symbolic link (FTW_PHYS) */
#define FTW_DP 5	/* a directory, after its contents (FTW_DEPTH) */
#define FTW_SLN 6	/* a symbolic link to nothing */

#define FTW_PHYS 1	/* do not follow symbolic links */
#define FTW_MOUNT 2	/* stay on one file system */
#define FTW_CHDIR 4	/* chdir into each directory */
#define FTW_DEPTH 8	/* directories after their contents */

struct FTW {
	int base;	/* offset of the name in the path */
	int level;	/* depth below the start */
};

__BEGIN_DECLS
int ftw(const char *path, int (*fn)(const char *, const struct stat *, int), int depth);
int nftw(const char *path, int (*fn)(const char *, const struct stat *, int, struct FTW *), int depth, int flags);
__END_DECLS

#endif /* _FTW_H */
