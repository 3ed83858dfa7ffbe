/* thr_timeout.c: timed waits (sem_timedwait, pthread_cond_timedwait on both clocks) time out on time; semaphores, sleeps and sched_yield behave. */
#include <semaphore.h>
#include <stdint.h>
#include <unistd.h>
#include "thr_common.h"

#define WAIT_MS 200
#define SLACK 0.10

/* The timed waits, run both in the main thread and, at the same time, in another thread. */
static void *timed_waits(void *arg)
{
	const char *who = arg;
	sem_t sem;
	CHECK_INT(sem_init(&sem, 0, 0), 0);

	/* The clock is read for the start before the deadline: a task preempted between the
	 * two reads (8 vCPUs on 2 host CPUs under QEMU) otherwise measured 199.4 ms for a
	 * wait that was on time. */
	int64_t start = thr_now_ns();
	struct timespec deadline = thr_deadline(CLOCK_REALTIME, WAIT_MS);
	int rc = sem_timedwait(&sem, &deadline);
	int err = errno;
	int64_t elapsed = thr_now_ns() - start;
	CHECK_INT(rc, -1);
	CHECK_INT(err, ETIMEDOUT);
	CHECK_ELAPSED(elapsed, WAIT_MS, SLACK);
	printf("%s: sem_timedwait %d ms took %.2f ms\n", who, WAIT_MS, elapsed / 1e6);

	pthread_mutex_t lock;
	pthread_cond_t cond;
	CHECK_INT(pthread_mutex_init(&lock, NULL), 0);
	CHECK_INT(pthread_cond_init(&cond, NULL), 0);
	CHECK_INT(pthread_mutex_lock(&lock), 0);
	start = thr_now_ns();
	deadline = thr_deadline(CLOCK_REALTIME, WAIT_MS);
	rc = pthread_cond_timedwait(&cond, &lock, &deadline);
	elapsed = thr_now_ns() - start;
	CHECK_INT(rc, ETIMEDOUT);
	CHECK_ELAPSED(elapsed, WAIT_MS, SLACK);
	/* The mutex is held again after a timeout. */
	CHECK_INT(pthread_mutex_trylock(&lock), EBUSY);
	CHECK_INT(pthread_mutex_unlock(&lock), 0);
	printf("%s: pthread_cond_timedwait (realtime) %d ms took %.2f ms\n", who, WAIT_MS, elapsed / 1e6);
	CHECK_INT(pthread_cond_destroy(&cond), 0);

	/* A condition variable on CLOCK_MONOTONIC takes a monotonic deadline. */
	pthread_condattr_t attr;
	clockid_t clock = -1;
	CHECK_INT(pthread_condattr_init(&attr), 0);
	CHECK_INT(pthread_condattr_getclock(&attr, &clock), 0);
	CHECK_INT(clock, CLOCK_REALTIME);
	CHECK_INT(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC), 0);
	CHECK_INT(pthread_condattr_getclock(&attr, &clock), 0);
	CHECK_INT(clock, CLOCK_MONOTONIC);
	CHECK_INT(pthread_cond_init(&cond, &attr), 0);
	CHECK_INT(pthread_condattr_destroy(&attr), 0);
	CHECK_INT(pthread_mutex_lock(&lock), 0);
	start = thr_now_ns();
	deadline = thr_deadline(CLOCK_MONOTONIC, WAIT_MS);
	rc = pthread_cond_timedwait(&cond, &lock, &deadline);
	elapsed = thr_now_ns() - start;
	CHECK_INT(rc, ETIMEDOUT);
	CHECK_ELAPSED(elapsed, WAIT_MS, SLACK);
	CHECK_INT(pthread_mutex_unlock(&lock), 0);
	printf("%s: pthread_cond_timedwait (monotonic) %d ms took %.2f ms\n", who, WAIT_MS, elapsed / 1e6);

	/* Deadlines already past time out at once. */
	CHECK_INT(pthread_mutex_lock(&lock), 0);
	start = thr_now_ns();
	deadline = thr_deadline(CLOCK_MONOTONIC, -500);
	CHECK_INT(pthread_cond_timedwait(&cond, &lock, &deadline), ETIMEDOUT);
	CHECK(thr_now_ns() - start < 20000000);
	CHECK_INT(pthread_mutex_unlock(&lock), 0);
	start = thr_now_ns();
	deadline = thr_deadline(CLOCK_REALTIME, -500);
	CHECK_INT(sem_timedwait(&sem, &deadline), -1);
	CHECK_INT(errno, ETIMEDOUT);
	CHECK(thr_now_ns() - start < 20000000);
	/* An invalid deadline on a wait that would block: EINVAL. */
	deadline.tv_nsec = 1000000000L;
	CHECK_INT(sem_timedwait(&sem, &deadline), -1);
	CHECK_INT(errno, EINVAL);

	CHECK_INT(pthread_cond_destroy(&cond), 0);
	CHECK_INT(pthread_mutex_destroy(&lock), 0);
	CHECK_INT(sem_destroy(&sem), 0);
	return NULL;
}

/* ---- semaphores: counting, trywait, getvalue, a post waking a waiter ---- */
static sem_t wake_sem;
static int64_t woke_at;

static void *sem_waiter(void *arg)
{
	(void)arg;
	int rc;
	while ((rc = sem_wait(&wake_sem)) != 0 && errno == EINTR)
		;
	CHECK_INT(rc, 0);
	woke_at = thr_now_ns();
	return NULL;
}

static void *sem_timed_waiter(void *arg)
{
	(void)arg;
	struct timespec deadline = thr_deadline(CLOCK_REALTIME, 5000);
	CHECK_INT(sem_timedwait(&wake_sem, &deadline), 0);
	woke_at = thr_now_ns();
	return NULL;
}

static void semaphores(void)
{
	sem_t sem;
	int value = -1;
	CHECK_INT(sem_init(&sem, 0, 3), 0);
	CHECK_INT(sem_getvalue(&sem, &value), 0);
	CHECK_INT(value, 3);
	for (int i = 0; i < 3; i++)
		CHECK_INT(sem_trywait(&sem), 0);
	errno = 0;
	CHECK_INT(sem_trywait(&sem), -1);
	CHECK_INT(errno, EAGAIN);
	CHECK_INT(sem_getvalue(&sem, &value), 0);
	CHECK_INT(value, 0);
	for (int i = 0; i < 5; i++)
		CHECK_INT(sem_post(&sem), 0);
	CHECK_INT(sem_getvalue(&sem, &value), 0);
	CHECK_INT(value, 5);
	CHECK_INT(sem_wait(&sem), 0);
	int64_t start = thr_now_ns();
	struct timespec deadline = thr_deadline(CLOCK_REALTIME, 1000);
	CHECK_INT(sem_timedwait(&sem, &deadline), 0); /* available: no wait */
	CHECK(thr_now_ns() - start < 20000000);
	CHECK_INT(sem_getvalue(&sem, &value), 0);
	CHECK_INT(value, 3);
	CHECK_INT(sem_destroy(&sem), 0);

	/* A post wakes a thread blocked in sem_wait, and one in sem_timedwait, promptly. */
	void *(*waiters[2])(void *) = { sem_waiter, sem_timed_waiter };
	for (int w = 0; w < 2; w++) {
		CHECK_INT(sem_init(&wake_sem, 0, 0), 0);
		pthread_t t;
		woke_at = 0;
		CHECK_INT(pthread_create(&t, NULL, waiters[w], NULL), 0);
		usleep(50000);
		CHECK(woke_at == 0);
		int64_t posted = thr_now_ns();
		CHECK_INT(sem_post(&wake_sem), 0);
		CHECK_INT(pthread_join(t, NULL), 0);
		CHECK(woke_at >= posted);
		CHECK(woke_at - posted < 50000000);
		printf("sem_post woke a %s waiter after %.3f ms\n", w ? "sem_timedwait" : "sem_wait",
		       (woke_at - posted) / 1e6);
		CHECK_INT(sem_getvalue(&wake_sem, &value), 0);
		CHECK_INT(value, 0);
		CHECK_INT(sem_destroy(&wake_sem), 0);
	}
}

/* ---- sleeping and yielding ---- */
static void sleeps(void)
{
	struct timespec req = { 0, WAIT_MS * 1000000L }, rem = { 1, 1 };
	int64_t start = thr_now_ns();
	CHECK_INT(nanosleep(&req, &rem), 0);
	int64_t elapsed = thr_now_ns() - start;
	CHECK_ELAPSED(elapsed, WAIT_MS, SLACK);
	printf("nanosleep %d ms took %.2f ms\n", WAIT_MS, elapsed / 1e6);

	start = thr_now_ns();
	CHECK_INT(usleep(100000), 0);
	elapsed = thr_now_ns() - start;
	CHECK_ELAPSED(elapsed, 100, SLACK);
	printf("usleep 100 ms took %.2f ms\n", elapsed / 1e6);

	struct timespec bad = { 0, 1000000000L };
	errno = 0;
	CHECK_INT(nanosleep(&bad, NULL), -1);
	CHECK_INT(errno, EINVAL);
	bad.tv_sec = -1;
	bad.tv_nsec = 0;
	CHECK_INT(nanosleep(&bad, NULL), -1);
	CHECK_INT(errno, EINVAL);

	start = thr_now_ns();
	for (int i = 0; i < 1000; i++)
		CHECK_INT(sched_yield(), 0);
	CHECK(thr_now_ns() - start < 100000000);
}

/*
 * Many short sleeps (0.6 to 2 ms): none shorter than asked, on average at most 0.25 ms longer
 * (times thr_slack_scale() when the vCPUs outnumber the host's CPUs).
 */
static void short_sleeps(void)
{
	static const long lengths_us[] = { 600, 800, 1000, 2000 };
	for (unsigned l = 0; l < sizeof(lengths_us) / sizeof(lengths_us[0]); l++) {
		long us = lengths_us[l];
		int64_t total = 0, worst = 0;
		for (int i = 0; i < 500; i++) {
			int64_t start = thr_now_ns();
			usleep(us);
			int64_t elapsed = thr_now_ns() - start;
			if (elapsed < us * 1000) {
				fprintf(stderr, "usleep(%ld) took only %lld ns\n", us, (long long)elapsed);
				TEST_COUNT_FAILURE();
			}
			total += elapsed;
			worst = elapsed > worst ? elapsed : worst;
		}
		CHECK(total >= 500 * us * 1000LL && total <= 500 * (us + 250 * thr_slack_scale()) * 1000LL);
		printf("500 x usleep %ld us took %.2f ms (longest %.3f ms)\n", us, total / 1e6, worst / 1e6);
	}
}

/* sched_yield lets another thread of the same priority on this core run. */
static int yield_turns[2];
static int yield_stop;

static void *yielder(void *arg)
{
	int id = (int)(intptr_t)arg;
	while (!__atomic_load_n(&yield_stop, __ATOMIC_ACQUIRE)) {
		__atomic_fetch_add(&yield_turns[id], 1, __ATOMIC_RELAXED);
		sched_yield();
	}
	return NULL;
}

static void yields(void)
{
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		CHECK_INT(pthread_create(&t[i], NULL, yielder, (void *)(intptr_t)i), 0);
	usleep(50000);
	__atomic_store_n(&yield_stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		CHECK_INT(pthread_join(t[i], NULL), 0);
	printf("two yielding threads: %d and %d turns in 50 ms\n", yield_turns[0], yield_turns[1]);
	CHECK(yield_turns[0] > 100 && yield_turns[1] > 100);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "short-sleeps") == 0) {
		short_sleeps();
		TEST_DONE();
	}
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, timed_waits, "thread"), 0);
	timed_waits("main");
	CHECK_INT(pthread_join(t, NULL), 0);
	semaphores();
	sleeps();
	yields();
	TEST_DONE();
}
