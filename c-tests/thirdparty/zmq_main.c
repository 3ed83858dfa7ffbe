/* zmq_main.c: the ZeroMQ benchmark of ours, on the unchanged libzmq: message latency and throughput between two threads over inproc:// and tcp://127.0.0.1, with ZeroMQ's own I/O thread. */
/*
 * usage: zmq_main bench
 * Prints "RESULT <name> <value> <unit>" lines (run-benchmarks.sh): the round trip of a 1-byte
 * message between a REQ and a REP socket (median of 5 rounds of 20,000), and the rate of
 * 64-byte messages from a PUSH to a PULL socket (median of 5 runs of 500,000 messages, each
 * with fresh sockets: the rate depends on whether the receiving thread sleeps between
 * batches, and moves by run), over both transports.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define ROUNDS 5
#define ROUND_TRIPS 20000
#define MESSAGES 500000
#define MESSAGE_SIZE 64

static void *context;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "zmq_main: %s: %s\n", what, zmq_strerror(zmq_errno()));
		exit(1);
	}
}

struct peer {
	const char *endpoint;
	int type;
	long count;
};

/* The far side: answers each request (REP), or takes every message (PULL). */
static void *far_side(void *arg)
{
	struct peer *p = arg;
	void *s = zmq_socket(context, p->type);
	check(s != NULL, "zmq_socket");
	check(zmq_connect(s, p->endpoint) == 0, "zmq_connect");
	char buf[MESSAGE_SIZE];
	for (long i = 0; i < p->count; i++) {
		int n = zmq_recv(s, buf, sizeof(buf), 0);
		check(n >= 0, "zmq_recv");
		if (p->type == ZMQ_REP)
			check(zmq_send(s, buf, (size_t)n, 0) == n, "zmq_send");
	}
	zmq_close(s);
	return NULL;
}

/* The near side binds `endpoint` (ZeroMQ's tcp://127.0.0.1:* picks a port) and starts the far side. */
static void *bound(const char *endpoint, int type, struct peer *far, int far_type, long count, pthread_t *t)
{
	void *s = zmq_socket(context, type);
	check(s != NULL, "zmq_socket");
	check(zmq_bind(s, endpoint) == 0, "zmq_bind");
	static char last[256];
	size_t len = sizeof(last);
	check(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, last, &len) == 0, "ZMQ_LAST_ENDPOINT");
	far->endpoint = last;
	far->type = far_type;
	far->count = count;
	check(pthread_create(t, NULL, far_side, far) == 0, "pthread_create");
	return s;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void latency(const char *name, const char *endpoint)
{
	struct peer far;
	pthread_t t;
	void *s = bound(endpoint, ZMQ_REQ, &far, ZMQ_REP, (long)ROUNDS * ROUND_TRIPS + 100, &t);
	char c = 'x';
	/* Warm-up: the connection and both threads. */
	for (int i = 0; i < 100; i++) {
		check(zmq_send(s, &c, 1, 0) == 1, "zmq_send");
		check(zmq_recv(s, &c, 1, 0) == 1, "zmq_recv");
	}
	double us[ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		double start = now();
		for (int i = 0; i < ROUND_TRIPS; i++) {
			check(zmq_send(s, &c, 1, 0) == 1, "zmq_send");
			check(zmq_recv(s, &c, 1, 0) == 1, "zmq_recv");
		}
		us[r] = (now() - start) / ROUND_TRIPS * 1e6;
	}
	pthread_join(t, NULL);
	zmq_close(s);
	qsort(us, ROUNDS, sizeof(us[0]), by_value);
	printf("RESULT %s %.2f us\n", name, us[ROUNDS / 2]);
}

/* One run: MESSAGES messages from a fresh PUSH socket to a fresh PULL socket; messages per second. */
static double one_throughput(const char *endpoint)
{
	struct peer far;
	pthread_t t;
	void *s = bound(endpoint, ZMQ_PUSH, &far, ZMQ_PULL, MESSAGES, &t);
	char buf[MESSAGE_SIZE];
	memset(buf, 'm', sizeof(buf));
	double start = now();
	for (long i = 0; i < MESSAGES; i++)
		check(zmq_send(s, buf, sizeof(buf), 0) == (int)sizeof(buf), "zmq_send");
	pthread_join(t, NULL);
	double seconds = now() - start;
	zmq_close(s);
	return MESSAGES / seconds;
}

static void throughput(const char *name, const char *endpoint)
{
	double rate[ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		/* A closed socket's inproc:// name is released later by ZeroMQ's reaper thread: a
		   name of its own per run. */
		char name[64];
		if (strncmp(endpoint, "inproc", 6) == 0)
			snprintf(name, sizeof(name), "%s%d", endpoint, r);
		else
			snprintf(name, sizeof(name), "%s", endpoint);
		rate[r] = one_throughput(name);
	}
	qsort(rate, ROUNDS, sizeof(rate[0]), by_value);
	printf("RESULT %s %.0f msg/s\n", name, rate[ROUNDS / 2]);
}

int main(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "bench") != 0) {
		fprintf(stderr, "usage: zmq_main bench\n");
		return 2;
	}
	context = zmq_ctx_new();
	check(context != NULL, "zmq_ctx_new");
	latency("zmq_inproc_roundtrip", "inproc://lat");
	throughput("zmq_inproc_64B", "inproc://thr");
	latency("zmq_tcp_roundtrip", "tcp://127.0.0.1:*");
	throughput("zmq_tcp_64B", "tcp://127.0.0.1:*");
	check(zmq_ctx_term(context) == 0, "zmq_ctx_term");
	return 0;
}
