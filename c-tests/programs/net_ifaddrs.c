/* net_ifaddrs.c: <net/if.h> and <ifaddrs.h> without a NIC: lo (index 1) with 127.0.0.1/8 and ::1/128, its flags, MTU and zero MAC through getifaddrs, if_nameindex and the SIOCGIF* ioctls; no eth0. With "tap <mac> <port>" (net.tap-ifaddrs): eth0 too, and listeners and UDP sockets on 127.0.0.1:port and 10.0.5.2:port side by side. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "test.h"

static void test_layouts(void)
{
	CHECK_INT(IFNAMSIZ, 16);
	CHECK_INT(sizeof(struct ifreq), 40);
	CHECK_INT(offsetof(struct ifreq, ifr_addr), 16);
	CHECK_INT(sizeof(struct ifconf), 16);
	CHECK_INT(offsetof(struct ifaddrs, ifa_addr), 24);
	CHECK_INT(SIOCGIFCONF, 0x8912);
	CHECK_INT(IFF_UP | IFF_LOOPBACK | IFF_RUNNING, 0x49);
}

static void test_names(void)
{
	CHECK_INT(if_nametoindex("lo"), 1);
	errno = 0;
	CHECK_INT(if_nametoindex("eth0"), 0);
	CHECK_INT(errno, ENODEV);
	CHECK_INT(if_nametoindex("l"), 0);
	char name[IFNAMSIZ] = "x";
	CHECK_STR(if_indextoname(1, name), "lo");
	errno = 0;
	CHECK(if_indextoname(2, name) == NULL);
	CHECK_INT(errno, ENXIO);
	struct if_nameindex *ni = if_nameindex();
	CHECK(ni != NULL);
	if (ni) {
		CHECK_INT(ni[0].if_index, 1);
		CHECK_STR(ni[0].if_name, "lo");
		CHECK_INT(ni[1].if_index, 0);
		CHECK(ni[1].if_name == NULL);
		if_freenameindex(ni);
	}
}

static void test_getifaddrs(void)
{
	struct ifaddrs *list = NULL;
	CHECK_INT(getifaddrs(&list), 0);
	int seen4 = 0, seen6 = 0, count = 0;
	for (struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next) {
		count++;
		CHECK_STR(ifa->ifa_name, "lo");
		CHECK_INT(ifa->ifa_flags, IFF_UP | IFF_LOOPBACK | IFF_RUNNING);
		CHECK(ifa->ifa_broadaddr == NULL);
		char text[INET6_ADDRSTRLEN], mask[INET6_ADDRSTRLEN];
		if (ifa->ifa_addr->sa_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)ifa->ifa_addr;
			struct sockaddr_in *m = (struct sockaddr_in *)ifa->ifa_netmask;
			CHECK_INT(a->sin_len, sizeof(*a));
			CHECK_INT(m->sin_family, AF_INET);
			CHECK_STR(inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text)), "127.0.0.1");
			CHECK_STR(inet_ntop(AF_INET, &m->sin_addr, mask, sizeof(mask)), "255.0.0.0");
			seen4++;
		} else {
			CHECK_INT(ifa->ifa_addr->sa_family, AF_INET6);
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)ifa->ifa_addr;
			struct sockaddr_in6 *m = (struct sockaddr_in6 *)ifa->ifa_netmask;
			CHECK_INT(a->sin6_len, sizeof(*a));
			CHECK_INT(a->sin6_scope_id, 0);
			CHECK_STR(inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text)), "::1");
			CHECK_STR(inet_ntop(AF_INET6, &m->sin6_addr, mask, sizeof(mask)),
				  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
			seen6++;
		}
	}
	CHECK_INT(count, 2);
	CHECK_INT(seen4, 1);
	CHECK_INT(seen6, 1);
	freeifaddrs(list);
}

static void test_ioctls(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(s >= 0);
	struct ifreq req;
	memset(&req, 0, sizeof(req));
	strcpy(req.ifr_name, "lo");
	CHECK_INT(ioctl(s, SIOCGIFFLAGS, &req), 0);
	CHECK_INT(req.ifr_flags, IFF_UP | IFF_LOOPBACK | IFF_RUNNING);
	CHECK_INT(ioctl(s, SIOCGIFINDEX, &req), 0);
	CHECK_INT(req.ifr_ifindex, 1);
	CHECK_INT(ioctl(s, SIOCGIFMTU, &req), 0);
	CHECK_INT(req.ifr_mtu, 65521);
	char text[INET_ADDRSTRLEN];
	CHECK_INT(ioctl(s, SIOCGIFADDR, &req), 0);
	CHECK_INT(req.ifr_addr.sa_family, AF_INET);
	CHECK_STR(inet_ntop(AF_INET, &((struct sockaddr_in *)&req.ifr_addr)->sin_addr, text, sizeof(text)), "127.0.0.1");
	CHECK_INT(ioctl(s, SIOCGIFNETMASK, &req), 0);
	CHECK_STR(inet_ntop(AF_INET, &((struct sockaddr_in *)&req.ifr_netmask)->sin_addr, text, sizeof(text)),
		  "255.0.0.0");
	static const char zero[6];
	memset(&req.ifr_hwaddr, 0xaa, sizeof(req.ifr_hwaddr));
	CHECK_INT(ioctl(s, SIOCGIFHWADDR, &req), 0);
	CHECK(memcmp(req.ifr_hwaddr.sa_data, zero, 6) == 0);
	/* An unknown interface, a descriptor that is no socket, a closed one. */
	strcpy(req.ifr_name, "eth0");
	errno = 0;
	CHECK_INT(ioctl(s, SIOCGIFFLAGS, &req), -1);
	CHECK_INT(errno, ENODEV);
	errno = 0;
	CHECK_INT(ioctl(1, SIOCGIFFLAGS, &req), -1);
	CHECK_INT(errno, ENOTTY);
	/* SIOCGIFCONF: the length first, then the one IPv4 address; a short buffer gets none. */
	struct ifconf ifc = { 0 };
	CHECK_INT(ioctl(s, SIOCGIFCONF, &ifc), 0);
	CHECK_INT(ifc.ifc_len, sizeof(struct ifreq));
	struct ifreq reqs[4];
	memset(reqs, 0, sizeof(reqs));
	ifc.ifc_len = sizeof(reqs);
	ifc.ifc_req = reqs;
	CHECK_INT(ioctl(s, SIOCGIFCONF, &ifc), 0);
	CHECK_INT(ifc.ifc_len, sizeof(struct ifreq));
	CHECK_STR(reqs[0].ifr_name, "lo");
	CHECK_STR(inet_ntop(AF_INET, &((struct sockaddr_in *)&reqs[0].ifr_addr)->sin_addr, text, sizeof(text)),
		  "127.0.0.1");
	ifc.ifc_len = sizeof(struct ifreq) - 1;
	CHECK_INT(ioctl(s, SIOCGIFCONF, &ifc), 0);
	CHECK_INT(ifc.ifc_len, 0);
	close(s);
	errno = 0;
	CHECK_INT(ioctl(s, SIOCGIFFLAGS, &req), -1);
	CHECK_INT(errno, EBADF);
}

#define SAY(...) (printf("net_ifaddrs: " __VA_ARGS__), printf("\n"), fflush(stdout))

/* eth0 on the tap: index 2, 10.0.5.2/24 with its broadcast address, the link-local address
 * of `mac` with scope id 2, the MAC, flags and MTU through the ioctls. */
static void test_eth0(const char *mac)
{
	CHECK_INT(if_nametoindex("eth0"), 2);
	char name[IFNAMSIZ];
	CHECK_STR(if_indextoname(2, name), "eth0");
	struct if_nameindex *ni = if_nameindex();
	CHECK(ni && ni[1].if_index == 2 && strcmp(ni[1].if_name, "eth0") == 0 && ni[2].if_index == 0);
	if_freenameindex(ni);
	unsigned m[6];
	CHECK_INT(sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]), 6);
	/* fe80::(m0^2)m1:m2ff:fem3:m4m5 (modified EUI-64). */
	unsigned char ll[16] = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, m[0] ^ 2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5] };
	struct ifaddrs *list = NULL;
	CHECK_INT(getifaddrs(&list), 0);
	int v4 = 0, link_local = 0;
	char text[INET6_ADDRSTRLEN];
	for (struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next) {
		if (strcmp(ifa->ifa_name, "eth0") != 0)
			continue;
		CHECK_INT(ifa->ifa_flags, IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST);
		if (ifa->ifa_addr->sa_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)ifa->ifa_addr;
			CHECK_STR(inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text)), "10.0.5.2");
			a = (struct sockaddr_in *)ifa->ifa_netmask;
			CHECK_STR(inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text)), "255.255.255.0");
			CHECK(ifa->ifa_broadaddr != NULL);
			a = (struct sockaddr_in *)ifa->ifa_broadaddr;
			CHECK_STR(inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text)), "10.0.5.255");
			v4++;
		} else {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)ifa->ifa_addr;
			if (a->sin6_addr.s6_addr[0] != 0xfe)
				continue; /* A SLAAC address, if the segment advertised a prefix. */
			CHECK(memcmp(&a->sin6_addr, ll, 16) == 0);
			CHECK_INT(a->sin6_scope_id, 2);
			a = (struct sockaddr_in6 *)ifa->ifa_netmask;
			CHECK_STR(inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text)), "ffff:ffff:ffff:ffff::");
			link_local++;
		}
	}
	CHECK_INT(v4, 1);
	CHECK_INT(link_local, 1);
	freeifaddrs(list);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq req;
	memset(&req, 0, sizeof(req));
	strcpy(req.ifr_name, "eth0");
	CHECK_INT(ioctl(s, SIOCGIFHWADDR, &req), 0);
	CHECK_INT(req.ifr_hwaddr.sa_family, ARPHRD_ETHER);
	unsigned char want[6] = { m[0], m[1], m[2], m[3], m[4], m[5] };
	CHECK(memcmp(req.ifr_hwaddr.sa_data, want, 6) == 0);
	CHECK_INT(ioctl(s, SIOCGIFINDEX, &req), 0);
	CHECK_INT(req.ifr_ifindex, 2);
	CHECK_INT(ioctl(s, SIOCGIFMTU, &req), 0);
	CHECK_INT(req.ifr_mtu, 1500);
	CHECK_INT(ioctl(s, SIOCGIFFLAGS, &req), 0);
	CHECK_INT(req.ifr_flags, IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST);
	CHECK_INT(ioctl(s, SIOCGIFADDR, &req), 0);
	CHECK_STR(inet_ntop(AF_INET, &((struct sockaddr_in *)&req.ifr_addr)->sin_addr, text, sizeof(text)), "10.0.5.2");
	struct ifreq reqs[4];
	struct ifconf ifc = { .ifc_len = sizeof(reqs), .ifc_req = reqs };
	CHECK_INT(ioctl(s, SIOCGIFCONF, &ifc), 0);
	CHECK_INT(ifc.ifc_len, 2 * sizeof(struct ifreq));
	CHECK_STR(reqs[0].ifr_name, "lo");
	CHECK_STR(reqs[1].ifr_name, "eth0");
	close(s);
}

static struct sockaddr_in at(const char *addr, int port)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_len = sizeof(sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	return sa;
}

/* A socket of `type` bound to addr:port (listening if a stream). */
static int bound(int type, const char *addr, int port)
{
	int s = socket(AF_INET, type, 0);
	struct sockaddr_in sa = at(addr, port);
	CHECK_INT(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (type == SOCK_STREAM)
		CHECK_INT(listen(s, 4), 0);
	return s;
}

/* Whether `fd` has something to take within `ms`. */
static int ready(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, ms) == 1;
}

/* TCP and UDP on 127.0.0.1:port and 10.0.5.2:port at once; a wildcard then conflicts. Each
 * listener takes the connections to its address (the guest's own to 127.0.0.1, the host's to
 * 10.0.5.2, answered "nic"), each UDP socket the datagrams to its address (the host's
 * "host", echoed). */
static void test_bind_by_address(int port)
{
	int lo = bound(SOCK_STREAM, "127.0.0.1", port), nic = bound(SOCK_STREAM, "10.0.5.2", port);
	int ulo = bound(SOCK_DGRAM, "127.0.0.1", port), unic = bound(SOCK_DGRAM, "10.0.5.2", port);
	int any = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = at("0.0.0.0", port);
	errno = 0;
	CHECK_INT(bind(any, (struct sockaddr *)&sa, sizeof(sa)), -1);
	CHECK_INT(errno, EADDRINUSE);
	close(any);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	sa = at("127.0.0.1", port);
	CHECK_INT(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK(ready(lo, 5000));
	CHECK(!ready(nic, 100));
	close(accept(lo, NULL, NULL));
	close(c);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK_INT(sendto(u, "own", 3, 0, (struct sockaddr *)&sa, sizeof(sa)), 3);
	CHECK(ready(ulo, 5000));
	CHECK(!ready(unic, 100));
	char buf[16] = { 0 };
	CHECK_INT(recv(ulo, buf, sizeof(buf), 0), 3);
	CHECK_STR(buf, "own");
	close(u);
	SAY("listening on %d", port);
	CHECK(ready(nic, 30000));
	CHECK(!ready(lo, 0));
	int conn = accept(nic, NULL, NULL);
	CHECK(conn >= 0);
	CHECK_INT(send(conn, "nic", 3, 0), 3);
	close(conn);
	CHECK(ready(unic, 30000));
	CHECK(!ready(ulo, 0));
	struct sockaddr_in from;
	socklen_t len = sizeof(from);
	memset(buf, 0, sizeof(buf));
	CHECK_INT(recvfrom(unic, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len), 4);
	CHECK_STR(buf, "host");
	CHECK_INT(sendto(unic, "nic", 3, 0, (struct sockaddr *)&from, len), 3);
	SAY("both sides done");
	close(lo);
	close(nic);
	close(ulo);
	close(unic);
}

int main(int argc, char **argv)
{
	test_layouts();
	if (argc == 4 && strcmp(argv[1], "tap") == 0) {
		test_eth0(argv[2]);
		test_bind_by_address(atoi(argv[3]));
		TEST_DONE();
	}
	test_names();
	test_getifaddrs();
	test_ioctls();
	TEST_DONE();
}
