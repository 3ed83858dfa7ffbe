/* net_memory.c: sockets beyond the memory their buffers may take: a TCP connect and a UDP bind fail with ENOBUFS, a listener drops the SYNs it cannot follow, and all recover once sockets end (the kernel panicked before). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "test.h"

enum { MOST = 1000 };

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in sa = { .sin_len = sizeof(sa), .sin_family = AF_INET, .sin_port = htons(port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

/* A non-blocking connect to 127.0.0.1:port: the socket, or -1 with errno. */
static int connect_started(uint16_t port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(s >= 0);
	CHECK_INT(fcntl(s, F_SETFL, O_NONBLOCK), 0);
	struct sockaddr_in sa = loopback(port);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EINPROGRESS)
		return s;
	int e = errno;
	close(s);
	errno = e;
	return -1;
}

static int connected_within(int s, int ms)
{
	struct pollfd p = { .fd = s, .events = POLLOUT };
	int err = -1;
	socklen_t len = sizeof(err);
	return poll(&p, 1, ms) == 1 && getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
}

int main(void)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = loopback(7300);
	CHECK_INT(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_INT(listen(l, SOMAXCONN), 0);
	/* Connections (each a client and an accepted socket) until the buffers' budget is spent:
	 * a connect fails with ENOBUFS, or the listener, short of its next listener, drops the
	 * SYN (the client would send it again). */
	static int client[MOST], server[MOST], waiting[MOST];
	int n = 0, w = 0, refused = 0;
	while (n < MOST && !refused) {
		int c = connect_started(7300);
		if (c < 0) {
			refused = errno;
		} else if (connected_within(c, 1000)) {
			client[n] = c;
			server[n] = accept(l, NULL, NULL);
			CHECK(server[n] >= 0);
			n++;
		} else {
			waiting[w++] = c;
			break;
		}
	}
	/* Clients beyond it (their SYNs dropped) until connect itself is refused. */
	while (!refused && w < MOST) {
		int c = connect_started(7300);
		if (c < 0)
			refused = errno;
		else
			waiting[w++] = c;
	}
	printf("net_memory: %d connections, %d waiting, then connect: %s\n", n, w, strerror(refused));
	CHECK(n >= 8 && n < MOST);
	CHECK_INT(refused, ENOBUFS);
	/* Once connections end, connecting works again and the listener takes it. */
	for (int i = 0; i < w; i++)
		close(waiting[i]);
	for (int i = 0; i < 4; i++) {
		close(client[i]);
		close(server[i]);
	}
	usleep(50000);
	int again = connect_started(7300);
	CHECK(again >= 0);
	CHECK(connected_within(again, 3000));
	int taken = accept(l, NULL, NULL);
	CHECK(taken >= 0);
	CHECK_INT(send(again, "ok", 2, 0), 2);
	char buf[4] = "";
	CHECK_INT(recv(taken, buf, sizeof(buf), 0), 2);
	CHECK(buf[0] == 'o' && buf[1] == 'k');
	close(again);
	close(taken);
	for (int i = 4; i < n; i++) {
		close(client[i]);
		close(server[i]);
	}
	close(l);
	/* UDP sockets (about 130 KiB of buffers each) until bind is refused, then room again. */
	static int udp[MOST];
	int u = 0;
	refused = 0;
	while (u < MOST && !refused) {
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		CHECK(s >= 0);
		struct sockaddr_in any = loopback(0);
		if (bind(s, (struct sockaddr *)&any, sizeof(any)) == 0) {
			udp[u++] = s;
		} else {
			refused = errno;
			close(s);
		}
	}
	printf("net_memory: %d UDP sockets, then bind: %s\n", u, strerror(refused));
	CHECK(u >= 8 && u < MOST);
	CHECK_INT(refused, ENOBUFS);
	close(udp[--u]);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in any = loopback(0);
	CHECK_INT(bind(s, (struct sockaddr *)&any, sizeof(any)), 0);
	socklen_t len = sizeof(any);
	CHECK_INT(getsockname(s, (struct sockaddr *)&any, &len), 0);
	CHECK_INT(sendto(udp[0], "ok", 2, 0, (struct sockaddr *)&any, sizeof(any)), 2);
	CHECK_INT(recv(s, buf, sizeof(buf), 0), 2);
	close(s);
	for (int i = 0; i < u; i++)
		close(udp[i]);
	TEST_DONE();
}
