/* net_unix_rights.c: descriptors passed over AF_UNIX sockets (SCM_RIGHTS) of every type, the CMSG macros, truncated control buffers and the errors, with Linux's results. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "test.h"
#include "unix_addr.h"

#define MAX_PASS 8

#define check_errno(result, expected) \
	do { \
		CHECK_INT((result), -1); \
		CHECK_INT(errno, (expected)); \
		errno = 0; \
	} while (0)

/* A message of the one buffer `iov` with `controllen` bytes of control buffer at `control`. */
static struct msghdr message(struct iovec *iov, void *control, size_t controllen)
{
	struct msghdr msg = { 0 };
	msg.msg_iov = iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = controllen;
	return msg;
}

/* Fills `c` as an SCM_RIGHTS message of the `n` descriptors `fds`. */
static void put_rights(struct cmsghdr *c, const int *fds, int n)
{
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
}

/* Sends `len` bytes of `data` on `s` with the `n` descriptors `fds` in one SCM_RIGHTS message. */
static ssize_t send_fds(int s, const void *data, size_t len, const int *fds, int n)
{
	union {
		char buf[CMSG_SPACE(MAX_PASS * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { (void *)data, len };
	memset(&control, 0, sizeof(control));
	struct msghdr msg = message(&iov, n > 0 ? control.buf : NULL, n > 0 ? CMSG_SPACE(n * sizeof(int)) : 0);
	if (n > 0)
		put_rights(CMSG_FIRSTHDR(&msg), fds, n);
	return sendmsg(s, &msg, 0);
}

/* What one recvmsg got: its result, the bytes, the descriptors and msg_flags. */
struct got {
	ssize_t n;
	char data[256];
	int fds[MAX_PASS];
	int nfds;
	int flags;
	size_t controllen;
};

/* Receives on `s` with room for `room` descriptors (-1: no control buffer at all). */
static struct got recv_fds(int s, size_t len, int room, int flags)
{
	union {
		char buf[CMSG_SPACE(MAX_PASS * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct got got;
	memset(&got, 0, sizeof(got));
	memset(&control, 0, sizeof(control));
	struct iovec iov = { got.data, len };
	struct msghdr msg = message(&iov, room >= 0 ? control.buf : NULL, room >= 0 ? CMSG_LEN(room * sizeof(int)) : 0);
	got.n = recvmsg(s, &msg, flags);
	got.flags = msg.msg_flags;
	got.controllen = msg.msg_controllen;
	if (got.n < 0)
		return got;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		CHECK_INT(c->cmsg_level, SOL_SOCKET);
		CHECK_INT(c->cmsg_type, SCM_RIGHTS);
		int n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		CHECK(got.nfds + n <= MAX_PASS);
		memcpy(got.fds + got.nfds, CMSG_DATA(c), n * sizeof(int));
		got.nfds += n;
	}
	return got;
}

/* Whether the pipe read end `r` sees end of file (every write end closed) rather than EAGAIN. */
static int at_eof(int r)
{
	int flags = fcntl(r, F_GETFL);
	fcntl(r, F_SETFL, flags | O_NONBLOCK);
	char c;
	ssize_t n = read(r, &c, 1);
	int eof = n == 0;
	CHECK(n == 0 || (n == -1 && errno == EAGAIN));
	errno = 0;
	fcntl(r, F_SETFL, flags);
	return eof;
}

/* A pipe's read end passed over a stream: the same open pipe, its flags shared. */
static void test_stream_basics(void)
{
	int sv[2], p[2];
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CHECK_INT(pipe(p), 0);
	CHECK_INT(send_fds(sv[0], "x", 1, &p[0], 1), 1);
	struct got g = recv_fds(sv[1], sizeof(g.data), 1, 0);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.data[0], 'x');
	CHECK_INT(g.nfds, 1);
	CHECK_INT(g.flags, 0);
	CHECK_INT(g.controllen, CMSG_LEN(sizeof(int)));
	int r = g.fds[0];
	CHECK(r != p[0] && r >= 0);
	CHECK_INT(fcntl(r, F_GETFD), 0);
	/* The same pipe: what the write end writes, the passed descriptor reads. */
	CHECK_INT(write(p[1], "pipe", 4), 4);
	char buf[8];
	CHECK_INT(read(r, buf, sizeof(buf)), 4);
	CHECK(memcmp(buf, "pipe", 4) == 0);
	/* The same open description: O_NONBLOCK set through one is seen through the other. */
	CHECK_INT(fcntl(r, F_SETFL, O_NONBLOCK), 0);
	CHECK(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	check_errno(read(p[0], buf, 1), EAGAIN);
	CHECK_INT(fcntl(r, F_SETFL, 0), 0);

	/* MSG_CMSG_CLOEXEC: the new descriptor has FD_CLOEXEC. */
	CHECK_INT(send_fds(sv[0], "y", 1, &p[1], 1), 1);
	g = recv_fds(sv[1], sizeof(g.data), 1, MSG_CMSG_CLOEXEC);
	CHECK_INT(g.nfds, 1);
	CHECK_INT(fcntl(g.fds[0], F_GETFD), FD_CLOEXEC);
	/* The passed write end keeps the pipe open once the original is closed. */
	CHECK_INT(close(p[1]), 0);
	CHECK(!at_eof(r));
	CHECK_INT(write(g.fds[0], "w", 1), 1);
	CHECK_INT(read(r, buf, 1), 1);
	CHECK_INT(close(g.fds[0]), 0);
	CHECK(at_eof(r));
	close(r);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
}

/* A stream's reads stop where the bytes sent with descriptors end; descriptors of two sends
 * never come with one read. */
static void test_stream_boundaries(void)
{
	int sv[2], p[2], q[2];
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CHECK_INT(pipe(p), 0);
	CHECK_INT(pipe(q), 0);
	CHECK_INT(send_fds(sv[0], "aaaa", 4, NULL, 0), 4);
	CHECK_INT(send_fds(sv[0], "bbbb", 4, &p[0], 1), 4);
	CHECK_INT(send_fds(sv[0], "cccc", 4, &q[0], 1), 4);
	CHECK_INT(send_fds(sv[0], "dddd", 4, NULL, 0), 4);
	CHECK_INT(send_fds(sv[0], "eeeeeeee", 8, &p[1], 1), 8);
	struct got g = recv_fds(sv[1], sizeof(g.data), 2, 0);
	CHECK_INT(g.n, 8);
	CHECK(memcmp(g.data, "aaaabbbb", 8) == 0);
	CHECK_INT(g.nfds, 1);
	close(g.fds[0]);
	g = recv_fds(sv[1], sizeof(g.data), 2, 0);
	CHECK_INT(g.n, 4);
	CHECK(memcmp(g.data, "cccc", 4) == 0);
	CHECK_INT(g.nfds, 1);
	close(g.fds[0]);
	/* A read that ends inside the bytes gets their descriptors; the rest come without. */
	g = recv_fds(sv[1], 6, 2, 0);
	CHECK_INT(g.n, 6);
	CHECK(memcmp(g.data, "ddddee", 6) == 0);
	CHECK_INT(g.nfds, 1);
	int w = g.fds[0];
	g = recv_fds(sv[1], sizeof(g.data), 2, 0);
	CHECK_INT(g.n, 6);
	CHECK(memcmp(g.data, "eeeeee", 6) == 0);
	CHECK_INT(g.nfds, 0);
	/* MSG_PEEK sees the descriptors too, as new numbers; the read then gets them again. */
	CHECK_INT(send_fds(sv[0], "f", 1, &q[1], 1), 1);
	g = recv_fds(sv[1], sizeof(g.data), 2, MSG_PEEK);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.nfds, 1);
	int peeked = g.fds[0];
	g = recv_fds(sv[1], sizeof(g.data), 2, 0);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.nfds, 1);
	CHECK(g.fds[0] != peeked);
	close(peeked);
	close(g.fds[0]);
	CHECK_INT(write(w, "!", 1), 1);
	char c;
	CHECK_INT(read(p[0], &c, 1), 1);
	close(w);
	for (int i = 0; i < 2; i++) {
		close(p[i]);
		close(q[i]);
	}
	close(sv[0]);
	close(sv[1]);
}

/* Descriptors nobody takes are closed: by a plain read, a short or missing control buffer,
 * and the receiver's close. */
static void test_dropped(void)
{
	int sv[2], p[2];
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);

	/* read() takes the bytes and closes the descriptors. */
	CHECK_INT(pipe(p), 0);
	CHECK_INT(send_fds(sv[0], "z", 1, &p[1], 1), 1);
	close(p[1]);
	char c;
	CHECK_INT(read(sv[1], &c, 1), 1);
	CHECK(at_eof(p[0]));
	close(p[0]);

	/* No control buffer: MSG_CTRUNC, and they are closed. */
	CHECK_INT(pipe(p), 0);
	CHECK_INT(send_fds(sv[0], "z", 1, &p[1], 1), 1);
	close(p[1]);
	struct got g = recv_fds(sv[1], sizeof(g.data), -1, 0);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.nfds, 0);
	CHECK_INT(g.flags, MSG_CTRUNC);
	CHECK_INT(g.controllen, 0);
	CHECK(at_eof(p[0]));
	close(p[0]);

	/* Room for a header only, then for one of three: what fits, MSG_CTRUNC, the rest closed. */
	int pipes[3][2], ends[3];
	for (int i = 0; i < 3; i++) {
		CHECK_INT(pipe(pipes[i]), 0);
		ends[i] = pipes[i][1];
	}
	CHECK_INT(send_fds(sv[0], "z", 1, ends, 3), 1);
	CHECK_INT(send_fds(sv[0], "z", 1, ends, 3), 1);
	g = recv_fds(sv[1], sizeof(g.data), 0, 0);
	CHECK_INT(g.nfds, 0);
	CHECK_INT(g.flags, MSG_CTRUNC);
	g = recv_fds(sv[1], sizeof(g.data), 1, 0);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.nfds, 1);
	CHECK_INT(g.flags, MSG_CTRUNC);
	for (int i = 0; i < 3; i++)
		close(pipes[i][1]);
	CHECK(!at_eof(pipes[0][0]));
	CHECK(at_eof(pipes[1][0]));
	CHECK(at_eof(pipes[2][0]));
	close(g.fds[0]);
	CHECK(at_eof(pipes[0][0]));
	for (int i = 0; i < 3; i++)
		close(pipes[i][0]);

	/* The receiver's close drops what it never read. */
	CHECK_INT(pipe(p), 0);
	CHECK_INT(send_fds(sv[0], "z", 1, &p[1], 1), 1);
	close(p[1]);
	CHECK(!at_eof(p[0]));
	close(sv[1]);
	CHECK(at_eof(p[0]));
	close(p[0]);
	close(sv[0]);
}

/* Datagram and sequenced-packet messages carry descriptors whole, also with no bytes; two
 * SCM_RIGHTS messages of one send arrive as one. */
static void test_messages(void)
{
	int types[2] = { SOCK_DGRAM, SOCK_SEQPACKET };
	for (int t = 0; t < 2; t++) {
		int sv[2], p[2], q[2];
		CHECK_INT(socketpair(AF_UNIX, types[t], 0, sv), 0);
		CHECK_INT(pipe(p), 0);
		CHECK_INT(pipe(q), 0);
		CHECK_INT(send_fds(sv[0], "", 0, &p[1], 1), 0);
		struct got g = recv_fds(sv[1], sizeof(g.data), 2, 0);
		CHECK_INT(g.n, 0);
		CHECK_INT(g.nfds, 1);
		CHECK_INT(write(g.fds[0], "m", 1), 1);
		close(g.fds[0]);
		char c;
		CHECK_INT(read(p[0], &c, 1), 1);

		/* Two control messages in one send: CMSG_NXTHDR walks them. */
		union {
			char buf[2 * CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} control;
		memset(&control, 0, sizeof(control));
		struct iovec iov = { "two", 3 };
		struct msghdr msg = message(&iov, control.buf, sizeof(control.buf));
		struct cmsghdr *c1 = CMSG_FIRSTHDR(&msg);
		put_rights(c1, &p[0], 1);
		struct cmsghdr *c2 = CMSG_NXTHDR(&msg, c1);
		CHECK((char *)c2 == control.buf + CMSG_SPACE(sizeof(int)));
		put_rights(c2, &q[0], 1);
		CHECK(CMSG_NXTHDR(&msg, c2) == NULL);
		CHECK_INT(sendmsg(sv[0], &msg, 0), 3);
		/* A short data buffer: MSG_TRUNC, the descriptors still come. */
		g = recv_fds(sv[1], 2, 4, 0);
		CHECK_INT(g.n, 2);
		CHECK_INT(g.flags, MSG_TRUNC);
		CHECK_INT(g.nfds, 2);
		CHECK_INT(g.controllen, CMSG_SPACE(2 * sizeof(int)));
		CHECK_INT(write(p[1], "1", 1), 1);
		CHECK_INT(write(q[1], "2", 1), 1);
		CHECK_INT(read(g.fds[0], &c, 1), 1);
		CHECK_INT(c, '1');
		CHECK_INT(read(g.fds[1], &c, 1), 1);
		CHECK_INT(c, '2');
		close(g.fds[0]);
		close(g.fds[1]);
		for (int i = 0; i < 2; i++) {
			close(p[i]);
			close(q[i]);
			close(sv[i]);
		}
	}
}

/* A named datagram socket reached by sendmsg's address; a socket passed and used. */
static void test_named_and_sockets(void)
{
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "rights-server");
	int server = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_INT(bind(server, (struct sockaddr *)&a, len), 0);
	int client = socket(AF_UNIX, SOCK_DGRAM, 0);
	int sv[2];
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);

	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	memset(&control, 0, sizeof(control));
	struct iovec iov = { "sock", 4 };
	struct msghdr msg = message(&iov, control.buf, sizeof(control.buf));
	msg.msg_name = &a;
	msg.msg_namelen = len;
	put_rights(CMSG_FIRSTHDR(&msg), &sv[1], 1);
	CHECK_INT(sendmsg(client, &msg, 0), 4);
	close(sv[1]);
	struct got g = recv_fds(server, sizeof(g.data), 1, 0);
	CHECK_INT(g.n, 4);
	CHECK_INT(g.nfds, 1);
	/* The passed socket is the other end of sv[0]. */
	int type = 0;
	socklen_t tlen = sizeof(type);
	CHECK_INT(getsockopt(g.fds[0], SOL_SOCKET, SO_TYPE, &type, &tlen), 0);
	CHECK_INT(type, SOCK_STREAM);
	CHECK_INT(write(sv[0], "ping", 4), 4);
	char buf[8];
	CHECK_INT(read(g.fds[0], buf, sizeof(buf)), 4);
	CHECK_INT(write(g.fds[0], "pong", 4), 4);
	CHECK_INT(read(sv[0], buf, sizeof(buf)), 4);
	CHECK(memcmp(buf, "pong", 4) == 0);
	close(g.fds[0]);
	CHECK_INT(read(sv[0], buf, sizeof(buf)), 0);

	/* An Internet socket passes too. */
	int udp = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(udp >= 0);
	CHECK_INT(send_fds(client, "u", 1, &udp, 1), -1);
	CHECK_INT(errno, ENOTCONN);
	errno = 0;
	CHECK_INT(connect(client, (struct sockaddr *)&a, len), 0);
	CHECK_INT(send_fds(client, "u", 1, &udp, 1), 1);
	g = recv_fds(server, sizeof(g.data), 1, 0);
	CHECK_INT(g.nfds, 1);
	tlen = sizeof(type);
	CHECK_INT(getsockopt(g.fds[0], SOL_SOCKET, SO_TYPE, &type, &tlen), 0);
	CHECK_INT(type, SOCK_DGRAM);
	struct sockaddr_in any = { 0 };
	any.sin_family = AF_INET;
	any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT(bind(g.fds[0], (struct sockaddr *)&any, sizeof(any)), 0);
	struct sockaddr_in bound;
	socklen_t blen = sizeof(bound);
	CHECK_INT(getsockname(udp, (struct sockaddr *)&bound, &blen), 0);
	CHECK(bound.sin_port != 0);
	close(g.fds[0]);
	close(udp);
	close(sv[0]);
	close(client);
	close(server);
}

/* Bad control messages fail whole, sending nothing. */
static void test_errors(void)
{
	int sv[2], p[2];
	CHECK_INT(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	CHECK_INT(pipe(p), 0);
	int closed = p[1];
	CHECK_INT(close(closed), 0);
	check_errno(send_fds(sv[0], "x", 1, &closed, 1), EBADF);

	union {
		char buf[CMSG_SPACE(300 * sizeof(int))];
		struct cmsghdr align;
	} control;
	memset(&control, 0, sizeof(control));
	struct iovec iov = { "x", 1 };
	struct msghdr msg = message(&iov, control.buf, 0);
	struct cmsghdr *c = (struct cmsghdr *)control.buf;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	int *fds = (int *)CMSG_DATA(c);
	for (int i = 0; i < 300; i++)
		fds[i] = p[0];

	/* 253 descriptors pass (Linux's most), 254 do not. */
	msg.msg_controllen = CMSG_SPACE(253 * sizeof(int));
	c->cmsg_len = CMSG_LEN(253 * sizeof(int));
	CHECK_INT(sendmsg(sv[0], &msg, 0), 1);
	msg.msg_controllen = CMSG_SPACE(254 * sizeof(int));
	c->cmsg_len = CMSG_LEN(254 * sizeof(int));
	check_errno(sendmsg(sv[0], &msg, 0), EINVAL);
	/* A length past the buffer, or shorter than the header. */
	msg.msg_controllen = CMSG_SPACE(sizeof(int));
	c->cmsg_len = CMSG_LEN(3 * sizeof(int));
	check_errno(sendmsg(sv[0], &msg, 0), EINVAL);
	c->cmsg_len = sizeof(struct cmsghdr) - 1;
	check_errno(sendmsg(sv[0], &msg, 0), EINVAL);
	/* A socket-level type other than SCM_RIGHTS that is not taken. */
	c->cmsg_len = CMSG_LEN(sizeof(int));
	c->cmsg_type = 0x55;
	check_errno(sendmsg(sv[0], &msg, 0), EINVAL);
	/* Another level is ignored. */
	c->cmsg_level = IPPROTO_IP;
	CHECK_INT(sendmsg(sv[0], &msg, 0), 1);
	/* SCM_RIGHTS on an Internet socket is ignored (Linux's since 5.x: it belongs to
	 * AF_UNIX); the datagram goes to the discard port of the loopback. */
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	int udp = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = { 0 };
	to.sin_family = AF_INET;
	to.sin_port = htons(9);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	msg.msg_name = &to;
	msg.msg_namelen = sizeof(to);
	CHECK_INT(sendmsg(udp, &msg, 0), 1);
	close(udp);

	/* What arrived: the 253, then the message of the ignored level; no other. */
	struct got g = recv_fds(sv[1], sizeof(g.data), 4, MSG_DONTWAIT);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.nfds, 4);
	CHECK_INT(g.flags, MSG_CTRUNC);
	for (int i = 0; i < g.nfds; i++)
		close(g.fds[i]);
	g = recv_fds(sv[1], sizeof(g.data), 4, MSG_DONTWAIT);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.nfds, 0);
	CHECK_INT(g.flags, 0);
	g = recv_fds(sv[1], sizeof(g.data), 4, MSG_DONTWAIT);
	CHECK_INT(g.n, -1);
	CHECK_INT(errno, EAGAIN);
	errno = 0;
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
}

/* A receiver in another thread, blocked until the descriptors come. */
static void *receiver(void *arg)
{
	int s = *(int *)arg;
	struct got g = recv_fds(s, sizeof(g.data), 1, 0);
	CHECK_INT(g.n, 5);
	CHECK_INT(g.nfds, 1);
	CHECK_INT(write(g.fds[0], "thread", 6), 6);
	close(g.fds[0]);
	return NULL;
}

static void test_threads(void)
{
	int sv[2], p[2];
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CHECK_INT(pipe(p), 0);
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, receiver, &sv[1]), 0);
	usleep(20000);
	CHECK_INT(send_fds(sv[0], "hello", 5, &p[1], 1), 5);
	close(p[1]);
	CHECK_INT(pthread_join(t, NULL), 0);
	char buf[16];
	CHECK_INT(read(p[0], buf, sizeof(buf)), 6);
	CHECK_INT(read(p[0], buf, sizeof(buf)), 0);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	CHECK_INT(CMSG_LEN(4), CMSG_ALIGN(sizeof(struct cmsghdr)) + 4);
	CHECK_INT(CMSG_SPACE(4), CMSG_ALIGN(sizeof(struct cmsghdr)) + 8);
	CHECK_INT(CMSG_LEN(0), 16);
	test_stream_basics();
	test_stream_boundaries();
	test_dropped();
	test_messages();
	test_named_and_sockets();
	test_errors();
	test_threads();
	printf("net_unix_rights: descriptors passed\n");
	TEST_DONE();
}
