/* net_udp_share.c: UDP sockets that share a port (both families, SO_REUSEADDR, a connected one, a group) each get the datagrams Linux would give them. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "test.h"

static const char *GROUP = "239.1.2.7";

/* A UDP socket of `family` (AF_INET6 sockets take IPv6 only), with SO_REUSEADDR if `reuse`. */
static int udp(int family, int reuse)
{
	int s = socket(family, SOCK_DGRAM, 0);
	int one = 1;
	CHECK(s >= 0);
	if (family == AF_INET6)
		CHECK_INT(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
	if (reuse)
		CHECK_INT(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	return s;
}

/* The address `ip` (IPv4 or IPv6 text), port `port`, and its length. */
static socklen_t address(struct sockaddr_storage *ss, const char *ip, int port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		CHECK_INT(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	CHECK_INT(inet_pton(AF_INET, ip, &a->sin_addr), 1);
	return sizeof(*a);
}

static int bind_to(int s, const char *ip, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = address(&ss, ip, port);
	return bind(s, (struct sockaddr *)&ss, len);
}

static void send_to(int s, const char *ip, int port, const char *text)
{
	struct sockaddr_storage ss;
	socklen_t len = address(&ss, ip, port);
	CHECK_INT(sendto(s, text, strlen(text), 0, (struct sockaddr *)&ss, len), strlen(text));
}

/* The next datagram of `s` within a second is `text`. */
static void expect(int s, const char *text)
{
	struct pollfd p = { .fd = s, .events = POLLIN };
	char buf[64];
	CHECK_INT(poll(&p, 1, 1000), 1);
	ssize_t n = recv(s, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHECK_INT(n, strlen(text));
	buf[n < 0 ? 0 : n] = 0;
	CHECK_STR(buf, text);
}

/* Nothing waits on `s` (after what was sent has arrived elsewhere). */
static void expect_none(int s)
{
	struct pollfd p = { .fd = s, .events = POLLIN };
	CHECK_INT(poll(&p, 1, 50), 0);
}

/* 0.0.0.0:port and [::]:port with IPV6_V6ONLY, bound in either order: each family's
 * datagrams reach its own socket (before, all went to the first one bound, which dropped
 * the other family's). */
static void families(int port, int v6_first)
{
	int v4 = udp(AF_INET, 0), v6 = udp(AF_INET6, 0);
	int c4 = udp(AF_INET, 0), c6 = udp(AF_INET6, 0);
	if (v6_first)
		CHECK_INT(bind_to(v6, "::", port), 0);
	CHECK_INT(bind_to(v4, "0.0.0.0", port), 0);
	if (!v6_first)
		CHECK_INT(bind_to(v6, "::", port), 0);
	for (int i = 0; i < 3; i++) {
		send_to(c6, "::1", port, "to six");
		send_to(c4, "127.0.0.1", port, "to four");
	}
	for (int i = 0; i < 3; i++) {
		expect(v4, "to four");
		expect(v6, "to six");
	}
	/* The sender's family shows in recvfrom. */
	send_to(c6, "::1", port, "from six");
	struct sockaddr_storage from;
	socklen_t len = sizeof(from);
	char buf[16];
	struct pollfd p = { .fd = v6, .events = POLLIN };
	CHECK_INT(poll(&p, 1, 1000), 1);
	CHECK_INT(recvfrom(v6, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len), 8);
	CHECK_INT(from.ss_family, AF_INET6);
	expect_none(v4);
	expect_none(v6);
	close(v4);
	close(v6);
	close(c4);
	close(c6);
}

/* With SO_REUSEADDR, 0.0.0.0:port and 127.0.0.1:port: datagrams to 127.0.0.1 go to the
 * socket bound to it, in either order of binding. */
static void specific_address(int port, int wildcard_first)
{
	int any = udp(AF_INET, 1), lo = udp(AF_INET, 1), c = udp(AF_INET, 0);
	if (wildcard_first)
		CHECK_INT(bind_to(any, "0.0.0.0", port), 0);
	CHECK_INT(bind_to(lo, "127.0.0.1", port), 0);
	if (!wildcard_first)
		CHECK_INT(bind_to(any, "0.0.0.0", port), 0);
	send_to(c, "127.0.0.1", port, "to lo");
	expect(lo, "to lo");
	expect_none(any);
	close(any);
	close(lo);
	close(c);
}

/* Two wildcard sockets with SO_REUSEADDR, the second then connected to one client: that
 * client's datagrams go to it, another client's to the first; a datagram to a group both
 * sockets' port reaches each of them (Linux's IP_MULTICAST_ALL). */
static void connected_and_group(int port)
{
	int first = udp(AF_INET, 1), second = udp(AF_INET, 1);
	int c1 = udp(AF_INET, 0), c2 = udp(AF_INET, 0);
	CHECK_INT(bind_to(first, "0.0.0.0", port), 0);
	CHECK_INT(bind_to(second, "0.0.0.0", port), 0);
	CHECK_INT(bind_to(c2, "127.0.0.1", port + 1), 0);
	/* Alike, the one bound last takes a datagram for one (Linux's choice among equals). */
	send_to(c1, "127.0.0.1", port, "to the last");
	expect(second, "to the last");
	expect_none(first);
	struct sockaddr_storage ss;
	socklen_t len = address(&ss, "127.0.0.1", port + 1);
	CHECK_INT(connect(second, (struct sockaddr *)&ss, len), 0);
	send_to(c2, "127.0.0.1", port, "from c2");
	send_to(c1, "127.0.0.1", port, "from c1");
	expect(second, "from c2");
	expect(first, "from c1");
	expect_none(first);
	expect_none(second);

	struct ip_mreq m;
	memset(&m, 0, sizeof(m));
	m.imr_multiaddr.s_addr = inet_addr(GROUP);
	m.imr_interface.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT(setsockopt(first, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)), 0);
	struct in_addr lo = { htonl(INADDR_LOOPBACK) };
	CHECK_INT(setsockopt(c1, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof(lo)), 0);
	send_to(c1, GROUP, port, "to the group");
	expect(first, "to the group");
	/* The connected one takes its peer's only, as on Linux. */
	expect_none(second);
	CHECK_INT(connect(second, (struct sockaddr *)&(struct sockaddr_in){ .sin_family = AF_UNSPEC }, sizeof(struct sockaddr_in)), 0);
	send_to(c1, GROUP, port, "to both");
	expect(first, "to both");
	expect(second, "to both");
	close(first);
	close(second);
	close(c1);
	close(c2);
}

/* What waits for a socket of a shared port is readable as any datagram (poll, FIONREAD,
 * MSG_PEEK), also after the other socket, which the datagrams may have reached first, is
 * closed; the port's datagrams then all go to the one left. */
static void after_close(int port)
{
	int v4 = udp(AF_INET, 0), v6 = udp(AF_INET6, 0), c6 = udp(AF_INET6, 0), c4 = udp(AF_INET, 0);
	CHECK_INT(bind_to(v4, "0.0.0.0", port), 0);
	CHECK_INT(bind_to(v6, "::", port), 0);
	send_to(c6, "::1", port, "one");
	send_to(c6, "::1", port, "two!");
	send_to(c4, "127.0.0.1", port, "four");
	expect(v4, "four");
	close(v4);
	struct pollfd p = { .fd = v6, .events = POLLIN };
	CHECK_INT(poll(&p, 1, 1000), 1);
	int waiting = -1;
	CHECK_INT(ioctl(v6, FIONREAD, &waiting), 0);
	CHECK_INT(waiting, 3);
	char buf[16];
	CHECK_INT(recv(v6, buf, sizeof(buf), MSG_PEEK), 3);
	expect(v6, "one");
	expect(v6, "two!");
	send_to(c6, "::1", port, "three");
	expect(v6, "three");
	expect_none(v6);
	close(v6);
	close(c6);
	close(c4);
}

int main(void)
{
	families(7710, 0);
	families(7711, 1);
	specific_address(7712, 1);
	specific_address(7713, 0);
	connected_and_group(7720);
	after_close(7730);
	printf("net_udp_share: datagrams sorted among the sockets of a port\n");
	TEST_DONE();
}
