/* net_pktinfo.c: IP_PKTINFO and IPV6_RECVPKTINFO on UDP sockets over the loopback: recvmsg tells each datagram's destination and interface, with Linux's results. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "test.h"

/* What recvmsg got: its result, msg_flags, and the destination messages it carried. */
struct got {
	ssize_t n;
	int flags;
	int v4, v6;
	struct in_pktinfo info;
	struct in6_pktinfo info6;
};

/* Receives one datagram on `s` with a control buffer of `room` bytes (0: none). */
static struct got receive(int s, size_t room)
{
	union {
		char buf[256];
		struct cmsghdr align;
	} control;
	char data[64];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr msg = { 0 };
	struct got got;
	memset(&got, 0, sizeof(got));
	memset(&control, 0, sizeof(control));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = room ? control.buf : NULL;
	msg.msg_controllen = room;
	got.n = recvmsg(s, &msg, 0);
	got.flags = msg.msg_flags;
	if (got.n < 0)
		return got;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			CHECK_INT(c->cmsg_len, CMSG_LEN(sizeof(struct in_pktinfo)));
			memcpy(&got.info, CMSG_DATA(c), sizeof(got.info));
			got.v4++;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			CHECK_INT(c->cmsg_len, CMSG_LEN(sizeof(struct in6_pktinfo)));
			memcpy(&got.info6, CMSG_DATA(c), sizeof(got.info6));
			got.v6++;
		} else {
			CHECK(!"an unexpected control message");
		}
	}
	return got;
}

static int option(int s, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	CHECK_INT(getsockopt(s, level, name, &v, &len), 0);
	return v;
}

static void test_v4(void)
{
	unsigned lo = if_nametoindex("lo");
	CHECK(lo > 0);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { 0 };
	a.sin_family = AF_INET;
	CHECK_INT(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t len = sizeof(a);
	CHECK_INT(getsockname(s, (struct sockaddr *)&a, &len), 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int sender = socket(AF_INET, SOCK_DGRAM, 0);

	/* Off: no control message. */
	CHECK_INT(option(s, IPPROTO_IP, IP_PKTINFO), 0);
	CHECK_INT(sendto(sender, "a", 1, 0, (struct sockaddr *)&a, sizeof(a)), 1);
	struct got g = receive(s, 256);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.v4 + g.v6, 0);
	CHECK_INT(g.flags, 0);

	/* On: the destination, ours that answers, and lo. */
	int on = 1;
	CHECK_INT(setsockopt(s, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)), 0);
	CHECK_INT(option(s, IPPROTO_IP, IP_PKTINFO), 1);
	CHECK_INT(sendto(sender, "b", 1, 0, (struct sockaddr *)&a, sizeof(a)), 1);
	g = receive(s, 256);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.v4, 1);
	CHECK_INT(g.v6, 0);
	CHECK_INT(g.flags, 0);
	CHECK_INT(ntohl(g.info.ipi_addr.s_addr), INADDR_LOOPBACK);
	CHECK_INT(ntohl(g.info.ipi_spec_dst.s_addr), INADDR_LOOPBACK);
	CHECK_INT(g.info.ipi_ifindex, lo);

	/* No control buffer: MSG_CTRUNC, the datagram still comes. */
	CHECK_INT(sendto(sender, "c", 1, 0, (struct sockaddr *)&a, sizeof(a)), 1);
	g = receive(s, 0);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.v4, 0);
	CHECK_INT(g.flags, MSG_CTRUNC);

	/* IPv6's option is not an IPv4 socket's. */
	CHECK_INT(setsockopt(s, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)), -1);
	CHECK_INT(errno, ENOPROTOOPT);
	errno = 0;
	close(sender);
	close(s);
}

static void test_v6(void)
{
	unsigned lo = if_nametoindex("lo");
	int s = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 a = { 0 };
	a.sin6_family = AF_INET6;
	CHECK_INT(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t len = sizeof(a);
	CHECK_INT(getsockname(s, (struct sockaddr *)&a, &len), 0);
	int on = 1;
	CHECK_INT(option(s, IPPROTO_IPV6, IPV6_RECVPKTINFO), 0);
	CHECK_INT(setsockopt(s, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)), 0);
	CHECK_INT(option(s, IPPROTO_IPV6, IPV6_RECVPKTINFO), 1);

	/* To ::1. */
	int sender = socket(AF_INET6, SOCK_DGRAM, 0);
	a.sin6_addr = in6addr_loopback;
	CHECK_INT(sendto(sender, "d", 1, 0, (struct sockaddr *)&a, sizeof(a)), 1);
	struct got g = receive(s, 256);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.v6, 1);
	CHECK_INT(g.v4, 0);
	CHECK(memcmp(&g.info6.ipi6_addr, &in6addr_loopback, 16) == 0);
	CHECK_INT(g.info6.ipi6_ifindex, lo);

	/* An IPv4 datagram to the dual-stack socket: its destination as ::ffff:127.0.0.1. */
	int sender4 = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = { 0 };
	to.sin_family = AF_INET;
	to.sin_port = a.sin6_port;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT(sendto(sender4, "e", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
	g = receive(s, 256);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.v6, 1);
	const unsigned char mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1 };
	CHECK(memcmp(&g.info6.ipi6_addr, mapped, 16) == 0);
	CHECK_INT(g.info6.ipi6_ifindex, lo);
	close(sender4);
	close(sender);
	close(s);
}

int main(void)
{
	test_v4();
	test_v6();
	printf("net_pktinfo: destinations told\n");
	TEST_DONE();
}
