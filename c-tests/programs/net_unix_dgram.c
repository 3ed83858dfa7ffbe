/* net_unix_dgram.c: AF_UNIX datagram and sequenced-packet sockets (message boundaries, senders' names, connected peers, full inboxes, errors) and SO_PEERCRED, with Linux's results. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "test.h"
#include "unix_addr.h"

/* A directory that does not exist on the host: the names live in the guest. */
#define SERVER_PATH "/nonexistent-hermit-dir/dgram-server.sock"
#define GONE_PATH "/nonexistent-hermit-dir/dgram-gone.sock"
#define STREAM_PATH "/nonexistent-hermit-dir/stream.sock"
#define SEQ_PATH "/nonexistent-hermit-dir/seqpacket.sock"
#define MISSING_PATH "/nonexistent-hermit-dir/missing.sock"

static int bound(int type, const struct sockaddr_un *a, socklen_t len)
{
	int fd = socket(AF_UNIX, type, 0);
	CHECK(fd >= 0);
	CHECK_INT(bind(fd, (const struct sockaddr *)a, len), 0);
	return fd;
}

static int socket_type(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);
	CHECK_INT(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
	return type;
}

static void check_errno(long result, int expected)
{
	CHECK_INT(result, -1);
	CHECK_INT(errno, expected);
	errno = 0;
}

/* Named sockets: senders' names, message boundaries, truncation, peeking, FIONREAD. */
static void test_datagrams(void)
{
	struct sockaddr_un server_addr, client_addr, from;
	socklen_t server_len = path_addr(&server_addr, SERVER_PATH);
	socklen_t client_len = abstract_addr(&client_addr, "dgram-client");
	int server = bound(SOCK_DGRAM, &server_addr, server_len);
	int client = bound(SOCK_DGRAM, &client_addr, client_len);
	int unnamed = socket(AF_UNIX, SOCK_DGRAM, 0);
	const struct sockaddr *to = (const struct sockaddr *)&server_addr;

	CHECK_INT(sendto(client, "hello", 5, 0, to, server_len), 5);
	char buf[4096];
	socklen_t from_len = sizeof(from);
	CHECK_INT(recvfrom(server, buf, sizeof(buf), 0, (struct sockaddr *)&from, &from_len), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK_INT(from_len, client_len);
	CHECK(memcmp(from.sun_path, client_addr.sun_path, client_len - offsetof(struct sockaddr_un, sun_path)) == 0);
	/* The answer goes to the address the message came from. */
	CHECK_INT(sendto(server, "world!", 6, 0, (struct sockaddr *)&from, from_len), 6);
	CHECK_INT(recv(client, buf, sizeof(buf), 0), 6);
	CHECK(memcmp(buf, "world!", 6) == 0);

	/* An unbound sender has no name: the address's length is 0. */
	CHECK_INT(sendto(unnamed, "x", 1, 0, to, server_len), 1);
	from_len = sizeof(from);
	CHECK_INT(recvfrom(server, buf, sizeof(buf), 0, (struct sockaddr *)&from, &from_len), 1);
	CHECK_INT(from_len, 0);

	/* Boundaries: three messages, one of no bytes, read one at a time. */
	char big[3000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	CHECK_INT(sendto(client, big, sizeof(big), 0, to, server_len), (long)sizeof(big));
	CHECK_INT(sendto(client, "", 0, 0, to, server_len), 0);
	CHECK_INT(sendto(client, "abc", 3, 0, to, server_len), 3);
	int waiting = -1;
	CHECK_INT(ioctl(server, FIONREAD, &waiting), 0);
	CHECK_INT(waiting, 3000);
	/* Peeked, then read short: the rest of the message is gone, MSG_TRUNC tells its length. */
	CHECK_INT(recv(server, buf, 10, MSG_PEEK), 10);
	CHECK_INT(recv(server, buf, 100, MSG_PEEK | MSG_TRUNC), 3000);
	CHECK_INT(recv(server, buf, 100, 0), 100);
	CHECK(memcmp(buf, big, 100) == 0);
	CHECK_INT(recv(server, buf, sizeof(buf), 0), 0);
	struct iovec iov = { buf, 2 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	CHECK_INT(recvmsg(server, &msg, 0), 2);
	CHECK_INT(msg.msg_flags & MSG_TRUNC, MSG_TRUNC);
	CHECK_INT(recv(server, buf, sizeof(buf), MSG_DONTWAIT), -1);
	CHECK_INT(errno, EAGAIN);

	/* Errors of the datagram type. */
	struct sockaddr_un a;
	check_errno(sendto(client, "x", 1, 0, (struct sockaddr *)&a, path_addr(&a, MISSING_PATH)), ENOENT);
	check_errno(sendto(client, "x", 1, 0, (struct sockaddr *)&a, abstract_addr(&a, "nobody")), ECONNREFUSED);
	check_errno(send(client, "x", 1, 0), ENOTCONN);
	check_errno(listen(server, 1), EOPNOTSUPP);
	check_errno(accept(server, NULL, NULL), EOPNOTSUPP);
	static char huge[300000];
	check_errno(sendto(client, huge, sizeof(huge), 0, to, server_len), EMSGSIZE);
	/* A name of another type, and a closed socket's path. */
	int stream = bound(SOCK_STREAM, &a, path_addr(&a, STREAM_PATH));
	CHECK_INT(listen(stream, 1), 0);
	check_errno(sendto(client, "x", 1, 0, (struct sockaddr *)&a, path_addr(&a, STREAM_PATH)), EPROTOTYPE);
	check_errno(connect(client, (struct sockaddr *)&a, path_addr(&a, STREAM_PATH)), EPROTOTYPE);
	int stream_client = socket(AF_UNIX, SOCK_STREAM, 0);
	check_errno(connect(stream_client, to, server_len), EPROTOTYPE);
	close(bound(SOCK_DGRAM, &a, path_addr(&a, GONE_PATH)));
	check_errno(sendto(client, "x", 1, 0, (struct sockaddr *)&a, path_addr(&a, GONE_PATH)), ECONNREFUSED);
	CHECK_INT(socket_type(server), SOCK_DGRAM);

	close(stream_client);
	close(stream);
	close(unnamed);
	close(client);
	close(server);
	CHECK_INT(unlink(SERVER_PATH), 0);
	CHECK_INT(unlink(STREAM_PATH), 0);
	CHECK_INT(unlink(GONE_PATH), 0);
	printf("net_unix_dgram: datagrams ok\n");
}

/* Connected sockets: the peer's messages only, refusal once the peer is gone, AF_UNSPEC. */
static void test_connected(void)
{
	struct sockaddr_un a_addr, b_addr, c_addr, name;
	socklen_t a_len = abstract_addr(&a_addr, "dgram-a");
	socklen_t b_len = abstract_addr(&b_addr, "dgram-b");
	int a = bound(SOCK_DGRAM, &a_addr, a_len);
	int b = bound(SOCK_DGRAM, &b_addr, b_len);
	socklen_t c_len = abstract_addr(&c_addr, "dgram-c");
	int c = bound(SOCK_DGRAM, &c_addr, c_len);
	char buf[64];

	CHECK_INT(connect(a, (struct sockaddr *)&b_addr, b_len), 0);
	CHECK_INT(connect(b, (struct sockaddr *)&a_addr, a_len), 0);
	socklen_t len = sizeof(name);
	CHECK_INT(getpeername(a, (struct sockaddr *)&name, &len), 0);
	CHECK_INT(len, b_len);
	CHECK_INT(send(a, "to b", 4, 0), 4);
	CHECK_INT(recv(b, buf, sizeof(buf), 0), 4);
	/* b takes messages from a only. */
	check_errno(sendto(c, "x", 1, 0, (struct sockaddr *)&b_addr, b_len), EPERM);
	/* An address given on a connected socket is used. */
	CHECK_INT(sendto(b, "to c", 4, 0, (struct sockaddr *)&c_addr, c_len), 4);
	CHECK_INT(recv(c, buf, sizeof(buf), 0), 4);

	/* a is connected to b: c cannot connect to it. Then c's peer is itself, and forgotten. */
	check_errno(connect(c, (struct sockaddr *)&a_addr, a_len), EPERM);
	CHECK_INT(connect(c, (struct sockaddr *)&c_addr, c_len), 0);
	CHECK_INT(send(c, "me", 2, 0), 2);
	CHECK_INT(recv(c, buf, sizeof(buf), 0), 2);
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	CHECK_INT(connect(c, &unspec, sizeof(unspec)), 0);
	len = sizeof(name);
	check_errno(getpeername(c, (struct sockaddr *)&name, &len), ENOTCONN);
	check_errno(send(c, "x", 1, 0), ENOTCONN);

	/* The peer closed: refused once, then not connected. */
	close(b);
	check_errno(send(a, "x", 1, 0), ECONNREFUSED);
	check_errno(send(a, "x", 1, 0), ENOTCONN);
	close(a);
	close(c);
	printf("net_unix_dgram: connected ok\n");
}

static void *late_send(void *arg)
{
	int fd = *(int *)arg;
	usleep(50000);
	CHECK_INT(send(fd, "late", 4, 0), 4);
	return NULL;
}

static int released;

/* A send to a full inbox: returns only after the main thread made room. */
static void *blocked_send(void *arg)
{
	char buf[1000] = { 0 };
	CHECK_INT(send(*(int *)arg, buf, sizeof(buf), 0), (long)sizeof(buf));
	CHECK_INT(__atomic_load_n(&released, __ATOMIC_SEQ_CST), 1);
	return NULL;
}

/* Pairs, a full inbox, waiting for a message and for room, epoll. */
static void test_pair(void)
{
	int sv[2];
	CHECK_INT(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	char buf[1000];
	memset(buf, 'q', sizeof(buf));

	/* A blocked receive wakes for a message from another thread. */
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, late_send, &sv[1]), 0);
	CHECK_INT(recv(sv[0], buf, sizeof(buf), 0), 4);
	CHECK_INT(pthread_join(t, NULL), 0);

	/* Fill sv[0]'s inbox, without waiting. */
	int sent = 0;
	while (send(sv[1], buf, sizeof(buf), MSG_DONTWAIT) == (long)sizeof(buf))
		sent++;
	CHECK_INT(errno, EAGAIN);
	CHECK(sent >= 10);
	struct pollfd p[2] = { { sv[1], POLLOUT, 0 }, { sv[0], POLLIN | POLLOUT, 0 } };
	CHECK_INT(poll(p, 2, 0), 1);
	CHECK_INT(p[0].revents, 0);
	CHECK_INT(p[1].revents, POLLIN | POLLOUT);
	/* A blocking send waits for room (Linux's until most of the inbox is read). Every
	 * message comes out whole, in order, the blocked send's last. */
	CHECK_INT(pthread_create(&t, NULL, blocked_send, &sv[1]), 0);
	usleep(50000);
	__atomic_store_n(&released, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i <= sent; i++)
		CHECK_INT(recv(sv[0], buf, sizeof(buf), 0), (long)sizeof(buf));
	CHECK_INT(pthread_join(t, NULL), 0);
	CHECK_INT(poll(p, 1, 0), 1);
	CHECK_INT(p[0].revents, POLLOUT);

	/* epoll sees a message arrive. */
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = sv[0] };
	CHECK_INT(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev), 0);
	CHECK_INT(epoll_wait(ep, &ev, 1, 0), 0);
	CHECK_INT(send(sv[1], "e", 1, 0), 1);
	CHECK_INT(epoll_wait(ep, &ev, 1, 1000), 1);
	CHECK_INT(ev.events, EPOLLIN);
	CHECK_INT(recv(sv[0], buf, sizeof(buf), 0), 1);
	close(ep);

	struct ucred cred;
	socklen_t cred_len = sizeof(cred);
	CHECK_INT(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cred, &cred_len), 0);
	CHECK_INT(cred_len, sizeof(cred));
	CHECK_INT(cred.pid, getpid());

	close(sv[1]);
	check_errno(send(sv[0], "x", 1, 0), ECONNREFUSED);
	close(sv[0]);

	/* Shutting reading: what waits is still read, then end of file; senders get EPIPE. */
	CHECK_INT(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	CHECK_INT(send(sv[1], "a", 1, 0), 1);
	CHECK_INT(shutdown(sv[0], SHUT_RD), 0);
	check_errno(send(sv[1], "b", 1, MSG_NOSIGNAL), EPIPE);
	CHECK_INT(recv(sv[0], buf, sizeof(buf), 0), 1);
	CHECK_INT(recv(sv[0], buf, sizeof(buf), 0), 0);
	struct pollfd q = { sv[0], POLLIN | POLLOUT, 0 };
	CHECK_INT(poll(&q, 1, 0), 1);
	CHECK_INT(q.revents, POLLIN | POLLOUT);
	CHECK_INT(shutdown(sv[0], SHUT_WR), 0);
	check_errno(send(sv[0], "c", 1, MSG_NOSIGNAL), EPIPE);
	CHECK_INT(poll(&q, 1, 0), 1);
	CHECK_INT(q.revents, POLLIN | POLLOUT | POLLHUP);
	close(sv[0]);
	close(sv[1]);
	printf("net_unix_dgram: pair ok, %d messages of 1000 bytes filled an inbox\n", sent);
}

static void *seq_client(void *arg)
{
	struct sockaddr_un *a = arg;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CHECK_INT(connect(fd, (struct sockaddr *)a, SUN_LEN(a)), 0);
	/* Three messages; the server answers each with its length. */
	static const size_t sizes[] = { 5000, 1, 70000 };
	static char data[70000];
	for (int i = 0; i < 3; i++) {
		CHECK_INT(send(fd, data, sizes[i], 0), (long)sizes[i]);
		size_t got = 0;
		CHECK_INT(recv(fd, &got, sizeof(got), 0), (long)sizeof(got));
		CHECK_INT(got, sizes[i]);
	}
	/* An address is ignored, as Linux. */
	struct sockaddr_un other;
	CHECK_INT(sendto(fd, "end", 3, 0, (struct sockaddr *)&other, abstract_addr(&other, "nobody")), 3);
	close(fd);
	return NULL;
}

/* Sequenced packets: a connection of messages, end of file, EPIPE, types that differ. */
static void test_seqpacket(void)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, SEQ_PATH);
	int listener = bound(SOCK_SEQPACKET, &a, len);
	int accepting = -1;
	socklen_t accepting_len = sizeof(accepting);
	CHECK_INT(getsockopt(listener, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &accepting_len), 0);
	CHECK_INT(accepting, 0);
	CHECK_INT(listen(listener, 4), 0);
	CHECK_INT(getsockopt(listener, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &accepting_len), 0);
	CHECK_INT(accepting, 1);
	int stream = socket(AF_UNIX, SOCK_STREAM, 0);
	check_errno(connect(stream, (struct sockaddr *)&a, len), EPROTOTYPE);
	close(stream);
	int fresh = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	char c;
	check_errno(recv(fresh, &c, 1, 0), ENOTCONN);
	close(fresh);

	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, seq_client, &a), 0);
	int conn = accept(listener, NULL, NULL);
	CHECK(conn >= 0);
	static char buf[80000];
	for (int i = 0; i < 3; i++) {
		size_t n = (size_t)recv(conn, buf, sizeof(buf), 0);
		CHECK_INT(send(conn, &n, sizeof(n), 0), (long)sizeof(n));
	}
	/* A short read drops the rest of the message; the connection's end reads 0. */
	CHECK_INT(recv(conn, buf, 2, 0), 2);
	CHECK_INT(pthread_join(t, NULL), 0);
	CHECK_INT(recv(conn, buf, sizeof(buf), 0), 0);
	check_errno(send(conn, "x", 1, MSG_NOSIGNAL), EPIPE);
	CHECK_INT(socket_type(conn), SOCK_SEQPACKET);
	close(conn);
	close(listener);
	CHECK_INT(unlink(SEQ_PATH), 0);

	/* A pair keeps boundaries both ways. */
	int sv[2];
	CHECK_INT(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	CHECK_INT(send(sv[0], "one", 3, 0), 3);
	CHECK_INT(send(sv[0], "three", 5, 0), 5);
	CHECK_INT(recv(sv[1], buf, sizeof(buf), 0), 3);
	CHECK_INT(recv(sv[1], buf, sizeof(buf), 0), 5);
	CHECK(memcmp(buf, "three", 5) == 0);
	close(sv[0]);
	close(sv[1]);
	printf("net_unix_dgram: seqpacket ok\n");
}

/* SO_PEERCRED of a connected stream, and of a socket without a peer. */
static void test_peercred(void)
{
	int sv[2];
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct ucred cred;
	socklen_t len = sizeof(cred);
	CHECK_INT(getsockopt(sv[1], SOL_SOCKET, SO_PEERCRED, &cred, &len), 0);
	CHECK_INT(len, sizeof(cred));
	CHECK_INT(cred.pid, getpid());
	CHECK_INT(cred.uid, getuid());
	CHECK_INT(cred.gid, getgid());
	int lone = socket(AF_UNIX, SOCK_STREAM, 0);
	len = sizeof(cred);
	CHECK_INT(getsockopt(lone, SOL_SOCKET, SO_PEERCRED, &cred, &len), 0);
	CHECK_INT(cred.pid, 0);
	CHECK_INT(cred.uid, (uid_t)-1);
	CHECK_INT(cred.gid, (gid_t)-1);
	close(lone);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	/* Types Linux does not have for AF_UNIX. */
	errno = 0;
	check_errno(socket(AF_UNIX, 4, 0), ESOCKTNOSUPPORT);
	check_errno(socket(AF_UNIX, SOCK_DGRAM, 6), EPROTONOSUPPORT);
	test_datagrams();
	test_connected();
	test_pair();
	test_seqpacket();
	test_peercred();
	TEST_DONE();
}
