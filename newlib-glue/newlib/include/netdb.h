/* netdb.h: name lookups (glue/netdb.c): numeric names, "localhost", else the kernel's DNS client; getnameinfo numeric ("localhost" for loopback). lwIP 2.1 layouts and EAI_* values, as the original HermitCore. */
#ifndef _NETDB_H
#define _NETDB_H

#include <sys/cdefs.h>
#include <sys/socket.h>
#include <netinet/in.h>

struct hostent {
	char *h_name;
	char **h_aliases;
	int h_addrtype;
	int h_length;
	char **h_addr_list;
#define h_addr h_addr_list[0]
};

/* A service of glue/services.c's built-in table (there is no /etc/services): s_port is in
   network byte order, as everywhere. */
struct servent {
	char *s_name;
	char **s_aliases;
	int s_port;
	char *s_proto;
};

struct addrinfo {
	int ai_flags;
	int ai_family;
	int ai_socktype;
	int ai_protocol;
	socklen_t ai_addrlen;
	struct sockaddr *ai_addr;
	char *ai_canonname;
	struct addrinfo *ai_next;
};

#define EAI_NONAME 200
#define EAI_SERVICE 201
#define EAI_FAIL 202
#define EAI_MEMORY 203
#define EAI_FAMILY 204
#define EAI_AGAIN 205
#define EAI_SOCKTYPE 206
#define EAI_BADFLAGS 207
/* Not in lwIP: getnameinfo's result does not fit (Linux's -12). */
#define EAI_OVERFLOW 208
/* Not in lwIP: glibc's GNU codes (its -5, -9 and -11); getaddrinfo does not return them. */
#define EAI_NODATA 209
#define EAI_ADDRFAMILY 214
#define EAI_SYSTEM 215

#define HOST_NOT_FOUND 210
#define NO_DATA 211
#define NO_RECOVERY 212
#define TRY_AGAIN 213

#define AI_PASSIVE 0x01
#define AI_CANONNAME 0x02
#define AI_NUMERICHOST 0x04
#define AI_NUMERICSERV 0x08
#define AI_V4MAPPED 0x10
#define AI_ALL 0x20
#define AI_ADDRCONFIG 0x40

#define NI_MAXHOST 1025
#define NI_MAXSERV 32

/* getnameinfo flags (glibc's values). */
#define NI_NUMERICHOST 1
#define NI_NUMERICSERV 2
#define NI_NOFQDN 4
#define NI_NAMEREQD 8
#define NI_DGRAM 16

__BEGIN_DECLS
extern int h_errno;
struct hostent *gethostbyname(const char *name);
int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen, struct hostent **result, int *h_errnop);
int getaddrinfo(const char *nodename, const char *servname, const struct addrinfo *hints, struct addrinfo **res);
void freeaddrinfo(struct addrinfo *ai);
int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen, char *serv, socklen_t servlen, int flags);
const char *gai_strerror(int ecode);
struct servent *getservbyname(const char *name, const char *proto);
struct servent *getservbyport(int port, const char *proto);
__END_DECLS

#endif /* _NETDB_H */
