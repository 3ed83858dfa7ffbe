/* net_reuseport.c: SO_REUSEPORT: sockets that set it share a port, and connections and datagrams spread over them as on Linux. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include "test.h"

/* Connections, client sockets and datagrams per client of the spreading checks: a member that
 * got none of them would have lost a coin toss 23 or more times in a row. */
enum { CONNECTIONS = 32, CLIENTS = 24, PER_CLIENT = 2 };

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* A socket of `type` with SO_REUSEPORT if `port_reuse`, SO_REUSEADDR if `addr_reuse`. */
static int sock(int type, int port_reuse, int addr_reuse)
{
	int s = socket(AF_INET, type, 0), one = 1;
	CHECK(s >= 0);
	if (port_reuse)
		CHECK_INT(setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
	if (addr_reuse)
		CHECK_INT(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	return s;
}

/* bind's result on 127.0.0.1:port (INADDR_ANY if `any`): 0 or the errno. */
static int bind_at(int s, int port, int any)
{
	struct sockaddr_in a = loopback(port);
	if (any)
		a.sin_addr.s_addr = htonl(INADDR_ANY);
	return bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 ? 0 : errno;
}

static int port_of(int s)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	CHECK_INT(getsockname(s, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

static void options(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0), v = 7, two = 2, zero = 0;
	socklen_t len = sizeof(v);
	CHECK_INT(getsockopt(s, SOL_SOCKET, SO_REUSEPORT, &v, &len), 0);
	CHECK_INT(v, 0);
	CHECK_INT(setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &two, sizeof(two)), 0);
	CHECK_INT(getsockopt(s, SOL_SOCKET, SO_REUSEPORT, &v, &len), 0);
	CHECK_INT(v, 1);
	CHECK_INT(setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &two, 2), -1);
	CHECK_INT(errno, EINVAL);
	close(s);
	/* Unix sockets do not share ports (Linux 6.9 on). */
	int u = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_INT(setsockopt(u, SOL_SOCKET, SO_REUSEPORT, &two, sizeof(two)), -1);
	CHECK_INT(errno, EOPNOTSUPP);
	CHECK_INT(setsockopt(u, SOL_SOCKET, SO_REUSEPORT, &zero, sizeof(zero)), 0);
	v = 7;
	CHECK_INT(getsockopt(u, SOL_SOCKET, SO_REUSEPORT, &v, &len), 0);
	CHECK_INT(v, 0);
	close(u);
}

/* Who may bind (and listen) beside sockets that set SO_REUSEPORT, for `type`. */
static void bind_rules(int type)
{
	int a = sock(type, 1, 0);
	CHECK_INT(bind_at(a, 0, 0), 0);
	int port = port_of(a);
	if (type == SOCK_STREAM)
		CHECK_INT(listen(a, 8), 0);
	int b = sock(type, 1, 0), plain = sock(type, 0, 0), addr_only = sock(type, 0, 1), any = sock(type, 1, 0);
	CHECK_INT(bind_at(b, port, 0), 0);
	CHECK_INT(bind_at(plain, port, 0), EADDRINUSE);
	CHECK_INT(bind_at(addr_only, port, 0), EADDRINUSE);
	CHECK_INT(bind_at(any, port, 1), 0);
	if (type == SOCK_STREAM) {
		CHECK_INT(listen(b, 8), 0);
		CHECK_INT(listen(any, 8), 0);
	}
	/* The other way round: a socket without it holds the port. */
	int first = sock(type, 0, 0), late = sock(type, 1, 0);
	CHECK_INT(bind_at(first, 0, 0), 0);
	CHECK_INT(bind_at(late, port_of(first), 0), EADDRINUSE);
	int fds[] = { a, b, plain, addr_only, any, first, late };
	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		close(fds[i]);
	if (type == SOCK_STREAM) {
		/* Set between bind and listen, it counts at listen (as Linux). */
		int x = sock(type, 0, 0), y = sock(type, 1, 0), one = 1;
		CHECK_INT(bind_at(x, 0, 0), 0);
		CHECK_INT(setsockopt(x, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
		CHECK_INT(listen(x, 8), 0);
		CHECK_INT(bind_at(y, port_of(x), 0), 0);
		CHECK_INT(listen(y, 8), 0);
		close(x);
		close(y);
	}
}

struct worker {
	int listener;
	int id;
	int served;
};

/* Accepts on its own listener and answers each connection's byte with its id; a 'q' closes
 * the listener (the group shrinks to the others) and ends the thread. */
static void *serve(void *arg)
{
	struct worker *w = arg;
	for (;;) {
		int c = accept(w->listener, NULL, NULL);
		CHECK(c >= 0);
		if (c < 0)
			return NULL;
		char byte = 0, id = (char)('0' + w->id);
		CHECK_INT(read(c, &byte, 1), 1);
		if (byte == 'q')
			close(w->listener);
		else
			w->served++;
		CHECK_INT(write(c, &id, 1), 1);
		close(c);
		if (byte == 'q')
			return NULL;
	}
}

/* Connects to 127.0.0.1:port, sends `byte`, returns the id of the worker that answered. */
static int ask(int port, char byte)
{
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = loopback(port);
	char id = 0;
	CHECK_INT(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK_INT(write(c, &byte, 1), 1);
	CHECK_INT(read(c, &id, 1), 1);
	close(c);
	return id - '0';
}

/* Two threads, each blocked in accept on its own listener of one port: the connections spread
 * over both; once one listener closed, the other takes every connection. */
static void tcp_spread(void)
{
	struct worker w[2] = { { .id = 0 }, { .id = 1 } };
	pthread_t t[2];
	int port = 0;
	for (int i = 0; i < 2; i++) {
		w[i].listener = sock(SOCK_STREAM, 1, 0);
		CHECK_INT(bind_at(w[i].listener, port, 0), 0);
		port = port_of(w[i].listener);
		CHECK_INT(listen(w[i].listener, 16), 0);
		CHECK_INT(pthread_create(&t[i], NULL, serve, &w[i]), 0);
	}
	int answered[2] = { 0, 0 };
	for (int i = 0; i < CONNECTIONS; i++) {
		int id = ask(port, 'x');
		CHECK(id == 0 || id == 1);
		if (id == 0 || id == 1)
			answered[id]++;
	}
	CHECK(answered[0] > 0 && answered[1] > 0);
	/* Stop one worker: then every connection reaches the other. */
	int quit = ask(port, 'q');
	CHECK(quit == 0 || quit == 1);
	int other = quit == 0 ? 1 : 0;
	for (int i = 0; i < 8; i++)
		CHECK_INT(ask(port, 'x'), other);
	CHECK_INT(ask(port, 'q'), other);
	for (int i = 0; i < 2; i++)
		CHECK_INT(pthread_join(t[i], NULL), 0);
	CHECK_INT(w[0].served + w[1].served, CONNECTIONS + 8);
	CHECK_INT(w[quit].served, answered[quit]);
	printf("net_reuseport: %d and %d of %d connections to the two listeners\n", answered[0], answered[1],
	       CONNECTIONS);
}

/* Two dual-stack listeners of [::]:port: IPv6 and IPv4 clients spread over both. */
static void tcp6_spread(void)
{
	int l[2], port = 0, one = 1;
	for (int i = 0; i < 2; i++) {
		l[i] = socket(AF_INET6, SOCK_STREAM, 0);
		CHECK(l[i] >= 0);
		CHECK_INT(setsockopt(l[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
		struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
		CHECK_INT(bind(l[i], (struct sockaddr *)&a, sizeof(a)), 0);
		socklen_t len = sizeof(a);
		CHECK_INT(getsockname(l[i], (struct sockaddr *)&a, &len), 0);
		port = ntohs(a.sin6_port);
		CHECK_INT(listen(l[i], 64), 0);
		CHECK_INT(fcntl(l[i], F_SETFL, O_NONBLOCK), 0);
	}
	int clients[CONNECTIONS];
	for (int i = 0; i < CONNECTIONS; i++) {
		clients[i] = socket(i % 2 ? AF_INET : AF_INET6, SOCK_STREAM, 0);
		struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
		struct sockaddr_in a4 = loopback(port);
		if (i % 2)
			CHECK_INT(connect(clients[i], (struct sockaddr *)&a4, sizeof(a4)), 0);
		else
			CHECK_INT(connect(clients[i], (struct sockaddr *)&a6, sizeof(a6)), 0);
	}
	int got[2] = { 0, 0 };
	struct pollfd p[2] = { { .fd = l[0], .events = POLLIN }, { .fd = l[1], .events = POLLIN } };
	while (got[0] + got[1] < CONNECTIONS && poll(p, 2, 1000) > 0) {
		for (int i = 0; i < 2; i++) {
			int c;
			while ((c = accept(l[i], NULL, NULL)) >= 0) {
				got[i]++;
				close(c);
			}
		}
	}
	CHECK_INT(got[0] + got[1], CONNECTIONS);
	CHECK(got[0] > 0 && got[1] > 0);
	for (int i = 0; i < CONNECTIONS; i++)
		close(clients[i]);
	close(l[0]);
	close(l[1]);
	printf("net_reuseport: %d and %d of %d IPv6 and IPv4 connections to two [::] listeners\n", got[0], got[1],
	       CONNECTIONS);
}

/* Datagrams of one client (one source port) all reach one member; many clients spread over
 * both; a connected member takes its peer's. */
static void udp_spread(void)
{
	int server[2], port = 0;
	for (int i = 0; i < 2; i++) {
		server[i] = sock(SOCK_DGRAM, 1, 0);
		CHECK_INT(bind_at(server[i], port, 0), 0);
		port = port_of(server[i]);
	}
	struct sockaddr_in to = loopback(port);
	int client[CLIENTS];
	for (int c = 0; c < CLIENTS; c++) {
		client[c] = socket(AF_INET, SOCK_DGRAM, 0);
		for (int k = 0; k < PER_CLIENT; k++) {
			char text[16];
			int n = snprintf(text, sizeof(text), "%d", c);
			CHECK_INT(sendto(client[c], text, n, 0, (struct sockaddr *)&to, sizeof(to)), n);
		}
	}
	int got[CLIENTS][2] = { { 0 } }, total[2] = { 0, 0 };
	struct pollfd p[2] = { { .fd = server[0], .events = POLLIN }, { .fd = server[1], .events = POLLIN } };
	while (total[0] + total[1] < CLIENTS * PER_CLIENT && poll(p, 2, 1000) > 0) {
		for (int i = 0; i < 2; i++) {
			char text[16];
			ssize_t n;
			while ((n = recv(server[i], text, sizeof(text) - 1, MSG_DONTWAIT)) > 0) {
				text[n] = 0;
				int c = atoi(text);
				CHECK(c >= 0 && c < CLIENTS);
				if (c >= 0 && c < CLIENTS)
					got[c][i]++;
				total[i]++;
			}
		}
	}
	CHECK_INT(total[0] + total[1], CLIENTS * PER_CLIENT);
	CHECK(total[0] > 0 && total[1] > 0);
	for (int c = 0; c < CLIENTS; c++)
		CHECK(got[c][0] == PER_CLIENT || got[c][1] == PER_CLIENT);
	/* Connect the member that got client 0's datagrams to client 1: client 1's come to it. */
	int member = got[0][0] ? 0 : 1;
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	CHECK_INT(getsockname(client[1], (struct sockaddr *)&peer, &len), 0);
	CHECK_INT(connect(server[member], (struct sockaddr *)&peer, sizeof(peer)), 0);
	for (int k = 0; k < 4; k++)
		CHECK_INT(sendto(client[1], "c", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
	char byte;
	for (int k = 0; k < 4; k++) {
		struct pollfd one = { .fd = server[member], .events = POLLIN };
		CHECK_INT(poll(&one, 1, 1000), 1);
		CHECK_INT(recv(server[member], &byte, 1, MSG_DONTWAIT), 1);
	}
	CHECK_INT(recv(server[1 - member], &byte, 1, MSG_DONTWAIT), -1);
	for (int c = 0; c < CLIENTS; c++)
		close(client[c]);
	close(server[0]);
	close(server[1]);
	printf("net_reuseport: %d and %d of %d datagrams to the two sockets\n", total[0], total[1],
	       CLIENTS * PER_CLIENT);
}

int main(void)
{
	options();
	bind_rules(SOCK_STREAM);
	bind_rules(SOCK_DGRAM);
	tcp_spread();
	tcp6_spread();
	udp_spread();
	printf("net_reuseport: ports shared\n");
	TEST_DONE();
}
