/* Unix socket addresses: struct sockaddr_un in the layout of this toolchain's struct sockaddr (lwIP's: a length byte, then a one-byte family). Sockets named by a path or an abstract name (first byte 0) connect threads of the program; the names live in the guest, not on the host. */
#ifndef _SYS_UN_H
#define _SYS_UN_H

#include <sys/socket.h>
#include <string.h>

struct sockaddr_un {
	uint8_t sun_len;
	sa_family_t sun_family;
	char sun_path[108];
};

/* The length of an address holding a NUL-terminated path (as BSD's and glibc's). */
#define SUN_LEN(ptr) ((socklen_t)(__builtin_offsetof(struct sockaddr_un, sun_path) + strlen((ptr)->sun_path)))

#endif
