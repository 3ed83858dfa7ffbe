/* net_epoll.c: pselect and ppoll with signal masks, accept4, getnameinfo, socketpair (MSG_PEEK, FIONREAD, also of pipes), and epoll (level, edge, one-shot, nested, errors) over pipes and loopback TCP. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "test.h"

static volatile int handled;

static void on_usr1(int sig)
{
	if (sig == SIGUSR1)
		__atomic_fetch_add(&handled, 1, __ATOMIC_SEQ_CST);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* A thread that, after `delay_ms`, sends SIGUSR1 to `target` or writes a byte to `fd`. */
struct later {
	pthread_t target;
	int fd;
	int delay_ms;
};

static void *signal_later(void *arg)
{
	struct later *l = arg;
	sleep_ms(l->delay_ms);
	pthread_kill(l->target, SIGUSR1);
	return NULL;
}

static void *write_later(void *arg)
{
	struct later *l = arg;
	sleep_ms(l->delay_ms);
	CHECK_INT(write(l->fd, "w", 1), 1);
	return NULL;
}

static sigset_t only(int sig)
{
	sigset_t set;
	sigemptyset(&set);
	if (sig)
		sigaddset(&set, sig);
	return set;
}

static int blocked(int sig)
{
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, sig);
}

/* pselect and ppoll: the mask lets SIGUSR1 in only during the wait. */
static void test_masks(void)
{
	signal(SIGUSR1, on_usr1);
	sigset_t usr1 = only(SIGUSR1), none = only(0);
	CHECK_INT(sigprocmask(SIG_BLOCK, &usr1, NULL), 0);
	CHECK(blocked(SIGUSR1));
	int base = handled;

	/* Blocked: raising it leaves it pending. */
	CHECK_INT(kill(getpid(), SIGUSR1), 0);
	CHECK_INT(handled, base);
	/* pselect with an empty mask lets the pending signal in: EINTR at once. */
	struct timespec second = { 1, 0 };
	double t0 = now_ms();
	errno = 0;
	CHECK_INT(pselect(0, NULL, NULL, NULL, &second, &none), -1);
	CHECK_INT(errno, EINTR);
	CHECK(now_ms() - t0 < 500);
	CHECK_INT(handled, base + 1);
	CHECK(blocked(SIGUSR1));

	/* A signal from another thread during a plain poll stays pending (blocked) ... */
	int p[2];
	CHECK_INT(pipe(p), 0);
	struct later l = { pthread_self(), -1, 50 };
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, signal_later, &l), 0);
	struct pollfd pfd = { p[0], POLLIN, 0 };
	CHECK_INT(poll(&pfd, 1, 300), 0);
	pthread_join(t, NULL);
	CHECK_INT(handled, base + 1);
	/* ... until ppoll's mask lets it in. */
	struct timespec forever_ish = { 5, 0 };
	errno = 0;
	CHECK_INT(ppoll(&pfd, 1, &forever_ish, &none), -1);
	CHECK_INT(errno, EINTR);
	CHECK_INT(handled, base + 2);
	CHECK(blocked(SIGUSR1));

	/* A signal that arrives during pselect's wait ends it with EINTR. */
	l.delay_ms = 100;
	CHECK_INT(pthread_create(&t, NULL, signal_later, &l), 0);
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	t0 = now_ms();
	errno = 0;
	CHECK_INT(pselect(p[0] + 1, &rd, NULL, NULL, &forever_ish, &none), -1);
	double waited = now_ms() - t0;
	CHECK_INT(errno, EINTR);
	CHECK(waited >= 80 && waited < 3000);
	pthread_join(t, NULL);
	CHECK_INT(handled, base + 3);
	CHECK(blocked(SIGUSR1));

	/* The same during ppoll. */
	CHECK_INT(pthread_create(&t, NULL, signal_later, &l), 0);
	errno = 0;
	CHECK_INT(ppoll(&pfd, 1, &forever_ish, &none), -1);
	CHECK_INT(errno, EINTR);
	pthread_join(t, NULL);
	CHECK_INT(handled, base + 4);

	/* Readiness and timeouts. */
	CHECK_INT(write(p[1], "x", 1), 1);
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	CHECK_INT(pselect(p[0] + 1, &rd, NULL, NULL, &second, &none), 1);
	CHECK(FD_ISSET(p[0], &rd));
	CHECK_INT(ppoll(&pfd, 1, &second, NULL), 1);
	CHECK_INT(pfd.revents, POLLIN);
	char c;
	CHECK_INT(read(p[0], &c, 1), 1);
	struct timespec short_wait = { 0, 150000000 };
	t0 = now_ms();
	CHECK_INT(ppoll(&pfd, 1, &short_wait, NULL), 0);
	waited = now_ms() - t0;
	CHECK(waited >= 140 && waited < 2000);
	t0 = now_ms();
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	CHECK_INT(pselect(p[0] + 1, &rd, NULL, NULL, &short_wait, NULL), 0);
	waited = now_ms() - t0;
	CHECK(waited >= 140 && waited < 2000);
	struct timespec bad = { 0, 1000000000 };
	errno = 0;
	CHECK_INT(ppoll(&pfd, 1, &bad, NULL), -1);
	CHECK_INT(errno, EINVAL);

	/* Unblocking runs the pending handler before sigprocmask returns. */
	CHECK_INT(kill(getpid(), SIGUSR1), 0);
	CHECK_INT(handled, base + 4);
	CHECK_INT(sigprocmask(SIG_UNBLOCK, &usr1, NULL), 0);
	CHECK_INT(handled, base + 5);
	CHECK_INT(pthread_sigmask(SIG_SETMASK, &none, NULL), 0);
	CHECK(!blocked(SIGUSR1));
	close(p[0]);
	close(p[1]);
}

/* A listener on 127.0.0.1 (or ::1) at an ephemeral port; its address in `addr`. */
static int listener(int v6, struct sockaddr_storage *addr, socklen_t *len)
{
	int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	CHECK(s >= 0);
	memset(addr, 0, sizeof(*addr));
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)addr;
		a->sin6_family = AF_INET6;
		a->sin6_addr.s6_addr[15] = 1;
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)addr;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*a);
	}
	CHECK_INT(bind(s, (struct sockaddr *)addr, *len), 0);
	CHECK_INT(listen(s, 16), 0);
	CHECK_INT(getsockname(s, (struct sockaddr *)addr, len), 0);
	return s;
}

static int connect_to(const struct sockaddr_storage *addr, socklen_t len)
{
	int c = socket(addr->ss_family, SOCK_STREAM, 0);
	CHECK(c >= 0);
	CHECK_INT(connect(c, (const struct sockaddr *)addr, len), 0);
	return c;
}

static void test_accept4(void)
{
	struct sockaddr_storage addr;
	socklen_t len;
	int l = listener(0, &addr, &len);
	int c1 = connect_to(&addr, len);
	int c2 = connect_to(&addr, len);
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	int a1 = accept4(l, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	CHECK(a1 >= 0);
	CHECK_INT(peer.sin_family, AF_INET);
	CHECK(fcntl(a1, F_GETFL) & O_NONBLOCK);
	CHECK_INT(fcntl(a1, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	char buf[4];
	errno = 0;
	CHECK_INT(recv(a1, buf, sizeof(buf), 0), -1);
	CHECK_INT(errno, EAGAIN);
	int a2 = accept4(l, NULL, NULL, 0);
	CHECK(a2 >= 0);
	CHECK_INT(fcntl(a2, F_GETFL) & O_NONBLOCK, 0);
	CHECK_INT(fcntl(a2, F_GETFD) & FD_CLOEXEC, 0);
	errno = 0;
	CHECK_INT(accept4(l, NULL, NULL, 0x1), -1);
	CHECK_INT(errno, EINVAL);
	/* Non-blocking listener: accept4 with nothing pending is EAGAIN. */
	CHECK_INT(fcntl(l, F_SETFL, O_NONBLOCK), 0);
	errno = 0;
	CHECK_INT(accept4(l, NULL, NULL, SOCK_CLOEXEC), -1);
	CHECK_INT(errno, EAGAIN);
	close(a1);
	close(a2);
	close(c1);
	close(c2);
	close(l);
}

static void test_getnameinfo(void)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	struct sockaddr_in v4 = { 0 };
	v4.sin_family = AF_INET;
	v4.sin_port = htons(8080);
	inet_pton(AF_INET, "127.0.0.1", &v4.sin_addr);
	CHECK_INT(getnameinfo((struct sockaddr *)&v4, sizeof(v4), host, sizeof(host), serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV), 0);
	CHECK_STR(host, "127.0.0.1");
	CHECK_STR(serv, "8080");
	CHECK_INT(getnameinfo((struct sockaddr *)&v4, sizeof(v4), host, sizeof(host), NULL, 0, 0), 0);
	CHECK_STR(host, "localhost");
	inet_pton(AF_INET, "10.1.2.3", &v4.sin_addr);
	CHECK_INT(getnameinfo((struct sockaddr *)&v4, sizeof(v4), host, sizeof(host), serv, sizeof(serv), 0), 0);
	CHECK_STR(host, "10.1.2.3");
	CHECK_INT(getnameinfo((struct sockaddr *)&v4, sizeof(v4), host, sizeof(host), NULL, 0, NI_NAMEREQD), EAI_NONAME);
	CHECK_INT(getnameinfo((struct sockaddr *)&v4, sizeof(v4), host, 8, NULL, 0, NI_NUMERICHOST), EAI_OVERFLOW);
	CHECK_INT(getnameinfo((struct sockaddr *)&v4, sizeof(v4), NULL, 0, serv, 4, NI_NUMERICSERV), EAI_OVERFLOW);
	CHECK_INT(getnameinfo((struct sockaddr *)&v4, sizeof(v4), NULL, 0, NULL, 0, 0), EAI_NONAME);
	CHECK_INT(getnameinfo((struct sockaddr *)&v4, sizeof(v4) - 1, host, sizeof(host), NULL, 0, 0), EAI_FAMILY);
	CHECK_INT(getnameinfo((struct sockaddr *)&v4, sizeof(v4), host, sizeof(host), NULL, 0, 0x100), EAI_BADFLAGS);
	struct sockaddr_in other = v4;
	other.sin_family = 1; /* AF_UNIX */
	CHECK_INT(getnameinfo((struct sockaddr *)&other, sizeof(other), host, sizeof(host), NULL, 0, 0), EAI_FAMILY);

	struct sockaddr_in6 v6 = { 0 };
	v6.sin6_family = AF_INET6;
	v6.sin6_port = htons(443);
	inet_pton(AF_INET6, "::1", &v6.sin6_addr);
	CHECK_INT(getnameinfo((struct sockaddr *)&v6, sizeof(v6), host, sizeof(host), serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV), 0);
	CHECK_STR(host, "::1");
	CHECK_STR(serv, "443");
	CHECK_INT(getnameinfo((struct sockaddr *)&v6, sizeof(v6), host, sizeof(host), NULL, 0, 0), 0);
	CHECK_STR(host, "localhost");
	inet_pton(AF_INET6, "2001:db8::42", &v6.sin6_addr);
	CHECK_INT(getnameinfo((struct sockaddr *)&v6, sizeof(v6), host, sizeof(host), NULL, 0, NI_NUMERICHOST), 0);
	CHECK_STR(host, "2001:db8::42");
	inet_pton(AF_INET6, "fe80::1", &v6.sin6_addr);
	v6.sin6_scope_id = 3;
	CHECK_INT(getnameinfo((struct sockaddr *)&v6, sizeof(v6), host, sizeof(host), NULL, 0, NI_NUMERICHOST), 0);
	CHECK_STR(host, "fe80::1%3");
	CHECK_INT(getnameinfo((struct sockaddr *)&v6, sizeof(struct sockaddr_in), host, sizeof(host), NULL, 0, 0), EAI_FAMILY);
	CHECK(strlen(gai_strerror(EAI_OVERFLOW)) > 0);

	/* Round trip with getaddrinfo. */
	struct addrinfo hints = { 0 }, *res = NULL;
	hints.ai_family = AF_INET6;
	hints.ai_flags = AI_NUMERICHOST;
	CHECK_INT(getaddrinfo("::1", "7", &hints, &res), 0);
	if (res) {
		CHECK_INT(getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof(host), serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV), 0);
		CHECK_STR(host, "::1");
		CHECK_STR(serv, "7");
		freeaddrinfo(res);
	}
}

static int ep_wait(int ep, struct epoll_event *ev, int max, int timeout)
{
	int n;
	do
		n = epoll_wait(ep, ev, max, timeout);
	while (n < 0 && errno == EINTR);
	return n;
}

/* Blocks in epoll_wait on ep (up to max events into out) until another thread writes a byte
 * to wfd 100 ms later: one entry reported, after about that long. */
static void wait_for_later_write(int ep, struct epoll_event *out, int max, int wfd)
{
	struct later l = { pthread_self(), wfd, 100 };
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, write_later, &l), 0);
	double t0 = now_ms();
	CHECK_INT(ep_wait(ep, out, max, -1), 1);
	double waited = now_ms() - t0;
	CHECK(waited >= 80 && waited < 3000);
	pthread_join(t, NULL);
}

static void test_epoll_errors(void)
{
	CHECK_INT(sizeof(struct epoll_event), 12);
	errno = 0;
	CHECK_INT(epoll_create(0), -1);
	CHECK_INT(errno, EINVAL);
	errno = 0;
	CHECK_INT(epoll_create1(1), -1);
	CHECK_INT(errno, EINVAL);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0);
	CHECK_INT(fcntl(ep, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	int ep2 = epoll_create(1);
	CHECK(ep2 >= 0);
	CHECK_INT(fcntl(ep2, F_GETFD) & FD_CLOEXEC, 0);
	int p[2];
	CHECK_INT(pipe(p), 0);
	struct epoll_event ev = { EPOLLIN, { .fd = p[0] } }, out[4];
	errno = 0;
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev), -1);
	CHECK_INT(errno, EBADF);
	errno = 0;
	CHECK_INT(epoll_ctl(999, EPOLL_CTL_ADD, p[0], &ev), -1);
	CHECK_INT(errno, EBADF);
	errno = 0;
	CHECK_INT(epoll_ctl(p[1], EPOLL_CTL_ADD, p[0], &ev), -1);
	CHECK_INT(errno, EINVAL);
	errno = 0;
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), -1);
	CHECK_INT(errno, EINVAL);
	errno = 0;
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), -1);
	CHECK_INT(errno, ENOENT);
	errno = 0;
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), -1);
	CHECK_INT(errno, ENOENT);
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	errno = 0;
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), -1);
	CHECK_INT(errno, EEXIST);
	errno = 0;
	CHECK_INT(epoll_ctl(ep, 42, p[0], &ev), -1);
	CHECK_INT(errno, EINVAL);
	errno = 0;
	CHECK_INT(epoll_wait(ep, out, 0, 0), -1);
	CHECK_INT(errno, EINVAL);
	errno = 0;
	CHECK_INT(epoll_wait(p[0], out, 4, 0), -1);
	CHECK_INT(errno, EINVAL);
	/* Nested: ep2 watches ep; ep watching ep2 would be a loop. */
	struct epoll_event nest = { EPOLLIN, { .fd = ep } };
	CHECK_INT(epoll_ctl(ep2, EPOLL_CTL_ADD, ep, &nest), 0);
	nest.data.fd = ep2;
	errno = 0;
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, ep2, &nest), -1);
	CHECK_INT(errno, ELOOP);
	/* Timeouts: 0 returns at once, 100 ms waits about that long. */
	double t0 = now_ms();
	CHECK_INT(epoll_wait(ep, out, 4, 0), 0);
	CHECK(now_ms() - t0 < 50);
	t0 = now_ms();
	CHECK_INT(epoll_wait(ep, out, 4, 100), 0);
	double waited = now_ms() - t0;
	CHECK(waited >= 95 && waited < 2000);
	/* Readiness propagates to the outer instance and to poll on an epoll descriptor. */
	CHECK_INT(write(p[1], "ab", 2), 2);
	CHECK_INT(epoll_wait(ep2, out, 4, 0), 1);
	CHECK_INT(out[0].events, EPOLLIN);
	CHECK_INT(out[0].data.fd, ep);
	struct pollfd pfd = { ep, POLLIN, 0 };
	CHECK_INT(poll(&pfd, 1, 0), 1);
	CHECK_INT(pfd.revents, POLLIN);
	/* read on an epoll descriptor is EINVAL. */
	char c;
	errno = 0;
	CHECK_INT(read(ep, &c, 1), -1);
	CHECK_INT(errno, EINVAL);
	close(ep2);
	close(ep);
	close(p[0]);
	close(p[1]);
}

/* Level-triggered, one-shot, delete, hang-up, closing and duplicates, over a pipe. */
static void test_epoll_pipe(void)
{
	int ep = epoll_create1(0);
	int p[2];
	CHECK_INT(pipe(p), 0);
	CHECK_INT(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	struct epoll_event ev = { EPOLLIN, { .u64 = 0x1122334455667788ULL } }, out[4];
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 0);
	CHECK_INT(write(p[1], "hello", 5), 5);
	/* Level: reported while readable. */
	CHECK_INT(epoll_wait(ep, out, 4, 0), 1);
	CHECK_INT(out[0].events, EPOLLIN);
	CHECK(out[0].data.u64 == 0x1122334455667788ULL);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 1);
	/* One-shot: once, then not until MOD re-arms it. */
	ev.events = EPOLLIN | EPOLLONESHOT;
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), 0);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 1);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 0);
	CHECK_INT(epoll_wait(ep, out, 4, 50), 0);
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), 0);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 1);
	/* Delete: no longer reported although readable. */
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), 0);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 0);
	/* Writable end. */
	ev.events = EPOLLOUT;
	ev.data.fd = p[1];
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev), 0);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 1);
	CHECK_INT(out[0].events, EPOLLOUT);
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), 0);
	/* A blocking wait sleeps until another thread writes. */
	char buf[16];
	CHECK_INT(read(p[0], buf, sizeof(buf)), 5);
	ev.events = EPOLLIN;
	ev.data.fd = p[0];
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	wait_for_later_write(ep, out, 4, p[1]);
	CHECK_INT(read(p[0], buf, sizeof(buf)), 1);
	/* A duplicate keeps the entry alive after the first descriptor closes (as on Linux). */
	int dup_fd = dup(p[0]);
	CHECK(dup_fd >= 0);
	CHECK_INT(close(p[0]), 0);
	CHECK_INT(write(p[1], "x", 1), 1);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 1);
	CHECK_INT(out[0].data.fd, p[0]);
	/* Closing the last descriptor removes the entry. */
	CHECK_INT(close(dup_fd), 0);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 0);
	/* Hang-up: the read end of a pipe whose writer is gone. */
	int q[2];
	CHECK_INT(pipe(q), 0);
	ev.events = EPOLLIN;
	ev.data.fd = q[0];
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev), 0);
	close(q[1]);
	close(p[1]);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 1);
	CHECK_INT(out[0].events, EPOLLIN | EPOLLHUP);
	close(q[0]);
	close(ep);
}

/* Edge-triggered: reported once per readiness; a drained reader is woken by new data. */
static void test_epoll_edge(void)
{
	int ep = epoll_create1(0);
	struct epoll_event ev, out[4];
	char buf[64];
	/* A pipe, where each write is news. */
	int p[2];
	CHECK_INT(pipe(p), 0);
	CHECK_INT(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	ev.events = EPOLLIN | EPOLLET;
	ev.data.fd = p[0];
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	CHECK_INT(write(p[1], "0123456789", 10), 10);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 1);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 0);
	CHECK_INT(read(p[0], buf, 4), 4);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 0);
	CHECK_INT(write(p[1], "ab", 2), 2);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 1);
	int got = 0, n;
	while ((n = read(p[0], buf, 3)) > 0)
		got += n;
	CHECK_INT(n, -1);
	CHECK_INT(errno, EAGAIN);
	CHECK_INT(got, 8);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 0);
	CHECK_INT(write(p[1], "z", 1), 1);
	CHECK_INT(epoll_wait(ep, out, 4, 1000), 1);
	CHECK_INT(read(p[0], buf, sizeof(buf)), 1);
	close(p[0]);
	close(p[1]);

	/* A TCP connection over ::1: the reader drains to EAGAIN and is woken again. */
	struct sockaddr_storage addr;
	socklen_t len;
	int l = listener(1, &addr, &len);
	int c = connect_to(&addr, len);
	int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	CHECK(s >= 0);
	ev.events = EPOLLIN | EPOLLET | EPOLLRDHUP;
	ev.data.fd = s;
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), 0);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 0);
	for (int round = 0; round < 3; round++) {
		CHECK_INT(send(c, "ping-pong", 9, 0), 9);
		CHECK_INT(ep_wait(ep, out, 4, 2000), 1);
		CHECK_INT(out[0].events, EPOLLIN);
		CHECK_INT(epoll_wait(ep, out, 4, 0), 0);
		got = 0;
		while ((n = recv(s, buf, 4, 0)) > 0)
			got += n;
		CHECK_INT(n, -1);
		CHECK_INT(errno, EAGAIN);
		CHECK_INT(got, 9);
	}
	/* The peer's FIN: EPOLLRDHUP with EPOLLIN (end of file). */
	CHECK_INT(shutdown(c, SHUT_WR), 0);
	CHECK_INT(ep_wait(ep, out, 4, 2000), 1);
	CHECK_INT(out[0].events & (EPOLLIN | EPOLLRDHUP), EPOLLIN | EPOLLRDHUP);
	CHECK_INT(recv(s, buf, sizeof(buf), 0), 0);
	close(s);
	close(c);
	close(l);
	close(ep);
}

/* 1,001 entries: both ends of 500 idle pipes (watched for input, which a write end never
   shows) and one pipe's read end last. Scans skip pipes that did not change since they last
   looked: what changes must still be seen, wherever it is in the instance. */
enum { IDLE_PIPES = 500 };

static void test_epoll_many(void)
{
	static int idle[2 * IDLE_PIPES];
	int ep = epoll_create1(0), p[2], opened = 0;
	struct epoll_event ev, out[8];
	char buf[16];
	CHECK(ep >= 0);
	for (int i = 0; i < IDLE_PIPES && pipe(&idle[2 * i]) == 0; i++)
		opened++;
	CHECK_INT(opened, IDLE_PIPES);
	for (int i = 0; i < 2 * opened; i++) {
		ev.events = EPOLLIN;
		ev.data.u64 = 1000000 + i;
		CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, idle[i], &ev), 0);
	}
	CHECK_INT(pipe(p), 0);
	CHECK_INT(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	ev.events = EPOLLIN;
	ev.data.u64 = 7;
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	CHECK_INT(epoll_wait(ep, out, 8, 0), 0);
	CHECK_INT(epoll_wait(ep, out, 8, 0), 0);
	/* Only the last entry ready: found, and again while it stays readable. */
	CHECK_INT(write(p[1], "a", 1), 1);
	for (int round = 0; round < 3; round++) {
		CHECK_INT(epoll_wait(ep, out, 8, 0), 1);
		CHECK_INT(out[0].events, EPOLLIN);
		CHECK(out[0].data.u64 == 7);
	}
	struct pollfd pfd = { ep, POLLIN, 0 };
	CHECK_INT(poll(&pfd, 1, 0), 1);
	CHECK_INT(pfd.revents, POLLIN);
	CHECK_INT(read(p[0], buf, sizeof(buf)), 1);
	CHECK_INT(epoll_wait(ep, out, 8, 0), 0);
	CHECK_INT(poll(&pfd, 1, 0), 0);
	/* A pipe in the middle and the last: both, in the instance's order; one if one is asked. */
	CHECK_INT(write(idle[2 * 250 + 1], "bc", 2), 2);
	CHECK_INT(write(p[1], "d", 1), 1);
	CHECK_INT(epoll_wait(ep, out, 8, 0), 2);
	CHECK(out[0].data.u64 == 1000000 + 2 * 250);
	CHECK(out[1].data.u64 == 7);
	CHECK_INT(epoll_wait(ep, out, 1, 0), 1);
	CHECK(out[0].data.u64 == 1000000 + 2 * 250);
	/* Three ready, one taken per wait: they take turns (the last one taken goes behind). */
	CHECK_INT(write(idle[2 * 300 + 1], "g", 1), 1);
	unsigned long long turns[3];
	for (int i = 0; i < 3; i++) {
		CHECK_INT(epoll_wait(ep, out, 1, 0), 1);
		turns[i] = out[0].data.u64;
	}
	CHECK(turns[0] != turns[1] && turns[1] != turns[2] && turns[0] != turns[2]);
	CHECK_INT(read(idle[2 * 300], buf, sizeof(buf)), 1);
	CHECK_INT(read(idle[2 * 250], buf, sizeof(buf)), 2);
	CHECK_INT(epoll_wait(ep, out, 8, 0), 1);
	CHECK(out[0].data.u64 == 7);
	CHECK_INT(read(p[0], buf, sizeof(buf)), 1);
	/* A writer closed in the middle: its entry goes, its reader shows a hang-up. */
	close(idle[2 * 100 + 1]);
	CHECK_INT(epoll_wait(ep, out, 8, 0), 1);
	CHECK_INT(out[0].events, EPOLLIN | EPOLLHUP);
	CHECK(out[0].data.u64 == 1000000 + 2 * 100);
	close(idle[2 * 100]);
	CHECK_INT(epoll_wait(ep, out, 8, 0), 0);
	/* Edge-triggered last entry: once per write, not again for the same data. */
	ev.events = EPOLLIN | EPOLLET;
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), 0);
	CHECK_INT(write(p[1], "e", 1), 1);
	CHECK_INT(epoll_wait(ep, out, 8, 0), 1);
	CHECK_INT(epoll_wait(ep, out, 8, 0), 0);
	CHECK_INT(write(p[1], "f", 1), 1);
	CHECK_INT(epoll_wait(ep, out, 8, 0), 1);
	CHECK_INT(read(p[0], buf, sizeof(buf)), 2);
	/* A blocking wait on them all sleeps until another thread writes the last pipe. */
	wait_for_later_write(ep, out, 8, p[1]);
	CHECK(out[0].data.u64 == 7);
	for (int i = 0; i < 2 * opened; i++)
		if (i / 2 != 100)
			close(idle[i]);
	close(p[0]);
	close(p[1]);
	close(ep);
}

/* A pipe and a TCP connection in one instance: a wait scans without the stack's lock while
   only pipes are watched and under it once a socket is; both ways must report. */
static void test_epoll_mixed(void)
{
	int ep = epoll_create1(0), p[2];
	struct epoll_event ev, out[4];
	char buf[16];
	CHECK_INT(pipe(p), 0);
	ev.events = EPOLLIN;
	ev.data.fd = p[0];
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	CHECK_INT(write(p[1], "a", 1), 1);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 1);
	CHECK_INT(read(p[0], buf, sizeof(buf)), 1);
	struct sockaddr_storage addr;
	socklen_t len;
	int l = listener(0, &addr, &len);
	int c = connect_to(&addr, len);
	int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	CHECK(s >= 0);
	ev.data.fd = s;
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), 0);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 0);
	CHECK_INT(send(c, "b", 1, 0), 1);
	CHECK_INT(ep_wait(ep, out, 4, 2000), 1);
	CHECK_INT(out[0].data.fd, s);
	CHECK_INT(write(p[1], "c", 1), 1);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 2);
	CHECK_INT(out[0].data.fd, p[0]);
	CHECK_INT(out[1].data.fd, s);
	CHECK_INT(recv(s, buf, sizeof(buf), 0), 1);
	CHECK_INT(read(p[0], buf, sizeof(buf)), 1);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 0);
	/* The socket's entry goes with its descriptor; the pipe alone is reported again. */
	close(s);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 0);
	CHECK_INT(write(p[1], "d", 1), 1);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 1);
	CHECK_INT(out[0].data.fd, p[0]);
	/* A second socket, deleted with EPOLL_CTL_DEL this time. */
	int c2 = connect_to(&addr, len);
	int s2 = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	CHECK(s2 >= 0);
	ev.data.fd = s2;
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, s2, &ev), 0);
	CHECK_INT(send(c2, "e", 1, 0), 1);
	CHECK_INT(ep_wait(ep, out, 4, 2000), 2);
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_DEL, s2, NULL), 0);
	CHECK_INT(epoll_wait(ep, out, 4, 0), 1);
	CHECK_INT(out[0].data.fd, p[0]);
	close(s2);
	close(c2);
	close(c);
	close(l);
	close(p[0]);
	close(p[1]);
	close(ep);
}

/* A level-triggered TCP echo server over 127.0.0.1, in its own thread, for several clients. */
enum { CLIENTS = 5, ROUNDS = 4 };

struct server {
	int listen_fd;
	int served;
	int echoed;
};

static void *echo_server(void *arg)
{
	struct server *srv = arg;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { EPOLLIN, { .fd = srv->listen_fd } }, out[8];
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, srv->listen_fd, &ev), 0);
	while (srv->served < CLIENTS) {
		int n = ep_wait(ep, out, 8, 10000);
		CHECK(n > 0);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			int fd = out[i].data.fd;
			if (fd == srv->listen_fd) {
				int conn = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				if (conn < 0) {
					CHECK_INT(errno, EAGAIN);
					continue;
				}
				struct epoll_event cev = { EPOLLIN | EPOLLRDHUP, { .fd = conn } };
				CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, conn, &cev), 0);
				continue;
			}
			char buf[256];
			ssize_t r = recv(fd, buf, sizeof(buf), 0);
			if (r > 0) {
				CHECK_INT(send(fd, buf, r, 0), r);
				srv->echoed += r;
			} else if (r == 0) {
				CHECK_INT(epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL), 0);
				close(fd);
				srv->served++;
			} else {
				CHECK_INT(errno, EAGAIN);
			}
		}
	}
	close(ep);
	return NULL;
}

static void test_epoll_server(void)
{
	struct sockaddr_storage addr;
	socklen_t len;
	struct server srv = { 0, 0, 0 };
	srv.listen_fd = listener(0, &addr, &len);
	CHECK_INT(fcntl(srv.listen_fd, F_SETFL, O_NONBLOCK), 0);
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, echo_server, &srv), 0);
	int c[CLIENTS];
	for (int i = 0; i < CLIENTS; i++)
		c[i] = connect_to(&addr, len);
	int total = 0;
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < CLIENTS; i++) {
			char msg[32], back[32];
			int n = snprintf(msg, sizeof(msg), "client %d round %d", i, r);
			CHECK_INT(send(c[i], msg, n, 0), n);
			int got = 0;
			while (got < n) {
				ssize_t k = recv(c[i], back + got, n - got, 0);
				CHECK(k > 0);
				if (k <= 0)
					break;
				got += k;
			}
			CHECK(got == n && memcmp(msg, back, n) == 0);
			total += n;
		}
	}
	for (int i = 0; i < CLIENTS; i++)
		close(c[i]);
	pthread_join(t, NULL);
	CHECK_INT(srv.served, CLIENTS);
	CHECK_INT(srv.echoed, total);
	close(srv.listen_fd);
	printf("net_epoll: echo server served %d clients, %d bytes\n", srv.served, srv.echoed);
}

/* epoll_wait ends with EINTR on a signal; epoll_pwait's mask holds it off for the wait. */
static void test_epoll_signals(void)
{
	signal(SIGUSR1, on_usr1);
	int ep = epoll_create1(0);
	struct epoll_event out[2];
	int base = handled;
	struct later l = { pthread_self(), -1, 100 };
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, signal_later, &l), 0);
	double t0 = now_ms();
	errno = 0;
	CHECK_INT(epoll_wait(ep, out, 2, 5000), -1);
	CHECK_INT(errno, EINTR);
	CHECK(now_ms() - t0 < 3000);
	pthread_join(t, NULL);
	CHECK_INT(handled, base + 1);
	/* Blocked for the wait: the wait times out, the handler runs once the mask is back. */
	sigset_t usr1 = only(SIGUSR1);
	l.delay_ms = 50;
	CHECK_INT(pthread_create(&t, NULL, signal_later, &l), 0);
	CHECK_INT(epoll_pwait(ep, out, 2, 300, &usr1), 0);
	pthread_join(t, NULL);
	CHECK_INT(handled, base + 2);
	CHECK(!blocked(SIGUSR1));
	close(ep);
}

/* socketpair: echo both ways, shutdown, end of file, non-blocking, poll and epoll. */
static void *pair_echo(void *arg)
{
	int fd = *(int *)arg;
	char buf[128];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		CHECK_INT(write(fd, buf, n), n);
	CHECK_INT(n, 0);
	close(fd);
	return NULL;
}

static void test_socketpair(void)
{
	int sv[2];
	errno = 0;
	CHECK_INT(socketpair(AF_INET, SOCK_STREAM, 0, sv), -1);
	CHECK_INT(errno, EOPNOTSUPP);
	errno = 0;
	/* A type AF_UNIX does not have (its datagram pairs: net_unix_dgram.c). */
	CHECK_INT(socketpair(AF_UNIX, 4, 0, sv), -1);
	CHECK_INT(errno, ESOCKTNOSUPPORT);
	errno = 0;
	CHECK_INT(socketpair(77, SOCK_STREAM, 0, sv), -1);
	CHECK_INT(errno, EAFNOSUPPORT);

	/* An echo thread on one end: both directions carry data, 200 KiB each way. */
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, pair_echo, &sv[1]), 0);
	static char out[200 << 10], back[200 << 10];
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 7 + 3);
	size_t sent = 0, got = 0;
	while (got < sizeof(back)) {
		if (sent < sizeof(out)) {
			size_t chunk = sizeof(out) - sent < 4096 ? sizeof(out) - sent : 4096;
			ssize_t n = send(sv[0], out + sent, chunk, 0);
			CHECK(n > 0);
			if (n <= 0)
				break;
			sent += n;
		}
		struct pollfd p = { sv[0], POLLIN, 0 };
		while (got < sent && poll(&p, 1, sent < sizeof(out) ? 0 : 5000) == 1) {
			ssize_t n = recv(sv[0], back + got, sizeof(back) - got, MSG_DONTWAIT);
			if (n <= 0)
				break;
			got += n;
		}
	}
	CHECK(got == sizeof(back) && memcmp(out, back, sizeof(out)) == 0);
	/* Our SHUT_WR: the echo thread reads end of file and closes its end; we read 0 too. */
	CHECK_INT(shutdown(sv[0], SHUT_WR), 0);
	pthread_join(t, NULL);
	char c;
	CHECK_INT(read(sv[0], &c, 1), 0);
	struct pollfd p = { sv[0], POLLIN | POLLOUT, 0 };
	CHECK_INT(poll(&p, 1, 0), 1);
	CHECK(p.revents & POLLHUP);
	errno = 0;
	CHECK_INT(send(sv[0], "x", 1, MSG_NOSIGNAL), -1);
	CHECK_INT(errno, EPIPE);
	close(sv[0]);

	/* Non-blocking with flags, close-on-exec, fstat, edge-triggered epoll, peer's close. */
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	CHECK(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
	CHECK_INT(fcntl(sv[1], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	errno = 0;
	CHECK_INT(read(sv[0], &c, 1), -1);
	CHECK_INT(errno, EAGAIN);
	int ep = epoll_create1(0);
	struct epoll_event ev = { EPOLLIN | EPOLLET | EPOLLRDHUP, { .fd = sv[0] } }, evs[2];
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev), 0);
	CHECK_INT(epoll_wait(ep, evs, 2, 0), 0);
	CHECK_INT(write(sv[1], "ab", 2), 2);
	CHECK_INT(epoll_wait(ep, evs, 2, 0), 1);
	CHECK_INT(evs[0].events, EPOLLIN);
	CHECK_INT(epoll_wait(ep, evs, 2, 0), 0);
	CHECK_INT(write(sv[1], "c", 1), 1);
	CHECK_INT(epoll_wait(ep, evs, 2, 0), 1);
	char buf[8];
	CHECK_INT(recv(sv[0], buf, sizeof(buf), 0), 3);
	CHECK(memcmp(buf, "abc", 3) == 0);
	CHECK_INT(write(sv[0], "back", 4), 4);
	CHECK_INT(read(sv[1], buf, sizeof(buf)), 4);
	CHECK_INT(close(sv[1]), 0);
	CHECK_INT(epoll_wait(ep, evs, 2, 0), 1);
	CHECK_INT(evs[0].events, EPOLLIN | EPOLLRDHUP | EPOLLHUP);
	CHECK_INT(read(sv[0], buf, sizeof(buf)), 0);
	close(ep);
	close(sv[0]);
}

/* MSG_PEEK on a socket pair, FIONREAD on pairs and pipes: what waits, as Linux. */
static void test_peek_fionread(void)
{
	int sv[2], p[2], n = -1;
	char buf[8] = { 0 };
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CHECK_INT(ioctl(sv[1], FIONREAD, &n), 0);
	CHECK_INT(n, 0);
	errno = 0;
	CHECK_INT(recv(sv[1], buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT), -1);
	CHECK_INT(errno, EAGAIN);
	CHECK_INT(send(sv[0], "peekaboo", 8, 0), 8);
	CHECK_INT(ioctl(sv[1], FIONREAD, &n), 0);
	CHECK_INT(n, 8);
	CHECK_INT(recv(sv[1], buf, 4, MSG_PEEK), 4);
	CHECK(memcmp(buf, "peek", 4) == 0);
	CHECK_INT(recv(sv[1], buf, sizeof(buf), MSG_PEEK), 8);
	CHECK(memcmp(buf, "peekaboo", 8) == 0);
	CHECK_INT(recv(sv[1], buf, 5, 0), 5);
	CHECK_INT(ioctl(sv[1], FIONREAD, &n), 0);
	CHECK_INT(n, 3);
	memset(buf, 0, sizeof(buf));
	CHECK_INT(recv(sv[1], buf, sizeof(buf), MSG_PEEK), 3);
	CHECK_STR(buf, "boo");
	CHECK_INT(read(sv[1], buf, sizeof(buf)), 3);
	/* After the peer's end of writing: a peek sees the end of file. */
	CHECK_INT(shutdown(sv[0], SHUT_WR), 0);
	CHECK_INT(recv(sv[1], buf, sizeof(buf), MSG_PEEK), 0);
	close(sv[0]);
	close(sv[1]);
	CHECK_INT(pipe(p), 0);
	CHECK_INT(write(p[1], "0123456789", 10), 10);
	CHECK_INT(ioctl(p[0], FIONREAD, &n), 0);
	CHECK_INT(n, 10);
	CHECK_INT(read(p[0], buf, 4), 4);
	CHECK_INT(ioctl(p[0], FIONREAD, &n), 0);
	CHECK_INT(n, 6);
	close(p[0]);
	close(p[1]);
	/* Not a descriptor: EBADF. */
	errno = 0;
	CHECK_INT(ioctl(p[0], FIONREAD, &n), -1);
	CHECK_INT(errno, EBADF);
}

int main(void)
{
	test_masks();
	test_accept4();
	test_getnameinfo();
	test_socketpair();
	test_peek_fionread();
	test_epoll_errors();
	test_epoll_pipe();
	test_epoll_edge();
	test_epoll_many();
	test_epoll_mixed();
	test_epoll_server();
	test_epoll_signals();
	TEST_DONE();
}
