/* net_udp_poll.c: UDP both ways over the guest loopback, connected UDP (and the ICMP port unreachable its datagrams to a closed port bring: ECONNREFUSED, as Linux), poll and select on several sockets (and a pipe) with timeouts, MSG_DONTWAIT, recvmsg/sendmsg, FIONREAD, datagrams to 0.0.0.0 (this host). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "test.h"

static int udp_bound(uint16_t *port)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(s >= 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t len = sizeof(sa);
	CHECK_INT(getsockname(s, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	CHECK(*port != 0);
	return s;
}

static struct sockaddr_in to(uint16_t port)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_len = sizeof(sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = inet_addr("127.0.0.1");
	return sa;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_udp(void)
{
	uint16_t pa, pb;
	int a = udp_bound(&pa), b = udp_bound(&pb);
	struct sockaddr_in ta = to(pa), tb = to(pb);
	CHECK_INT(sendto(a, "ping", 4, 0, (struct sockaddr *)&tb, sizeof(tb)), 4);
	char buf[64] = {0};
	struct sockaddr_in from;
	socklen_t len = sizeof(from);
	CHECK_INT(recvfrom(b, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len), 4);
	CHECK_STR(buf, "ping");
	CHECK_INT(ntohs(from.sin_port), pa);
	CHECK_INT(len, sizeof(struct sockaddr_in));
	CHECK_INT(sendto(b, "pong!", 5, 0, (struct sockaddr *)&from, len), 5);
	memset(buf, 0, sizeof(buf));
	CHECK_INT(recv(a, buf, sizeof(buf), 0), 5);
	CHECK_STR(buf, "pong!");
	/* Many datagrams keep their boundaries. */
	for (int i = 0; i < 20; i++) {
		char msg[16];
		int n = snprintf(msg, sizeof(msg), "dgram %d", i);
		CHECK_INT(sendto(a, msg, (size_t)n, 0, (struct sockaddr *)&tb, sizeof(tb)), n);
	}
	for (int i = 0; i < 20; i++) {
		char msg[16];
		int n = snprintf(msg, sizeof(msg), "dgram %d", i);
		memset(buf, 0, sizeof(buf));
		CHECK_INT(recv(b, buf, sizeof(buf), 0), n);
		CHECK_STR(buf, msg);
	}
	/* A short buffer truncates a datagram; the rest is gone. */
	CHECK_INT(sendto(a, "0123456789", 10, 0, (struct sockaddr *)&tb, sizeof(tb)), 10);
	CHECK_INT(recv(b, buf, 4, 0), 4);
	errno = 0;
	CHECK_INT(recv(b, buf, sizeof(buf), MSG_DONTWAIT), -1);
	CHECK_INT(errno, EAGAIN);
	/* Connected UDP: send/write without an address, datagrams from elsewhere are ignored. */
	CHECK_INT(connect(a, (struct sockaddr *)&tb, sizeof(tb)), 0);
	CHECK_INT(write(a, "via write", 9), 9);
	memset(buf, 0, sizeof(buf));
	CHECK_INT(read(b, buf, sizeof(buf)), 9);
	CHECK_STR(buf, "via write");
	/* sendmsg/recvmsg gather and scatter. */
	struct iovec out[2] = {{"scatter-", 8}, {"gather", 6}};
	struct msghdr m;
	memset(&m, 0, sizeof(m));
	m.msg_iov = out;
	m.msg_iovlen = 2;
	CHECK_INT(sendmsg(a, &m, 0), 14);
	char p1[5] = {0}, p2[16] = {0};
	struct iovec in[2] = {{p1, 4}, {p2, sizeof(p2) - 1}};
	memset(&m, 0, sizeof(m));
	m.msg_iov = in;
	m.msg_iovlen = 2;
	m.msg_name = &from;
	m.msg_namelen = sizeof(from);
	CHECK_INT(recvmsg(b, &m, 0), 14);
	CHECK_STR(p1, "scat");
	CHECK_STR(p2, "ter-gather");
	CHECK_INT(ntohs(from.sin_port), pa);
	CHECK_INT(m.msg_flags, 0);
	/* A datagram longer than the buffers: cut, MSG_TRUNC in msg_flags; with MSG_TRUNC given,
	   its whole length (recvmsg and recv, as Linux). */
	CHECK_INT(send(a, "0123456789", 10, 0), 10);
	CHECK_INT(send(a, "abcdefghij", 10, 0), 10);
	CHECK_INT(send(a, "ABCDEFGHIJ", 10, 0), 10);
	struct iovec small = {p1, 4};
	memset(&m, 0, sizeof(m));
	m.msg_iov = &small;
	m.msg_iovlen = 1;
	CHECK_INT(recvmsg(b, &m, 0), 4);
	CHECK(m.msg_flags & MSG_TRUNC);
	CHECK_STR(p1, "0123");
	CHECK_INT(recvmsg(b, &m, MSG_TRUNC), 10);
	CHECK(m.msg_flags & MSG_TRUNC);
	CHECK_STR(p1, "abcd");
	CHECK_INT(recv(b, p1, 4, MSG_TRUNC), 10);
	CHECK_STR(p1, "ABCD");
	CHECK_INT(sendto(b, "reply", 5, 0, (struct sockaddr *)&ta, sizeof(ta)), 5);
	memset(buf, 0, sizeof(buf));
	CHECK_INT(recv(a, buf, sizeof(buf), 0), 5);
	close(a);
	close(b);
}

struct delayed {
	int fd;
	uint16_t port;
	int delay_ms;
};

static void *send_later(void *p)
{
	struct delayed *d = p;
	usleep((useconds_t)d->delay_ms * 1000);
	struct sockaddr_in t = to(d->port);
	CHECK_INT(sendto(d->fd, "late", 4, 0, (struct sockaddr *)&t, sizeof(t)), 4);
	return NULL;
}

static void test_poll_select(void)
{
	uint16_t p[3];
	int s[3];
	for (int i = 0; i < 3; i++)
		s[i] = udp_bound(&p[i]);
	int pipefd[2];
	CHECK_INT(pipe(pipefd), 0);

	/* Nothing readable: poll times out after about 100 ms with 0. */
	struct pollfd fds[4] = {{s[0], POLLIN, 0}, {s[1], POLLIN, 0}, {s[2], POLLIN, 0}, {pipefd[0], POLLIN, 0}};
	double t0 = now_ms();
	CHECK_INT(poll(fds, 4, 100), 0);
	double waited = now_ms() - t0;
	CHECK(waited >= 95);
	CHECK_INT(fds[0].revents | fds[1].revents | fds[2].revents | fds[3].revents, 0);
	/* Timeout 0 returns at once; a UDP socket is writable. */
	struct pollfd w = {s[0], POLLOUT, 0};
	CHECK_INT(poll(&w, 1, 0), 1);
	CHECK_INT(w.revents, POLLOUT);
	/* A descriptor that is not open: POLLNVAL. */
	struct pollfd bad = {555, POLLIN, 0};
	CHECK_INT(poll(&bad, 1, 0), 1);
	CHECK_INT(bad.revents, POLLNVAL);

	/* A datagram sent 50 ms later by another thread wakes a poll on the second socket. */
	struct delayed d = {s[0], p[1], 50};
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, send_later, &d), 0);
	t0 = now_ms();
	CHECK_INT(poll(fds, 4, 5000), 1);
	waited = now_ms() - t0;
	CHECK(waited >= 40 && waited < 4000);
	CHECK_INT(fds[1].revents, POLLIN);
	CHECK_INT(fds[0].revents | fds[2].revents | fds[3].revents, 0);
	pthread_join(t, NULL);
	char buf[16];
	CHECK_INT(recv(s[1], buf, sizeof(buf), 0), 4);

	/* The pipe in the same set: a write makes it readable. */
	CHECK_INT(write(pipefd[1], "p", 1), 1);
	CHECK_INT(poll(fds, 4, 1000), 1);
	CHECK_INT(fds[3].revents, POLLIN);
	CHECK_INT(read(pipefd[0], buf, 1), 1);

	/* select: a timeout with empty sets, then a ready socket among several. */
	fd_set r;
	FD_ZERO(&r);
	int maxfd = 0;
	for (int i = 0; i < 3; i++) {
		FD_SET(s[i], &r);
		if (s[i] > maxfd)
			maxfd = s[i];
	}
	struct timeval tv = {0, 80000};
	t0 = now_ms();
	CHECK_INT(select(maxfd + 1, &r, NULL, NULL, &tv), 0);
	CHECK(now_ms() - t0 >= 75);
	for (int i = 0; i < 3; i++)
		CHECK(!FD_ISSET(s[i], &r));
	struct sockaddr_in t2 = to(p[2]);
	CHECK_INT(sendto(s[0], "sel", 3, 0, (struct sockaddr *)&t2, sizeof(t2)), 3);
	FD_ZERO(&r);
	for (int i = 0; i < 3; i++)
		FD_SET(s[i], &r);
	fd_set wr;
	FD_ZERO(&wr);
	FD_SET(s[0], &wr);
	tv.tv_sec = 2;
	tv.tv_usec = 0;
	CHECK_INT(select(maxfd + 1, &r, &wr, NULL, &tv), 2);
	CHECK(FD_ISSET(s[2], &r));
	CHECK(!FD_ISSET(s[0], &r) && !FD_ISSET(s[1], &r));
	CHECK(FD_ISSET(s[0], &wr));
	/* select with a descriptor that is not open: EBADF. */
	fd_set bad_set;
	FD_ZERO(&bad_set);
	FD_SET(600, &bad_set);
	tv.tv_sec = 0;
	errno = 0;
	CHECK_INT(select(601, &bad_set, NULL, NULL, &tv), -1);
	CHECK_INT(errno, EBADF);
	for (int i = 0; i < 3; i++)
		close(s[i]);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* FIONREAD: the size of the next datagram, 0 without one (as Linux). */
static void test_fionread(void)
{
	uint16_t port;
	int r = udp_bound(&port);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	int n = -1;
	CHECK_INT(ioctl(r, FIONREAD, &n), 0);
	CHECK_INT(n, 0);
	struct sockaddr_in dst = to(port);
	CHECK_INT(sendto(s, "abc", 3, 0, (struct sockaddr *)&dst, sizeof(dst)), 3);
	CHECK_INT(sendto(s, "defghij", 7, 0, (struct sockaddr *)&dst, sizeof(dst)), 7);
	usleep(10000);
	CHECK_INT(ioctl(r, FIONREAD, &n), 0);
	CHECK_INT(n, 3);
	char buf[16];
	CHECK_INT(recv(r, buf, sizeof(buf), 0), 3);
	CHECK_INT(ioctl(r, FIONREAD, &n), 0);
	CHECK_INT(n, 7);
	CHECK_INT(recv(r, buf, sizeof(buf), 0), 7);
	CHECK_INT(ioctl(r, FIONREAD, &n), 0);
	CHECK_INT(n, 0);
	close(s);
	close(r);
}

/* A connected UDP socket whose datagram reached a closed port: POLLERR, then recv fails with
   ECONNREFUSED once (the kernel answers the datagram with ICMP port unreachable); the next
   error goes to send, then SO_ERROR; an unconnected socket hears nothing. */
static void test_refused(void)
{
	uint16_t closed;
	int probe = udp_bound(&closed);
	close(probe);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in dst = to(closed);
	CHECK_INT(connect(s, (struct sockaddr *)&dst, sizeof(dst)), 0);
	CHECK_INT(send(s, "x", 1, 0), 1);
	struct pollfd p = { .fd = s, .events = POLLIN };
	CHECK_INT(poll(&p, 1, 2000), 1);
	CHECK(p.revents & POLLERR);
	char c;
	errno = 0;
	CHECK_INT(recv(s, &c, 1, 0), -1);
	CHECK_INT(errno, ECONNREFUSED);
	errno = 0;
	CHECK_INT(recv(s, &c, 1, MSG_DONTWAIT), -1);
	CHECK_INT(errno, EAGAIN);
	CHECK_INT(send(s, "y", 1, 0), 1);
	CHECK_INT(poll(&p, 1, 2000), 1);
	errno = 0;
	CHECK_INT(send(s, "z", 1, 0), -1);
	CHECK_INT(errno, ECONNREFUSED);
	CHECK_INT(send(s, "w", 1, 0), 1);
	CHECK_INT(poll(&p, 1, 2000), 1);
	int err = 0;
	socklen_t len = sizeof(err);
	CHECK_INT(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	CHECK_INT(err, ECONNREFUSED);
	CHECK_INT(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	CHECK_INT(err, 0);
	close(s);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK_INT(sendto(s, "u", 1, 0, (struct sockaddr *)&dst, sizeof(dst)), 1);
	p.fd = s;
	CHECK_INT(poll(&p, 1, 300), 0);
	errno = 0;
	CHECK_INT(recv(s, &c, 1, MSG_DONTWAIT), -1);
	CHECK_INT(errno, EAGAIN);
	close(s);
}

/* To 0.0.0.0 (ZeroMQ's test_zmq_poll_fd sends to the address getsockname gave a socket bound
   to INADDR_ANY), as Linux: to this host; also a connected peer. */
static void test_this_host(void)
{
	int r = socket(AF_INET, SOCK_DGRAM, 0), s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	CHECK_INT(bind(r, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t len = sizeof(sa);
	CHECK_INT(getsockname(r, (struct sockaddr *)&sa, &len), 0);
	CHECK_INT(sa.sin_addr.s_addr, INADDR_ANY);
	CHECK_INT(sendto(s, "any", 3, 0, (struct sockaddr *)&sa, sizeof(sa)), 3);
	char buf[8];
	struct pollfd p = { r, POLLIN, 0 };
	CHECK_INT(poll(&p, 1, 2000), 1);
	CHECK_INT(recv(r, buf, sizeof(buf), 0), 3);
	CHECK_INT(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct sockaddr_in peer;
	len = sizeof(peer);
	CHECK_INT(getpeername(s, (struct sockaddr *)&peer, &len), 0);
	CHECK_INT(ntohl(peer.sin_addr.s_addr), INADDR_LOOPBACK);
	CHECK_INT(send(s, "two", 3, 0), 3);
	CHECK_INT(poll(&p, 1, 2000), 1);
	CHECK_INT(recv(r, buf, sizeof(buf), 0), 3);
	close(r);
	close(s);
}

int main(void)
{
	test_udp();
	test_this_host();
	test_refused();
	test_poll_select();
	test_fionread();
	TEST_DONE();
}
