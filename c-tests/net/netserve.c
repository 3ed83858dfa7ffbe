/* netserve.c: an epoll server of many concurrent short requests and its threaded load client, in the guest and natively.
 *
 * Usage (argv):
 *   serve <port> <requests>                         one thread, non-blocking sockets in one epoll instance:
 *                                                   each connection sends "GET <n>\n" and gets n bytes of
 *                                                   the pattern, then the server closes it; ends after
 *                                                   <requests> answers
 *   load <ipv4> <port> <clients> <each> <bytes>     <clients> threads, each making <each> requests of <bytes>
 *                                                   in a row (connect, request, read to the end, compare,
 *                                                   close); prints the rate, failures and the slowest
 *   selftest                                        serve and load over 127.0.0.1 in one process
 * Prints "netserve: ..." lines; exits 0 when every request got its whole answer. The answer is the
 * pattern byte(i) = i*7+3 mod 251 (netbench's), checked byte by byte.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netboth.h"

/* The pattern, long enough for one send of any part of it. */
enum { PATTERN = 251 * 256 };
static unsigned char pattern[PATTERN + 251];

static void make_pattern(void)
{
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (unsigned char)((i * 7 + 3) % 251);
}

/* ---- the server ---- */

/* One connection: the request read so far, then the bytes of the answer still to send. */
struct conn {
	int fd;
	char request[32];
	size_t got;
	long sent, answer; /* answer < 0: the request is not complete yet */
};

static int listening(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sa = address(NULL, port);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s, SOMAXCONN) != 0) {
		perror("netserve: listen");
		exit(1);
	}
	fcntl(s, F_SETFL, O_NONBLOCK);
	return s;
}

/* Reads the request of c, or sends what the socket takes of its answer. 1 when c is done, -1 on an
 * error, 0 to wait for the socket again. */
static int serve_step(struct conn *c, int ep)
{
	if (c->answer < 0) {
		ssize_t n = recv(c->fd, c->request + c->got, sizeof(c->request) - 1 - c->got, 0);
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		c->got += (size_t)n;
		c->request[c->got] = '\0';
		if (!strchr(c->request, '\n'))
			return c->got < sizeof(c->request) - 1 ? 0 : -1;
		if (strncmp(c->request, "GET ", 4) != 0)
			return -1;
		c->answer = atol(c->request + 4);
		struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	}
	while (c->sent < c->answer) {
		long part = c->answer - c->sent < PATTERN ? c->answer - c->sent : PATTERN;
		ssize_t n = send(c->fd, pattern + c->sent % 251, (size_t)part, 0);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->sent += n;
	}
	return 1;
}

static int serve(int l, long requests)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	long served = 0, accepted = 0, errors = 0;
	struct epoll_event ready[64];
	while (served + errors < requests) {
		int n = epoll_wait(ep, ready, 64, 30000);
		if (n <= 0) {
			printf("netserve: epoll_wait gave %d (%s) after %ld requests\n", n, strerror(errno), served);
			break;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = ready[i].data.ptr;
			if (!c) {
				int fd;
				while ((fd = accept(l, NULL, NULL)) >= 0) {
					accepted++;
					fcntl(fd, F_SETFL, O_NONBLOCK);
					c = calloc(1, sizeof(*c));
					c->fd = fd;
					c->answer = -1;
					struct epoll_event in = { .events = EPOLLIN, .data.ptr = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &in);
				}
				continue;
			}
			int done = serve_step(c, ep);
			if (done == 0)
				continue;
			if (done > 0)
				served++;
			else
				errors++;
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			close(c->fd);
			free(c);
		}
	}
	printf("netserve: served %ld requests, %ld connections accepted, %ld errors\n", served, accepted, errors);
	close(ep);
	return errors != 0 || served != requests;
}

/* ---- the load client ---- */

static const char *load_ip;
static int load_port, load_each;
static long load_bytes;

/* What one client thread saw. */
struct client {
	pthread_t thread;
	int failed;
	double slowest;
};

/* One request: 0 if the whole answer came. */
static int request(char *buf, size_t size)
{
	struct sockaddr_in sa = address(load_ip, load_port);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "netserve: connect: %s\n", strerror(errno));
		close(s);
		return -1;
	}
	char line[32];
	int len = snprintf(line, sizeof(line), "GET %ld\n", load_bytes);
	long got = 0;
	int bad = send(s, line, (size_t)len, 0) != len;
	for (ssize_t n = 1; !bad && n > 0;) {
		n = recv(s, buf, size, 0);
		for (ssize_t i = 0; i < n; i++)
			bad |= (unsigned char)buf[i] != pattern[(got + i) % 251];
		if (n > 0)
			got += n;
		bad |= n < 0;
	}
	close(s);
	if (bad || got != load_bytes)
		fprintf(stderr, "netserve: an answer of %ld bytes (%s)\n", got, bad ? "wrong" : "short");
	return bad || got != load_bytes ? -1 : 0;
}

static void *client_thread(void *arg)
{
	struct client *me = arg;
	static __thread char buf[65536];
	for (int i = 0; i < load_each; i++) {
		double start = now();
		me->failed += request(buf, sizeof(buf)) != 0;
		double took = now() - start;
		if (took > me->slowest)
			me->slowest = took;
	}
	return NULL;
}

static int load(const char *ip, int port, int clients, int each, long bytes)
{
	load_ip = ip;
	load_port = port;
	load_each = each;
	load_bytes = bytes;
	struct client *c = calloc((size_t)clients, sizeof(*c));
	double start = now();
	for (int i = 0; i < clients; i++)
		pthread_create(&c[i].thread, NULL, client_thread, &c[i]);
	int failed = 0;
	double slowest = 0;
	for (int i = 0; i < clients; i++) {
		pthread_join(c[i].thread, NULL);
		failed += c[i].failed;
		slowest = c[i].slowest > slowest ? c[i].slowest : slowest;
	}
	double took = now() - start;
	long total = (long)clients * each;
	printf("netserve: %d clients x %d requests of %ld bytes: %.3f s, %.0f per second, %d failed, slowest %.1f ms\n",
	       clients, each, bytes, took, (double)(total - failed) / took, failed, slowest * 1e3);
	free(c);
	return failed != 0;
}

/* ---- selftest ---- */

static int self_listener;

static void *self_server(void *arg)
{
	return (void *)(long)serve(self_listener, (long)arg);
}

static int selftest(void)
{
	enum { CLIENTS = 16, EACH = 40 };
	self_listener = listening(8090);
	pthread_t t;
	pthread_create(&t, NULL, self_server, (void *)(long)(CLIENTS * EACH));
	int rc = load("127.0.0.1", 8090, CLIENTS, EACH, 20000);
	void *served;
	pthread_join(t, &served);
	close(self_listener);
	return rc || served != NULL;
}

int main(int argc, char **argv)
{
	make_pattern();
	if (argc == 4 && strcmp(argv[1], "serve") == 0) {
		int l = listening(atoi(argv[2]));
		printf("netserve: listening on port %d\n", atoi(argv[2]));
		fflush(stdout);
		return serve(l, atol(argv[3]));
	}
	if (argc == 7 && strcmp(argv[1], "load") == 0)
		return load(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atol(argv[6]));
	if (argc == 2 && strcmp(argv[1], "selftest") == 0)
		return selftest();
	fprintf(stderr, "usage: netserve serve <port> <requests> | load <ipv4> <port> <clients> <each> <bytes> | selftest\n");
	return 2;
}
