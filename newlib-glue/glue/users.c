/* users.c: getuid/getgid/geteuid/getegid/getgroups/getlogin, the password and group look-ups, issetugid for glob() and programs. */
/*
 * A HermitCore program runs alone, as root; there is no user or group database: the look-ups
 * find nothing (NULL, errno unchanged, as POSIX says for a name or id not found).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>
#include "glue.h"

uid_t getuid(void) { return 0; }
uid_t geteuid(void) { return 0; }
gid_t getgid(void) { return 0; }
gid_t getegid(void) { return 0; }

/* No supplementary groups (POSIX leaves out whether the effective group is listed). */
int getgroups(int size, gid_t list[])
{
	(void)list;
	if (size < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Never set-user-id. */
int issetugid(void) { return 0; }

/* $USER if set, else NULL. */
char *getlogin(void)
{
	return getenv("USER");
}

struct passwd *getpwnam(const char *name)
{
	(void)name;
	return NULL;
}

struct passwd *getpwuid(uid_t uid)
{
	(void)uid;
	return NULL;
}

struct group *getgrgid(gid_t gid)
{
	(void)gid;
	return NULL;
}

struct group *getgrnam(const char *name)
{
	(void)name;
	return NULL;
}

int getgrgid_r(gid_t gid, struct group *grp, char *buf, size_t len, struct group **result)
{
	(void)gid, (void)grp, (void)buf, (void)len;
	*result = NULL;
	return 0;
}

int getgrnam_r(const char *name, struct group *grp, char *buf, size_t len, struct group **result)
{
	(void)name, (void)grp, (void)buf, (void)len;
	*result = NULL;
	return 0;
}

struct group *getgrent(void)
{
	return NULL;
}

void setgrent(void) {}

void endgrent(void) {}
