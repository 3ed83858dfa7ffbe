/* net_pktinfo.c: IP_PKTINFO and IPV6_RECVPKTINFO on UDP sockets over the loopback: recvmsg tells each datagram's destination and interface, sendmsg takes its source, with Linux's results. */
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

/* Sends "x" from `s` to `to` with one control message of `level`/`type` carrying `len`
 * bytes of `data`; sendmsg's result. */
static ssize_t send_with(int s, const void *to, socklen_t tolen, int level, int type, const void *data, size_t len)
{
	union {
		char buf[128];
		struct cmsghdr align;
	} control;
	struct iovec iov = { "x", 1 };
	struct msghdr msg = { 0 };
	memset(&control, 0, sizeof(control));
	msg.msg_name = (void *)to;
	msg.msg_namelen = tolen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = CMSG_SPACE(len);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	return sendmsg(s, &msg, 0);
}

/* The sender of the next datagram on `s` is `want` (an IPv4 or IPv6 address in text). */
static void from_is(int s, const char *want)
{
	struct sockaddr_storage from;
	socklen_t len = sizeof(from);
	char buf[8], text[64] = "";
	CHECK_INT(recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len), 1);
	if (from.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&from)->sin_addr, text, sizeof(text));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&from)->sin6_addr, text, sizeof(text));
	CHECK_STR(text, want);
}

/* Binds `s` to 127.0.0.1 and a port of the stack's choice, which `a` then holds. */
static void bind_loopback(int s, struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT(bind(s, (struct sockaddr *)a, len), 0);
	CHECK_INT(getsockname(s, (struct sockaddr *)a, &len), 0);
}

/* sendmsg with IP_PKTINFO or IPV6_PKTINFO: the datagram leaves from the address asked for
 * (ipi_spec_dst, ipi6_addr), the unspecified one lets the stack choose, an address not ours,
 * an unknown interface and a short message fail as on Linux. */
static void test_send(void)
{
	unsigned lo = if_nametoindex("lo");
	int r = socket(AF_INET, SOCK_DGRAM, 0), s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a;
	bind_loopback(r, &a);
	struct in_pktinfo info = { 0 };
	info.ipi_spec_dst.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT(send_with(s, &a, sizeof(a), IPPROTO_IP, IP_PKTINFO, &info, sizeof(info)), 1);
	from_is(r, "127.0.0.1");
	info.ipi_spec_dst.s_addr = 0;
	info.ipi_ifindex = lo;
	CHECK_INT(send_with(s, &a, sizeof(a), IPPROTO_IP, IP_PKTINFO, &info, sizeof(info)), 1);
	from_is(r, "127.0.0.1");
	info.ipi_spec_dst.s_addr = inet_addr("10.9.9.9");
	info.ipi_ifindex = 0;
	CHECK_INT(send_with(s, &a, sizeof(a), IPPROTO_IP, IP_PKTINFO, &info, sizeof(info)), -1);
	CHECK_INT(errno, ENETUNREACH);
	info.ipi_spec_dst.s_addr = 0;
	info.ipi_ifindex = 77;
	CHECK_INT(send_with(s, &a, sizeof(a), IPPROTO_IP, IP_PKTINFO, &info, sizeof(info)), -1);
	CHECK_INT(errno, ENODEV);
	info.ipi_ifindex = 0;
	CHECK_INT(send_with(s, &a, sizeof(a), IPPROTO_IP, IP_PKTINFO, &info, sizeof(info) - 4), -1);
	CHECK_INT(errno, EINVAL);
	close(r);
	close(s);

	int r6 = socket(AF_INET6, SOCK_DGRAM, 0), s6 = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 a6 = { 0 };
	a6.sin6_family = AF_INET6;
	a6.sin6_addr = in6addr_loopback;
	CHECK_INT(bind(r6, (struct sockaddr *)&a6, sizeof(a6)), 0);
	socklen_t len = sizeof(a6);
	CHECK_INT(getsockname(r6, (struct sockaddr *)&a6, &len), 0);
	struct in6_pktinfo info6 = { 0 };
	info6.ipi6_addr = in6addr_loopback;
	CHECK_INT(send_with(s6, &a6, sizeof(a6), IPPROTO_IPV6, IPV6_PKTINFO, &info6, sizeof(info6)), 1);
	from_is(r6, "::1");
	CHECK_INT(inet_pton(AF_INET6, "fd00::9", &info6.ipi6_addr), 1);
	CHECK_INT(send_with(s6, &a6, sizeof(a6), IPPROTO_IPV6, IPV6_PKTINFO, &info6, sizeof(info6)), -1);
	CHECK_INT(errno, EINVAL);
	info6.ipi6_addr = in6addr_any;
	info6.ipi6_ifindex = 77;
	CHECK_INT(send_with(s6, &a6, sizeof(a6), IPPROTO_IPV6, IPV6_PKTINFO, &info6, sizeof(info6)), -1);
	CHECK_INT(errno, ENODEV);
	CHECK_INT(send_with(s6, &a6, sizeof(a6), IPPROTO_IPV6, IPV6_PKTINFO, &info6, 8), -1);
	CHECK_INT(errno, EINVAL);
	close(r6);
	close(s6);

	/* TCP takes no source: the message is ignored, as on Linux. */
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);
	bind_loopback(l, &a);
	CHECK_INT(listen(l, 1), 0);
	CHECK_INT(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	int conn = accept(l, NULL, NULL);
	CHECK(conn >= 0);
	info.ipi_ifindex = 77;
	CHECK_INT(send_with(c, NULL, 0, IPPROTO_IP, IP_PKTINFO, &info, sizeof(info)), 1);
	char byte = 0;
	CHECK_INT(recv(conn, &byte, 1, 0), 1);
	CHECK_INT(byte, 'x');
	errno = 0;
	close(conn);
	close(c);
	close(l);
}

int main(void)
{
	test_v4();
	test_v6();
	test_send();
	printf("net_pktinfo: destinations told, sources chosen\n");
	TEST_DONE();
}
