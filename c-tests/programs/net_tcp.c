/* net_tcp.c: TCP over the guest loopback: 10 MB echo with a checksum, half-close, MSG_WAITALL, peer reset, refused and non-blocking connects, accept backlog overflow, 1,000 short connections without leaks, EINTR and SA_RESTART, addresses, dual-stack AF_INET6 sockets, FIONREAD, SO_LINGER, IPV6_V6ONLY, bind conflicts by address and scope ids. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "interrupt.h"
#include "test.h"

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_len = sizeof(sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

/* The IPv6 socket address addr:port. */
static struct sockaddr_in6 address6(struct in6_addr addr, uint16_t port)
{
	struct sockaddr_in6 sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin6_len = sizeof(sa);
	sa.sin6_family = AF_INET6;
	sa.sin6_port = htons(port);
	sa.sin6_addr = addr;
	return sa;
}

/* A listening socket on 127.0.0.1:port (0: any port, returned in *port). */
static int listener(uint16_t *port, int backlog)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(s >= 0);
	int one = 1;
	CHECK_INT(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	struct sockaddr_in sa = loopback(*port);
	CHECK_INT(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_INT(listen(s, backlog), 0);
	int accepting = 0;
	socklen_t len = sizeof(accepting);
	CHECK_INT(getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len), 0);
	CHECK_INT(accepting, 1);
	len = sizeof(sa);
	CHECK_INT(getsockname(s, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return s;
}

/* A TCP socket listening on `addr` (port chosen by the kernel), its address in `*sa`. */
static int listener6(struct in6_addr addr, int backlog, struct sockaddr_in6 *sa)
{
	int s = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK(s >= 0);
	*sa = address6(addr, 0);
	CHECK_INT(bind(s, (struct sockaddr *)sa, sizeof(*sa)), 0);
	CHECK_INT(listen(s, backlog), 0);
	socklen_t len = sizeof(*sa);
	CHECK_INT(getsockname(s, (struct sockaddr *)sa, &len), 0);
	CHECK_INT(len, sizeof(struct sockaddr_in6));
	return s;
}

static int connect_to(uint16_t port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = loopback(port);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(s);
		errno = e;
		return -1;
	}
	return s;
}

static uint32_t fnv(uint32_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* ---- 10 MB echo ---- */
#define ECHO_BYTES (10u << 20)
static uint16_t echo_port;
static int echo_listen;

static void *echo_server(void *arg)
{
	(void)arg;
	int c = accept(echo_listen, NULL, NULL);
	CHECK(c >= 0);
	static char buf[32768];
	ssize_t n;
	while ((n = recv(c, buf, sizeof(buf), 0)) > 0) {
		ssize_t off = 0;
		while (off < n) {
			ssize_t w = send(c, buf + off, (size_t)(n - off), 0);
			CHECK(w > 0);
			if (w <= 0)
				break;
			off += w;
		}
	}
	CHECK_INT(n, 0);
	close(c);
	return NULL;
}

static void *echo_writer(void *arg)
{
	int s = *(int *)arg;
	static unsigned char buf[65536];
	uint32_t h = 2166136261u, seed = 1;
	for (size_t sent = 0; sent < ECHO_BYTES;) {
		size_t chunk = ECHO_BYTES - sent < sizeof(buf) ? ECHO_BYTES - sent : sizeof(buf);
		for (size_t i = 0; i < chunk; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = (unsigned char)(seed >> 16);
		}
		h = fnv(h, buf, chunk);
		ssize_t w = send(s, buf, chunk, 0);
		CHECK_INT(w, chunk);
		if (w != (ssize_t)chunk)
			break;
		sent += chunk;
	}
	CHECK_INT(shutdown(s, SHUT_WR), 0);
	return (void *)(uintptr_t)h;
}

static void test_echo(void)
{
	echo_listen = listener(&echo_port, 1);
	pthread_t server, writer;
	CHECK_INT(pthread_create(&server, NULL, echo_server, NULL), 0);
	int s = connect_to(echo_port);
	CHECK(s >= 0);
	/* The original's LWIP_FD_BIT, or plain table numbers with HERMIT_SOCKET_FD_BIT=0. */
	const char *bit = getenv("HERMIT_SOCKET_FD_BIT");
	if (bit != NULL && strcmp(bit, "0") == 0)
		CHECK(s > 2 && s < FD_SETSIZE);
	else
		CHECK((s & LWIP_FD_BIT) != 0);
	int one = 1;
	CHECK_INT(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	CHECK_INT(pthread_create(&writer, NULL, echo_writer, &s), 0);
	static unsigned char buf[40000];
	uint32_t h = 2166136261u;
	size_t got = 0;
	ssize_t n;
	/* read() and write() work on sockets too (LWIP_FD_BIT routes them). */
	while ((n = read(s, buf, sizeof(buf))) > 0) {
		h = fnv(h, buf, (size_t)n);
		got += (size_t)n;
	}
	CHECK_INT(n, 0);
	void *sent_hash;
	pthread_join(writer, &sent_hash);
	pthread_join(server, NULL);
	CHECK_INT(got, ECHO_BYTES);
	CHECK_INT(h, (uint32_t)(uintptr_t)sent_hash);
	CHECK_INT(close(s), 0);
	CHECK_INT(close(echo_listen), 0);
	printf("echo: %u bytes back, checksum %08x\n", (unsigned)got, h);
}

static volatile int sigpipes;

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

/* ---- half-close: the client's FIN ends the server's reading, the reply still arrives ---- */
static void test_half_close(void)
{
	uint16_t port = 0;
	int l = listener(&port, 1);
	int c = connect_to(port);
	int a = accept(l, NULL, NULL);
	CHECK(c >= 0 && a >= 0);
	CHECK_INT(write(c, "question", 8), 8);
	CHECK_INT(shutdown(c, SHUT_WR), 0);
	/* A send after our SHUT_WR: EPIPE, after SIGPIPE unless MSG_NOSIGNAL (as Linux). */
	CHECK(signal(SIGPIPE, on_sigpipe) != SIG_ERR);
	CHECK(send(c, "x", 1, 0) < 0 && errno == EPIPE);
	CHECK_INT(sigpipes, 1);
	struct iovec iov = { "x", 1 };
	struct msghdr msg = { 0 };
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	CHECK(sendmsg(c, &msg, 0) < 0 && errno == EPIPE);
	CHECK_INT(sigpipes, 2);
	CHECK(send(c, "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE);
	CHECK(sendto(c, "x", 1, MSG_NOSIGNAL, NULL, 0) < 0 && errno == EPIPE);
	CHECK_INT(sigpipes, 2);
	CHECK(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
	char buf[32];
	size_t got = 0;
	ssize_t n;
	while ((n = recv(a, buf + got, sizeof(buf) - got, 0)) > 0)
		got += (size_t)n;
	CHECK_INT(n, 0);
	CHECK_INT(got, 8);
	CHECK_INT(send(a, "answer", 6, 0), 6);
	CHECK_INT(close(a), 0);
	got = 0;
	while ((n = recv(c, buf + got, sizeof(buf) - got, 0)) > 0)
		got += (size_t)n;
	CHECK_INT(n, 0);
	CHECK_INT(got, 6);
	CHECK(memcmp(buf, "answer", 6) == 0);
	close(c);
	close(l);
}

/* ---- dual stack: an AF_INET6 socket on :: serves IPv4 peers, shown as ::ffff:a.b.c.d ---- */
static int is_mapped_loopback(const struct sockaddr_in6 *sa)
{
	static const unsigned char want[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1 };
	return sa->sin6_family == AF_INET6 && memcmp(&sa->sin6_addr, want, 16) == 0;
}

static void test_dual_stack(void)
{
	struct sockaddr_in6 any;
	int l = listener6(in6addr_any, 2, &any);
	uint16_t port = ntohs(any.sin6_port);
	socklen_t len;
	/* An IPv4 client. */
	int c4 = connect_to(port);
	CHECK(c4 >= 0);
	struct sockaddr_in6 peer;
	len = sizeof(peer);
	int a = accept(l, (struct sockaddr *)&peer, &len);
	CHECK(a >= 0);
	CHECK_INT(len, sizeof(struct sockaddr_in6));
	CHECK(is_mapped_loopback(&peer));
	struct sockaddr_in6 mine;
	len = sizeof(mine);
	CHECK_INT(getsockname(a, (struct sockaddr *)&mine, &len), 0);
	CHECK(is_mapped_loopback(&mine) && ntohs(mine.sin6_port) == port);
	len = sizeof(peer);
	CHECK_INT(getpeername(a, (struct sockaddr *)&peer, &len), 0);
	CHECK(is_mapped_loopback(&peer));
	CHECK_INT(send(c4, "four", 4, 0), 4);
	char buf[8] = { 0 };
	CHECK_INT(recv(a, buf, 4, MSG_WAITALL), 4);
	CHECK_STR(buf, "four");
	close(a);
	close(c4);
	/* An AF_INET6 client to ::ffff:127.0.0.1 is an IPv4 connection. */
	int c6 = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 to = any;
	static const unsigned char mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1 };
	memcpy(&to.sin6_addr, mapped, 16);
	CHECK_INT(connect(c6, (struct sockaddr *)&to, sizeof(to)), 0);
	a = accept(l, (struct sockaddr *)&peer, &len);
	CHECK(a >= 0 && is_mapped_loopback(&peer));
	len = sizeof(peer);
	CHECK_INT(getpeername(c6, (struct sockaddr *)&peer, &len), 0);
	CHECK(is_mapped_loopback(&peer) && ntohs(peer.sin6_port) == port);
	close(a);
	close(c6);
	close(l);
	/* UDP: an AF_INET6 socket on :: hears an IPv4 sender and answers it at its mapped address. */
	int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
	any.sin6_port = 0;
	CHECK_INT(bind(u6, (struct sockaddr *)&any, sizeof(any)), 0);
	len = sizeof(any);
	CHECK_INT(getsockname(u6, (struct sockaddr *)&any, &len), 0);
	int u4 = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in dst = loopback(ntohs(any.sin6_port));
	CHECK_INT(sendto(u4, "v4", 2, 0, (struct sockaddr *)&dst, sizeof(dst)), 2);
	struct sockaddr_in6 from;
	len = sizeof(from);
	memset(buf, 0, sizeof(buf));
	CHECK_INT(recvfrom(u6, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len), 2);
	CHECK_STR(buf, "v4");
	CHECK(len == sizeof(struct sockaddr_in6) && is_mapped_loopback(&from));
	CHECK_INT(sendto(u6, "back", 4, 0, (struct sockaddr *)&from, sizeof(from)), 4);
	memset(buf, 0, sizeof(buf));
	CHECK_INT(recv(u4, buf, sizeof(buf), 0), 4);
	CHECK_STR(buf, "back");
	close(u4);
	close(u6);
}

/* ---- MSG_WAITALL: the whole request, or less only at the end of the stream or a timeout ---- */
static int waitall_peer;

static void *waitall_sender(void *arg)
{
	(void)arg;
	const char *pieces[] = { "abc", "defgh", "ij", "klmn" };
	for (int i = 0; i < 4; i++) {
		usleep(30000);
		CHECK_INT(send(waitall_peer, pieces[i], strlen(pieces[i]), 0), (long long)strlen(pieces[i]));
	}
	usleep(30000);
	CHECK_INT(shutdown(waitall_peer, SHUT_WR), 0);
	return NULL;
}

static void test_waitall(void)
{
	uint16_t port = 0;
	int l = listener(&port, 1);
	int c = connect_to(port);
	waitall_peer = accept(l, NULL, NULL);
	CHECK(c >= 0 && waitall_peer >= 0);
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, waitall_sender, NULL), 0);
	char buf[16] = { 0 };
	/* Three pieces 30 ms apart make one answer. */
	CHECK_INT(recv(c, buf, 10, MSG_WAITALL), 10);
	CHECK(memcmp(buf, "abcdefghij", 10) == 0);
	/* Four bytes, then the end of the stream: those four, then 0. */
	CHECK_INT(recv(c, buf, 8, MSG_WAITALL), 4);
	CHECK(memcmp(buf, "klmn", 4) == 0);
	CHECK_INT(recv(c, buf, 8, MSG_WAITALL), 0);
	CHECK_INT(pthread_join(t, NULL), 0);
	/* SO_RCVTIMEO after some bytes: those bytes; before any: EAGAIN. */
	int c2 = connect_to(port);
	int a2 = accept(l, NULL, NULL);
	struct timeval tv = { .tv_usec = 200000 };
	CHECK_INT(setsockopt(c2, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	CHECK_INT(send(a2, "xyz", 3, 0), 3);
	CHECK_INT(recv(c2, buf, 8, MSG_WAITALL), 3);
	errno = 0;
	CHECK_INT(recv(c2, buf, 8, MSG_WAITALL), -1);
	CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
	/* Non-blocking: what is there. */
	CHECK_INT(send(a2, "pq", 2, 0), 2);
	usleep(20000);
	CHECK_INT(recv(c2, buf, 8, MSG_WAITALL | MSG_DONTWAIT), 2);
	close(a2);
	close(c2);
	close(waitall_peer);
	close(c);
	close(l);
}

/* ---- peer reset: closing with unread data resets; a closed port refuses ---- */
static void test_reset_refused(void)
{
	uint16_t port = 0;
	int l = listener(&port, 1);
	int c = connect_to(port);
	int a = accept(l, NULL, NULL);
	CHECK_INT(send(c, "unread", 6, 0), 6);
	usleep(10000);
	CHECK_INT(close(a), 0);
	char buf[8];
	errno = 0;
	CHECK_INT(recv(c, buf, sizeof(buf), 0), -1);
	CHECK_INT(errno, ECONNRESET);
	close(c);
	close(l);
	/* Nobody listens there any more. */
	errno = 0;
	CHECK_INT(connect_to(port), -1);
	CHECK_INT(errno, ECONNREFUSED);
	/* No TCP to a multicast group or the broadcast address: ENETUNREACH at once, as Linux. */
	const char *nowhere[] = { "239.10.20.30", "255.255.255.255" };
	for (int i = 0; i < 2; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80) };
		inet_pton(AF_INET, nowhere[i], &sa.sin_addr);
		CHECK_INT(fcntl(s, F_SETFL, O_NONBLOCK), 0);
		errno = 0;
		CHECK_INT(connect(s, (struct sockaddr *)&sa, sizeof(sa)), -1);
		CHECK_INT(errno, ENETUNREACH);
		close(s);
	}
	int s6 = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 group = { .sin6_family = AF_INET6, .sin6_port = htons(80) };
	inet_pton(AF_INET6, "ff02::1", &group.sin6_addr);
	errno = 0;
	CHECK_INT(connect(s6, (struct sockaddr *)&group, sizeof(group)), -1);
	CHECK_INT(errno, ENETUNREACH);
	close(s6);
}

/* ---- non-blocking accept and connect ---- */
static void test_nonblocking(void)
{
	uint16_t port = 0;
	int l = listener(&port, 1);
	CHECK_INT(fcntl(l, F_SETFL, fcntl(l, F_GETFL) | O_NONBLOCK), 0);
	CHECK((fcntl(l, F_GETFL) & O_NONBLOCK) != 0);
	errno = 0;
	CHECK_INT(accept(l, NULL, NULL), -1);
	CHECK_INT(errno, EAGAIN);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_INT(fcntl(c, F_SETFL, O_NONBLOCK), 0);
	struct sockaddr_in sa = loopback(port);
	errno = 0;
	int r = connect(c, (struct sockaddr *)&sa, sizeof(sa));
	CHECK(r == 0 || errno == EINPROGRESS);
	struct pollfd p = {c, POLLOUT, 0};
	CHECK_INT(poll(&p, 1, 2000), 1);
	CHECK(p.revents & POLLOUT);
	int err = -1;
	socklen_t len = sizeof(err);
	CHECK_INT(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	CHECK_INT(err, 0);
	struct pollfd pl = {l, POLLIN, 0};
	CHECK_INT(poll(&pl, 1, 2000), 1);
	struct sockaddr_in peer;
	len = sizeof(peer);
	int a = accept(l, (struct sockaddr *)&peer, &len);
	CHECK(a >= 0);
	CHECK_INT(len, sizeof(struct sockaddr_in));
	CHECK_INT(peer.sin_family, AF_INET);
	CHECK_INT(ntohl(peer.sin_addr.s_addr), INADDR_LOOPBACK);
	char buf[4];
	errno = 0;
	CHECK_INT(recv(a, buf, sizeof(buf), MSG_DONTWAIT), -1);
	CHECK_INT(errno, EAGAIN);
	close(a);
	close(c);
	close(l);

	/* A refused non-blocking connect: EINPROGRESS, then POLLOUT and SO_ERROR ECONNREFUSED. */
	c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_INT(fcntl(c, F_SETFL, O_NONBLOCK), 0);
	errno = 0;
	CHECK_INT(connect(c, (struct sockaddr *)&sa, sizeof(sa)), -1);
	CHECK_INT(errno, EINPROGRESS);
	p.fd = c;
	p.revents = 0;
	CHECK_INT(poll(&p, 1, 2000), 1);
	len = sizeof(err);
	CHECK_INT(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	CHECK_INT(err, ECONNREFUSED);
	close(c);
}

/* Milliseconds of CLOCK_MONOTONIC. */
static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- accept backlog overflow: a connection beyond the backlog waits for room, as on Linux ---- */

/* A non-blocking connect to 127.0.0.1:port under way (EINPROGRESS). */
static int connect_started(uint16_t port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_INT(fcntl(s, F_SETFL, O_NONBLOCK), 0);
	struct sockaddr_in sa = loopback(port);
	errno = 0;
	CHECK_INT(connect(s, (struct sockaddr *)&sa, sizeof(sa)), -1);
	CHECK_INT(errno, EINPROGRESS);
	return s;
}

/* Whether connect_started's socket s is connected within ms milliseconds (SO_ERROR 0). */
static int connected_within(int s, int ms)
{
	struct pollfd p = { .fd = s, .events = POLLOUT };
	if (poll(&p, 1, ms) != 1)
		return 0;
	int err = -1;
	socklen_t len = sizeof(err);
	CHECK_INT(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	return err == 0;
}

static void test_backlog(void)
{
	uint16_t port = 0;
	int l = listener(&port, 2);
	int c1 = connect_to(port), c2 = connect_to(port);
	CHECK(c1 >= 0 && c2 >= 0);
	/* The third is neither refused nor connected while the two wait for accept. */
	int c3 = connect_started(port);
	CHECK(!connected_within(c3, 300));
	/* Once one is accepted there is room: the client's SYN comes again and is taken. */
	int a1 = accept(l, NULL, NULL);
	CHECK(a1 >= 0);
	long start = now_ms();
	CHECK(connected_within(c3, 5000));
	printf("net_tcp: the connection beyond the backlog was taken %ld ms after an accept made room\n",
	       now_ms() - start);
	int a2 = accept(l, NULL, NULL), a3 = accept(l, NULL, NULL);
	CHECK(a2 >= 0 && a3 >= 0);
	CHECK_INT(send(c3, "3", 1, 0), 1);
	char b = 0;
	CHECK_INT(recv(a3, &b, 1, 0), 1);
	CHECK_INT(b, '3');
	close(a1);
	close(a2);
	close(a3);
	close(c1);
	close(c2);
	close(c3);
	close(l);
	/* SOMAXCONN (128) pending connections: 64 concurrent clients all get in before any accept. */
	CHECK_INT(SOMAXCONN, 128);
	l = listener(&port, SOMAXCONN);
	enum { CLIENTS = 64 };
	int c[CLIENTS], in = 0;
	for (int i = 0; i < CLIENTS; i++)
		c[i] = connect_started(port);
	for (int i = 0; i < CLIENTS; i++)
		in += connected_within(c[i], 2000);
	CHECK_INT(in, CLIENTS);
	for (int i = 0; i < CLIENTS; i++) {
		int a = accept(l, NULL, NULL);
		CHECK(a >= 0);
		close(a);
		close(c[i]);
	}
	close(l);
}

/* ---- 1,000 short connections: descriptors and memory come back ---- */
static void test_many(void)
{
	uint16_t port = 0;
	int l = listener(&port, 4);
	int first_fd = -1;
	size_t used_at_100 = 0;
	for (int i = 0; i < 1000; i++) {
		int c = connect_to(port);
		int a = accept(l, NULL, NULL);
		if (c < 0 || a < 0) {
			CHECK(c >= 0 && a >= 0);
			break;
		}
		if (first_fd < 0)
			first_fd = c;
		if (c != first_fd) {
			CHECK_INT(c, first_fd);
			break;
		}
		char b = (char)i, r = 0;
		CHECK_INT(send(c, &b, 1, 0), 1);
		CHECK_INT(recv(a, &r, 1, 0), 1);
		CHECK_INT(r, b);
		close(c);
		CHECK_INT(recv(a, &r, 1, 0), 0);
		close(a);
		if (i == 99)
			used_at_100 = mallinfo().uordblks;
	}
	size_t used_at_1000 = mallinfo().uordblks;
	printf("1000 connections: heap in use %zu bytes after 100, %zu after 1000\n", used_at_100, used_at_1000);
	CHECK(used_at_1000 <= used_at_100 + 64 * 1024);
	close(l);
}

/* ---- a signal ends a blocked recv with EINTR, or the recv goes on (SA_RESTART) ---- */
static volatile int got_signal;
static void on_usr1(int sig)
{
	(void)sig;
	got_signal = 1;
}

struct eintr_arg {
	int fd;
	volatile int ready;
	int result, err;
};

static void *blocked_recv(void *p)
{
	struct eintr_arg *arg = p;
	char buf[4];
	arg->ready = 1;
	arg->result = (int)recv(arg->fd, buf, sizeof(buf), 0);
	arg->err = errno;
	return NULL;
}

/* A handler installed with `flags` runs while a thread is blocked in recv; then a byte comes. */
static void eintr_with(int flags)
{
	uint16_t port = 0;
	int l = listener(&port, 1);
	int c = connect_to(port);
	int a = accept(l, NULL, NULL);
	handle_with(SIGUSR1, on_usr1, flags);
	got_signal = 0;
	struct eintr_arg arg = {a, 0, 0, 0};
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, blocked_recv, &arg), 0);
	interrupt_blocked(t, &arg.ready, SIGUSR1);
	CHECK_INT((int)send(c, "x", 1, 0), 1);
	pthread_join(t, NULL);
	if (flags & SA_RESTART) {
		/* As on Linux: the recv waited on after the handler and got the byte. */
		CHECK_INT(arg.result, 1);
	} else {
		CHECK_INT(arg.result, -1);
		CHECK_INT(arg.err, EINTR);
	}
	CHECK(got_signal);
	close(a);
	close(c);
	close(l);
}

static void test_eintr(void)
{
	eintr_with(0);
	eintr_with(SA_RESTART);
}

/* ---- options and addresses ---- */
static void test_options(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int v = 0;
	socklen_t len = sizeof(v);
	CHECK_INT(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len), 0);
	CHECK_INT(v, SOCK_STREAM);
	CHECK_INT(getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &len), 0);
	CHECK_INT(v, 0);
	v = 8192;
	CHECK_INT(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), 0);
	len = sizeof(v);
	CHECK_INT(getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &len), 0);
	CHECK_INT(v, 8192);
	struct timeval tv = {0, 50000};
	CHECK_INT(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	struct timeval back = {0, 0};
	len = sizeof(back);
	CHECK_INT(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &back, &len), 0);
	CHECK_INT(back.tv_usec, 50000);
	v = 1;
	CHECK_INT(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)), 0);
	errno = 0;
	CHECK_INT(setsockopt(s, SOL_SOCKET, 0x7777, &v, sizeof(v)), -1);
	CHECK_INT(errno, ENOPROTOOPT);
	errno = 0;
	CHECK_INT(getpeername(s, NULL, NULL), -1);
	CHECK_INT(errno, ENOTCONN);
	errno = 0;
	CHECK_INT(listen(0, 1), -1);
	CHECK_INT(errno, ENOTSOCK);
	close(s);
	errno = 0;
	CHECK_INT(socket(AF_INET, 99, 0), -1);
	CHECK(errno == ESOCKTNOSUPPORT || errno == EPROTONOSUPPORT);

	/* SO_RCVTIMEO: a timed-out recv fails with EAGAIN. */
	uint16_t port = 0;
	int l = listener(&port, 1);
	int c = connect_to(port);
	int a = accept(l, NULL, NULL);
	CHECK_INT(setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	char buf[2];
	errno = 0;
	CHECK_INT(recv(a, buf, sizeof(buf), 0), -1);
	CHECK_INT(errno, EAGAIN);
	struct sockaddr_in me, peer;
	len = sizeof(me);
	CHECK_INT(getsockname(a, (struct sockaddr *)&me, &len), 0);
	CHECK_INT(ntohs(me.sin_port), port);
	len = sizeof(peer);
	CHECK_INT(getpeername(c, (struct sockaddr *)&peer, &len), 0);
	CHECK_INT(ntohs(peer.sin_port), port);
	CHECK_INT(peer.sin_len, sizeof(struct sockaddr_in));
	/* A second bind to a listening port is refused without SO_REUSEADDR. */
	int s2 = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = loopback(port);
	errno = 0;
	CHECK_INT(bind(s2, (struct sockaddr *)&sa, sizeof(sa)), -1);
	CHECK_INT(errno, EADDRINUSE);
	close(s2);
	close(a);
	close(c);
	close(l);
}

/* ---- IPv6 on ::1 ---- */
static void test_ipv6(void)
{
	struct sockaddr_in6 sa;
	int l = listener6(in6addr_loopback, 1, &sa);
	int c = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK_INT(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	int a = accept(l, NULL, NULL);
	CHECK(a >= 0);
	CHECK_INT(send(c, "six", 3, 0), 3);
	char buf[4] = {0};
	CHECK_INT(recv(a, buf, 3, 0), 3);
	CHECK_STR(buf, "six");
	close(a);
	close(c);
	close(l);
}

/* ---- FIONREAD and SO_LINGER on a connection ---- */
/* Reads the connection *arg to its end and closes it at once; returns the bytes read. */
static void *read_all_and_close(void *arg)
{
	int c = *(int *)arg;
	static char buf[1 << 18];
	long got = 0;
	for (ssize_t k = 1; k > 0; got += k)
		k = recv(c, buf, sizeof(buf), 0);
	close(c);
	return (void *)got;
}

static void test_fionread_linger(void)
{
	uint16_t port = 0;
	int l = listener(&port, 2);
	int n = -1;
	errno = 0;
	CHECK_INT(ioctl(l, FIONREAD, &n), -1);
	CHECK_INT(errno, EINVAL);
	int c = connect_to(port);
	int a = accept(l, NULL, NULL);
	CHECK(c >= 0 && a >= 0);
	CHECK_INT(ioctl(a, FIONREAD, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(send(c, "hello", 5, 0), 5);
	usleep(20000);
	CHECK_INT(ioctl(a, FIONREAD, &n), 0);
	CHECK_INT(n, 5);
	char buf[8];
	CHECK_INT(recv(a, buf, 2, 0), 2);
	CHECK_INT(ioctl(a, FIONREAD, &n), 0);
	CHECK_INT(n, 3);
	CHECK_INT(recv(a, buf, 3, 0), 3);
	/* l_onoff 1, l_linger 0: close resets (no FIN); the peer sees ECONNRESET. */
	struct linger lg = { 1, 0 };
	CHECK_INT(setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	CHECK_INT(close(a), 0);
	errno = 0;
	CHECK_INT(recv(c, buf, sizeof(buf), 0), -1);
	CHECK_INT(errno, ECONNRESET);
	close(c);
	/* l_linger 1 with data the peer does not take: close waits the second, then returns. */
	c = socket(AF_INET, SOCK_STREAM, 0);
	int small = 8192;
	CHECK_INT(setsockopt(c, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	struct sockaddr_in sa = loopback(port);
	CHECK_INT(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	a = accept(l, NULL, NULL);
	CHECK(a >= 0);
	CHECK_INT(fcntl(a, F_SETFL, O_NONBLOCK), 0);
	static char chunk[16384];
	long sent = 0;
	for (int i = 0; i < 1000; i++) {
		ssize_t k = send(a, chunk, sizeof(chunk), 0);
		if (k < 0)
			break;
		sent += k;
	}
	CHECK(sent > 8192);
	lg.l_linger = 1;
	CHECK_INT(setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	long start = now_ms();
	CHECK_INT(close(a), 0);
	long waited = now_ms() - start;
	printf("net_tcp: close with SO_LINGER 1 s and %ld bytes unacknowledged took %ld ms\n", sent, waited);
	CHECK(waited >= 900 && waited < 3000);
	close(c);
	/* l_linger 2 with data the peer takes: close returns once it is acknowledged. */
	c = connect_to(port);
	a = accept(l, NULL, NULL);
	lg.l_linger = 2;
	CHECK_INT(setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	CHECK_INT(send(a, chunk, 4000, 0), 4000);
	start = now_ms();
	CHECK_INT(close(a), 0);
	CHECK(now_ms() - start < 1500);
	long got = 0;
	for (ssize_t k = 1; k > 0; got += k)
		k = recv(c, chunk, sizeof(chunk), 0);
	CHECK_INT(got, 4000);
	close(c);
	/* The client closed first; it reads the server's last bytes and FIN and closes at once
	 * (TIME_WAIT), and its ACK of that FIN still leaves: the server's lingering close returns
	 * without waiting for a retransmission (1 s, when the client's socket was freed first). */
	c = connect_to(port);
	a = accept(l, NULL, NULL);
	CHECK_INT(shutdown(c, SHUT_WR), 0);
	CHECK_INT(recv(a, chunk, sizeof(chunk), 0), 0);
	pthread_t reader;
	CHECK_INT(pthread_create(&reader, NULL, read_all_and_close, &c), 0);
	lg.l_linger = 5;
	CHECK_INT(setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	/* The FIN leaves with the last data, whose ACK smoltcp delays. */
	for (int i = 0; i < 8; i++)
		CHECK_INT(send(a, chunk, sizeof(chunk), 0), (int)sizeof(chunk));
	CHECK_INT(shutdown(a, SHUT_WR), 0);
	start = now_ms();
	CHECK_INT(close(a), 0);
	waited = now_ms() - start;
	void *read_back;
	CHECK_INT(pthread_join(reader, &read_back), 0);
	CHECK_INT((long)read_back, 8 * (long)sizeof(chunk));
	printf("net_tcp: lingering close after the client's FIN took %ld ms\n", waited);
	CHECK(waited < 500);
	close(l);
}

/* ---- IPV6_V6ONLY: an IPv4 and an IPv6-only listener share a port ---- */

/* The connection just made, accepted by the non-blocking listener `right` (its peer's
 * address in *peer), after `wrong` (the other family's) found none. */
static int accepted_by(int right, int wrong, struct sockaddr_in6 *peer)
{
	usleep(10000);
	errno = 0;
	CHECK_INT(accept(wrong, NULL, NULL), -1);
	CHECK_INT(errno, EAGAIN);
	socklen_t len = sizeof(*peer);
	int fd = accept(right, (struct sockaddr *)peer, &len);
	CHECK(fd >= 0);
	return fd;
}
static void test_v6only(void)
{
	int s6 = socket(AF_INET6, SOCK_STREAM, 0);
	int v = -1;
	socklen_t len = sizeof(v);
	CHECK_INT(getsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len), 0);
	CHECK_INT(v, 0);
	/* 0.0.0.0:p listening, then a dual-stack [::]:p: EADDRINUSE, with SO_REUSEADDR too. */
	int l4 = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	CHECK_INT(setsockopt(l4, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	struct sockaddr_in any4 = loopback(0);
	any4.sin_addr.s_addr = htonl(INADDR_ANY);
	CHECK_INT(bind(l4, (struct sockaddr *)&any4, sizeof(any4)), 0);
	CHECK_INT(listen(l4, 2), 0);
	len = sizeof(any4);
	CHECK_INT(getsockname(l4, (struct sockaddr *)&any4, &len), 0);
	uint16_t port = ntohs(any4.sin_port);
	struct sockaddr_in6 any6 = address6(in6addr_any, port);
	errno = 0;
	CHECK_INT(bind(s6, (struct sockaddr *)&any6, sizeof(any6)), -1);
	CHECK_INT(errno, EADDRINUSE);
	CHECK_INT(setsockopt(s6, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	errno = 0;
	CHECK_INT(bind(s6, (struct sockaddr *)&any6, sizeof(any6)), -1);
	CHECK_INT(errno, EADDRINUSE);
	/* IPV6_V6ONLY 1: the bind succeeds, and the option cannot change afterwards. */
	CHECK_INT(setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
	len = sizeof(v);
	CHECK_INT(getsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len), 0);
	CHECK_INT(v, 1);
	CHECK_INT(bind(s6, (struct sockaddr *)&any6, sizeof(any6)), 0);
	CHECK_INT(listen(s6, 2), 0);
	int zero = 0;
	errno = 0;
	CHECK_INT(setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(fcntl(l4, F_SETFL, O_NONBLOCK), 0);
	CHECK_INT(fcntl(s6, F_SETFL, O_NONBLOCK), 0);
	/* Each family's connection reaches its own listener, five times each. */
	for (int i = 0; i < 5; i++) {
		int c4 = connect_to(port);
		CHECK(c4 >= 0);
		struct sockaddr_in6 p6;
		int a4 = accepted_by(l4, s6, &p6);
		CHECK_INT(p6.sin6_family, AF_INET);
		close(a4);
		close(c4);
		int c6 = socket(AF_INET6, SOCK_STREAM, 0);
		struct sockaddr_in6 to = any6;
		to.sin6_addr = in6addr_loopback;
		CHECK_INT(connect(c6, (struct sockaddr *)&to, sizeof(to)), 0);
		int a6 = accepted_by(s6, l4, &p6);
		CHECK_INT(p6.sin6_family, AF_INET6);
		CHECK(memcmp(&p6.sin6_addr, &in6addr_loopback, 16) == 0);
		close(a6);
		close(c6);
	}
	/* An IPv6-only socket reaches no IPv4-mapped address. */
	int c6 = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK_INT(setsockopt(c6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
	struct sockaddr_in6 to = any6;
	static const unsigned char mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1 };
	memcpy(&to.sin6_addr, mapped, 16);
	errno = 0;
	CHECK_INT(connect(c6, (struct sockaddr *)&to, sizeof(to)), -1);
	CHECK_INT(errno, ENETUNREACH);
	close(c6);
	/* Without the IPv4 listener, an IPv4 connection is refused, not taken by [::]. */
	close(l4);
	errno = 0;
	CHECK_INT(connect_to(port), -1);
	CHECK_INT(errno, ECONNREFUSED);
	close(s6);
	/* UDP: an IPv6-only socket hears no IPv4 sender and reaches no mapped address. */
	int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
	CHECK_INT(setsockopt(u6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
	any6.sin6_port = 0;
	CHECK_INT(bind(u6, (struct sockaddr *)&any6, sizeof(any6)), 0);
	len = sizeof(any6);
	CHECK_INT(getsockname(u6, (struct sockaddr *)&any6, &len), 0);
	int u4 = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in dst = loopback(ntohs(any6.sin6_port));
	CHECK_INT(sendto(u4, "v4", 2, 0, (struct sockaddr *)&dst, sizeof(dst)), 2);
	usleep(10000);
	char buf[4];
	errno = 0;
	CHECK_INT(recv(u6, buf, sizeof(buf), MSG_DONTWAIT), -1);
	CHECK_INT(errno, EAGAIN);
	errno = 0;
	CHECK_INT(sendto(u6, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)), -1);
	CHECK_INT(errno, ENETUNREACH);
	close(u4);
	close(u6);
	/* Two sockets bound together with SO_REUSEADDR: only one of them may listen. */
	int r1 = socket(AF_INET, SOCK_STREAM, 0), r2 = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_INT(setsockopt(r1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	CHECK_INT(setsockopt(r2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	struct sockaddr_in same = loopback(0);
	CHECK_INT(bind(r1, (struct sockaddr *)&same, sizeof(same)), 0);
	len = sizeof(same);
	CHECK_INT(getsockname(r1, (struct sockaddr *)&same, &len), 0);
	CHECK_INT(bind(r2, (struct sockaddr *)&same, sizeof(same)), 0);
	CHECK_INT(listen(r1, 1), 0);
	errno = 0;
	CHECK_INT(listen(r2, 1), -1);
	CHECK_INT(errno, EADDRINUSE);
	close(r2);
	close(r1);
	/* IPV6_V6ONLY is an AF_INET6 option. */
	int s4 = socket(AF_INET, SOCK_STREAM, 0);
	errno = 0;
	CHECK_INT(setsockopt(s4, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), -1);
	CHECK_INT(errno, ENOPROTOOPT);
	close(s4);
}

/* An AF_INET6 socket of `type`, IPv6-only, bound to `addr`:port with `scope`; bind's result. */
static int bind6(int *s, int type, const struct in6_addr *addr, uint16_t port, uint32_t scope)
{
	*s = socket(AF_INET6, type, 0);
	int one = 1;
	CHECK_INT(setsockopt(*s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
	struct sockaddr_in6 sa = address6(*addr, port);
	sa.sin6_scope_id = scope;
	return bind(*s, (struct sockaddr *)&sa, sizeof(sa));
}

/* As Linux: a socket on 127.0.0.1:p keeps wildcards of its family and the same address off
 * the port, not other addresses (the NIC's: net.tap-bind-addresses); each gets what is sent
 * to its address. Scope ids: 0 or an interface's index (lo 1), else ENODEV. */
static void test_bind_addresses(void)
{
	uint16_t port = 0;
	int l4 = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = loopback(0);
	CHECK_INT(bind(l4, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_INT(listen(l4, 2), 0);
	socklen_t len = sizeof(sa);
	CHECK_INT(getsockname(l4, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in any4 = loopback(port);
	any4.sin_addr.s_addr = htonl(INADDR_ANY);
	errno = 0;
	CHECK_INT(bind(s, (struct sockaddr *)&any4, sizeof(any4)), -1);
	CHECK_INT(errno, EADDRINUSE);
	close(s);
	/* The same address as ::ffff:127.0.0.1 on a dual-stack socket, and [::] dual stack. */
	static const unsigned char mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1 };
	struct in6_addr m;
	memcpy(&m, mapped, 16);
	s = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 sa6 = address6(m, port);
	errno = 0;
	CHECK_INT(bind(s, (struct sockaddr *)&sa6, sizeof(sa6)), -1);
	CHECK_INT(errno, EADDRINUSE);
	sa6.sin6_addr = in6addr_any;
	errno = 0;
	CHECK_INT(bind(s, (struct sockaddr *)&sa6, sizeof(sa6)), -1);
	CHECK_INT(errno, EADDRINUSE);
	close(s);
	/* [::1]:p (scope id lo's 1) beside it; then [::]:p IPv6-only conflicts with [::1]:p. */
	int l6;
	errno = 0;
	CHECK_INT(bind6(&l6, SOCK_STREAM, &in6addr_loopback, port, 7), -1);
	CHECK_INT(errno, ENODEV);
	close(l6);
	CHECK_INT(bind6(&l6, SOCK_STREAM, &in6addr_loopback, port, 1), 0);
	CHECK_INT(listen(l6, 2), 0);
	errno = 0;
	CHECK_INT(bind6(&s, SOCK_STREAM, &in6addr_any, port, 0), -1);
	CHECK_INT(errno, EADDRINUSE);
	close(s);
	CHECK_INT(fcntl(l4, F_SETFL, O_NONBLOCK), 0);
	CHECK_INT(fcntl(l6, F_SETFL, O_NONBLOCK), 0);
	int c4 = connect_to(port);
	CHECK(c4 >= 0);
	struct sockaddr_in6 peer;
	close(accepted_by(l4, l6, &peer));
	CHECK_INT(peer.sin6_family, AF_INET);
	int c6 = socket(AF_INET6, SOCK_STREAM, 0);
	sa6.sin6_addr = in6addr_loopback;
	CHECK_INT(connect(c6, (struct sockaddr *)&sa6, sizeof(sa6)), 0);
	close(accepted_by(l6, l4, &peer));
	CHECK_INT(peer.sin6_family, AF_INET6);
	close(c4);
	close(c6);
	close(l4);
	close(l6);
	/* UDP on 127.0.0.1:q and [::1]:q: each hears what is sent to its address. */
	int u4 = socket(AF_INET, SOCK_DGRAM, 0);
	sa = loopback(0);
	CHECK_INT(bind(u4, (struct sockaddr *)&sa, sizeof(sa)), 0);
	len = sizeof(sa);
	CHECK_INT(getsockname(u4, (struct sockaddr *)&sa, &len), 0);
	int u6;
	CHECK_INT(bind6(&u6, SOCK_DGRAM, &in6addr_loopback, ntohs(sa.sin_port), 0), 0);
	int tx = socket(AF_INET6, SOCK_DGRAM, 0);
	sa6.sin6_port = sa.sin_port;
	CHECK_INT(sendto(tx, "six", 3, 0, (struct sockaddr *)&sa6, sizeof(sa6)), 3);
	sa6.sin6_addr = m;
	CHECK_INT(sendto(tx, "four", 4, 0, (struct sockaddr *)&sa6, sizeof(sa6)), 4);
	char buf[8] = { 0 };
	CHECK_INT(recv(u4, buf, sizeof(buf), 0), 4);
	CHECK_STR(buf, "four");
	memset(buf, 0, sizeof(buf));
	CHECK_INT(recv(u6, buf, sizeof(buf), 0), 3);
	CHECK_STR(buf, "six");
	close(tx);
	close(u4);
	close(u6);
}

static void run(const char *name, void (*test)(void))
{
	printf("net_tcp: %s\n", name);
	fflush(stdout);
	test();
}

int main(void)
{
	run("options", test_options);
	run("half-close", test_half_close);
	run("MSG_WAITALL", test_waitall);
	run("reset and refused", test_reset_refused);
	run("non-blocking", test_nonblocking);
	run("backlog", test_backlog);
	run("EINTR", test_eintr);
	run("IPv6", test_ipv6);
	run("dual stack", test_dual_stack);
	run("FIONREAD and SO_LINGER", test_fionread_linger);
	run("IPV6_V6ONLY", test_v6only);
	run("bind conflicts by address", test_bind_addresses);
	run("1000 connections", test_many);
	run("10 MB echo", test_echo);
	TEST_DONE();
}
