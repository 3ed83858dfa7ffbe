/* thr_spin_share.c: a thread that computes without kernel calls still shares its CPU: a new thread, a woken one, a sleeper and alarm's SIGALRM get their turn. */
/*
 * Each case makes work for another thread of main's priority, then spins reading the clock
 * (no scheduling point) until that work is done or 3 s pass. On one vCPU the kernel armed no
 * time slice for a task queued behind a running one on the same core, nor the deadline of
 * a sleeper when its core left the idle loop for another task, so each case spun for ever
 * (OpenSSL's `openssl speed`, timed by alarm(), never ended).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "thr_common.h"

#define GIVE_UP_MS 3000
/* A time slice is 10 ms; the host may hold a vCPU for a few of its 4 ms ticks. */
#define TURN_MS 60

static volatile int done;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int waiting, signalled;

/* Spins without a kernel call until `done` is set; the milliseconds since `start` (a clock
 * reading taken before the work was made, so that a lower bound holds however long the host
 * held this vCPU before the spin began), or -1. */
static double spin_until_done_since(int64_t start)
{
	while (!done) {
		if (thr_now_ns() - start > GIVE_UP_MS * 1000000LL)
			return -1;
	}
	return (double)(thr_now_ns() - start) / 1e6;
}

static double spin_until_done(void)
{
	return spin_until_done_since(thr_now_ns());
}

static void *set_done(void *arg)
{
	(void)arg;
	done = 1;
	return NULL;
}

static void *wait_then_set_done(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	waiting = 1;
	while (!signalled)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	done = 1;
	return NULL;
}

static void *sleep_then_set_done(void *arg)
{
	long ms = *(long *)arg;
	struct timespec req = { 0, ms * 1000000L };
	nanosleep(&req, NULL);
	done = 1;
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
	done = 1;
}

static void check_turn(const char *what, double ms, double at_least)
{
	printf("thr_spin_share: %s: %.1f ms\n", what, ms);
	CHECK(ms >= at_least);
	CHECK(ms >= 0 && ms <= at_least + TURN_MS * thr_slack_scale());
}

int main(void)
{
	pthread_t t;

	/* A new thread, queued behind its creator. */
	done = 0;
	CHECK_INT(pthread_create(&t, NULL, set_done, NULL), 0);
	check_turn("a new thread ran beside its spinning creator after", spin_until_done(), 0);
	CHECK_INT(pthread_join(t, NULL), 0);

	/* A thread woken by the spinner. */
	done = 0;
	CHECK_INT(pthread_create(&t, NULL, wait_then_set_done, NULL), 0);
	CHECK(thr_wait_for(&waiting, 1, GIVE_UP_MS));
	usleep(20000); /* it blocks in pthread_cond_wait */
	pthread_mutex_lock(&lock);
	signalled = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	check_turn("a woken thread ran beside the spinning waker after", spin_until_done(), 0);
	CHECK_INT(pthread_join(t, NULL), 0);

	/*
	 * A sleeper whose deadline comes while the spinner runs; the spinner itself slept first,
	 * so its core left the idle loop for it with the timer armed for its wake-up only.
	 */
	done = 0;
	long sleep_ms = 150;
	int64_t start = thr_now_ns();
	CHECK_INT(pthread_create(&t, NULL, sleep_then_set_done, &sleep_ms), 0);
	usleep(50000);
	check_turn("a 150 ms sleeper woke beside the spinner (which slept 50 ms first) after",
		   spin_until_done_since(start), 150);
	CHECK_INT(pthread_join(t, NULL), 0);

	/* SIGALRM from setitimer (the C library's timer thread) while the program computes. */
	done = 0;
	struct sigaction sa = { 0 };
	sa.sa_handler = on_alarm;
	CHECK_INT(sigaction(SIGALRM, &sa, NULL), 0);
	struct itimerval timer = { { 0, 0 }, { 0, 100000 } };
	start = thr_now_ns();
	CHECK_INT(setitimer(ITIMER_REAL, &timer, NULL), 0);
	check_turn("SIGALRM of a 100 ms timer reached the spinner after", spin_until_done_since(start), 100);

	/* alarm(1), as `openssl speed` and classic benchmarks time their loops. */
	done = 0;
	start = thr_now_ns();
	alarm(1);
	check_turn("SIGALRM of alarm(1) reached the spinner after", spin_until_done_since(start), 1000);
	TEST_DONE();
}
