/* net_unix.c: AF_UNIX stream sockets named by a path or an abstract name: bind, listen, accept, connect, the names each call reports, backlogs, unlink, poll and epoll, timeouts, errors. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "test.h"
#include "unix_addr.h"

/* A directory that does not exist on the host: the names live in the guest. */
#define PATH "/nonexistent-hermit-dir/server.sock"
#define CLIENT_PATH "/nonexistent-hermit-dir/client.sock"

static int unix_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	return fd;
}

static int connect_to(const struct sockaddr_un *a, socklen_t len)
{
	int fd = unix_socket();
	CHECK_INT(connect(fd, (const struct sockaddr *)a, len), 0);
	return fd;
}

static void test_errors(void)
{
	/* Datagram and sequenced-packet sockets: net_unix_dgram.c. */
	errno = 0;
	CHECK_INT(socket(AF_UNIX, SOCK_STREAM, 6), -1);
	CHECK_INT(errno, EPROTONOSUPPORT);

	/* Unconnected: poll, reads, writes, names, shutdown (which succeeds, as Linux's). */
	int fd = unix_socket();
	struct pollfd p = { fd, POLLIN | POLLOUT, 0 };
	CHECK_INT(poll(&p, 1, 0), 1);
	CHECK_INT(p.revents, POLLOUT | POLLHUP);
	char c;
	errno = 0;
	CHECK_INT(read(fd, &c, 1), -1);
	CHECK_INT(errno, EINVAL);
	errno = 0;
	CHECK_INT(send(fd, "x", 1, 0), -1);
	CHECK_INT(errno, ENOTCONN);
	CHECK_INT(shutdown(fd, SHUT_RDWR), 0);
	struct sockaddr_un a;
	socklen_t len = sizeof(a);
	errno = 0;
	CHECK_INT(getpeername(fd, (struct sockaddr *)&a, &len), -1);
	CHECK_INT(errno, ENOTCONN);
	len = sizeof(a);
	CHECK_INT(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	CHECK_INT(len, offsetof(struct sockaddr_un, sun_path));
	CHECK_INT(a.sun_family, AF_UNIX);
	errno = 0;
	CHECK_INT(accept(fd, NULL, NULL), -1);
	CHECK_INT(errno, EINVAL);

	/* Nobody there: a path is ENOENT, an abstract name ECONNREFUSED, a wrong family EINVAL. */
	errno = 0;
	CHECK_INT(connect(fd, (struct sockaddr *)&a, path_addr(&a, PATH)), -1);
	CHECK_INT(errno, ENOENT);
	errno = 0;
	CHECK_INT(connect(fd, (struct sockaddr *)&a, abstract_addr(&a, "hermit-nobody")), -1);
	CHECK_INT(errno, ECONNREFUSED);
	a.sun_family = AF_INET;
	errno = 0;
	CHECK_INT(connect(fd, (struct sockaddr *)&a, sizeof(a)), -1);
	CHECK_INT(errno, EINVAL);
	errno = 0;
	CHECK_INT(connect(fd, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path)), -1);
	CHECK_INT(errno, EINVAL);

	/* Options: the type, no error, buffer sizes (timeouts: test_timeouts). */
	int v = -1;
	len = sizeof(v);
	CHECK_INT(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len), 0);
	CHECK_INT(v, SOCK_STREAM);
	CHECK_INT(getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len), 0);
	CHECK_INT(v, 0);
	CHECK_INT(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len), 0);
	CHECK(v > 0);
	CHECK_INT(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)), 0);
	struct stat st;
	CHECK_INT(fstat(fd, &st), 0);
	CHECK(S_ISSOCK(st.st_mode));
	close(fd);
}

/* The server's side of the stream test: echo what arrives until end of file. */
static void *echo(void *arg)
{
	int fd = *(int *)arg;
	static char buf[16384];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(fd, buf + done, n - done);
			CHECK(w > 0);
			if (w <= 0)
				return NULL;
			done += w;
		}
	}
	CHECK_INT(n, 0);
	close(fd);
	return NULL;
}

struct pump {
	int fd;
	size_t bytes;
	uint32_t sum;
};

static uint32_t mix(uint32_t sum, const unsigned char *p, size_t n)
{
	/* FNV-1a. */
	for (size_t i = 0; i < n; i++)
		sum = (sum ^ p[i]) * 16777619u;
	return sum;
}

/* Writes `bytes` bytes of a pattern, then shuts down its writing. */
static void *pump_out(void *arg)
{
	struct pump *p = arg;
	static unsigned char buf[10000];
	size_t sent = 0;
	p->sum = 2166136261u;
	while (sent < p->bytes) {
		size_t n = p->bytes - sent < sizeof(buf) ? p->bytes - sent : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = (unsigned char)((sent + i) * 13 + 5);
		p->sum = mix(p->sum, buf, n);
		CHECK_INT(write(p->fd, buf, n), n);
		sent += n;
	}
	CHECK_INT(shutdown(p->fd, SHUT_WR), 0);
	return NULL;
}

static void test_stream(void)
{
	struct sockaddr_un a, got;
	socklen_t alen = path_addr(&a, PATH);
	int server = unix_socket();
	CHECK_INT(bind(server, (struct sockaddr *)&a, alen), 0);
	/* The name exists in the guest only. */
	CHECK_INT(access(PATH, F_OK), -1);
	socklen_t len = sizeof(got);
	CHECK_INT(getsockname(server, (struct sockaddr *)&got, &len), 0);
	CHECK_INT(len, offsetof(struct sockaddr_un, sun_path) + strlen(PATH) + 1);
	CHECK_STR(got.sun_path, PATH);
	/* Bound again: the name is looked at first, as Linux. */
	errno = 0;
	CHECK_INT(bind(server, (struct sockaddr *)&a, alen), -1);
	CHECK_INT(errno, EADDRINUSE);
	struct sockaddr_un b;
	errno = 0;
	CHECK_INT(bind(server, (struct sockaddr *)&b, path_addr(&b, PATH ".2")), -1);
	CHECK_INT(errno, EINVAL);
	int other = unix_socket();
	errno = 0;
	CHECK_INT(bind(other, (struct sockaddr *)&a, alen), -1);
	CHECK_INT(errno, EADDRINUSE);
	/* Bound, not listening. */
	errno = 0;
	CHECK_INT(connect(other, (struct sockaddr *)&a, alen), -1);
	CHECK_INT(errno, ECONNREFUSED);
	CHECK_INT(listen(server, 8), 0);
	struct pollfd p = { server, POLLIN, 0 };
	CHECK_INT(poll(&p, 1, 0), 0);

	/* A client with a name of its own; its connect completes at once. */
	struct sockaddr_un ca;
	socklen_t calen = path_addr(&ca, CLIENT_PATH);
	CHECK_INT(bind(other, (struct sockaddr *)&ca, calen), 0);
	CHECK_INT(connect(other, (struct sockaddr *)&a, alen), 0);
	errno = 0;
	CHECK_INT(connect(other, (struct sockaddr *)&a, alen), -1);
	CHECK_INT(errno, EISCONN);
	CHECK_INT(poll(&p, 1, 0), 1);
	CHECK_INT(p.revents, POLLIN);
	len = sizeof(got);
	int conn = accept4(server, (struct sockaddr *)&got, &len, SOCK_NONBLOCK);
	CHECK(conn >= 0);
	CHECK(fcntl(conn, F_GETFL) & O_NONBLOCK);
	CHECK_INT(len, offsetof(struct sockaddr_un, sun_path) + strlen(CLIENT_PATH) + 1);
	CHECK_STR(got.sun_path, CLIENT_PATH);
	len = sizeof(got);
	CHECK_INT(getpeername(other, (struct sockaddr *)&got, &len), 0);
	CHECK_STR(got.sun_path, PATH);
	len = sizeof(got);
	CHECK_INT(getsockname(conn, (struct sockaddr *)&got, &len), 0);
	CHECK_STR(got.sun_path, PATH);
	len = sizeof(got);
	CHECK_INT(getpeername(conn, (struct sockaddr *)&got, &len), 0);
	CHECK_STR(got.sun_path, CLIENT_PATH);
	char c;
	errno = 0;
	CHECK_INT(read(conn, &c, 1), -1);
	CHECK_INT(errno, EAGAIN);
	close(conn);
	/* The server closed: the client reads end of file. */
	CHECK_INT(read(other, &c, 1), 0);
	close(other);

	/* 4 MiB each way through an echo thread, an unnamed client. */
	int client = connect_to(&a, alen);
	len = sizeof(got);
	conn = accept(server, (struct sockaddr *)&got, &len);
	CHECK(conn >= 0);
	CHECK_INT(len, offsetof(struct sockaddr_un, sun_path));
	len = sizeof(got);
	CHECK_INT(getpeername(conn, (struct sockaddr *)&got, &len), 0);
	CHECK_INT(len, offsetof(struct sockaddr_un, sun_path));
	pthread_t e, w;
	CHECK_INT(pthread_create(&e, NULL, echo, &conn), 0);
	struct pump out = { client, 4 << 20, 0 };
	CHECK_INT(pthread_create(&w, NULL, pump_out, &out), 0);
	static unsigned char buf[65536];
	size_t back = 0;
	uint32_t sum = 2166136261u;
	ssize_t n;
	while ((n = read(client, buf, sizeof(buf))) > 0) {
		sum = mix(sum, buf, n);
		back += n;
	}
	CHECK_INT(n, 0);
	pthread_join(w, NULL);
	pthread_join(e, NULL);
	CHECK_INT(back, out.bytes);
	CHECK_INT(sum, out.sum);
	printf("net_unix: %zu bytes echoed through " PATH ", checksum %08x ok\n", back, sum);
	close(client);

	/* unlink: no new connections, the path can be bound again. */
	CHECK_INT(unlink(PATH), 0);
	int late = unix_socket();
	errno = 0;
	CHECK_INT(connect(late, (struct sockaddr *)&a, alen), -1);
	CHECK_INT(errno, ENOENT);
	int again = unix_socket();
	CHECK_INT(bind(again, (struct sockaddr *)&a, alen), 0);
	CHECK_INT(listen(again, 1), 0);
	CHECK_INT(connect(late, (struct sockaddr *)&a, alen), 0);
	int taken = accept(again, NULL, NULL);
	CHECK(taken >= 0);
	close(taken);
	close(late);
	close(again);
	/* A closed socket's path stays taken until unlinked, as a socket file. */
	int third = unix_socket();
	errno = 0;
	CHECK_INT(bind(third, (struct sockaddr *)&a, alen), -1);
	CHECK_INT(errno, EADDRINUSE);
	errno = 0;
	CHECK_INT(connect(third, (struct sockaddr *)&a, alen), -1);
	CHECK_INT(errno, ECONNREFUSED);
	CHECK_INT(unlink(PATH), 0);
	CHECK_INT(bind(third, (struct sockaddr *)&a, alen), 0);
	CHECK_INT(unlink(PATH), 0);
	close(third);
	close(server);
	CHECK_INT(unlink(CLIENT_PATH), 0);
}

static void *late_accept(void *arg)
{
	usleep(50000);
	int fd = accept(*(int *)arg, NULL, NULL);
	CHECK(fd >= 0);
	return (void *)(intptr_t)fd;
}

static void test_backlog(void)
{
	struct sockaddr_un a;
	socklen_t alen = abstract_addr(&a, "hermit-backlog");
	int server = unix_socket();
	CHECK_INT(bind(server, (struct sockaddr *)&a, alen), 0);
	CHECK_INT(listen(server, 1), 0);
	/* Linux takes one beyond the backlog. */
	int c1 = connect_to(&a, alen), c2 = connect_to(&a, alen);
	int c3 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	errno = 0;
	CHECK_INT(connect(c3, (struct sockaddr *)&a, alen), -1);
	CHECK_INT(errno, EAGAIN);
	/* A blocking connect waits until an accept makes room. */
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, late_accept, &server), 0);
	int c4 = connect_to(&a, alen);
	void *accepted;
	pthread_join(t, &accepted);
	CHECK_INT(write(c4, "4", 1), 1);
	/* The queue is in order: c1's connection came first. */
	CHECK_INT(write(c1, "1", 1), 1);
	char ch = 0;
	CHECK_INT(read((int)(intptr_t)accepted, &ch, 1), 1);
	CHECK_INT(ch, '1');
	close((int)(intptr_t)accepted);

	/* epoll on a listener, edge-triggered. */
	int ep = epoll_create1(0);
	struct epoll_event ev = { EPOLLIN | EPOLLET, { .fd = server } }, evs[2];
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, server, &ev), 0);
	CHECK_INT(epoll_wait(ep, evs, 2, 0), 1);
	CHECK_INT(evs[0].events, EPOLLIN);
	CHECK_INT(epoll_wait(ep, evs, 2, 0), 0);
	int a2 = accept(server, NULL, NULL);
	CHECK(a2 >= 0);
	int a4 = accept(server, NULL, NULL);
	CHECK(a4 >= 0);
	CHECK_INT(read(a4, &ch, 1), 1);
	CHECK_INT(ch, '4');
	fcntl(server, F_SETFL, O_NONBLOCK);
	errno = 0;
	CHECK_INT(accept(server, NULL, NULL), -1);
	CHECK_INT(errno, EAGAIN);
	int c5 = connect_to(&a, alen);
	CHECK_INT(epoll_wait(ep, evs, 2, 1000), 1);
	/* Closing the listener drops what nobody accepted: its client's read fails once with
	   ECONNRESET, then reads end of file. */
	close(server);
	errno = 0;
	CHECK_INT(read(c5, &ch, 1), -1);
	CHECK_INT(errno, ECONNRESET);
	CHECK_INT(read(c5, &ch, 1), 0);
	errno = 0;
	CHECK_INT(connect(c3, (struct sockaddr *)&a, alen), -1);
	CHECK_INT(errno, ECONNREFUSED);
	close(ep);
	int fds[] = { c1, c2, c3, c4, c5, a2, a4 };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		close(fds[i]);
}

static void test_autobind(void)
{
	/* listen needs a name; bind with the family alone gives an abstract one of five hex
	   digits, as Linux. */
	int server = unix_socket();
	errno = 0;
	CHECK_INT(listen(server, 4), -1);
	CHECK_INT(errno, EINVAL);
	struct sockaddr_un a = { 0 };
	a.sun_family = AF_UNIX;
	CHECK_INT(bind(server, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path)), 0);
	CHECK_INT(listen(server, 4), 0);
	socklen_t len = sizeof(a);
	CHECK_INT(getsockname(server, (struct sockaddr *)&a, &len), 0);
	CHECK_INT(len, offsetof(struct sockaddr_un, sun_path) + 6);
	CHECK_INT(a.sun_path[0], 0);
	int client = connect_to(&a, len);
	int conn = accept(server, NULL, NULL);
	CHECK(conn >= 0);
	CHECK_INT(write(conn, "hi", 2), 2);
	char buf[4];
	CHECK_INT(recv(client, buf, sizeof(buf), 0), 2);
	close(conn);
	close(client);
	/* Another: another name. */
	int other = unix_socket();
	struct sockaddr_un b = { 0 };
	b.sun_family = AF_UNIX;
	CHECK_INT(bind(other, (struct sockaddr *)&b, offsetof(struct sockaddr_un, sun_path)), 0);
	socklen_t blen = sizeof(b);
	CHECK_INT(getsockname(other, (struct sockaddr *)&b, &blen), 0);
	CHECK_INT(blen, len);
	CHECK(memcmp(a.sun_path, b.sun_path, 6) != 0);
	close(other);
	close(server);
}

/* A relative path is found by its absolute one. */
static void test_relative(void)
{
	char cwd[256];
	if (!getcwd(cwd, sizeof(cwd) - 32)) {
		printf("net_unix: no current directory, relative names not checked\n");
		return;
	}
	int server = unix_socket();
	struct sockaddr_un a;
	CHECK_INT(bind(server, (struct sockaddr *)&a, path_addr(&a, "relative.sock")), 0);
	CHECK_INT(listen(server, 1), 0);
	char full[300];
	snprintf(full, sizeof(full), "%s%srelative.sock", cwd, cwd[strlen(cwd) - 1] == '/' ? "" : "/");
	int client = connect_to(&a, path_addr(&a, full));
	int conn = accept(server, NULL, NULL);
	CHECK(conn >= 0);
	close(conn);
	close(client);
	CHECK_INT(unlink("relative.sock"), 0);
	close(server);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* SO_RCVTIMEO and SO_SNDTIMEO: a read or write that waits longer fails with EAGAIN (a write
   that moved some bytes returns their count), as on Linux. */
static void test_timeouts(void)
{
	int sv[2];
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct timeval tv = { 0, 100000 }, got;
	CHECK_INT(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	socklen_t len = sizeof(got);
	CHECK_INT(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &got, &len), 0);
	CHECK(len == sizeof(got) && got.tv_sec == 0 && got.tv_usec == 100000);
	char c;
	double t0 = now_ms();
	errno = 0;
	CHECK_INT(read(sv[0], &c, 1), -1);
	CHECK_INT(errno, EAGAIN);
	double waited = now_ms() - t0;
	CHECK(waited >= 95 && waited < 2000);
	printf("net_unix: SO_RCVTIMEO of 100 ms: EAGAIN after %.0f ms\n", waited);
	/* Fill the direction, then a write waits for its timeout. */
	CHECK_INT(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	static char big[1 << 20];
	ssize_t n = write(sv[0], big, sizeof(big));
	CHECK(n > 0 && n < (ssize_t)sizeof(big));
	t0 = now_ms();
	errno = 0;
	CHECK_INT(write(sv[0], big, 1000), -1);
	CHECK_INT(errno, EAGAIN);
	CHECK(now_ms() - t0 >= 95);
	/* 0 turns the timeout off. */
	struct timeval off = { 0, 0 };
	CHECK_INT(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &off, sizeof(off)), 0);
	len = sizeof(got);
	CHECK_INT(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &got, &len), 0);
	CHECK(got.tv_sec == 0 && got.tv_usec == 0);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	test_errors();
	test_stream();
	test_backlog();
	test_autobind();
	test_relative();
	test_timeouts();
	TEST_DONE();
}
