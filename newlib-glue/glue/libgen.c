/* libgen.c: POSIX basename and dirname (<libgen.h>), which newlib keeps in libc/unix/, a directory its build leaves out for our target. */
/*
 * Both may write into `path` (a NUL over trailing slashes, or after the directory part) and
 * return a pointer into it, or to a constant "." or "/" (as glibc and newlib's own do). The
 * GNU basename of <string.h> with _GNU_SOURCE is newlib's __gnu_basename, already in libc.a.
 */
#include <libgen.h>
#include <stddef.h>

/* The index one past the last character of `path` that is not a trailing slash; 0 when
 * `path` is only slashes. */
static size_t end_without_slashes(const char *path)
{
	size_t end = 0;
	while (path[end] != '\0')
		end++;
	while (end > 0 && path[end - 1] == '/')
		end--;
	return end;
}

char *basename(char *path)
{
	if (path == NULL || path[0] == '\0')
		return ".";
	size_t end = end_without_slashes(path);
	if (end == 0)
		return "/";
	path[end] = '\0';
	size_t start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	return path + start;
}

char *dirname(char *path)
{
	if (path == NULL || path[0] == '\0')
		return ".";
	size_t end = end_without_slashes(path);
	if (end == 0)
		return "/";
	/* Drop the last component, then the slashes before it. */
	while (end > 0 && path[end - 1] != '/')
		end--;
	if (end == 0)
		return ".";
	while (end > 0 && path[end - 1] == '/')
		end--;
	if (end == 0)
		return "/";
	path[end] = '\0';
	return path;
}
