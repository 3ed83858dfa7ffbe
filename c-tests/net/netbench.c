/* netbench.c: the guest (and native Linux) side of the end-to-end network tests and benchmarks.
 *
 * Usage (argv):
 *   udp-echo <port> <count>               answers <count> datagrams to their senders
 *   udp-client <ipv4> <port> <count> [size]
 *                                         sends <count> numbered datagrams (of <size> bytes: the number,
 *                                         then the pattern; up to 65507, IP fragments beyond the MTU),
 *                                         each answered with the same bytes
 *   udp-refused <ipv4> <port>             connects a UDP socket, sends one datagram, prints what recv says
 *                                         (ECONNREFUSED when the host answers with ICMP port unreachable)
 *   sink <port> [connections]             TCP: reads each connection to its end, prints bytes and checksum
 *   source <ipv4> <port> <bytes> <chunk>  TCP: sends <bytes> in writes of <chunk>, prints MiB/s
 *   pong <port>                           TCP: answers every byte with one byte until the end
 *   pong-spin <port> <ms>                 pong, then two threads spin for <ms> each; prints the host CPUs
 *                                         each ran on (rdtscp) and when it first ran on each
 *   ping <ipv4> <port> <rounds>           TCP: 1-byte round trips to a pong; prints median, p99 and max in us
 *   accepts <port> <count>                TCP: accepts <count> connections, reads each to its end, closes it
 *   connects <ipv4> <port> <count>        TCP: <count> connections in a row (connect, FIN, the server's FIN,
 *                                         close); prints per second
 *   selftest                              the UDP pair and sink/source over 127.0.0.1, in one process
 * Prints "netbench: ..." lines; exits 0 on success. The data is the pattern byte(i) = i*7+3 mod 251,
 * checksummed with 32-bit FNV-1a; a last argument "nocheck" (sink, source) skips the pattern and
 * the checksum (for throughput: only the byte count is compared).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "netboth.h"

static int checking = 1;

static uint32_t fnv(uint32_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static int bound(int type, int port)
{
	int s = socket(AF_INET, type, 0);
	int one = 1;
	if (s < 0)
		die("netbench: socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = address(NULL, port);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("netbench: bind");
	if (type == SOCK_STREAM && listen(s, 4) != 0)
		die("netbench: listen");
	printf("netbench: listening on %s port %d\n", type == SOCK_STREAM ? "tcp" : "udp", port);
	fflush(stdout);
	return s;
}

static int connected(const char *ip, int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = address(ip, port);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("netbench: connect");
	return s;
}

static int udp_echo(int port, int count)
{
	int s = bound(SOCK_DGRAM, port);
	static char buf[65536];
	for (int i = 0; i < count; i++) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
		if (n < 0)
			die("netbench: recvfrom");
		if (sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, len) != n)
			die("netbench: sendto");
	}
	printf("netbench: udp echoed %d datagrams\n", count);
	close(s);
	return 0;
}

static int udp_client(const char *ip, int port, int count, size_t size)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = address(ip, port);
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int answered = 0, retries = 0;
	for (int i = 0; i < count; i++) {
		static char msg[65536], back[65536];
		int len = snprintf(msg, sizeof(msg), "datagram %d", i);
		for (size_t at = (size_t)len + 1; at < size && at < sizeof(msg); at++)
			msg[at] = (char)((at * 7 + 3) % 251);
		if (size > (size_t)len && size <= sizeof(msg))
			len = (int)size;
		for (;;) {
			if (sendto(s, msg, (size_t)len, 0, (struct sockaddr *)&to, sizeof(to)) != len)
				die("netbench: sendto");
			ssize_t n = recv(s, back, sizeof(back), 0);
			if (n == len && memcmp(back, msg, (size_t)len) == 0) {
				answered++;
				break;
			}
			if (++retries > 50) {
				printf("netbench: udp client: no answer to %d\n", i);
				return 1;
			}
		}
	}
	printf("netbench: udp client: %d of %d answered (%d resent)\n", answered, count, retries);
	close(s);
	return 0;
}

static int udp_refused(const char *ip, int port)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = address(ip, port);
	struct timeval tv = { .tv_sec = 5, .tv_usec = 0 };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&to, sizeof(to)) != 0 || send(s, "?", 1, 0) != 1)
		die("netbench: udp-refused");
	double start = now();
	char c;
	ssize_t n = recv(s, &c, 1, 0);
	printf("netbench: udp refused: recv %zd, %s after %.0f ms\n", n, n < 0 ? strerror(errno) : "data",
	       (now() - start) * 1e3);
	close(s);
	return 0;
}

static int sink_one(int listener)
{
	int c = accept(listener, NULL, NULL);
	if (c < 0)
		die("netbench: accept");
	static unsigned char buf[65536];
	uint64_t total = 0;
	uint32_t h = 2166136261u;
	double t0 = now();
	for (;;) {
		ssize_t n = recv(c, buf, sizeof(buf), 0);
		if (n < 0)
			die("netbench: recv");
		if (n == 0)
			break;
		if (checking)
			h = fnv(h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	double t = now() - t0;
	char reply[64];
	int len = snprintf(reply, sizeof(reply), "%llu %08x\n", (unsigned long long)total, h);
	send(c, reply, (size_t)len, 0);
	close(c);
	printf("netbench: sink got %llu bytes, checksum %08x, %.1f MiB/s\n", (unsigned long long)total, h,
	       (double)total / t / 1048576.0);
	fflush(stdout);
	return 0;
}

static void pattern(unsigned char *buf, size_t n, uint64_t offset)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(((offset + i) * 7 + 3) % 251);
}

static int source(const char *ip, int port, uint64_t bytes, size_t chunk)
{
	int s = connected(ip, port);
	unsigned char *buf = malloc(chunk);
	uint32_t h = 2166136261u;
	uint64_t sent = 0;
	double t0 = now();
	while (sent < bytes) {
		size_t n = bytes - sent < chunk ? (size_t)(bytes - sent) : chunk;
		if (checking || sent == 0)
			pattern(buf, n, sent);
		if (checking)
			h = fnv(h, buf, n);
		for (size_t done = 0; done < n;) {
			ssize_t w = send(s, buf + done, n - done, 0);
			if (w <= 0)
				die("netbench: send");
			done += (size_t)w;
		}
		sent += n;
	}
	shutdown(s, SHUT_WR);
	char reply[64] = { 0 };
	ssize_t r = recv(s, reply, sizeof(reply) - 1, 0);
	double t = now() - t0;
	close(s);
	free(buf);
	unsigned long long got = 0;
	unsigned int their = 0;
	if (r <= 0 || sscanf(reply, "%llu %x", &got, &their) != 2 || got != bytes || (checking && their != h)) {
		printf("netbench: source: the sink reports %s (sent %llu, checksum %08x)\n", reply,
		       (unsigned long long)bytes, h);
		return 1;
	}
	printf("netbench: source sent %llu bytes in %zu-byte writes, checksum %08x ok, %.1f MiB/s\n",
	       (unsigned long long)bytes, chunk, h, (double)bytes / t / 1048576.0);
	return 0;
}

static int pong(int port)
{
	int l = bound(SOCK_STREAM, port);
	int c = accept(l, NULL, NULL);
	int one = 1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	char b;
	long rounds = 0;
	while (recv(c, &b, 1, 0) == 1) {
		if (send(c, &b, 1, 0) != 1)
			break;
		rounds++;
	}
	printf("netbench: pong answered %ld bytes\n", rounds);
	close(c);
	close(l);
	return 0;
}

/* One spinning thread of pong-spin: the host CPUs it ran on (rdtscp's processor number, which
 * PVM does not virtualize) and, for each, the milliseconds after the start when it first did. */
struct spinner {
	double start, ms;
	double first_on[64];
};

static unsigned host_cpu(void)
{
	unsigned lo, hi, aux;
	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	(void)lo;
	(void)hi;
	return aux & 0xfff;
}

static void *spin(void *arg)
{
	struct spinner *s = arg;
	for (int i = 0; i < 64; i++)
		s->first_on[i] = -1;
	double t;
	while ((t = now() - s->start) * 1000.0 < s->ms) {
		for (volatile int i = 0; i < 1000; i++)
			;
		unsigned cpu = host_cpu();
		if (cpu < 64 && s->first_on[cpu] < 0)
			s->first_on[cpu] = t * 1000.0;
	}
	return NULL;
}

static int pong_spin(int port, double ms)
{
	pong(port);
	struct spinner spinners[2];
	pthread_t threads[2];
	double start = now();
	for (int i = 0; i < 2; i++) {
		spinners[i].start = start;
		spinners[i].ms = ms;
		if (pthread_create(&threads[i], NULL, spin, &spinners[i]) != 0)
			die("pthread_create");
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(threads[i], NULL);
		printf("netbench: spin thread %d ran on host CPUs", i);
		for (int cpu = 0; cpu < 64; cpu++)
			if (spinners[i].first_on[cpu] >= 0)
				printf(" %d (from %.2f ms)", cpu, spinners[i].first_on[cpu]);
		printf("\n");
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int ping(const char *ip, int port, int rounds)
{
	int s = connected(ip, port);
	int one = 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	double *t = malloc(sizeof(double) * (size_t)rounds);
	for (int i = 0; i < rounds; i++) {
		char b = (char)i, r;
		double t0 = now();
		if (send(s, &b, 1, 0) != 1 || recv(s, &r, 1, 0) != 1 || r != b) {
			printf("netbench: ping: round %d failed\n", i);
			return 1;
		}
		t[i] = (now() - t0) * 1e6;
	}
	close(s);
	qsort(t, (size_t)rounds, sizeof(double), cmp_double);
	printf("netbench: ping %d rounds: median %.1f us, p99 %.1f us, max %.1f us\n", rounds, t[rounds / 2],
	       t[rounds * 99 / 100], t[rounds - 1]);
	free(t);
	return 0;
}

static int accepts(int port, int count)
{
	int l = bound(SOCK_STREAM, port);
	for (int i = 0; i < count; i++) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			die("netbench: accept");
		char b;
		while (recv(c, &b, 1, 0) > 0)
			;
		close(c);
	}
	printf("netbench: accepted %d connections\n", count);
	close(l);
	return 0;
}

static int connects(const char *ip, int port, int count)
{
	double t0 = now();
	for (int i = 0; i < count; i++) {
		int s = connected(ip, port);
		char b;
		/* The server closes after our FIN: one connection at a time, never over its backlog. */
		shutdown(s, SHUT_WR);
		while (recv(s, &b, 1, 0) > 0)
			;
		close(s);
	}
	double t = now() - t0;
	printf("netbench: %d connections in %.3f s, %.0f per second\n", count, t, count / t);
	return 0;
}

static void *udp_echo_thread(void *arg)
{
	(void)arg;
	udp_echo(17001, 100);
	return NULL;
}

static void *sink_thread(void *arg)
{
	sink_one(*(int *)arg);
	return NULL;
}

static int selftest(void)
{
	pthread_t t;
	pthread_create(&t, NULL, udp_echo_thread, NULL);
	usleep(100000);
	if (udp_client("127.0.0.1", 17001, 100, 0) != 0)
		return 1;
	pthread_join(t, NULL);
	int l = bound(SOCK_STREAM, 17002);
	pthread_create(&t, NULL, sink_thread, &l);
	if (source("127.0.0.1", 17002, 4 << 20, 16384) != 0)
		return 1;
	pthread_join(t, NULL);
	printf("netbench: selftest ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2 && !strcmp(argv[argc - 1], "nocheck")) {
		checking = 0;
		argc--;
	}
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "udp-echo") && argc == 4)
		return udp_echo(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(mode, "udp-refused") && argc == 4)
		return udp_refused(argv[2], atoi(argv[3]));
	if (!strcmp(mode, "udp-client") && (argc == 5 || argc == 6))
		return udp_client(argv[2], atoi(argv[3]), atoi(argv[4]), argc == 6 ? (size_t)atol(argv[5]) : 0);
	if (!strcmp(mode, "sink") && argc >= 3) {
		int l = bound(SOCK_STREAM, atoi(argv[2]));
		int n = argc > 3 ? atoi(argv[3]) : 1;
		for (int i = 0; i < n; i++)
			sink_one(l);
		return 0;
	}
	if (!strcmp(mode, "source") && argc == 6)
		return source(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 0), (size_t)atol(argv[5]));
	if (!strcmp(mode, "pong") && argc == 3)
		return pong(atoi(argv[2]));
	if (!strcmp(mode, "pong-spin") && argc == 4)
		return pong_spin(atoi(argv[2]), atof(argv[3]));
	if (!strcmp(mode, "ping") && argc == 5)
		return ping(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (!strcmp(mode, "accepts") && argc == 4)
		return accepts(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(mode, "connects") && argc == 5)
		return connects(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (!strcmp(mode, "selftest"))
		return selftest();
	fprintf(stderr, "usage: netbench udp-echo|udp-client|sink|source|pong|pong-spin|ping|accepts|connects|selftest ...\n");
	return 2;
}
