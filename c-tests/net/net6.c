/* net6.c: the guest side of the IPv6 tap test (net.tap-ipv6): TCP and UDP over AF_INET6 as client and server, addresses as getsockname/getpeername/accept give them, connection times to many hosts. */
/*
 * Usage: net6 <step> [args] [-- <step> [args] ...]   runs the steps in order, in one boot:
 *   client <addr> <port> <bytes> [whole]
 *                                    connects, prints both ends, echoes <bytes> pseudo-random bytes
 *                                    (a writer thread, the echo read back, FNV checksums compared);
 *                                    half-closes after sending, or with "whole" reads all <bytes>
 *                                    back before it closes (Debian 12's passt mishandles half-close)
 *   udp <addr> <port> <count>        sends <count> datagrams, each answered by the host's echo
 *   peers <port> <rounds> <addr>...  connects to each address in turn, <rounds> times, 64 bytes
 *                                    echoed each; prints the time of each connection
 *   serve <port> <tcp> <udp>         listens on [::]:<port> (TCP echo, <tcp> connections) and on
 *                                    UDP port <port>+1 (echoes <udp> datagrams), with poll
 *   selftest                         serve and client over ::1, inet_pton/inet_ntop round trips
 * Prints "net6: ..." lines and "all N checks passed"; exits 0 when every check passed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netstream.h"

static int checks, failed;
#define CHECK(c)                                                          \
	do {                                                              \
		checks++;                                                 \
		if (!(c)) {                                               \
			failed++;                                         \
			printf("net6: check failed: %s (line %d)\n", #c, __LINE__); \
		}                                                         \
	} while (0)

static struct sockaddr_in6 address(const char *ip, int port)
{
	struct sockaddr_in6 sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin6_len = sizeof(sa);
	sa.sin6_family = AF_INET6;
	sa.sin6_port = htons((uint16_t)port);
	if (inet_pton(AF_INET6, ip, &sa.sin6_addr) != 1) {
		printf("net6: bad address %s\n", ip);
		exit(2);
	}
	return sa;
}

/* "[addr]:port" of a socket address as the kernel gave it (and its length and family checked). */
static const char *show(const struct sockaddr_in6 *sa, socklen_t len, char *out, size_t size)
{
	char text[INET6_ADDRSTRLEN];
	CHECK(len == sizeof(*sa) && sa->sin6_family == AF_INET6 && sa->sin6_len == sizeof(*sa));
	if (!inet_ntop(AF_INET6, &sa->sin6_addr, text, sizeof(text)))
		strcpy(text, "?");
	snprintf(out, size, "[%s]:%d", text, ntohs(sa->sin6_port));
	return out;
}

static void print_ends(const char *what, int s)
{
	struct sockaddr_in6 local, peer;
	socklen_t llen = sizeof(local), plen = sizeof(peer);
	char a[80], b[80];
	CHECK(getsockname(s, (struct sockaddr *)&local, &llen) == 0);
	CHECK(getpeername(s, (struct sockaddr *)&peer, &plen) == 0);
	printf("net6: %s local %s peer %s\n", what, show(&local, llen, a, sizeof(a)), show(&peer, plen, b, sizeof(b)));
}

static void step_client(const char *ip, int port, size_t bytes, int half_close)
{
	struct sockaddr_in6 sa = address(ip, port);
	int s = socket(AF_INET6, SOCK_STREAM, 0);
	long start = net_now_ms();
	int connected = connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	CHECK(connected);
	if (!connected) {
		perror("net6: connect");
		close(s);
		return;
	}
	printf("net6: connected to %s in %ld ms\n", ip, net_now_ms() - start);
	print_ends("client", s);
	size_t got;
	uint32_t h;
	int ok = echo_stream(s, bytes, half_close, &got, &h);
	close(s);
	CHECK(ok);
	printf("net6: client sent %zu bytes to %s, got %zu back, checksum %08x %s\n", bytes, ip, got, h,
	       ok ? "ok" : "MISMATCH");
}

static void step_udp(const char *ip, int port, int count)
{
	struct sockaddr_in6 sa = address(ip, port);
	int s = socket(AF_INET6, SOCK_DGRAM, 0);
	struct timeval tv = {2, 0};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int answered = 0;
	for (int i = 0; i < count; i++) {
		char out[32], in[64];
		int len = snprintf(out, sizeof(out), "datagram %d", i);
		CHECK(sendto(s, out, (size_t)len, 0, (struct sockaddr *)&sa, sizeof(sa)) == len);
		struct sockaddr_in6 from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(s, in, sizeof(in), 0, (struct sockaddr *)&from, &flen);
		if (n == len && memcmp(in, out, (size_t)len) == 0 &&
		    memcmp(&from.sin6_addr, &sa.sin6_addr, sizeof(sa.sin6_addr)) == 0 && from.sin6_port == sa.sin6_port)
			answered++;
	}
	struct sockaddr_in6 local;
	socklen_t llen = sizeof(local);
	char a[80];
	CHECK(getsockname(s, (struct sockaddr *)&local, &llen) == 0);
	close(s);
	CHECK(answered == count);
	printf("net6: udp client %s: %d of %d answered from %s, local %s\n", ip, answered, count, ip,
	       show(&local, llen, a, sizeof(a)));
}

static void step_peers(int port, int rounds, char **ips, int count)
{
	for (int r = 1; r <= rounds; r++) {
		for (int i = 0; i < count; i++) {
			long start = net_now_ms();
			struct sockaddr_in6 sa = address(ips[i], port);
			int s = socket(AF_INET6, SOCK_STREAM, 0);
			int ok = echo_once(s, (struct sockaddr *)&sa, sizeof(sa), i);
			close(s);
			CHECK(ok);
			printf("net6: peer round %d %s %ld ms%s\n", r, ips[i], net_now_ms() - start, ok ? "" : " FAILED");
		}
	}
}

/* TCP echo and UDP echo servers on [::], served together with poll until `tcp` connections
 * ended and `udp` datagrams were echoed. */
static void step_serve(int port, int tcp, int udp)
{
	int l = socket(AF_INET6, SOCK_STREAM, 0), u = socket(AF_INET6, SOCK_DGRAM, 0);
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in6 any;
	memset(&any, 0, sizeof(any));
	any.sin6_len = sizeof(any);
	any.sin6_family = AF_INET6;
	any.sin6_addr = in6addr_any;
	any.sin6_port = htons((uint16_t)port);
	CHECK(bind(l, (struct sockaddr *)&any, sizeof(any)) == 0 && listen(l, 8) == 0);
	any.sin6_port = htons((uint16_t)(port + 1));
	CHECK(bind(u, (struct sockaddr *)&any, sizeof(any)) == 0);
	printf("net6: listening on port %d (TCP) and %d (UDP)\n", port, port + 1);
	fflush(stdout);
	static char buf[65536];
	int served = 0, echoed = 0;
	while (served < tcp || echoed < udp) {
		struct pollfd fds[2] = {{l, POLLIN, 0}, {u, POLLIN, 0}};
		if (poll(fds, 2, 60000) <= 0) {
			printf("net6: nothing came for 60 s\n");
			CHECK(0);
			break;
		}
		if (fds[1].revents & POLLIN) {
			struct sockaddr_in6 from;
			socklen_t flen = sizeof(from);
			ssize_t n = recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
			char a[80];
			if (n >= 0 && sendto(u, buf, (size_t)n, 0, (struct sockaddr *)&from, flen) == n) {
				echoed++;
				printf("net6: echoed a datagram of %zd bytes to %s\n", n, show(&from, flen, a, sizeof(a)));
			}
		}
		if (fds[0].revents & POLLIN) {
			struct sockaddr_in6 peer;
			socklen_t plen = sizeof(peer);
			int c = accept(l, (struct sockaddr *)&peer, &plen);
			CHECK(c >= 0);
			if (c < 0)
				continue;
			char a[80];
			show(&peer, plen, a, sizeof(a));
			print_ends("accepted", c);
			size_t total = echo_back(c, buf, sizeof(buf));
			close(c);
			served++;
			printf("net6: echoed %zu bytes to %s\n", total, a);
		}
		fflush(stdout);
	}
	close(l);
	close(u);
}

struct serve_arg {
	int port, tcp, udp;
};

static void *selftest_server(void *p)
{
	struct serve_arg *a = p;
	step_serve(a->port, a->tcp, a->udp);
	return NULL;
}

static void selftest(void)
{
	const char *texts[] = {"::1", "2001:db8:1::ff:fe00:502", "fe80::ff:fe00:502", "fd00::1:2:3:4", "2001:db8::"};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct in6_addr a;
		char back[INET6_ADDRSTRLEN];
		CHECK(inet_pton(AF_INET6, texts[i], &a) == 1 && inet_ntop(AF_INET6, &a, back, sizeof(back)) &&
		      strcmp(back, texts[i]) == 0);
	}
	struct serve_arg arg = {7010, 1, 2};
	pthread_t t;
	pthread_create(&t, NULL, selftest_server, &arg);
	usleep(200000);
	step_client("::1", 7010, 1 << 20, 1);
	step_udp("::1", 7011, 2);
	pthread_join(t, NULL);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int i = 1;
	while (i < argc) {
		int end = i;
		while (end < argc && strcmp(argv[end], "--") != 0)
			end++;
		char **a = argv + i;
		int n = end - i;
		if (n == 1 && strcmp(a[0], "selftest") == 0)
			selftest();
		else if ((n == 4 || (n == 5 && strcmp(a[4], "whole") == 0)) && strcmp(a[0], "client") == 0)
			step_client(a[1], atoi(a[2]), (size_t)atol(a[3]), n == 4);
		else if (n == 4 && strcmp(a[0], "udp") == 0)
			step_udp(a[1], atoi(a[2]), atoi(a[3]));
		else if (n >= 4 && strcmp(a[0], "peers") == 0)
			step_peers(atoi(a[1]), atoi(a[2]), a + 3, n - 3);
		else if (n == 4 && strcmp(a[0], "serve") == 0)
			step_serve(atoi(a[1]), atoi(a[2]), atoi(a[3]));
		else {
			printf("net6: bad step %s (%d arguments)\n", n > 0 ? a[0] : "(none)", n);
			return 2;
		}
		i = end + 1;
	}
	printf("net6: %s %d checks passed\n", failed ? "not all of" : "all", checks);
	if (failed)
		printf("net6: %d checks failed\n", failed);
	return failed ? 1 : 0;
}
