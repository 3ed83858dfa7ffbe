/* epoll: a one-byte ping-pong between two threads over two pipes, each thread waiting in epoll_wait (or poll) on a set that also holds 0, 100 or 1,000 idle descriptors (µs per round trip, median of 7 runs of 0.1 s). */
/*
 * usage: epoll one   both threads on one core (HermitCore: HERMIT_CPUS=1; Linux: pinned to CPU 0)
 *        epoll two   the threads on two cores (HERMIT_CPUS=2; Linux: CPUs 0 and 1)
 *
 * The idle descriptors are both ends of 500 pipes nobody writes, watched for input only
 * (a write end never shows input): 1,000 descriptors fit the unikernel's OPEN_MAX of 1,024
 * beside the two pipes of the ping-pong, and Linux's default `ulimit -n` of 1,024 (raised
 * to its hard limit here if lower). Each thread's own pipe comes last in its set: a scan
 * that finds it ready has looked at every idle one first.
 */
#ifdef __linux__
#define _GNU_SOURCE
#endif
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"

enum { IDLE_PIPES = 500, MAX_IDLE = 2 * IDLE_PIPES, REPEATS = 7 };
#define RUN_S 0.1

static int idle[MAX_IDLE];
static int cpus[2];

/* One side of the ping-pong: it waits for input on `in`, watching `nidle` idle descriptors too. */
struct side {
	int in, out, nidle, use_epoll, cpu;
	int ep;
	struct pollfd *fds;
};

static void die(int code)
{
	printf("epoll: setup or check failed (%d)\n", code);
	exit(code);
}

/* Builds the side's epoll instance or poll set: the idle descriptors first, its pipe last. */
static void prepare(struct side *s)
{
	if (s->use_epoll) {
		s->ep = epoll_create1(0);
		if (s->ep < 0)
			die(2);
		for (int i = 0; i <= s->nidle; i++) {
			int fd = i < s->nidle ? idle[i] : s->in;
			struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
			if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
				die(3);
		}
	} else {
		s->fds = calloc(s->nidle + 1, sizeof *s->fds);
		for (int i = 0; i <= s->nidle; i++) {
			s->fds[i].fd = i < s->nidle ? idle[i] : s->in;
			s->fds[i].events = POLLIN;
		}
	}
}

/* Waits until the side's pipe is readable; anything else ready is an error. */
static void await(struct side *s)
{
	if (s->use_epoll) {
		struct epoll_event ev[4];
		int n = epoll_wait(s->ep, ev, 4, -1);
		if (n != 1 || ev[0].data.fd != s->in || ev[0].events != EPOLLIN)
			die(4);
	} else {
		int n = poll(s->fds, s->nidle + 1, -1);
		if (n != 1 || s->fds[s->nidle].revents != POLLIN)
			die(5);
	}
}

static void *pong(void *arg)
{
	struct side *s = arg;
	bench_pin(s->cpu);
	char b = 0;
	while (b != 'q') {
		await(s);
		if (read(s->in, &b, 1) != 1 || write(s->out, &b, 1) != 1)
			die(6);
	}
	return NULL;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* One round trip of byte `b` from the ping side. */
static void round_trip(struct side *s, char b)
{
	if (write(s->out, &b, 1) != 1)
		die(8);
	await(s);
	if (read(s->in, &b, 1) != 1)
		die(9);
}

/* µs per round trip: the median of REPEATS runs of about RUN_S seconds each (a byte 'q'
   ends the partner after each). */
static double pingpong(int nidle, int use_epoll)
{
	double us[REPEATS];
	for (int r = 0; r < REPEATS; r++) {
		int there[2], back[2];
		if (pipe(there) != 0 || pipe(back) != 0)
			die(7);
		struct side ping = { back[0], there[1], nidle, use_epoll, cpus[0], -1, NULL };
		struct side other = { there[0], back[1], nidle, use_epoll, cpus[1], -1, NULL };
		prepare(&ping);
		prepare(&other);
		pthread_t t;
		pthread_create(&t, NULL, pong, &other);
		double start = bench_seconds(), elapsed;
		long rounds = 0;
		do {
			for (int i = 0; i < 16; i++)
				round_trip(&ping, 'p');
			rounds += 16;
			elapsed = bench_seconds() - start;
		} while (elapsed < RUN_S);
		us[r] = elapsed * 1e6 / rounds;
		round_trip(&ping, 'q');
		pthread_join(t, NULL);
		for (struct side *s = &ping; s; s = s == &ping ? &other : NULL) {
			if (s->ep >= 0)
				close(s->ep);
			free(s->fds);
		}
		close(there[0]), close(there[1]), close(back[0]), close(back[1]);
	}
	qsort(us, REPEATS, sizeof us[0], compare);
	return us[REPEATS / 2];
}

int main(int argc, char **argv)
{
	int two = argc > 1 && strcmp(argv[1], "two") == 0;
	cpus[0] = 0;
	cpus[1] = two ? 1 : 0;
	bench_pin(cpus[0]);
	struct rlimit lim;
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < MAX_IDLE + 16) {
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	for (int i = 0; i < IDLE_PIPES; i++)
		if (pipe(&idle[2 * i]) != 0)
			die(1);
	static const int sizes[] = { 0, 100, MAX_IDLE };
	for (int use_epoll = 1; use_epoll >= 0; use_epoll--) {
		for (int i = 0; i < 3; i++) {
			char name[64];
			snprintf(name, sizeof name, "%s_pipe_rtt_%d", use_epoll ? "epoll" : "poll", sizes[i]);
			BENCH_RESULT(name, pingpong(sizes[i], use_epoll), "us");
		}
	}
	return 0;
}
