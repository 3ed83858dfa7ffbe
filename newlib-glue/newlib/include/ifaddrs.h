/* ifaddrs.h: getifaddrs/freeifaddrs as glibc's: lo's and eth0's IPv4 and IPv6 addresses with their netmasks (no AF_PACKET entries); glue/ifaddrs.c. */
#ifndef _IFADDRS_H
#define _IFADDRS_H

#include <sys/cdefs.h>
#include <sys/socket.h>

struct ifaddrs {
	struct ifaddrs *ifa_next;
	char *ifa_name;
	unsigned int ifa_flags;
	struct sockaddr *ifa_addr;
	struct sockaddr *ifa_netmask;
	union {
		struct sockaddr *ifu_broadaddr;
		struct sockaddr *ifu_dstaddr;
	} ifa_ifu;
	void *ifa_data;
};

#ifndef ifa_broadaddr
#define ifa_broadaddr ifa_ifu.ifu_broadaddr
#endif
#ifndef ifa_dstaddr
#define ifa_dstaddr ifa_ifu.ifu_dstaddr
#endif

__BEGIN_DECLS
int getifaddrs(struct ifaddrs **ifap);
void freeifaddrs(struct ifaddrs *ifa);
__END_DECLS

#endif /* _IFADDRS_H */
