/* net_names.c: address conversions, getaddrinfo/gethostbyname without a network, getservbyname/getservbyport, gethostname, byte order, and the lwIP struct layouts and constants of the original ABI. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>
#include "test.h"

static void test_layouts(void)
{
	CHECK_INT(sizeof(struct sockaddr), 16);
	CHECK_INT(offsetof(struct sockaddr, sa_family), 1);
	CHECK_INT(sizeof(struct sockaddr_in), 16);
	CHECK_INT(offsetof(struct sockaddr_in, sin_len), 0);
	CHECK_INT(offsetof(struct sockaddr_in, sin_family), 1);
	CHECK_INT(offsetof(struct sockaddr_in, sin_port), 2);
	CHECK_INT(offsetof(struct sockaddr_in, sin_addr), 4);
	CHECK_INT(offsetof(struct sockaddr_in, sin_zero), 8);
	CHECK_INT(sizeof(struct sockaddr_in6), 28);
	CHECK_INT(offsetof(struct sockaddr_in6, sin6_port), 2);
	CHECK_INT(offsetof(struct sockaddr_in6, sin6_flowinfo), 4);
	CHECK_INT(offsetof(struct sockaddr_in6, sin6_addr), 8);
	CHECK_INT(offsetof(struct sockaddr_in6, sin6_scope_id), 24);
	CHECK_INT(sizeof(struct sockaddr_storage), 28);
	CHECK_INT(sizeof(struct pollfd), 8);
	CHECK_INT(sizeof(socklen_t), 4);
	CHECK_INT(sizeof(struct msghdr), 48);
	/* lwIP 2.1's struct cmsghdr: a 4-byte cmsg_len, the data 16 bytes in. */
	CHECK_INT(sizeof(struct cmsghdr), 12);
	CHECK_INT(offsetof(struct cmsghdr, cmsg_level), 4);
	CHECK_INT(offsetof(struct cmsghdr, cmsg_type), 8);
	CHECK_INT(CMSG_LEN(4), 20);
	CHECK_INT(CMSG_SPACE(4), 24);
	CHECK_INT(SCM_RIGHTS, 1);
	CHECK_INT(MSG_CTRUNC, 8);
	CHECK_INT(offsetof(struct addrinfo, ai_addr), 24);
	CHECK_INT(AF_INET, 2);
	CHECK_INT(AF_INET6, 10);
	CHECK_INT(SOL_SOCKET, 0xfff);
	CHECK_INT(SO_REUSEADDR, 4);
	CHECK_INT(SO_REUSEPORT, 0x200);
	CHECK_INT(SO_KEEPALIVE, 8);
	CHECK_INT(SO_SNDBUF, 0x1001);
	CHECK_INT(SO_RCVBUF, 0x1002);
	CHECK_INT(SO_ERROR, 0x1007);
	CHECK_INT(TCP_NODELAY, 1);
	CHECK_INT(MSG_DONTWAIT, 8);
	CHECK_INT(SHUT_RDWR, 2);
	CHECK_INT(LWIP_FD_BIT, 1 << 30);
	CHECK_INT(FD_SETSIZE, 1024);
	/* FD_SET drops LWIP_FD_BIT, as lwIP's did. */
	fd_set set;
	FD_ZERO(&set);
	FD_SET(LWIP_FD_BIT | 5, &set);
	CHECK(FD_ISSET(5, &set));
}

static void test_conversions(void)
{
	CHECK_INT(htons(0x1234), 0x3412);
	CHECK_INT(ntohl(htonl(0x01020304)), 0x01020304);
	CHECK_INT(htonl(0x7f000001), 0x0100007f);
	CHECK_INT(inet_addr("127.0.0.1"), htonl(0x7f000001));
	CHECK_INT(inet_addr("10.1"), htonl(0x0a000001));
	CHECK_INT(inet_addr("0x7f.1"), htonl(0x7f000001));
	CHECK_INT(inet_addr("256.1.1.1"), INADDR_NONE);
	CHECK_INT(inet_addr("1.2.3.4.5"), INADDR_NONE);
	struct in_addr a;
	CHECK_INT(inet_aton("192.168.0.1", &a), 1);
	CHECK_STR(inet_ntoa(a), "192.168.0.1");
	CHECK_INT(inet_aton("x.y", &a), 0);
	unsigned char v4[4];
	CHECK_INT(inet_pton(AF_INET, "10.0.5.2", v4), 1);
	CHECK(v4[0] == 10 && v4[1] == 0 && v4[2] == 5 && v4[3] == 2);
	CHECK_INT(inet_pton(AF_INET, "10.0.5", v4), 0);
	CHECK_INT(inet_pton(AF_INET, "010.0.5.2", v4), 0);
	errno = 0;
	CHECK_INT(inet_pton(99, "1.2.3.4", v4), -1);
	CHECK_INT(errno, EAFNOSUPPORT);
	struct in6_addr v6;
	char text[INET6_ADDRSTRLEN];
	static const char *round_trip[] = {"::", "::1", "fe80::5054:ff:fe12:3456", "2001:db8::1:0:0:1",
					   "1:2:3:4:5:6:7:8", "::ffff:10.0.2.15", "2001:db8:0:1:1:1:1:1"};
	for (size_t i = 0; i < sizeof(round_trip) / sizeof(round_trip[0]); i++) {
		CHECK_INT(inet_pton(AF_INET6, round_trip[i], &v6), 1);
		CHECK_STR(inet_ntop(AF_INET6, &v6, text, sizeof(text)), round_trip[i]);
	}
	CHECK_INT(inet_pton(AF_INET6, "2001:0db8:0000:0000:0000:0000:0000:0001", &v6), 1);
	CHECK_STR(inet_ntop(AF_INET6, &v6, text, sizeof(text)), "2001:db8::1");
	CHECK_INT(inet_pton(AF_INET6, "1::2::3", &v6), 0);
	CHECK_INT(inet_pton(AF_INET6, "12345::", &v6), 0);
	CHECK_INT(inet_pton(AF_INET6, "1:2:3:4:5:6:7:8:9", &v6), 0);
	CHECK_INT(memcmp(&in6addr_loopback, (unsigned char[16]){[15] = 1}, 16), 0);
	errno = 0;
	CHECK(inet_ntop(AF_INET, v4, text, 4) == NULL);
	CHECK_INT(errno, ENOSPC);
}

/* The IN6_IS_ADDR_* tests of POSIX (curl's connection code asks IN6_IS_ADDR_LINKLOCAL). */
static void test_in6_classes(void)
{
	struct in6_addr a;
	CHECK_INT(inet_pton(AF_INET6, "fe80::1", &a), 1);
	CHECK(IN6_IS_ADDR_LINKLOCAL(&a) && !IN6_IS_ADDR_SITELOCAL(&a) && !IN6_IS_ADDR_MULTICAST(&a));
	CHECK_INT(inet_pton(AF_INET6, "febf:ffff::1", &a), 1);
	CHECK(IN6_IS_ADDR_LINKLOCAL(&a));
	CHECK_INT(inet_pton(AF_INET6, "fec0::1", &a), 1);
	CHECK(IN6_IS_ADDR_SITELOCAL(&a) && !IN6_IS_ADDR_LINKLOCAL(&a));
	CHECK_INT(inet_pton(AF_INET6, "fe00::1", &a), 1);
	CHECK(!IN6_IS_ADDR_LINKLOCAL(&a) && !IN6_IS_ADDR_SITELOCAL(&a));
	CHECK_INT(inet_pton(AF_INET6, "2001:db8::1", &a), 1);
	CHECK(!IN6_IS_ADDR_LINKLOCAL(&a) && !IN6_IS_ADDR_MULTICAST(&a) && !IN6_IS_ADDR_V4MAPPED(&a));
	CHECK_INT(inet_pton(AF_INET6, "::ffff:10.0.5.1", &a), 1);
	CHECK(IN6_IS_ADDR_V4MAPPED(&a) && !IN6_IS_ADDR_V4COMPAT(&a));
	CHECK_INT(inet_pton(AF_INET6, "::10.0.5.1", &a), 1);
	CHECK(IN6_IS_ADDR_V4COMPAT(&a) && !IN6_IS_ADDR_V4MAPPED(&a));
	CHECK(!IN6_IS_ADDR_V4COMPAT(&in6addr_loopback) && !IN6_IS_ADDR_V4COMPAT(&in6addr_any));
	CHECK_INT(inet_pton(AF_INET6, "ff02::1", &a), 1);
	CHECK(IN6_IS_ADDR_MULTICAST(&a) && IN6_IS_ADDR_MC_LINKLOCAL(&a) && !IN6_IS_ADDR_MC_GLOBAL(&a));
	CHECK_INT(inet_pton(AF_INET6, "ff01::1", &a), 1);
	CHECK(IN6_IS_ADDR_MC_NODELOCAL(&a));
	CHECK_INT(inet_pton(AF_INET6, "ff15::1", &a), 1);
	CHECK(IN6_IS_ADDR_MC_SITELOCAL(&a) && !IN6_IS_ADDR_MC_LINKLOCAL(&a));
	CHECK_INT(inet_pton(AF_INET6, "ff08::1", &a), 1);
	CHECK(IN6_IS_ADDR_MC_ORGLOCAL(&a));
	CHECK_INT(inet_pton(AF_INET6, "ff0e::1", &a), 1);
	CHECK(IN6_IS_ADDR_MC_GLOBAL(&a) && !IN6_IS_ADDR_LINKLOCAL(&a));
	CHECK(!IN6_IS_ADDR_MULTICAST(&in6addr_loopback) && !IN6_IS_ADDR_LINKLOCAL(&in6addr_any));
}

static void test_names(void)
{
	char host[64];
	CHECK_INT(gethostname(host, sizeof(host)), 0);
	CHECK_STR(host, "hermit");

	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	CHECK_INT(getaddrinfo("127.0.0.1", "8080", &hints, &res), 0);
	CHECK(res != NULL);
	if (res) {
		struct sockaddr_in *sa = (struct sockaddr_in *)res->ai_addr;
		CHECK_INT(res->ai_family, AF_INET);
		CHECK_INT(res->ai_protocol, IPPROTO_TCP);
		CHECK_INT(res->ai_addrlen, sizeof(struct sockaddr_in));
		CHECK_INT(ntohs(sa->sin_port), 8080);
		CHECK_INT(ntohl(sa->sin_addr.s_addr), 0x7f000001);
		CHECK(res->ai_next == NULL);
		freeaddrinfo(res);
	}
	res = NULL;
	CHECK_INT(getaddrinfo("localhost", NULL, NULL, &res), 0);
	if (res) {
		CHECK_INT(ntohl(((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr), 0x7f000001);
		freeaddrinfo(res);
	}
	res = NULL;
	hints.ai_family = AF_INET6;
	CHECK_INT(getaddrinfo("::1", "22", &hints, &res), 0);
	if (res) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)res->ai_addr;
		CHECK_INT(sa->sin6_family, AF_INET6);
		CHECK(IN6_IS_ADDR_LOOPBACK(&sa->sin6_addr));
		CHECK_INT(ntohs(sa->sin6_port), 22);
		freeaddrinfo(res);
	}
	/* AF_INET6 with AI_V4MAPPED: an IPv4 address as ::ffff:a.b.c.d, as glibc (ZeroMQ's
	   resolver asks so); with AI_ALL after the IPv6 ones. */
	res = NULL;
	hints.ai_flags = AI_V4MAPPED | AI_NUMERICHOST;
	CHECK_INT(getaddrinfo("11.22.33.44", NULL, &hints, &res), 0);
	if (res) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)res->ai_addr;
		CHECK_INT(sa->sin6_family, AF_INET6);
		char text[INET6_ADDRSTRLEN];
		CHECK_STR(inet_ntop(AF_INET6, &sa->sin6_addr, text, sizeof(text)), "::ffff:11.22.33.44");
		freeaddrinfo(res);
	}
	res = NULL;
	hints.ai_flags = AI_V4MAPPED | AI_ALL;
	CHECK_INT(getaddrinfo("localhost", NULL, &hints, &res), 0);
	if (res) {
		CHECK(IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr));
		CHECK(res->ai_next && IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)res->ai_next->ai_addr)->sin6_addr));
		freeaddrinfo(res);
	}
	res = NULL;
	hints.ai_family = AF_INET;
	hints.ai_flags = AI_PASSIVE;
	CHECK_INT(getaddrinfo(NULL, "80", &hints, &res), 0);
	if (res) {
		CHECK_INT(((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr, INADDR_ANY);
		freeaddrinfo(res);
	}
	/* Without a socket type: the one ai_protocol implies, else one answer of each (glibc's). */
	memset(&hints, 0, sizeof(hints));
	hints.ai_protocol = IPPROTO_UDP;
	res = NULL;
	CHECK_INT(getaddrinfo("1001:b0b::f00f", "4321", &hints, &res), 0);
	if (res) {
		CHECK_INT(res->ai_family, AF_INET6);
		CHECK_INT(res->ai_socktype, SOCK_DGRAM);
		CHECK_INT(res->ai_protocol, IPPROTO_UDP);
		CHECK(res->ai_next == NULL);
		freeaddrinfo(res);
	}
	hints.ai_protocol = 0;
	res = NULL;
	CHECK_INT(getaddrinfo("127.0.0.1", "4321", &hints, &res), 0);
	if (res) {
		CHECK_INT(res->ai_socktype, SOCK_STREAM);
		CHECK_INT(res->ai_protocol, IPPROTO_TCP);
		CHECK(res->ai_next != NULL);
		if (res->ai_next) {
			CHECK_INT(res->ai_next->ai_socktype, SOCK_DGRAM);
			CHECK_INT(res->ai_next->ai_protocol, IPPROTO_UDP);
			CHECK_INT(ntohs(((struct sockaddr_in *)res->ai_next->ai_addr)->sin_port), 4321);
			CHECK(res->ai_next->ai_next == NULL);
		}
		freeaddrinfo(res);
	}
	/* No host and AF_UNSPEC: both families, in glibc's order. */
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	res = NULL;
	CHECK_INT(getaddrinfo(NULL, "9996", &hints, &res), 0);
	if (res) {
		CHECK_INT(res->ai_family, AF_INET);
		CHECK_INT(((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr, INADDR_ANY);
		CHECK(res->ai_next != NULL && res->ai_next->ai_family == AF_INET6);
		if (res->ai_next)
			CHECK(IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)res->ai_next->ai_addr)->sin6_addr));
		freeaddrinfo(res);
	}
	hints.ai_flags = 0;
	res = NULL;
	CHECK_INT(getaddrinfo(NULL, "9997", &hints, &res), 0);
	if (res) {
		CHECK_INT(res->ai_family, AF_INET6);
		CHECK(IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr));
		CHECK(res->ai_next != NULL && res->ai_next->ai_family == AF_INET);
		if (res->ai_next)
			CHECK_INT(ntohl(((struct sockaddr_in *)res->ai_next->ai_addr)->sin_addr.s_addr), 0x7f000001);
		freeaddrinfo(res);
	}
	hints.ai_family = AF_INET;
	hints.ai_flags = AI_NUMERICHOST;
	CHECK_INT(getaddrinfo("example.org", NULL, &hints, &res), EAI_NONAME);
	/* Service names from the built-in table (the original took numbers only). */
	hints.ai_flags = 0;
	res = NULL;
	CHECK_INT(getaddrinfo("127.0.0.1", "http", &hints, &res), 0);
	if (res) {
		CHECK_INT(ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port), 80);
		freeaddrinfo(res);
	}
	res = NULL;
	hints.ai_socktype = SOCK_DGRAM;
	CHECK_INT(getaddrinfo("127.0.0.1", "domain", &hints, &res), 0);
	if (res) {
		CHECK_INT(ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port), 53);
		CHECK_INT(res->ai_protocol, IPPROTO_UDP);
		freeaddrinfo(res);
	}
	hints.ai_socktype = SOCK_STREAM;
	CHECK_INT(getaddrinfo("127.0.0.1", "no-such-service", &hints, &res), EAI_SERVICE);
	CHECK_INT(getaddrinfo("127.0.0.1", "70000", &hints, &res), EAI_SERVICE);
	hints.ai_flags = AI_NUMERICSERV;
	CHECK_INT(getaddrinfo("127.0.0.1", "http", &hints, &res), EAI_NONAME);
	hints.ai_flags = 0;
	hints.ai_family = 77;
	CHECK_INT(getaddrinfo("127.0.0.1", NULL, &hints, &res), EAI_FAMILY);
	/* Without a NIC there is no DNS server: the lookup fails at once. */
	hints.ai_family = AF_INET;
	CHECK_INT(getaddrinfo("example.org", NULL, &hints, &res), EAI_FAIL);
	CHECK_STR(gai_strerror(EAI_NONAME), "Name or service not known");

	struct hostent *h = gethostbyname("localhost");
	CHECK(h != NULL);
	if (h) {
		CHECK_INT(h->h_addrtype, AF_INET);
		CHECK_INT(h->h_length, 4);
		CHECK(memcmp(h->h_addr_list[0], "\x7f\0\0\x01", 4) == 0);
		CHECK(h->h_addr_list[1] == NULL);
	}
	h = gethostbyname("10.0.2.15");
	CHECK(h != NULL && memcmp(h->h_addr, "\x0a\0\x02\x0f", 4) == 0);
	CHECK(gethostbyname("no.such.host") == NULL);
	CHECK_INT(h_errno, HOST_NOT_FOUND);
}

/* The built-in services table (no /etc/services): ports in network byte order, the asked
 * protocol (any when NULL), unknown names and ports not found. */
static void test_services(void)
{
	struct servent *s = getservbyname("http", "tcp");
	CHECK(s != NULL);
	if (s) {
		CHECK_STR(s->s_name, "http");
		CHECK_INT(s->s_port, htons(80));
		CHECK_STR(s->s_proto, "tcp");
		CHECK(s->s_aliases != NULL && s->s_aliases[0] == NULL);
	}
	s = getservbyname("domain", "udp");
	CHECK(s != NULL && s->s_port == htons(53) && strcmp(s->s_proto, "udp") == 0);
	s = getservbyname("https", NULL);
	CHECK(s != NULL && s->s_port == htons(443));
	CHECK(getservbyname("http", "sctp") == NULL);
	CHECK(getservbyname("no-such-service", "tcp") == NULL);
	s = getservbyport(htons(22), "tcp");
	CHECK(s != NULL && strcmp(s->s_name, "ssh") == 0);
	s = getservbyport(htons(123), "udp");
	CHECK(s != NULL && strcmp(s->s_name, "ntp") == 0 && strcmp(s->s_proto, "udp") == 0);
	CHECK(getservbyport(htons(1), "tcp") == NULL);
}

int main(void)
{
	test_layouts();
	test_conversions();
	test_in6_classes();
	test_names();
	test_services();
	TEST_DONE();
}
