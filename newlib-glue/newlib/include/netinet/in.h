/* netinet/in.h: Internet addresses with the original HermitCore's (lwIP 2.1) layouts (sin_len first). */
#ifndef _NETINET_IN_H
#define _NETINET_IN_H

#include <sys/cdefs.h>
#include <sys/socket.h>
#include <stdint.h>

typedef uint32_t in_addr_t;
typedef uint16_t in_port_t;

struct in_addr {
	in_addr_t s_addr;
};

struct in6_addr {
	union {
		uint32_t u32_addr[4];
		uint8_t u8_addr[16];
	} un;
#define s6_addr un.u8_addr
};

struct sockaddr_in {
	uint8_t sin_len;
	sa_family_t sin_family;
	in_port_t sin_port;
	struct in_addr sin_addr;
#define SIN_ZERO_LEN 8
	char sin_zero[SIN_ZERO_LEN];
};

struct sockaddr_in6 {
	uint8_t sin6_len;
	sa_family_t sin6_family;
	in_port_t sin6_port;
	uint32_t sin6_flowinfo;
	struct in6_addr sin6_addr;
	uint32_t sin6_scope_id;
};

#define IPPROTO_IP 0
#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_IPV6 41
#define IPPROTO_ICMPV6 58
#define IPPROTO_RAW 255

#define IP_TOS 1
#define IP_TTL 2
#define IPV6_V6ONLY 27

/* Multicast, with lwIP's values (the original was built with IGMP and MLD); the IPv6
   interface, hop and loop options with Linux's (lwIP has none). */
#define IP_ADD_MEMBERSHIP 3
#define IP_DROP_MEMBERSHIP 4
#define IP_MULTICAST_TTL 5
#define IP_MULTICAST_IF 6
#define IP_MULTICAST_LOOP 7
#define IPV6_JOIN_GROUP 12
#define IPV6_ADD_MEMBERSHIP IPV6_JOIN_GROUP
#define IPV6_LEAVE_GROUP 13
#define IPV6_DROP_MEMBERSHIP IPV6_LEAVE_GROUP
#define IPV6_UNICAST_HOPS 16
#define IPV6_MULTICAST_IF 17
#define IPV6_MULTICAST_HOPS 18
#define IPV6_MULTICAST_LOOP 19

/* With IP_PKTINFO (lwIP's and Linux's 8) or, on an AF_INET6 socket, IPV6_RECVPKTINFO (Linux's
   49) on, recvmsg on a UDP socket gives the datagram's destination in a control message of
   level IPPROTO_IP, type IP_PKTINFO, or of level IPPROTO_IPV6, type IPV6_PKTINFO (50). The
   original's headers (lwIP 2.0) had neither, and its kernel (lwIP 2.1 without
   LWIP_NETBUF_RECVINFO) gave none, so the structures have Linux's layouts (lwIP 2.1's
   in_pktinfo lacks ipi_spec_dst). Sending with them is ignored. */
#define IP_PKTINFO 8
#define IPV6_RECVPKTINFO 49
#define IPV6_PKTINFO 50

struct in_pktinfo {
	int ipi_ifindex;              /* lo 1, eth0 2 */
	struct in_addr ipi_spec_dst;  /* our address that answers: the destination, or for a broadcast or group the interface's */
	struct in_addr ipi_addr;      /* the destination in the header */
};

struct in6_pktinfo {
	struct in6_addr ipi6_addr;    /* the destination (::ffff:a.b.c.d for IPv4) */
	unsigned int ipi6_ifindex;
};

struct ip_mreq {
	struct in_addr imr_multiaddr; /* the group */
	struct in_addr imr_interface; /* an address of the interface, or INADDR_ANY */
};

/* Linux's: IP_ADD_MEMBERSHIP takes it too (the interface is not looked at). */
struct ip_mreqn {
	struct in_addr imr_multiaddr;
	struct in_addr imr_address;
	int imr_ifindex;
};

#define INADDR_ANY ((in_addr_t)0x00000000UL)
#define INADDR_NONE ((in_addr_t)0xffffffffUL)
#define INADDR_BROADCAST ((in_addr_t)0xffffffffUL)
#define INADDR_LOOPBACK ((in_addr_t)0x7f000001UL)
#define INADDR_UNSPEC_GROUP ((in_addr_t)0xe0000000UL)
#define INADDR_ALLHOSTS_GROUP ((in_addr_t)0xe0000001UL)
#define INADDR_ALLRTRS_GROUP ((in_addr_t)0xe0000002UL)
#define INADDR_MAX_LOCAL_GROUP ((in_addr_t)0xe00000ffUL)
#define IN_MULTICAST(a) ((((in_addr_t)(a)) & 0xf0000000UL) == 0xe0000000UL)

#define INET_ADDRSTRLEN 16
#define INET6_ADDRSTRLEN 46

#define IN6ADDR_ANY_INIT {{{0, 0, 0, 0}}}
#define IN6ADDR_LOOPBACK_INIT {{{0, 0, 0, 0x01000000}}}
extern const struct in6_addr in6addr_any;
extern const struct in6_addr in6addr_loopback;

struct ipv6_mreq {
	struct in6_addr ipv6mr_multiaddr; /* the group */
	unsigned int ipv6mr_interface; /* an interface index, or 0 */
};

#define IN6_IS_ADDR_UNSPECIFIED(a) ((a)->un.u32_addr[0] == 0 && (a)->un.u32_addr[1] == 0 && (a)->un.u32_addr[2] == 0 && (a)->un.u32_addr[3] == 0)
#define IN6_IS_ADDR_LOOPBACK(a) ((a)->un.u32_addr[0] == 0 && (a)->un.u32_addr[1] == 0 && (a)->un.u32_addr[2] == 0 && (a)->un.u32_addr[3] == 0x01000000)
/* The rest of POSIX's address tests, byte by byte (the words above are in network order). */
#define IN6_IS_ADDR_MULTICAST(a) ((a)->s6_addr[0] == 0xff)
#define IN6_IS_ADDR_LINKLOCAL(a) ((a)->s6_addr[0] == 0xfe && ((a)->s6_addr[1] & 0xc0) == 0x80)
#define IN6_IS_ADDR_SITELOCAL(a) ((a)->s6_addr[0] == 0xfe && ((a)->s6_addr[1] & 0xc0) == 0xc0)
#define IN6_IS_ADDR_V4MAPPED(a) ((a)->un.u32_addr[0] == 0 && (a)->un.u32_addr[1] == 0 && (a)->un.u32_addr[2] == 0xffff0000)
#define IN6_IS_ADDR_V4COMPAT(a) ((a)->un.u32_addr[0] == 0 && (a)->un.u32_addr[1] == 0 && (a)->un.u32_addr[2] == 0 && \
	ntohl((a)->un.u32_addr[3]) > 1)
#define __IN6_IS_ADDR_MC_SCOPE(a, scope) (IN6_IS_ADDR_MULTICAST(a) && ((a)->s6_addr[1] & 0x0f) == (scope))
#define IN6_IS_ADDR_MC_NODELOCAL(a) __IN6_IS_ADDR_MC_SCOPE(a, 0x1)
#define IN6_IS_ADDR_MC_LINKLOCAL(a) __IN6_IS_ADDR_MC_SCOPE(a, 0x2)
#define IN6_IS_ADDR_MC_SITELOCAL(a) __IN6_IS_ADDR_MC_SCOPE(a, 0x5)
#define IN6_IS_ADDR_MC_ORGLOCAL(a) __IN6_IS_ADDR_MC_SCOPE(a, 0x8)
#define IN6_IS_ADDR_MC_GLOBAL(a) __IN6_IS_ADDR_MC_SCOPE(a, 0xe)

static __inline uint16_t htons(uint16_t x) { return __builtin_bswap16(x); }
static __inline uint16_t ntohs(uint16_t x) { return __builtin_bswap16(x); }
static __inline uint32_t htonl(uint32_t x) { return __builtin_bswap32(x); }
static __inline uint32_t ntohl(uint32_t x) { return __builtin_bswap32(x); }
/* The original's lwIP names. */
#define lwip_htons htons
#define lwip_ntohs ntohs
#define lwip_htonl htonl
#define lwip_ntohl ntohl

#endif /* _NETINET_IN_H */
