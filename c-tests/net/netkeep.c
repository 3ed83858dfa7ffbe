/* netkeep.c: TCP keep-alive and handshake time-outs seen by a program: the options, a live idle connection kept, a dead peer and an unanswered SYN given up. */
/*
 * Usage (argv); every mode prints "netkeep: ..." lines and ends with test.h's summary:
 *   selftest                 over 127.0.0.1: TCP_KEEPIDLE/KEEPINTVL/KEEPCNT, lwIP's TCP_KEEPALIVE
 *                            (ms) and TCP_SYNCNT set and read back, Linux's ranges refused with
 *                            EINVAL; an idle connection with keep-alive 1 s / 1 s / 2 probes is
 *                            still alive after 5 s (its probes were answered: unanswered, it
 *                            would have been dropped after 3 s); a connection left alone after a
 *                            non-blocking connect outlives the handshake's time-out
 *   deadpeer <ipv4> <port>   connects, reads "hi", turns keep-alive on (1 s / 1 s / 2 probes) and
 *                            says "idle now"; the host then goes silent, and recv (in 250 ms
 *                            slices, TCP_NODELAY toggled before each) must fail with ETIMEDOUT
 *                            within seconds (prints the error and the time)
 *   syntimeout <ipv4> <port> TCP_SYNCNT 2 and a connect to an address whose SYNs are dropped:
 *                            ETIMEDOUT after 1 + 2 + 4 = 7 s (prints the time)
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "test.h"

#include "netstream.h"

#define SAY(...) (printf("netkeep: " __VA_ARGS__), printf("\n"), fflush(stdout))

static int get_int(int fd, int level, int name)
{
	int value = -1;
	socklen_t len = sizeof(value);
	CHECK_INT(getsockopt(fd, level, name, &value, &len), 0);
	CHECK_INT(len, sizeof(value));
	return value;
}

static int set_int(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

/* Keep-alive on: first probe after idle_s, then every intvl_s, given up after cnt. */
static void keep_alive(int fd, int idle_s, int intvl_s, int cnt)
{
	CHECK_INT(set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
	CHECK_INT(set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, idle_s), 0);
	CHECK_INT(set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, intvl_s), 0);
	CHECK_INT(set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, cnt), 0);
}

static void options(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	/* Linux's defaults. */
	CHECK_INT(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
	CHECK_INT(get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE), 7200);
	CHECK_INT(get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL), 75);
	CHECK_INT(get_int(fd, IPPROTO_TCP, TCP_KEEPCNT), 9);
	CHECK_INT(get_int(fd, IPPROTO_TCP, TCP_SYNCNT), 6);
	keep_alive(fd, 30, 5, 4);
	CHECK_INT(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
	CHECK_INT(get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE), 30);
	CHECK_INT(get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL), 5);
	CHECK_INT(get_int(fd, IPPROTO_TCP, TCP_KEEPCNT), 4);
	/* lwIP's TCP_KEEPALIVE is the idle time in milliseconds. */
	CHECK_INT(set_int(fd, IPPROTO_TCP, TCP_KEEPALIVE, 2500), 0);
	CHECK_INT(get_int(fd, IPPROTO_TCP, TCP_KEEPALIVE), 2500);
	CHECK_INT(get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE), 3);
	CHECK_INT(set_int(fd, IPPROTO_TCP, TCP_SYNCNT, 3), 0);
	CHECK_INT(get_int(fd, IPPROTO_TCP, TCP_SYNCNT), 3);
	/* Outside Linux's ranges: EINVAL, nothing changed. */
	errno = 0;
	CHECK_INT(set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, 0), -1);
	CHECK_INT(errno, EINVAL);
	errno = 0;
	CHECK_INT(set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, 32768), -1);
	CHECK_INT(errno, EINVAL);
	errno = 0;
	CHECK_INT(set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, 128), -1);
	CHECK_INT(errno, EINVAL);
	errno = 0;
	CHECK_INT(set_int(fd, IPPROTO_TCP, TCP_SYNCNT, 0), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL), 5);
	CHECK_INT(get_int(fd, IPPROTO_TCP, TCP_SYNCNT), 3);
	close(fd);
	SAY("options: set, read back, ranges refused");
}

/* A socket listening on `sa`. */
static int listening(const struct sockaddr_in *sa)
{
	int listener = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_INT(set_int(listener, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	CHECK_INT(bind(listener, (const struct sockaddr *)sa, sizeof(*sa)), 0);
	CHECK_INT(listen(listener, 1), 0);
	return listener;
}

/* An idle loopback connection with short keep-alive times outlives them: the probes are
 * answered. */
static void live_idle(void)
{
	struct sockaddr_in sa = net_ipv4("127.0.0.1", 9190);
	int listener = listening(&sa);
	int client = socket(AF_INET, SOCK_STREAM, 0);
	keep_alive(client, 1, 1, 2);
	CHECK_INT(connect(client, (struct sockaddr *)&sa, sizeof(sa)), 0);
	int server = accept(listener, NULL, NULL);
	CHECK(server >= 0);
	struct timeval tv = { .tv_sec = 5 };
	CHECK_INT(setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	char c;
	long start = net_now_ms();
	errno = 0;
	CHECK_INT(recv(client, &c, 1, 0), -1);
	CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
	long waited = net_now_ms() - start;
	CHECK(waited >= 4900);
	CHECK_INT(send(server, "x", 1, 0), 1);
	CHECK_INT(recv(client, &c, 1, 0), 1);
	CHECK_INT(c, 'x');
	SAY("live idle connection: alive after %ld ms with keep-alive 1 s / 1 s / 2", waited);
	close(server);
	close(client);
	close(listener);
}

/* The handshake's time-out ends with the handshake, also for a program that does not look at
 * its socket: TCP_SYNCNT 1 (3 s), a non-blocking connect, 5 s without touching it, then data. */
static void handshake_ends(void)
{
	struct sockaddr_in sa = net_ipv4("127.0.0.1", 9191);
	int listener = listening(&sa);
	int client = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_INT(set_int(client, IPPROTO_TCP, TCP_SYNCNT, 1), 0);
	CHECK_INT(fcntl(client, F_SETFL, O_NONBLOCK), 0);
	errno = 0;
	CHECK_INT(connect(client, (struct sockaddr *)&sa, sizeof(sa)), -1);
	CHECK_INT(errno, EINPROGRESS);
	int server = accept(listener, NULL, NULL);
	CHECK(server >= 0);
	sleep(5);
	CHECK_INT(send(server, "y", 1, 0), 1);
	CHECK_INT(fcntl(client, F_SETFL, 0), 0);
	char c = 0;
	CHECK_INT(recv(client, &c, 1, 0), 1);
	CHECK_INT(c, 'y');
	SAY("a connection left alone for 5 s after a 3 s handshake time-out: alive");
	close(server);
	close(client);
	close(listener);
}

static void dead_peer(const char *ip, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = net_ipv4(ip, port);
	CHECK_INT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	char buf[8] = { 0 };
	for (int got = 0, n = 1; got < 2 && n > 0; got += n)
		n = (int)recv(fd, buf + got, 2 - got, 0);
	CHECK_STR(buf, "hi");
	keep_alive(fd, 1, 1, 2);
	/* recv in 250 ms slices, with another option set before each: options that are not
	 * keep-alive's leave its abort time alone (each used to stretch it by the connection's
	 * age, so that the peer was never given up). */
	struct timeval slice = { 0, 250000 };
	CHECK_INT(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &slice, sizeof(slice)), 0);
	SAY("idle now");
	long start = net_now_ms();
	ssize_t n;
	int e, nodelay = 0;
	do {
		nodelay = !nodelay;
		CHECK_INT(set_int(fd, IPPROTO_TCP, TCP_NODELAY, nodelay), 0);
		errno = 0;
		n = recv(fd, buf, sizeof(buf), 0);
		e = errno;
	} while (n < 0 && e == EAGAIN && net_now_ms() - start < 20000);
	long waited = net_now_ms() - start;
	SAY("recv after the peer went silent: %zd, %s, after %ld ms", n, strerror(e), waited);
	CHECK_INT(n, -1);
	/* As Linux: a keep-alive abort is a time-out, not a reset. */
	CHECK_INT(e, ETIMEDOUT);
	CHECK(waited >= 2000 && waited <= 20000);
	close(fd);
}

static void syn_timeout(const char *ip, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_INT(set_int(fd, IPPROTO_TCP, TCP_SYNCNT, 2), 0);
	struct sockaddr_in sa = net_ipv4(ip, port);
	long start = net_now_ms();
	errno = 0;
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	long waited = net_now_ms() - start;
	SAY("connect with TCP_SYNCNT 2: %d, %s, after %ld ms", rc, strerror(e), waited);
	CHECK_INT(rc, -1);
	CHECK_INT(e, ETIMEDOUT);
	CHECK(waited >= 6900 && waited <= 20000);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "selftest") == 0) {
		options();
		live_idle();
		handshake_ends();
	} else if (argc >= 4 && strcmp(argv[1], "deadpeer") == 0) {
		dead_peer(argv[2], atoi(argv[3]));
	} else if (argc >= 4 && strcmp(argv[1], "syntimeout") == 0) {
		syn_timeout(argv[2], atoi(argv[3]));
	} else {
		fprintf(stderr, "usage: netkeep selftest | deadpeer <ipv4> <port> | syntimeout <ipv4> <port>\n");
		return 2;
	}
	TEST_DONE();
}
