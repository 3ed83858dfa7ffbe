/* ifaddrs.c: getifaddrs/freeifaddrs, if_nametoindex/if_indextoname/if_nameindex and the SIOCGIF* ioctls, from the kernel's interface records (sys_netif): lo (index 1) and, with a NIC, eth0 (index 2). */
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "glue.h"

/* One record of sys_netif (src/net/netif.rs, 36 bytes): an interface (family AF_UNSPEC)
 * before each of its addresses. */
struct hermit_netif {
	uint32_t index;
	uint32_t flags;
	uint32_t mtu;
	uint8_t family;
	uint8_t prefix_len;
	uint8_t mac[6];
	uint8_t addr[16];
};

_Static_assert(sizeof(struct hermit_netif) == 36, "sys_netif's record");

int sys_netif(struct hermit_netif *out, int max);

/* The records in a malloc'd array (*count of them), or NULL with errno. */
static struct hermit_netif *records(int *count)
{
	int max = 16;
	for (;;) {
		struct hermit_netif *r = malloc(max * sizeof *r);
		if (!r)
			return NULL;
		int n = sys_netif(r, max);
		if (n < 0) {
			free(r);
			errno = -n;
			return NULL;
		}
		if (n <= max) {
			*count = n;
			return r;
		}
		free(r);
		max = n; /* An address came meanwhile: ask again for all. */
	}
}

static const char *name_of(uint32_t index)
{
	return index == 1 ? "lo" : index == 2 ? "eth0" : NULL;
}

/* The interface record named `name`, or NULL. */
static const struct hermit_netif *find(const struct hermit_netif *r, int n, const char *name)
{
	for (int i = 0; i < n; i++) {
		const char *own = name_of(r[i].index);
		if (r[i].family == AF_UNSPEC && own && strncmp(own, name, IFNAMSIZ) == 0)
			return &r[i];
	}
	return NULL;
}

/* Writes the address (or, with `mask`, the netmask of its prefix) of an address record. */
static void put_addr(const struct hermit_netif *rec, int mask, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof *out);
	if (rec->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)out;
		sin->sin_len = sizeof *sin;
		sin->sin_family = AF_INET;
		if (mask) {
			uint32_t bits = rec->prefix_len ? ~0u << (32 - rec->prefix_len) : 0;
			sin->sin_addr.s_addr = htonl(bits);
		} else {
			memcpy(&sin->sin_addr, rec->addr, 4);
		}
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
		sin6->sin6_len = sizeof *sin6;
		sin6->sin6_family = AF_INET6;
		if (mask) {
			uint8_t *b = (uint8_t *)&sin6->sin6_addr;
			for (int bit = 0; bit < rec->prefix_len; bit++)
				b[bit / 8] |= 0x80 >> (bit % 8);
		} else {
			memcpy(&sin6->sin6_addr, rec->addr, 16);
			/* Link-local addresses are eth0's and say so, as on Linux. */
			if (rec->addr[0] == 0xfe && (rec->addr[1] & 0xc0) == 0x80)
				sin6->sin6_scope_id = rec->index;
		}
	}
}

/* One entry of getifaddrs's list, with its addresses and name in the same allocation. */
struct entry {
	struct ifaddrs ifa;
	struct sockaddr_storage addr, netmask, broadaddr;
	char name[IFNAMSIZ];
};

int getifaddrs(struct ifaddrs **ifap)
{
	int n;
	struct hermit_netif *r = records(&n);
	if (!r)
		return -1;
	struct ifaddrs *head = NULL, **tail = &head;
	for (int i = 0; i < n; i++) {
		if (r[i].family != AF_INET && r[i].family != AF_INET6)
			continue;
		struct entry *e = calloc(1, sizeof *e);
		if (!e) {
			freeifaddrs(head);
			free(r);
			return -1;
		}
		strcpy(e->name, name_of(r[i].index) ? name_of(r[i].index) : "?");
		e->ifa.ifa_name = e->name;
		e->ifa.ifa_flags = r[i].flags;
		put_addr(&r[i], 0, &e->addr);
		put_addr(&r[i], 1, &e->netmask);
		e->ifa.ifa_addr = (struct sockaddr *)&e->addr;
		e->ifa.ifa_netmask = (struct sockaddr *)&e->netmask;
		if (r[i].family == AF_INET && (r[i].flags & IFF_BROADCAST)) {
			struct sockaddr_in *a = (struct sockaddr_in *)&e->addr, *m = (struct sockaddr_in *)&e->netmask;
			struct sockaddr_in *b = (struct sockaddr_in *)&e->broadaddr;
			*b = *a;
			b->sin_addr.s_addr = a->sin_addr.s_addr | ~m->sin_addr.s_addr;
			e->ifa.ifa_broadaddr = (struct sockaddr *)b;
		}
		*tail = &e->ifa;
		tail = &e->ifa.ifa_next;
	}
	free(r);
	*ifap = head;
	return 0;
}

void freeifaddrs(struct ifaddrs *ifa)
{
	while (ifa) {
		struct ifaddrs *next = ifa->ifa_next;
		free(ifa); /* The entry's first member. */
		ifa = next;
	}
}

unsigned int if_nametoindex(const char *name)
{
	int n;
	struct hermit_netif *r = records(&n);
	if (!r)
		return 0;
	const struct hermit_netif *rec = find(r, n, name);
	unsigned int index = rec ? rec->index : 0;
	free(r);
	if (!index)
		errno = ENODEV;
	return index;
}

char *if_indextoname(unsigned int index, char *name)
{
	int n;
	struct hermit_netif *r = records(&n);
	if (!r)
		return NULL;
	int found = 0;
	for (int i = 0; i < n; i++)
		found |= r[i].family == AF_UNSPEC && r[i].index == index && name_of(index);
	free(r);
	if (!found) {
		errno = ENXIO;
		return NULL;
	}
	return strcpy(name, name_of(index));
}

struct if_nameindex *if_nameindex(void)
{
	int n;
	struct hermit_netif *r = records(&n);
	if (!r)
		return NULL;
	/* The array, then the names. */
	struct if_nameindex *out = calloc(n + 1, sizeof *out + IFNAMSIZ);
	if (!out) {
		free(r);
		return NULL;
	}
	char *names = (char *)(out + n + 1);
	int k = 0;
	for (int i = 0; i < n; i++) {
		if (r[i].family != AF_UNSPEC || !name_of(r[i].index))
			continue;
		out[k].if_index = r[i].index;
		out[k].if_name = strcpy(names + k * IFNAMSIZ, name_of(r[i].index));
		k++;
	}
	free(r);
	return out;
}

void if_freenameindex(struct if_nameindex *ptr)
{
	free(ptr);
}

/* SIOCGIFCONF: an ifreq for each IPv4 address (as Linux; a NULL buffer asks for the length). */
static int ifconf(const struct hermit_netif *r, int n, struct ifconf *ifc)
{
	int len = 0;
	for (int i = 0; i < n; i++) {
		if (r[i].family != AF_INET)
			continue;
		if (ifc->ifc_buf) {
			if (len + (int)sizeof(struct ifreq) > ifc->ifc_len)
				break;
			struct ifreq *req = (struct ifreq *)(ifc->ifc_buf + len);
			memset(req, 0, sizeof *req);
			strcpy(req->ifr_name, name_of(r[i].index));
			struct sockaddr_storage ss;
			put_addr(&r[i], 0, &ss);
			memcpy(&req->ifr_addr, &ss, sizeof(struct sockaddr_in));
		}
		len += sizeof(struct ifreq);
	}
	ifc->ifc_len = len;
	return 0;
}

/* The first IPv4 address record of interface `iface` (or its netmask), EADDRNOTAVAIL without. */
static int ipv4_of(const struct hermit_netif *r, int n, const struct hermit_netif *iface, int mask, struct ifreq *req)
{
	for (int i = 0; i < n; i++) {
		if (r[i].family == AF_INET && r[i].index == iface->index) {
			struct sockaddr_storage ss;
			put_addr(&r[i], mask, &ss);
			memcpy(&req->ifr_addr, &ss, sizeof(struct sockaddr_in));
			return 0;
		}
	}
	return hermit_fail(EADDRNOTAVAIL);
}

/* The SIOCGIF* requests of ioctl (fdio.c) on socket descriptor `fd`. */
int hermit_ifioctl(int fd, unsigned long request, void *arg)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -1; /* EBADF for a descriptor that is not open */
	/* A socket, with or without LWIP_FD_BIT in its number (HERMIT_SOCKET_FD_BIT=0). */
	if (!S_ISSOCK(st.st_mode))
		return hermit_fail(ENOTTY);
	if (!arg)
		return hermit_fail(EFAULT);
	int n;
	struct hermit_netif *r = records(&n);
	if (!r)
		return -1;
	int ret = 0;
	struct ifreq *req = arg;
	const struct hermit_netif *iface = request == SIOCGIFCONF ? NULL : find(r, n, req->ifr_name);
	if (request != SIOCGIFCONF && !iface) {
		free(r);
		return hermit_fail(ENODEV);
	}
	switch (request) {
	case SIOCGIFCONF:
		ret = ifconf(r, n, arg);
		break;
	case SIOCGIFADDR:
		ret = ipv4_of(r, n, iface, 0, req);
		break;
	case SIOCGIFNETMASK:
		ret = ipv4_of(r, n, iface, 1, req);
		break;
	case SIOCGIFFLAGS:
		req->ifr_flags = (short)iface->flags;
		break;
	case SIOCGIFMTU:
		req->ifr_mtu = (int)iface->mtu;
		break;
	case SIOCGIFINDEX:
		req->ifr_ifindex = (int)iface->index;
		break;
	case SIOCGIFHWADDR:
		memset(&req->ifr_hwaddr, 0, sizeof req->ifr_hwaddr);
		req->ifr_hwaddr.sa_family = iface->flags & IFF_LOOPBACK ? 0 : ARPHRD_ETHER;
		memcpy(req->ifr_hwaddr.sa_data, iface->mac, 6);
		break;
	default:
		ret = hermit_fail(ENOTTY);
	}
	free(r);
	return ret;
}
