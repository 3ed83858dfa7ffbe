/* users.c: getuid/getgid/geteuid/getegid/getlogin/getpwnam/getpwuid/issetugid for glob() and programs. */
/*
 * A HermitCore program runs alone, as root; there is no user database.
 */
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>
#include "glue.h"

uid_t getuid(void) { return 0; }
uid_t geteuid(void) { return 0; }
gid_t getgid(void) { return 0; }
gid_t getegid(void) { return 0; }

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
