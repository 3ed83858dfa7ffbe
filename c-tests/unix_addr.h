/* unix_addr.h: struct sockaddr_un for a path or an abstract name, for the AF_UNIX tests. */
#ifndef HERMIT_UNIX_ADDR_H
#define HERMIT_UNIX_ADDR_H

#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

/* `a` names `path`; returns the address's length. */
static inline socklen_t path_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	strcpy(a->sun_path, path);
	return SUN_LEN(a);
}

/* An abstract name: a first byte 0, then `name` (without a NUL). */
static inline socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path + 1, name, strlen(name));
	return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
}

#endif
