/* net_multicast.c: UDP multicast on the guest loopback: the options (lwIP's values, Linux's errors), a group's datagrams reaching its members and no one else, IP_MULTICAST_LOOP, a socket bound to a group, IPv6 groups. With "tap <group> <port> <count>" (net.tap-multicast): joins <group> on the NIC, answers <count> datagrams of the host's to the group's port + 1 and, with IP_TTL 33, to the host at port + 2. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "test.h"

static const char *GROUP = "239.1.2.3";

static int udp(int family, int port, const char *bind_to)
{
	int s = socket(family, SOCK_DGRAM, 0);
	CHECK(s >= 0);
	struct timeval tv = { .tv_sec = 0, .tv_usec = 300000 };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (port < 0)
		return s;
	if (family == AF_INET) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		sa.sin_addr.s_addr = bind_to ? inet_addr(bind_to) : htonl(INADDR_ANY);
		CHECK_INT(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	} else {
		struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
		CHECK_INT(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	return s;
}

static int membership(int s, const char *group, int option)
{
	struct ip_mreq m;
	m.imr_multiaddr.s_addr = inet_addr(group);
	m.imr_interface.s_addr = htonl(INADDR_ANY);
	return setsockopt(s, IPPROTO_IP, option, &m, sizeof(m));
}

static void send_to(int s, const char *addr, int port, const char *msg)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	to.sin_addr.s_addr = inet_addr(addr);
	CHECK_INT(sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&to, sizeof(to)), (long long)strlen(msg));
}

/* What `s` receives within its timeout: the datagram as a string, or "" for none. */
static const char *received(int s)
{
	static char buf[6000];
	ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static int get_int(int s, int level, int name)
{
	int v = -7;
	socklen_t len = sizeof(v);
	CHECK_INT(getsockopt(s, level, name, &v, &len), 0);
	return v;
}

/* Sets an int option: 0, or the errno of its failure. */
static int set_int(int s, int level, int name, int v)
{
	errno = 0;
	return setsockopt(s, level, name, &v, sizeof(v)) == 0 ? 0 : errno;
}

static void test_layouts(void)
{
	CHECK_INT(sizeof(struct ip_mreq), 8);
	CHECK_INT(sizeof(struct ip_mreqn), 12);
	CHECK_INT(sizeof(struct ipv6_mreq), 20);
	CHECK_INT(IP_ADD_MEMBERSHIP, 3);
	CHECK_INT(IP_DROP_MEMBERSHIP, 4);
	CHECK_INT(IP_MULTICAST_TTL, 5);
	CHECK_INT(IP_MULTICAST_IF, 6);
	CHECK_INT(IP_MULTICAST_LOOP, 7);
	CHECK_INT(IPV6_JOIN_GROUP, 12);
	CHECK_INT(IPV6_LEAVE_GROUP, 13);
	CHECK(IN_MULTICAST(ntohl(inet_addr(GROUP))));
	CHECK(!IN_MULTICAST(ntohl(inet_addr("10.0.5.2"))));
}

static void test_options(void)
{
	int s = udp(AF_INET, -1, NULL);
	CHECK_INT(get_int(s, IPPROTO_IP, IP_MULTICAST_TTL), 1);
	CHECK_INT(get_int(s, IPPROTO_IP, IP_MULTICAST_LOOP), 1);
	CHECK_INT(set_int(s, IPPROTO_IP, IP_MULTICAST_TTL, 5), 0);
	CHECK_INT(get_int(s, IPPROTO_IP, IP_MULTICAST_TTL), 5);
	unsigned char byte = 9;
	CHECK_INT(setsockopt(s, IPPROTO_IP, IP_MULTICAST_TTL, &byte, 1), 0);
	CHECK_INT(get_int(s, IPPROTO_IP, IP_MULTICAST_TTL), 9);
	CHECK_INT(set_int(s, IPPROTO_IP, IP_MULTICAST_TTL, 256), EINVAL);
	/* IP_TTL, the unicast limit: 64 unless set, 1-255 or -1 (the default). */
	CHECK_INT(get_int(s, IPPROTO_IP, IP_TTL), 64);
	CHECK_INT(set_int(s, IPPROTO_IP, IP_TTL, 33), 0);
	CHECK_INT(get_int(s, IPPROTO_IP, IP_TTL), 33);
	CHECK_INT(get_int(s, IPPROTO_IP, IP_MULTICAST_TTL), 9); /* apart from IP_TTL */
	CHECK_INT(set_int(s, IPPROTO_IP, IP_TTL, 0), EINVAL);
	CHECK_INT(set_int(s, IPPROTO_IP, IP_TTL, -1), 0);
	CHECK_INT(get_int(s, IPPROTO_IP, IP_TTL), 64);
	/* 0 (the host only, on Linux) is refused: no packet leaves with a hop limit of 0. */
	CHECK_INT(set_int(s, IPPROTO_IP, IP_MULTICAST_TTL, 0), EINVAL);
	CHECK_INT(set_int(s, IPPROTO_IP, IP_MULTICAST_TTL, -1), 0);
	CHECK_INT(get_int(s, IPPROTO_IP, IP_MULTICAST_TTL), 1);
	struct in_addr ifaddr = { inet_addr("127.0.0.1") };
	CHECK_INT(setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &ifaddr, sizeof(ifaddr)), 0);
	struct in_addr back = { 0 };
	socklen_t len = sizeof(back);
	CHECK_INT(getsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &back, &len), 0);
	CHECK_INT(back.s_addr, inet_addr("127.0.0.1"));
	ifaddr.s_addr = inet_addr("10.9.9.9");
	errno = 0;
	CHECK_INT(setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &ifaddr, sizeof(ifaddr)), -1);
	CHECK_INT(errno, EADDRNOTAVAIL);
	/* Memberships: a multicast group only, once per socket, left only if joined. */
	errno = 0;
	CHECK_INT(membership(s, "10.0.0.1", IP_ADD_MEMBERSHIP), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(membership(s, GROUP, IP_ADD_MEMBERSHIP), 0);
	errno = 0;
	CHECK_INT(membership(s, GROUP, IP_ADD_MEMBERSHIP), -1);
	CHECK_INT(errno, EADDRINUSE);
	errno = 0;
	CHECK_INT(membership(s, "239.9.9.9", IP_DROP_MEMBERSHIP), -1);
	CHECK_INT(errno, EADDRNOTAVAIL);
	CHECK_INT(membership(s, GROUP, IP_DROP_MEMBERSHIP), 0);
	/* At most 20 groups a socket, as Linux. */
	char group[16];
	int joined = 0;
	for (int i = 0; i < 25; i++) {
		snprintf(group, sizeof(group), "239.0.0.%d", i + 1);
		joined += membership(s, group, IP_ADD_MEMBERSHIP) == 0;
	}
	CHECK_INT(joined, 20);
	CHECK_INT(errno, ENOBUFS);
	close(s);
	/* Not on TCP; the IPv6 options not on an AF_INET socket. */
	int t = socket(AF_INET, SOCK_STREAM, 0);
	errno = 0;
	CHECK_INT(membership(t, GROUP, IP_ADD_MEMBERSHIP), -1);
	CHECK_INT(errno, EPROTO);
	close(t);
	s = udp(AF_INET, -1, NULL);
	CHECK_INT(set_int(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 1), ENOPROTOOPT);
	close(s);
}

static void test_delivery(void)
{
	int member = udp(AF_INET, 7400, NULL), other = udp(AF_INET, 7401, NULL), sender = udp(AF_INET, -1, NULL);
	CHECK_INT(membership(member, GROUP, IP_ADD_MEMBERSHIP), 0);
	send_to(sender, GROUP, 7400, "to the group");
	CHECK_STR(received(member), "to the group");
	/* A group of no member's: nothing. A joined group at another port: that port's socket,
	   member or not (as Linux, whose IP_MULTICAST_ALL is on by default). */
	send_to(sender, "239.7.7.7", 7400, "to another group");
	send_to(sender, "239.7.7.7", 7401, "to another group");
	send_to(sender, GROUP, 7401, "to another port");
	CHECK_STR(received(member), "");
	CHECK_STR(received(other), "to another port");
	CHECK_STR(received(other), "");
	/* A datagram longer than the loopback's frames need no cutting: whole. */
	static char big[5001];
	memset(big, 'b', 5000);
	send_to(sender, GROUP, 7400, big);
	CHECK_INT(strlen(received(member)), 5000);
	/* IP_MULTICAST_LOOP off: the member no longer gets its own, still the sender's. */
	unsigned char off = 0;
	CHECK_INT(setsockopt(member, IPPROTO_IP, IP_MULTICAST_LOOP, &off, 1), 0);
	CHECK_INT(get_int(member, IPPROTO_IP, IP_MULTICAST_LOOP), 0);
	send_to(member, GROUP, 7400, "my own");
	send_to(sender, GROUP, 7400, "the sender's");
	CHECK_STR(received(member), "the sender's");
	/* Left: nothing more. */
	CHECK_INT(membership(member, GROUP, IP_DROP_MEMBERSHIP), 0);
	send_to(sender, GROUP, 7400, "after the drop");
	CHECK_STR(received(member), "");
	close(member);
	/* Bound to the group: its datagrams, not those to 127.0.0.1 at the port. */
	int bound = udp(AF_INET, 7402, GROUP);
	CHECK_INT(membership(bound, GROUP, IP_ADD_MEMBERSHIP), 0);
	send_to(sender, "127.0.0.1", 7402, "unicast");
	send_to(sender, GROUP, 7402, "multicast");
	CHECK_STR(received(bound), "multicast");
	CHECK_STR(received(bound), "");
	close(bound);
	/* A socket closed while a member leaves the group: a new socket gets nothing unjoined. */
	int later = udp(AF_INET, 7400, NULL);
	send_to(sender, GROUP, 7400, "nobody joined");
	CHECK_STR(received(later), "");
	close(later);
	close(other);
	close(sender);
}

static void test_ipv6(void)
{
	int member = udp(AF_INET6, 7410, NULL), sender = udp(AF_INET6, -1, NULL);
	struct ipv6_mreq m = { .ipv6mr_interface = 0 };
	CHECK_INT(inet_pton(AF_INET6, "ff15::7410", &m.ipv6mr_multiaddr), 1);
	CHECK_INT(setsockopt(member, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof(m)), 0);
	errno = 0;
	CHECK_INT(setsockopt(member, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof(m)), -1);
	CHECK_INT(errno, EADDRINUSE);
	CHECK_INT(get_int(member, IPPROTO_IPV6, IPV6_MULTICAST_HOPS), 1);
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_port = htons(7410) };
	to.sin6_addr = m.ipv6mr_multiaddr;
	CHECK_INT(sendto(sender, "six", 3, 0, (struct sockaddr *)&to, sizeof(to)), 3);
	CHECK_STR(received(member), "six");
	CHECK_INT(setsockopt(member, IPPROTO_IPV6, IPV6_LEAVE_GROUP, &m, sizeof(m)), 0);
	CHECK_INT(sendto(sender, "left", 4, 0, (struct sockaddr *)&to, sizeof(to)), 4);
	CHECK_STR(received(member), "");
	m.ipv6mr_interface = 9;
	errno = 0;
	CHECK_INT(setsockopt(member, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof(m)), -1);
	CHECK_INT(errno, ENODEV);
	close(member);
	close(sender);
}

/* Over the NIC: the host's datagrams to `group`:`port` answered to `group`:`port` + 1. */
static int tap(const char *group, int port, int count)
{
	int s = udp(AF_INET, port, NULL);
	struct timeval tv = { .tv_sec = 30, .tv_usec = 0 };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CHECK_INT(membership(s, group, IP_ADD_MEMBERSHIP), 0);
	int ttl = 33, on = 1;
	CHECK_INT(setsockopt(s, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)), 0);
	CHECK_INT(setsockopt(s, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)), 0);
	printf("net_multicast: joined %s\n", group);
	int answered = 0;
	for (int i = 0; i < count; i++) {
		char buf[2048], answer[2100];
		union {
			char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} control;
		struct iovec iov = { buf, sizeof(buf) - 1 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
				      .msg_controllen = sizeof(control.buf) };
		ssize_t n = recvmsg(s, &msg, 0);
		if (n <= 0)
			break;
		buf[n] = 0;
		/* IP_PKTINFO: sent to the group, on eth0, answered from the NIC's address. */
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		CHECK(c != NULL && c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO);
		if (c != NULL) {
			struct in_pktinfo info;
			memcpy(&info, CMSG_DATA(c), sizeof(info));
			CHECK_INT(info.ipi_addr.s_addr, inet_addr(group));
			CHECK_INT(info.ipi_ifindex, 2);
			CHECK_INT(info.ipi_spec_dst.s_addr, inet_addr("10.0.5.2"));
		}
		snprintf(answer, sizeof(answer), "answer to %s", buf);
		send_to(s, group, port + 1, answer);
		/* The same to the host's address: a unicast datagram, with IP_TTL's limit. */
		send_to(s, "10.0.5.1", port + 2, answer);
		answered++;
	}
	printf("net_multicast: answered %d of %d\n", answered, count);
	CHECK_INT(answered, count);
	close(s);
	TEST_DONE();
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "tap") == 0)
		return tap(argv[2], atoi(argv[3]), atoi(argv[4]));
	test_layouts();
	test_options();
	test_delivery();
	test_ipv6();
	TEST_DONE();
}
