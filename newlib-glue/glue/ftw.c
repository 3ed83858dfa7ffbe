/* ftw.c: nftw() and ftw() over host directories (opendir/readdir/stat); FTW_PHYS, FTW_MOUNT, FTW_DEPTH are honoured, FTW_CHDIR is ignored. */
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "glue.h"

typedef int (*nftw_fn)(const char *, const struct stat *, int, struct FTW *);

struct walk {
	nftw_fn fn;
	int flags;
	dev_t dev;
	char path[4096]; /* Linux's PATH_MAX (newlib's is 1024) */
};

/* Visits walk->path (of length len, its name at base) and, for a directory, its entries. */
static int visit(struct walk *w, size_t len, int base, int level)
{
	struct stat st;
	struct FTW ftw = { base, level };
	int type;
	int ret = (w->flags & FTW_PHYS) ? lstat(w->path, &st) : stat(w->path, &st);
	if (ret < 0) {
		if (!(w->flags & FTW_PHYS) && lstat(w->path, &st) == 0 && S_ISLNK(st.st_mode))
			type = FTW_SLN;
		else if (errno == EACCES)
			type = FTW_NS;
		else
			return -1;
	} else if (S_ISDIR(st.st_mode)) {
		type = FTW_D;
	} else if (S_ISLNK(st.st_mode)) {
		type = FTW_SL;
	} else {
		type = FTW_F;
	}
	if (level == 0)
		w->dev = st.st_dev;
	if (type != FTW_D)
		return w->fn(w->path, &st, type, &ftw);
	if ((w->flags & FTW_MOUNT) && st.st_dev != w->dev)
		return 0;
	DIR *dir = opendir(w->path);
	if (dir == NULL)
		return w->fn(w->path, &st, FTW_DNR, &ftw);
	if (!(w->flags & FTW_DEPTH) && (ret = w->fn(w->path, &st, FTW_D, &ftw)) != 0) {
		closedir(dir);
		return ret;
	}
	struct dirent *entry;
	ret = 0;
	while (ret == 0 && (entry = readdir(dir)) != NULL) {
		const char *name = entry->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		size_t name_len = strlen(name);
		size_t sep = (len > 0 && w->path[len - 1] == '/') ? 0 : 1;
		if (len + sep + name_len >= sizeof(w->path)) {
			errno = ENAMETOOLONG;
			ret = -1;
			break;
		}
		if (sep)
			w->path[len] = '/';
		memcpy(w->path + len + sep, name, name_len + 1);
		ret = visit(w, len + sep + name_len, (int)(len + sep), level + 1);
		w->path[len] = '\0';
	}
	closedir(dir);
	if (ret == 0 && (w->flags & FTW_DEPTH))
		ret = w->fn(w->path, &st, FTW_DP, &ftw);
	return ret;
}

/* depth (the number of descriptors to use) does not limit the walk. */
int nftw(const char *path, nftw_fn fn, int depth, int flags)
{
	(void)depth;
	size_t len = strlen(path);
	if (len == 0)
		return hermit_fail(ENOENT);
	struct walk *w = malloc(sizeof(*w));
	if (w == NULL)
		return hermit_fail(ENOMEM);
	if (len >= sizeof(w->path)) {
		free(w);
		return hermit_fail(ENAMETOOLONG);
	}
	memcpy(w->path, path, len + 1);
	w->fn = fn;
	w->flags = flags & ~FTW_CHDIR;
	int base = 0;
	for (size_t i = 0; i + 1 < len; i++)
		if (path[i] == '/')
			base = (int)i + 1;
	int ret = visit(w, len, base, 0);
	free(w);
	return ret;
}

/* ftw() runs nftw with its callback kept per thread. */
static __thread int (*ftw_fn)(const char *, const struct stat *, int);

static int ftw_adapter(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_SLN)
		type = FTW_NS;
	return ftw_fn(path, st, type);
}

int ftw(const char *path, int (*fn)(const char *, const struct stat *, int), int depth)
{
	int (*saved)(const char *, const struct stat *, int) = ftw_fn;
	ftw_fn = fn;
	int ret = nftw(path, ftw_adapter, depth, 0);
	ftw_fn = saved;
	return ret;
}
