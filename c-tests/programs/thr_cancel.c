/* thr_cancel.c: pthread_cancel at the cancellation points of blocking calls, cleanup handlers, the cancellation state, key destructors on cancellation, with Linux's results. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "test.h"

#define RACES 200

static int order[8];
static int ordered;

static void note(void *arg)
{
	order[ordered++] = (int)(long)arg;
}

/* ---- cleanup handlers without cancellation: pop(1) runs, pop(0) does not, pthread_exit
 * runs what is pushed, innermost first ---- */
static void *exits_inside(void *arg)
{
	(void)arg;
	pthread_cleanup_push(note, (void *)1);
	pthread_cleanup_push(note, (void *)2);
	pthread_cleanup_push(note, (void *)3);
	pthread_cleanup_pop(1);
	pthread_exit((void *)42);
	pthread_cleanup_pop(0);
	pthread_cleanup_pop(0);
	return NULL;
}

static void test_cleanup(void)
{
	ordered = 0;
	pthread_cleanup_push(note, (void *)7);
	pthread_cleanup_pop(0);
	CHECK_INT(ordered, 0);
	pthread_cleanup_push(note, (void *)8);
	pthread_cleanup_pop(1);
	CHECK_INT(ordered, 1);
	CHECK_INT(order[0], 8);

	ordered = 0;
	pthread_t t;
	void *result = NULL;
	CHECK_INT(pthread_create(&t, NULL, exits_inside, NULL), 0);
	CHECK_INT(pthread_join(t, &result), 0);
	CHECK(result == (void *)42);
	CHECK_INT(ordered, 3);
	CHECK_INT(order[0], 3);
	CHECK_INT(order[1], 2);
	CHECK_INT(order[2], 1);
}

/* ---- a thread blocked in each kind of cancellation point ---- */
enum point { SLEEP, NANOSLEEP, READ, RECV, COND, SEM, JOIN, POLL, SELECT, ACCEPT, TESTCANCEL, POINTS };
static const char *const names[POINTS] = { "sleep", "nanosleep", "read", "recv", "cond", "sem", "join",
					   "poll", "select", "accept", "testcancel" };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static sem_t empty;
static int pipe_fds[2], sock_fds[2], listener;
static pthread_t forever;
static volatile int started, cleaned, after_point;

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		sleep(1000);
	return NULL;
}

static void unlock(void *arg)
{
	pthread_mutex_unlock(arg);
	cleaned++;
}

static void count_cleanup(void *arg)
{
	(void)arg;
	cleaned++;
}

static void *blocker(void *arg)
{
	enum point p = (enum point)(long)arg;
	char c;
	struct timespec long_time = { 1000, 0 };
	pthread_cleanup_push(count_cleanup, NULL);
	__atomic_store_n(&started, 1, __ATOMIC_SEQ_CST);
	switch (p) {
	case SLEEP:
		sleep(1000);
		break;
	case NANOSLEEP:
		nanosleep(&long_time, NULL);
		break;
	case READ:
		read(pipe_fds[0], &c, 1);
		break;
	case RECV:
		recv(sock_fds[0], &c, 1, 0);
		break;
	case COND:
		pthread_mutex_lock(&lock);
		/* The handler runs with the mutex held again, and unlocks it. */
		pthread_cleanup_push(unlock, &lock);
		for (;;)
			pthread_cond_wait(&never, &lock);
		pthread_cleanup_pop(1);
		break;
	case SEM:
		sem_wait(&empty);
		break;
	case JOIN:
		pthread_join(forever, NULL);
		break;
	case POLL: {
		struct pollfd pfd = { pipe_fds[0], POLLIN, 0 };
		poll(&pfd, 1, -1);
		break;
	}
	case SELECT: {
		fd_set set;
		FD_ZERO(&set);
		FD_SET(pipe_fds[0], &set);
		select(pipe_fds[0] + 1, &set, NULL, NULL, NULL);
		break;
	}
	case ACCEPT:
		accept(listener, NULL, NULL);
		break;
	case TESTCANCEL:
		for (;;)
			pthread_testcancel();
		break;
	case POINTS:
		break;
	}
	after_point = 1;
	pthread_cleanup_pop(0);
	return NULL;
}

static void test_points(void)
{
	CHECK_INT(pipe(pipe_fds), 0);
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sock_fds), 0);
	CHECK_INT(sem_init(&empty, 0, 0), 0);
	listener = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { 0 };
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path, "\0thr_cancel", 11);
	CHECK_INT(bind(listener, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + 11), 0);
	CHECK_INT(listen(listener, 4), 0);
	CHECK_INT(pthread_create(&forever, NULL, sleeper, NULL), 0);

	for (int p = 0; p < POINTS; p++) {
		started = 0;
		cleaned = 0;
		after_point = 0;
		pthread_t t;
		void *result = NULL;
		CHECK_INT(pthread_create(&t, NULL, blocker, (void *)(long)p), 0);
		while (!__atomic_load_n(&started, __ATOMIC_SEQ_CST))
			usleep(1000);
		usleep(20000);
		CHECK_INT(pthread_cancel(t), 0);
		CHECK_INT(pthread_join(t, &result), 0);
		if (result != PTHREAD_CANCELED)
			fprintf(stderr, "%s: not cancelled\n", names[p]);
		CHECK(result == PTHREAD_CANCELED);
		CHECK_INT(after_point, 0);
		CHECK_INT(cleaned, p == COND ? 2 : 1);
	}
	/* The mutex the cancelled waiter held again was unlocked by its handler. */
	CHECK_INT(pthread_mutex_trylock(&lock), 0);
	CHECK_INT(pthread_mutex_unlock(&lock), 0);

	/* Cancelled while the canceller holds the mutex: the waiter acts once it has it. */
	started = 0;
	cleaned = 0;
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, blocker, (void *)(long)COND), 0);
	while (!__atomic_load_n(&started, __ATOMIC_SEQ_CST))
		usleep(1000);
	usleep(20000);
	CHECK_INT(pthread_mutex_lock(&lock), 0);
	CHECK_INT(pthread_cancel(t), 0);
	usleep(50000);
	CHECK_INT(cleaned, 0);
	CHECK_INT(pthread_mutex_unlock(&lock), 0);
	void *cond_result = NULL;
	CHECK_INT(pthread_join(t, &cond_result), 0);
	CHECK(cond_result == PTHREAD_CANCELED);
	CHECK_INT(cleaned, 2);
	CHECK_INT(pthread_mutex_trylock(&lock), 0);
	CHECK_INT(pthread_mutex_unlock(&lock), 0);
	/* The joined thread was not cancelled by its joiner's cancellation. */
	CHECK_INT(pthread_cancel(forever), 0);
	void *result = NULL;
	CHECK_INT(pthread_join(forever, &result), 0);
	CHECK(result == PTHREAD_CANCELED);
	/* Nothing was consumed: the pipe, socket and semaphore still work. */
	CHECK_INT(write(pipe_fds[1], "p", 1), 1);
	char c;
	CHECK_INT(read(pipe_fds[0], &c, 1), 1);
	CHECK_INT(sem_post(&empty), 0);
	CHECK_INT(sem_trywait(&empty), 0);
	close(listener);
}

/* ---- the state: a disabled thread is not cancelled and its calls block as usual ---- */
static void *disabled(void *arg)
{
	(void)arg;
	int old = -1;
	CHECK_INT(pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old), 0);
	CHECK_INT(old, PTHREAD_CANCEL_ENABLE);
	__atomic_store_n(&started, 1, __ATOMIC_SEQ_CST);
	/* Cancelled meanwhile: the sleep still lasts its 100 ms, the points do not act. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	usleep(100000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	CHECK(ms >= 99.0);
	pthread_testcancel();
	char c;
	CHECK_INT(write(pipe_fds[1], "d", 1), 1);
	CHECK_INT(read(pipe_fds[0], &c, 1), 1);
	after_point = 1;
	CHECK_INT(pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old), 0);
	CHECK_INT(old, PTHREAD_CANCEL_DISABLE);
	/* Enabling is no cancellation point; the next point acts. */
	after_point = 2;
	pthread_testcancel();
	after_point = 3;
	return NULL;
}

static void test_state(void)
{
	int old;
	CHECK_INT(pthread_setcancelstate(5, &old), EINVAL);
	CHECK_INT(pthread_setcanceltype(5, &old), EINVAL);
	CHECK_INT(pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &old), 0);
	CHECK_INT(old, PTHREAD_CANCEL_DEFERRED);

	started = 0;
	after_point = 0;
	pthread_t t;
	void *result = NULL;
	CHECK_INT(pthread_create(&t, NULL, disabled, NULL), 0);
	while (!__atomic_load_n(&started, __ATOMIC_SEQ_CST))
		usleep(1000);
	CHECK_INT(pthread_cancel(t), 0);
	CHECK_INT(pthread_join(t, &result), 0);
	CHECK(result == PTHREAD_CANCELED);
	CHECK_INT(after_point, 2);
}

/* ---- a thread that cancels itself; one that ended first; destructors on cancellation ---- */
static pthread_key_t key;
static int destroyed;

static void destroy(void *value)
{
	CHECK(value == (void *)&destroyed);
	destroyed++;
}

static void *self_cancel(void *arg)
{
	(void)arg;
	CHECK_INT(pthread_setspecific(key, &destroyed), 0);
	CHECK_INT(pthread_cancel(pthread_self()), 0);
	after_point = 1;
	pthread_testcancel();
	after_point = 2;
	return NULL;
}

static void *quick(void *arg)
{
	return arg;
}

static void test_self_and_ended(void)
{
	CHECK_INT(pthread_key_create(&key, destroy), 0);
	after_point = 0;
	pthread_t t;
	void *result = NULL;
	CHECK_INT(pthread_create(&t, NULL, self_cancel, NULL), 0);
	CHECK_INT(pthread_join(t, &result), 0);
	CHECK(result == PTHREAD_CANCELED);
	CHECK_INT(after_point, 1);
	CHECK_INT(destroyed, 1);

	CHECK_INT(pthread_create(&t, NULL, quick, (void *)5), 0);
	usleep(20000);
	CHECK_INT(pthread_cancel(t), 0);
	CHECK_INT(pthread_join(t, &result), 0);
	CHECK(result == (void *)5);
}

/* ---- cancellation right after creation, while the thread starts its read: never lost ---- */
static void *reader(void *arg)
{
	(void)arg;
	char c;
	for (;;)
		read(pipe_fds[0], &c, 1);
	return NULL;
}

static void test_races(void)
{
	int cancelled = 0;
	for (int i = 0; i < RACES; i++) {
		pthread_t t;
		void *result = NULL;
		CHECK_INT(pthread_create(&t, NULL, reader, NULL), 0);
		if (i % 2)
			sched_yield();
		CHECK_INT(pthread_cancel(t), 0);
		CHECK_INT(pthread_join(t, &result), 0);
		cancelled += result == PTHREAD_CANCELED;
	}
	CHECK_INT(cancelled, RACES);
	printf("thr_cancel: %d readers cancelled as they started\n", cancelled);
}

int main(void)
{
	test_cleanup();
	test_points();
	test_state();
	test_self_and_ended();
	test_races();
	printf("thr_cancel: %d cancellation points\n", POINTS);
	TEST_DONE();
}
