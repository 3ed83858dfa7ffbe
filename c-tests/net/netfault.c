/* netfault.c: the guest side of the tap fault and multiplexing tests (poll/select, non-blocking connect, resets, half-close, backlog overflow, 1,000 connections, listening sockets' memory) and of the user-mode DNS test. */
/*
 * Usage (argv); every mode prints "netfault: ..." lines the host side (netns_faults.py, the other scripts in net/) waits
 * for and checks, and ends with test.h's "all N checks passed" (status 0) or the failures:
 *   poll <port>                      listeners on port, port+1, port+2: poll/select timeouts,
 *                                    exactly the ready descriptors reported, EOF seen by poll
 *   nbconnect <ipv4> <open> <closed> non-blocking connects: to a listening port (select says
 *                                    writable, SO_ERROR 0, data goes through) and to a closed one
 *                                    (POLLOUT|POLLERR, SO_ERROR ECONNREFUSED)
 *   reset <port>                     three connections the host resets (SO_LINGER 0): a blocked recv,
 *                                    then a blocked send end with ECONNRESET; poll reports POLLERR
 *   halfclose <port>                 the host half-closes, then the guest does
 *   backlog <port>                   backlog 2 on port (control connection on port+1): the host's
 *                                    extra connections wait for room, accept finds exactly two
 *   many <port> <n>                  serves n short connections; prints descriptors and heap use
 *   peers <port> <rounds> <ipv4>...  rounds of one short echo connection to each address in turn
 *                                    (hosts on the guest's own segment); prints each one's time
 *   listenmem <port> <s> <mib> <n>   s sockets listen (backlog 32), then mib MiB are malloc'ed and
 *                                    touched, then n connections per port arrive together and are
 *                                    echoed; prints the heap each step took (listenmem_test.py)
 *   banner <port>                    a server that speaks first (user mode: passt's missing handshake ACK)
 *   resolve <name>                   getaddrinfo and gethostbyname of name
 *   resolve-any <name>               getaddrinfo of name with AF_UNSPEC: its addresses of either family
 *   selftest                         poll timeouts and non-blocking connects over 127.0.0.1
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "test.h"

#include "netstream.h"

#define SAY(...) (printf("netfault: " __VA_ARGS__), printf("\n"), fflush(stdout))

static int listen_on(int port, int backlog)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = net_ipv4(NULL, port);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s, backlog) != 0) {
		perror("netfault: listen");
		exit(1);
	}
	return s;
}

/* Reads until `len` bytes or end of stream; the count. */
static size_t read_full(int s, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	while (got < len && (n = recv(s, buf + got, len - got, 0)) > 0)
		got += (size_t)n;
	return got;
}

/* ---- poll and select on several sockets ---- */
static int mode_poll(int port)
{
	int l[3];
	for (int i = 0; i < 3; i++)
		l[i] = listen_on(port + i, 4);
	SAY("listening on %d, %d, %d", port, port + 1, port + 2);
	struct pollfd p[3];
	for (int i = 0; i < 3; i++)
		p[i] = (struct pollfd){l[i], POLLIN, -1};
	long t0 = net_now_ms();
	CHECK_INT(poll(p, 3, 300), 0);
	long waited = net_now_ms() - t0;
	CHECK(waited >= 300);
	for (int i = 0; i < 3; i++)
		CHECK_INT(p[i].revents, 0);
	fd_set r;
	FD_ZERO(&r);
	int maxfd = 0;
	for (int i = 0; i < 3; i++) {
		FD_SET(l[i], &r);
		maxfd = l[i] > maxfd ? l[i] : maxfd;
	}
	struct timeval tv = {0, 300000};
	t0 = net_now_ms();
	CHECK_INT(select(maxfd + 1, &r, NULL, NULL, &tv), 0);
	long waited2 = net_now_ms() - t0;
	CHECK(waited2 >= 300);
	SAY("timeouts: poll %ld ms, select %ld ms (asked 300)", waited, waited2);

	SAY("connect to %d", port + 1);
	CHECK_INT(poll(p, 3, 30000), 1);
	CHECK_INT(p[0].revents, 0);
	CHECK_INT(p[1].revents, POLLIN);
	CHECK_INT(p[2].revents, 0);
	int c1 = accept(l[1], NULL, NULL);
	CHECK(c1 >= 0);
	SAY("accepted on %d; send hello there and connect to %d", port + 1, port + 2);
	int seen_c1 = 0, seen_l2 = 0, rounds = 0;
	long deadline = net_now_ms() + 30000;
	while ((!seen_c1 || !seen_l2) && net_now_ms() < deadline) {
		FD_ZERO(&r);
		FD_SET(l[0], &r);
		FD_SET(l[2], &r);
		FD_SET(c1, &r);
		int top = c1 > l[2] ? c1 : l[2];
		tv = (struct timeval){5, 0};
		int n = select(top + 1, &r, NULL, NULL, &tv);
		CHECK(n >= 1);
		CHECK(!FD_ISSET(l[0], &r));
		CHECK_INT(n, !!FD_ISSET(c1, &r) + !!FD_ISSET(l[2], &r));
		seen_c1 |= !!FD_ISSET(c1, &r);
		seen_l2 |= !!FD_ISSET(l[2], &r);
		if (FD_ISSET(c1, &r) && !seen_l2)
			usleep(10000); /* c1 stays readable until read: wait for the connection too */
		rounds++;
	}
	CHECK(seen_c1 && seen_l2);
	char buf[16] = "";
	CHECK_INT(read_full(c1, buf, 5), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	int c2 = accept(l[2], NULL, NULL);
	CHECK(c2 >= 0);
	SAY("select: hello and the connection on %d seen (%d rounds)", port + 2, rounds);
	struct pollfd q[2] = {{c1, POLLIN, 0}, {c2, POLLIN | POLLOUT, 0}};
	int n = poll(q, 2, 300);
	CHECK_INT(n, 1);
	CHECK_INT(q[0].revents, 0);
	CHECK_INT(q[1].revents, POLLOUT);
	SAY("close both");
	int eof = 0;
	deadline = net_now_ms() + 30000;
	q[1].events = POLLIN;
	while (eof != 3 && net_now_ms() < deadline) {
		q[0].fd = (eof & 1) ? -1 : c1;
		q[1].fd = (eof & 2) ? -1 : c2;
		if (poll(q, 2, 5000) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			if (q[i].revents & POLLIN) {
				CHECK_INT(recv(q[i].fd, buf, sizeof(buf), 0), 0);
				eof |= 1 << i;
			}
		}
	}
	CHECK_INT(eof, 3);
	SAY("poll: end of stream on both");
	close(c1);
	close(c2);
	for (int i = 0; i < 3; i++)
		close(l[i]);
	TEST_DONE();
}

/* ---- non-blocking connect ---- */
static int nonblocking_socket(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(s >= 0);
	CHECK_INT(fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK), 0);
	return s;
}

static void connect_open(const char *ip, int port)
{
	int s = nonblocking_socket();
	struct sockaddr_in sa = net_ipv4(ip, port);
	errno = 0;
	CHECK_INT(connect(s, (struct sockaddr *)&sa, sizeof(sa)), -1);
	CHECK_INT(errno, EINPROGRESS);
	errno = 0;
	CHECK_INT(connect(s, (struct sockaddr *)&sa, sizeof(sa)), -1);
	CHECK(errno == EALREADY || errno == EISCONN);
	fd_set w;
	FD_ZERO(&w);
	FD_SET(s, &w);
	struct timeval tv = {10, 0};
	CHECK_INT(select(s + 1, NULL, &w, NULL, &tv), 1);
	CHECK(FD_ISSET(s, &w));
	int err = -1;
	socklen_t len = sizeof(err);
	CHECK_INT(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	CHECK_INT(err, 0);
	CHECK_INT(send(s, "nb hello", 8, 0), 8);
	struct pollfd p = {s, POLLIN, 0};
	CHECK_INT(poll(&p, 1, 10000), 1);
	char buf[8] = "";
	CHECK_INT(recv(s, buf, sizeof(buf), 0), 2);
	CHECK(memcmp(buf, "ok", 2) == 0);
	SAY("non-blocking connect to %s:%d: EINPROGRESS, writable, SO_ERROR %d, got %.2s", ip, port, err, buf);
	close(s);
}

static void connect_closed(const char *ip, int port)
{
	int s = nonblocking_socket();
	struct sockaddr_in sa = net_ipv4(ip, port);
	errno = 0;
	CHECK_INT(connect(s, (struct sockaddr *)&sa, sizeof(sa)), -1);
	CHECK_INT(errno, EINPROGRESS);
	struct pollfd p = {s, POLLOUT, 0};
	CHECK_INT(poll(&p, 1, 10000), 1);
	CHECK(p.revents & POLLOUT);
	CHECK(p.revents & POLLERR);
	int err = -1;
	socklen_t len = sizeof(err);
	CHECK_INT(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	CHECK_INT(err, ECONNREFUSED);
	SAY("non-blocking connect to %s:%d: EINPROGRESS, revents 0x%x, SO_ERROR %s", ip, port, p.revents,
	    err == ECONNREFUSED ? "ECONNREFUSED" : "other");
	close(s);
}

/* ---- peer resets ---- */
static int mode_reset(int port)
{
	int l = listen_on(port, 2);
	SAY("listening on %d", port);
	int c = accept(l, NULL, NULL);
	CHECK(c >= 0);
	char buf[8] = "";
	CHECK_INT(read_full(c, buf, 3), 3);
	SAY("got %.3s; reset now", buf);
	errno = 0;
	ssize_t n = recv(c, buf, sizeof(buf), 0);
	int recv_errno = errno;
	CHECK_INT(n, -1);
	CHECK_INT(recv_errno, ECONNRESET);
	struct pollfd p = {c, POLLIN | POLLOUT, 0};
	CHECK_INT(poll(&p, 1, 0), 1);
	CHECK(p.revents & POLLHUP);
	errno = 0;
	CHECK_INT(send(c, "x", 1, MSG_NOSIGNAL), -1);
	int send_errno = errno;
	CHECK_INT(send_errno, EPIPE); /* the reset was reported by recv (as on Linux) */
	SAY("blocked recv: %s; then send: %s; revents 0x%x", recv_errno == ECONNRESET ? "ECONNRESET" : strerror(recv_errno),
	    strerror(send_errno), p.revents);
	close(c);

	/* A sender blocked on a full window when the reset comes. */
	c = accept(l, NULL, NULL);
	CHECK(c >= 0);
	static char chunk[65536];
	memset(chunk, 'z', sizeof(chunk));
	size_t sent = 0;
	SAY("sending until the reset");
	errno = 0;
	for (;;) {
		n = send(c, chunk, sizeof(chunk), 0);
		if (n <= 0)
			break;
		sent += (size_t)n;
		if (sent > (512u << 20))
			break;
	}
	send_errno = errno;
	CHECK_INT(n, -1);
	CHECK_INT(send_errno, ECONNRESET);
	SAY("blocked send after %zu bytes: %s", sent, send_errno == ECONNRESET ? "ECONNRESET" : strerror(send_errno));
	close(c);

	/* A reset seen by poll: POLLERR until SO_ERROR reports ECONNRESET, then end of stream. */
	c = accept(l, NULL, NULL);
	CHECK(c >= 0);
	SAY("waiting in poll for the reset");
	p = (struct pollfd){c, POLLIN, 0};
	CHECK_INT(poll(&p, 1, 30000), 1);
	int revents = p.revents;
	CHECK(revents & POLLERR);
	CHECK(revents & POLLHUP);
	int err = -1;
	socklen_t len = sizeof(err);
	CHECK_INT(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	CHECK_INT(err, ECONNRESET);
	CHECK_INT(poll(&p, 1, 0), 1);
	CHECK(!(p.revents & POLLERR));
	CHECK_INT(recv(c, buf, sizeof(buf), 0), 0);
	SAY("poll: revents 0x%x, SO_ERROR %s, then end of stream", revents, err == ECONNRESET ? "ECONNRESET" : "other");
	close(c);
	close(l);
	TEST_DONE();
}

/* ---- half-close both ways ---- */
static int mode_halfclose(int port)
{
	int l = listen_on(port, 2);
	SAY("listening on %d", port);
	/* The host sends and half-closes; we read to the end and still answer. */
	int c = accept(l, NULL, NULL);
	CHECK(c >= 0);
	char buf[32] = "";
	size_t got = read_full(c, buf, sizeof(buf));
	CHECK_INT(got, 8);
	CHECK(memcmp(buf, "question", 8) == 0);
	CHECK_INT(recv(c, buf, sizeof(buf), 0), 0);
	CHECK_INT(send(c, "answer", 6, 0), 6);
	SAY("host half-closed after %zu bytes; answered after the end of stream", got);
	close(c);
	/* We send and half-close; the host answers after our end of stream. */
	c = accept(l, NULL, NULL);
	CHECK(c >= 0);
	CHECK_INT(send(c, "greeting", 8, 0), 8);
	CHECK_INT(shutdown(c, SHUT_WR), 0);
	errno = 0;
	CHECK_INT(send(c, "x", 1, MSG_NOSIGNAL), -1);
	CHECK_INT(errno, EPIPE);
	memset(buf, 0, sizeof(buf));
	got = read_full(c, buf, sizeof(buf));
	CHECK_INT(got, 5);
	CHECK(memcmp(buf, "reply", 5) == 0);
	SAY("guest half-closed; then read %zu bytes (%.5s) and the end of stream", got, buf);
	close(c);
	close(l);
	TEST_DONE();
}

/* ---- accept backlog overflow ---- */
static int mode_backlog(int port)
{
	int l = listen_on(port, 2);
	int ctl_l = listen_on(port + 1, 1);
	SAY("listening on %d (backlog 2), control on %d", port, port + 1);
	int ctl = accept(ctl_l, NULL, NULL);
	CHECK(ctl >= 0);
	char buf[8] = "";
	CHECK_INT(read_full(ctl, buf, 2), 2);
	CHECK(memcmp(buf, "go", 2) == 0);
	CHECK_INT(fcntl(l, F_SETFL, fcntl(l, F_GETFL) | O_NONBLOCK), 0);
	int accepted[8], count = 0, a;
	while (count < 8 && (a = accept(l, NULL, NULL)) >= 0)
		accepted[count++] = a;
	CHECK_INT(errno, EAGAIN);
	CHECK_INT(count, 2);
	for (int i = 0; i < count; i++) {
		char b = 0;
		CHECK_INT(recv(accepted[i], &b, 1, 0), 1);
		CHECK(b == '1' || b == '2');
	}
	CHECK_INT(fcntl(l, F_SETFL, fcntl(l, F_GETFL) & ~O_NONBLOCK), 0);
	CHECK_INT(send(ctl, "2", 1, 0), 1);
	a = accept(l, NULL, NULL);
	CHECK(a >= 0);
	char b = 0;
	CHECK_INT(recv(a, &b, 1, 0), 1);
	CHECK(b == '3');
	SAY("backlog: accepted %d waiting connections, then 1 more", count);
	close(a);
	for (int i = 0; i < count; i++)
		close(accepted[i]);
	close(ctl);
	close(ctl_l);
	close(l);
	TEST_DONE();
}

/* ---- many short connections ---- */
static int mode_many(int port, int total)
{
	int l = listen_on(port, 4);
	int first_fd = -1, last_fd = -1, max_fd = -1, served = 0;
	size_t used_at_100 = 0;
	SAY("listening on %d for %d connections, listener fd %d", port, total, l);
	for (int i = 0; i < total; i++) {
		int c = accept(l, NULL, NULL);
		if (c < 0) {
			CHECK(c >= 0);
			break;
		}
		if (first_fd < 0)
			first_fd = c;
		last_fd = c;
		max_fd = c > max_fd ? c : max_fd;
		char buf[64];
		ssize_t n = recv(c, buf, sizeof(buf), 0);
		if (n > 0 && send(c, buf, (size_t)n, 0) == n && recv(c, buf, sizeof(buf), 0) == 0)
			served++;
		close(c);
		if (i == 99)
			used_at_100 = mallinfo().uordblks;
	}
	size_t used_at_end = mallinfo().uordblks;
	int probe = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_INT(served, total);
	CHECK_INT(last_fd, first_fd);
	CHECK_INT(max_fd, first_fd);
	CHECK_INT(probe, first_fd);
	CHECK(used_at_end <= used_at_100 + 64 * 1024);
	SAY("served %d connections; descriptors first %d last %d highest %d, a new socket gets %d; heap in use %zu "
	    "bytes after 100, %zu after %d",
	    served, first_fd, last_fd, max_fd, probe, used_at_100, used_at_end, total);
	close(probe);
	close(l);
	TEST_DONE();
}

/* ---- one client, many hosts on the segment (the neighbour cache) ---- */
static int mode_peers(int port, int rounds, char **ips, int count)
{
	for (int r = 1; r <= rounds; r++) {
		for (int i = 0; i < count; i++) {
			long start = net_now_ms();
			struct sockaddr_in sa = net_ipv4(ips[i], port);
			int s = socket(AF_INET, SOCK_STREAM, 0);
			int ok = echo_once(s, (struct sockaddr *)&sa, sizeof(sa), i);
			close(s);
			CHECK(ok);
			SAY("peer round %d %s %ld ms%s", r, ips[i], net_now_ms() - start, ok ? "" : " FAILED");
		}
	}
	TEST_DONE();
}

/* ---- listening sockets hold memory only for the connections they have ---- */
/*
 * `sockets` listening sockets with backlog 32 on port.., then `mib` MiB malloc'ed and
 * touched (a kernel that made every backlog listener's buffers at listen has no room left
 * for it behind passt), then `conns` connections to each port that arrive together: each
 * echoes the host's message. Prints the heap in use at each step.
 */
static int mode_listenmem(int port, int sockets, int mib, int conns)
{
	int l[8], c[32];
	if (sockets < 1 || sockets > 8 || conns < 1 || conns > 32)
		return 2;
	/* The network stack (and its NIC's rings) is made with the first socket. */
	close(socket(AF_INET, SOCK_STREAM, 0));
	size_t before = mallinfo().uordblks;
	for (int i = 0; i < sockets; i++)
		l[i] = listen_on(port + i, 32);
	size_t listening = mallinfo().uordblks;
	SAY("%d sockets listen with backlog 32: the heap grew by %zu KiB", sockets, (listening - before) >> 10);
	size_t size = (size_t)mib << 20;
	char *block = size ? malloc(size) : NULL;
	if (size && !block) {
		SAY("malloc of %d MiB failed", mib);
		CHECK(block != NULL);
		TEST_DONE();
	}
	for (size_t off = 0; off < size; off += 4096)
		block[off] = (char)(off >> 12);
	SAY("allocated and touched %d MiB; serving %d connections on each of ports %d..%d", mib, conns, port,
	    port + sockets - 1);
	size_t first = 0;
	for (int i = 0; i < sockets; i++) {
		int got = 0;
		for (int k = 0; k < conns; k++) {
			c[k] = accept(l[i], NULL, NULL);
			CHECK(c[k] >= 0);
		}
		if (i == 0)
			first = mallinfo().uordblks;
		for (int k = 0; k < conns; k++) {
			char buf[64];
			ssize_t n = recv(c[k], buf, sizeof(buf), 0);
			if (n > 0 && send(c[k], buf, (size_t)n, 0) == n)
				got++;
		}
		for (int k = 0; k < conns; k++) {
			char b;
			CHECK_INT(recv(c[k], &b, 1, 0), 0);
			close(c[k]);
		}
		CHECK_INT(got, conns);
	}
	size_t touched = 0;
	for (size_t off = 0; off < size; off += 4096)
		touched += block[off] == (char)(off >> 12);
	CHECK_INT(touched, size / 4096);
	SAY("served %d connections on each port; the heap grew by %zu KiB with the listening sockets, by %zu KiB "
	    "more with the first port's %d connections open (beside the %d MiB)",
	    conns, (listening - before) >> 10, (first - listening - size) >> 10, conns, mib);
	if (block)
		free(block);
	for (int i = 0; i < sockets; i++)
		close(l[i]);
	TEST_DONE();
}

/* ---- a server that speaks first (a banner, as SMTP) ---- */
static int mode_banner(int port)
{
	int l = listen_on(port, 2);
	SAY("listening on %d", port);
	int c = accept(l, NULL, NULL);
	CHECK(c >= 0);
	const char *banner = "220 hermit ready\r\n";
	CHECK_INT(send(c, banner, strlen(banner), 0), (long long)strlen(banner));
	char buf[16] = "";
	CHECK_INT(read_full(c, buf, 6), 6);
	CHECK(memcmp(buf, "QUIT\r\n", 6) == 0);
	CHECK_INT(send(c, "221 bye\r\n", 9, 0), 9);
	CHECK_INT(recv(c, buf, sizeof(buf), 0), 0);
	SAY("banner sent, QUIT answered, end of stream");
	close(c);
	close(l);
	TEST_DONE();
}

/* ---- names ---- */
/* getaddrinfo of `name` for `family`: each address and port, or the error. */
static void say_addrinfo(const char *name, int family)
{
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	int rc = getaddrinfo(name, "80", &hints, &res);
	CHECK_INT(rc, 0);
	for (struct addrinfo *a = res; rc == 0 && a; a = a->ai_next) {
		char text[INET6_ADDRSTRLEN] = "";
		struct sockaddr_in *in = (struct sockaddr_in *)a->ai_addr;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)a->ai_addr;
		int six = a->ai_family == AF_INET6;
		inet_ntop(a->ai_family, six ? (const void *)&in6->sin6_addr : (const void *)&in->sin_addr, text, sizeof(text));
		SAY("getaddrinfo %s: %s port %d", name, text, ntohs(six ? in6->sin6_port : in->sin_port));
	}
	if (res)
		freeaddrinfo(res);
	else
		SAY("getaddrinfo %s: %s", name, gai_strerror(rc));
}

static int mode_resolve(const char *name)
{
	say_addrinfo(name, AF_INET);
	struct hostent *h = gethostbyname(name);
	CHECK(h != NULL);
	if (h && h->h_addr_list[0]) {
		char text[INET_ADDRSTRLEN] = "";
		inet_ntop(AF_INET, h->h_addr_list[0], text, sizeof(text));
		SAY("gethostbyname %s: %s", name, text);
	}
	TEST_DONE();
}

static int mode_resolve_any(const char *name)
{
	say_addrinfo(name, AF_UNSPEC);
	TEST_DONE();
}

/* ---- loopback self-test: poll timeouts and both non-blocking connects ---- */
static int selftest(void)
{
	int l = listen_on(7790, 2);
	struct pollfd p[2] = {{l, POLLIN, 0}, {1 << 29, POLLIN, 0}};
	long t0 = net_now_ms();
	CHECK_INT(poll(p, 1, 200), 0);
	CHECK(net_now_ms() - t0 >= 200);
	CHECK_INT(poll(p, 2, 0), 1);
	CHECK_INT(p[1].revents, POLLNVAL);
	int s = nonblocking_socket();
	struct sockaddr_in sa = net_ipv4("127.0.0.1", 7790);
	errno = 0;
	int r = connect(s, (struct sockaddr *)&sa, sizeof(sa));
	CHECK(r == 0 || errno == EINPROGRESS);
	struct pollfd w = {s, POLLOUT, 0};
	CHECK_INT(poll(&w, 1, 5000), 1);
	int a = accept(l, NULL, NULL);
	CHECK(a >= 0);
	close(a);
	close(s);
	close(l);
	connect_closed("127.0.0.1", 7791);
	TEST_DONE();
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "poll") == 0)
		return mode_poll(atoi(argv[2]));
	if (argc >= 5 && strcmp(argv[1], "nbconnect") == 0) {
		connect_open(argv[2], atoi(argv[3]));
		connect_closed(argv[2], atoi(argv[4]));
		TEST_DONE();
	}
	if (argc >= 3 && strcmp(argv[1], "reset") == 0)
		return mode_reset(atoi(argv[2]));
	if (argc >= 3 && strcmp(argv[1], "halfclose") == 0)
		return mode_halfclose(atoi(argv[2]));
	if (argc >= 3 && strcmp(argv[1], "backlog") == 0)
		return mode_backlog(atoi(argv[2]));
	if (argc >= 4 && strcmp(argv[1], "many") == 0)
		return mode_many(atoi(argv[2]), atoi(argv[3]));
	if (argc >= 5 && strcmp(argv[1], "peers") == 0)
		return mode_peers(atoi(argv[2]), atoi(argv[3]), argv + 4, argc - 4);
	if (argc >= 6 && strcmp(argv[1], "listenmem") == 0)
		return mode_listenmem(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	if (argc >= 3 && strcmp(argv[1], "banner") == 0)
		return mode_banner(atoi(argv[2]));
	if (argc >= 3 && strcmp(argv[1], "resolve") == 0)
		return mode_resolve(argv[2]);
	if (argc >= 3 && strcmp(argv[1], "resolve-any") == 0)
		return mode_resolve_any(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "selftest") == 0)
		return selftest();
	fprintf(stderr, "usage: netfault poll|nbconnect|reset|halfclose|backlog|many|peers|listenmem|banner|resolve|resolve-any|selftest ...\n");
	return 2;
}
