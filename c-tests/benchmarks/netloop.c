/* netloop: TCP over the loopback between two threads: stream throughput at 1, 16 and 64 KiB writes (MiB/s), 1-byte ping-pong round trips (median µs) and connection setups per second. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

static int listener(struct sockaddr_in *sa)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l, (struct sockaddr *)sa, sizeof(*sa)) != 0 || listen(l, 16) != 0)
		exit(2);
	socklen_t len = sizeof(*sa);
	getsockname(l, (struct sockaddr *)sa, &len);
	return l;
}

static int dial(const struct sockaddr_in *sa)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(s, (const struct sockaddr *)sa, sizeof(*sa)) != 0)
		exit(3);
	int one = 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return s;
}

struct job {
	int fd;
	size_t chunk, total;
};

static void *sink(void *p)
{
	struct job *j = p;
	static char buf[1 << 16];
	size_t got = 0;
	ssize_t n;
	while ((n = recv(j->fd, buf, sizeof(buf), 0)) > 0)
		got += (size_t)n;
	j->total = got;
	return NULL;
}

static double stream(const struct sockaddr_in *sa, int l, size_t chunk, size_t total)
{
	int c = dial(sa);
	int a = accept(l, NULL, NULL);
	struct job j = {a, chunk, 0};
	pthread_t t;
	pthread_create(&t, NULL, sink, &j);
	char *buf = malloc(chunk);
	memset(buf, 'n', chunk);
	double start = bench_seconds();
	for (size_t sent = 0; sent < total; sent += chunk)
		if (send(c, buf, chunk, 0) != (ssize_t)chunk)
			exit(4);
	shutdown(c, SHUT_WR);
	pthread_join(t, NULL);
	double rate = total / (1024.0 * 1024.0) / (bench_seconds() - start);
	if (j.total != total)
		exit(5);
	free(buf);
	close(a);
	close(c);
	return rate;
}

static void *echo1(void *p)
{
	int fd = *(int *)p;
	char b;
	while (recv(fd, &b, 1, 0) == 1)
		if (send(fd, &b, 1, 0) != 1)
			break;
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(void)
{
	struct sockaddr_in sa;
	int l = listener(&sa);
	static const size_t chunks[] = {1024, 16384, 65536};
	static const char *names[] = {"tcp_loop_stream_1KiB", "tcp_loop_stream_16KiB", "tcp_loop_stream_64KiB"};
	for (int i = 0; i < 3; i++) {
		double best = 0;
		for (int round = 0; round < 3; round++) {
			double r = stream(&sa, l, chunks[i], chunks[i] == 1024 ? 16 << 20 : 64 << 20);
			if (r > best)
				best = r;
		}
		BENCH_RESULT(names[i], best, "MiB/s");
	}

	enum { PINGS = 2000 };
	int c = dial(&sa);
	int a = accept(l, NULL, NULL);
	pthread_t t;
	pthread_create(&t, NULL, echo1, &a);
	static double rtt[PINGS];
	for (int i = 0; i < PINGS; i++) {
		char b = (char)i;
		double start = bench_seconds();
		if (send(c, &b, 1, 0) != 1 || recv(c, &b, 1, 0) != 1)
			exit(6);
		rtt[i] = (bench_seconds() - start) * 1e6;
	}
	close(c);
	pthread_join(t, NULL);
	close(a);
	qsort(rtt, PINGS, sizeof(rtt[0]), cmp);
	BENCH_RESULT("tcp_loop_rtt_median", rtt[PINGS / 2], "us");
	BENCH_RESULT("tcp_loop_rtt_p99", rtt[PINGS * 99 / 100], "us");

	enum { CONNS = 500 };
	double start = bench_seconds();
	for (int i = 0; i < CONNS; i++) {
		int x = dial(&sa);
		int y = accept(l, NULL, NULL);
		close(x);
		close(y);
	}
	BENCH_RESULT("tcp_loop_connects", CONNS / (bench_seconds() - start), "conn/s");
	close(l);
	return 0;
}
