/* netboth.h: what the network programs built both for the guest and natively share (netbench, netserve): the clock and IPv4 socket addresses. */
#ifndef NETBOTH_H
#define NETBOTH_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* Seconds of CLOCK_MONOTONIC. */
static inline double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The IPv4 socket address ip:port (`ip` NULL: any address). */
static inline struct sockaddr_in address(const char *ip, int port)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = ip ? inet_addr(ip) : htonl(INADDR_ANY);
	return sa;
}

#endif
