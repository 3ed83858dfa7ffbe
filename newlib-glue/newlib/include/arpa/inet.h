/* arpa/inet.h: address conversions (in the C library's glue, glue/inet.c). The original had no such header; lwIP macros gave the same names. */
#ifndef _ARPA_INET_H
#define _ARPA_INET_H

#include <sys/cdefs.h>
#include <netinet/in.h>

__BEGIN_DECLS
in_addr_t inet_addr(const char *cp);
int inet_aton(const char *cp, struct in_addr *addr);
char *inet_ntoa(struct in_addr addr);
const char *inet_ntop(int af, const void *src, char *dst, socklen_t size);
int inet_pton(int af, const char *src, void *dst);
__END_DECLS

#endif /* _ARPA_INET_H */
