/* net_mmsg.c: sendmmsg and recvmmsg over loopback UDP and an AF_UNIX datagram pair (counts, lengths, senders, MSG_WAITFORONE, errors), with Linux's results. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "test.h"

#define COUNT 5

static char bufs[8][64];
static struct iovec iovs[8];
static struct sockaddr_in names[8];
static struct mmsghdr vec[8];

/* Sets up `vec` to receive up to 8 messages of up to 64 bytes, with their senders. */
static void reset(void)
{
	memset(vec, 0, sizeof(vec));
	for (int i = 0; i < 8; i++) {
		iovs[i].iov_base = bufs[i];
		iovs[i].iov_len = sizeof(bufs[i]);
		vec[i].msg_hdr.msg_iov = &iovs[i];
		vec[i].msg_hdr.msg_iovlen = 1;
		vec[i].msg_hdr.msg_name = &names[i];
		vec[i].msg_hdr.msg_namelen = sizeof(names[i]);
	}
}

/* Sends messages 1..n bytes long ("a", "bb", ...) on `s` (to `to` if given) in one call. */
static int send_some(int s, struct sockaddr_in *to, int n)
{
	static char text[COUNT][COUNT + 1];
	static struct iovec out[COUNT];
	struct mmsghdr msgs[COUNT];
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < n; i++) {
		memset(text[i], 'a' + i, i + 1);
		out[i].iov_base = text[i];
		out[i].iov_len = i + 1;
		msgs[i].msg_hdr.msg_iov = &out[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = to;
		msgs[i].msg_hdr.msg_namelen = to ? sizeof(*to) : 0;
	}
	int sent = sendmmsg(s, msgs, n, 0);
	for (int i = 0; i < sent; i++)
		CHECK_INT(msgs[i].msg_len, i + 1);
	return sent;
}

static void test_udp(void)
{
	int r = socket(AF_INET, SOCK_DGRAM, 0), s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { 0 };
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT(bind(r, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t len = sizeof(a);
	CHECK_INT(getsockname(r, (struct sockaddr *)&a, &len), 0);
	CHECK_INT(bind(s, (struct sockaddr *)&(struct sockaddr_in){ .sin_family = AF_INET,
								    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
		       sizeof(struct sockaddr_in)),
		  0);
	struct sockaddr_in from;
	len = sizeof(from);
	CHECK_INT(getsockname(s, (struct sockaddr *)&from, &len), 0);

	CHECK_INT(send_some(s, &a, COUNT), COUNT);
	usleep(10000);
	reset();
	CHECK_INT(recvmmsg(r, vec, 8, MSG_DONTWAIT, NULL), COUNT);
	for (int i = 0; i < COUNT; i++) {
		CHECK_INT(vec[i].msg_len, i + 1);
		CHECK(bufs[i][0] == 'a' + i && bufs[i][i] == 'a' + i);
		CHECK_INT(vec[i].msg_hdr.msg_namelen, sizeof(struct sockaddr_in));
		CHECK_INT(names[i].sin_port, from.sin_port);
	}
	/* Nothing left: EAGAIN. */
	reset();
	CHECK_INT(recvmmsg(r, vec, 8, MSG_DONTWAIT, NULL), -1);
	CHECK_INT(errno, EAGAIN);
	errno = 0;

	/* MSG_WAITFORONE: the first waits, the rest do not. */
	CHECK_INT(send_some(s, &a, 2), 2);
	usleep(10000);
	reset();
	CHECK_INT(recvmmsg(r, vec, 8, MSG_WAITFORONE, NULL), 2);
	/* As many as asked for, blocking. */
	CHECK_INT(send_some(s, &a, 3), 3);
	reset();
	CHECK_INT(recvmmsg(r, vec, 3, 0, NULL), 3);
	CHECK_INT(vec[2].msg_len, 3);
	/* A timeout that has passed when a message comes ends the call after it. */
	CHECK_INT(send_some(s, &a, 2), 2);
	usleep(10000);
	struct timespec zero = { 0, 0 };
	reset();
	CHECK_INT(recvmmsg(r, vec, 8, 0, &zero), 1);
	reset();
	CHECK_INT(recvmmsg(r, vec, 8, MSG_DONTWAIT, NULL), 1);
	struct timespec bad = { 0, 2000000000 };
	CHECK_INT(recvmmsg(r, vec, 8, MSG_DONTWAIT, &bad), -1);
	CHECK_INT(errno, EINVAL);
	errno = 0;
	/* No messages asked for; a descriptor that is not open. */
	CHECK_INT(recvmmsg(r, vec, 0, MSG_DONTWAIT, NULL), 0);
	CHECK_INT(sendmmsg(s, vec, 0, 0), 0);
	reset();
	CHECK_INT(recvmmsg(1000, vec, 8, MSG_DONTWAIT, NULL), -1);
	CHECK_INT(errno, EBADF);
	errno = 0;
	close(r);
	close(s);
}

/* A datagram pair: the messages keep their bounds. */
static void test_unix(void)
{
	int sv[2];
	CHECK_INT(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	CHECK_INT(send_some(sv[0], NULL, COUNT), COUNT);
	reset();
	for (int i = 0; i < 8; i++)
		vec[i].msg_hdr.msg_name = NULL;
	CHECK_INT(recvmmsg(sv[1], vec, 8, MSG_DONTWAIT, NULL), COUNT);
	CHECK_INT(vec[4].msg_len, 5);
	/* An unconnected socket without an address fails on the first message: -1. */
	int lone = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_INT(send_some(lone, NULL, 2), -1);
	CHECK_INT(errno, ENOTCONN);
	errno = 0;
	close(lone);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	test_udp();
	test_unix();
	printf("net_mmsg: messages sent and received in batches\n");
	TEST_DONE();
}
