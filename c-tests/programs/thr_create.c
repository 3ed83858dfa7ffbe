/* thr_create.c: 1000 threads created and joined (125 alive at once), results, detaching, stack sizes, self/equal, nested pthread_exit, sysconf CPUs. */
#include <semaphore.h>
#include <stdint.h>
#include <unistd.h>
#include "thr_common.h"

#define TOTAL 1000
#define BATCH 125

static sem_t gate;
static int started, detached_done;

static void *batch_thread(void *arg)
{
	intptr_t i = (intptr_t)arg;
	__atomic_fetch_add(&started, 1, __ATOMIC_ACQ_REL);
	while (sem_wait(&gate) != 0)
		CHECK_INT(errno, EINTR);
	return (void *)(i * 7 + 1);
}

/* 1000 threads in batches of 125 that are all alive at once; each returns its own value. */
static void many_threads(void)
{
	CHECK_INT(sem_init(&gate, 0, 0), 0);
	static pthread_t threads[BATCH];
	int created = 0, joined = 0;
	for (int batch = 0; batch < TOTAL / BATCH; batch++) {
		__atomic_store_n(&started, 0, __ATOMIC_RELEASE);
		for (int j = 0; j < BATCH; j++) {
			intptr_t i = batch * BATCH + j;
			int rc = pthread_create(&threads[j], NULL, batch_thread, (void *)i);
			CHECK_INT(rc, 0);
			if (rc != 0)
				return;
			created++;
		}
		/* All of the batch are running (blocked on the gate) at the same time. */
		CHECK(thr_wait_for(&started, BATCH, 10000));
		int distinct = 1;
		for (int j = 0; j < BATCH; j++)
			for (int k = j + 1; k < BATCH; k++)
				distinct = distinct && !pthread_equal(threads[j], threads[k]);
		CHECK(distinct);
		for (int j = 0; j < BATCH; j++)
			CHECK_INT(sem_post(&gate), 0);
		for (int j = 0; j < BATCH; j++) {
			void *result = NULL;
			CHECK_INT(pthread_join(threads[j], &result), 0);
			CHECK_INT((intptr_t)result, (batch * BATCH + j) * 7 + 1);
			joined++;
		}
	}
	CHECK_INT(created, TOTAL);
	CHECK_INT(joined, TOTAL);
	int value = -1;
	CHECK_INT(sem_getvalue(&gate, &value), 0);
	CHECK_INT(value, 0);
	CHECK_INT(sem_destroy(&gate), 0);
}

static void *detached_thread(void *arg)
{
	if (arg != NULL)
		CHECK_INT(pthread_detach(pthread_self()), 0);
	/* Outlives its creator's pthread_detach. (Busy, not asleep: hundreds of short sleepers
	   ending close together make bug-1 hangs likely, see thr_timeout_short_sleeps.) */
	thr_spin_ms(1);
	__atomic_fetch_add(&detached_done, 1, __ATOMIC_ACQ_REL);
	return NULL;
}

static void detached_threads(void)
{
	pthread_attr_t attr;
	int state = -1;
	CHECK_INT(pthread_attr_init(&attr), 0);
	CHECK_INT(pthread_attr_getdetachstate(&attr, &state), 0);
	CHECK_INT(state, PTHREAD_CREATE_JOINABLE);
	CHECK_INT(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED), 0);
	CHECK_INT(pthread_attr_getdetachstate(&attr, &state), 0);
	CHECK_INT(state, PTHREAD_CREATE_DETACHED);
	/* Detached by the attribute, by the creator, and by the thread itself: 3 x 50. */
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 50; i++) {
			pthread_t t;
			CHECK_INT(pthread_create(&t, &attr, detached_thread, NULL), 0);
			CHECK_INT(pthread_create(&t, NULL, detached_thread, NULL), 0);
			CHECK_INT(pthread_detach(t), 0);
			CHECK_INT(pthread_create(&t, NULL, detached_thread, (void *)1), 0);
		}
		CHECK(thr_wait_for(&detached_done, (round + 1) * 150, 10000));
	}
	CHECK_INT(pthread_attr_destroy(&attr), 0);
	/* Give the last ones time to finish exiting; nothing may be counted twice. */
	usleep(20000);
	CHECK_INT(detached_done, 600);
}

/* Touches `bytes` of stack, page by page and at the far end; returns a checksum. */
static __attribute__((noinline)) long touch_stack(size_t bytes)
{
	volatile char big[bytes];
	for (size_t i = 0; i < bytes; i += 512)
		big[i] = (char)(i >> 9);
	big[bytes - 1] = 1;
	long sum = 0;
	for (size_t i = 0; i < bytes; i += 512)
		sum += big[i];
	return sum + big[bytes - 1];
}

static long expected_touch(size_t bytes)
{
	long sum = 0;
	for (size_t i = 0; i < bytes; i += 512)
		sum += (char)(i >> 9);
	return sum + 1;
}

static void *big_stack_thread(void *arg)
{
	size_t bytes = (size_t)arg;
	return (void *)touch_stack(bytes);
}

static void stack_size(void)
{
	pthread_attr_t attr;
	size_t size = 0;
	CHECK_INT(pthread_attr_init(&attr), 0);
	CHECK_INT(pthread_attr_getstacksize(&attr, &size), 0);
	CHECK(size >= PTHREAD_STACK_MIN);
	CHECK_INT(pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN - 1), EINVAL);
	CHECK_INT(pthread_attr_setstacksize(&attr, 1 << 20), 0);
	CHECK_INT(pthread_attr_getstacksize(&attr, &size), 0);
	CHECK_INT(size, 1 << 20);
	/* 960 KiB of a 1 MiB stack: far more than the default 256 KiB. */
	size_t use = 960 * 1024;
	for (int i = 0; i < 4; i++) {
		pthread_t t;
		void *result = NULL;
		CHECK_INT(pthread_create(&t, &attr, big_stack_thread, (void *)use), 0);
		CHECK_INT(pthread_join(t, &result), 0);
		CHECK_INT((long)result, expected_touch(use));
	}
	/* 8 MiB stacks too, two at a time. */
	CHECK_INT(pthread_attr_setstacksize(&attr, 8 << 20), 0);
	pthread_t a, b;
	void *ra = NULL, *rb = NULL;
	size_t use8 = (8 << 20) - 64 * 1024;
	CHECK_INT(pthread_create(&a, &attr, big_stack_thread, (void *)use8), 0);
	CHECK_INT(pthread_create(&b, &attr, big_stack_thread, (void *)use8), 0);
	CHECK_INT(pthread_join(a, &ra), 0);
	CHECK_INT(pthread_join(b, &rb), 0);
	CHECK_INT((long)ra, expected_touch(use8));
	CHECK_INT((long)rb, expected_touch(use8));
	CHECK_INT(pthread_attr_destroy(&attr), 0);
}

static pthread_t main_thread;

static void *self_thread(void *arg)
{
	(void)arg;
	CHECK(pthread_equal(pthread_self(), pthread_self()));
	CHECK(!pthread_equal(pthread_self(), main_thread));
	return (void *)pthread_self();
}

static void self_and_equal(void)
{
	main_thread = pthread_self();
	CHECK(pthread_equal(main_thread, pthread_self()));
	pthread_t t1, t2;
	void *r1 = NULL, *r2 = NULL;
	CHECK_INT(pthread_create(&t1, NULL, self_thread, NULL), 0);
	CHECK_INT(pthread_create(&t2, NULL, self_thread, NULL), 0);
	CHECK(!pthread_equal(t1, t2));
	CHECK(!pthread_equal(t1, main_thread));
	CHECK_INT(pthread_join(t1, &r1), 0);
	CHECK_INT(pthread_join(t2, &r2), 0);
	CHECK(pthread_equal((pthread_t)r1, t1));
	CHECK(pthread_equal((pthread_t)r2, t2));
}

static int after_exit;

static __attribute__((noinline)) void level3(intptr_t v)
{
	pthread_exit((void *)(v * 3));
}

static __attribute__((noinline)) int level2(intptr_t v)
{
	level3(v + 1);
	__atomic_store_n(&after_exit, 1, __ATOMIC_RELEASE);
	return 5;
}

static void *nested_exit_thread(void *arg)
{
	int r = level2((intptr_t)arg);
	__atomic_store_n(&after_exit, r, __ATOMIC_RELEASE);
	return (void *)-1;
}

static void nested_exit(void)
{
	for (intptr_t i = 0; i < 20; i++) {
		pthread_t t;
		void *result = NULL;
		CHECK_INT(pthread_create(&t, NULL, nested_exit_thread, (void *)i), 0);
		CHECK_INT(pthread_join(t, &result), 0);
		CHECK_INT((intptr_t)result, (i + 1) * 3);
	}
	CHECK_INT(after_exit, 0);
}

static int last_ran;

static void *outlive_main(void *arg)
{
	(void)arg;
	usleep(100000);
	__atomic_store_n(&last_ran, 1, __ATOMIC_RELEASE);
	printf("the last thread ends the program after main's pthread_exit\n");
	return NULL;
}

/* exit() in a thread ends the whole program with its status, while other threads still run. */
static void *exiting_thread(void *arg)
{
	(void)arg;
	usleep(20000);
	printf("a thread calls exit(7)\n");
	exit(7);
}

static void *spinning_thread(void *arg)
{
	(void)arg;
	for (;;)
		__asm__ volatile("" ::: "memory");
	return NULL;
}

/* Unbounded recursion in a thread runs into its stack's guard page. */
static volatile int recursion_limit = 1 << 30;

static __attribute__((noinline)) int recurse(volatile char *previous, int depth)
{
	volatile char frame[1024];
	if (depth > recursion_limit)
		return 0;
	frame[0] = (char)depth;
	frame[1023] = previous ? previous[0] : 0;
	return recurse(frame, depth + 1) + frame[1023];
}

static void *overflowing_thread(void *arg)
{
	(void)arg;
	printf("a thread overflows its stack\n");
	fflush(stdout);
	return (void *)(intptr_t)recurse(NULL, 0);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: thr_create <expected CPUs> [main-exit|thread-exit|stack-overflow]\n");
		return 2;
	}
	if (argc > 2 && strcmp(argv[2], "thread-exit") == 0) {
		pthread_t spinner, t;
		CHECK_INT(pthread_create(&spinner, NULL, spinning_thread, NULL), 0);
		CHECK_INT(pthread_create(&t, NULL, exiting_thread, NULL), 0);
		pthread_join(t, NULL);
		return 1; /* not reached: the program ended with status 7 */
	}
	if (argc > 2 && strcmp(argv[2], "stack-overflow") == 0) {
		pthread_t t;
		CHECK_INT(pthread_create(&t, NULL, overflowing_thread, NULL), 0);
		pthread_join(t, NULL);
		return 1; /* not reached */
	}
	if (argc > 2 && strcmp(argv[2], "main-exit") == 0) {
		/* main ends with pthread_exit; the program lives on until the other thread ends. */
		pthread_t t;
		CHECK_INT(pthread_create(&t, NULL, outlive_main, NULL), 0);
		if (test_failures)
			return 1;
		pthread_exit(NULL);
	}
	CHECK_INT(sysconf(_SC_NPROCESSORS_ONLN), atoi(argv[1]));
	int64_t start = thr_now_ns();
	many_threads();
	printf("%d threads created and joined in %.1f ms\n", TOTAL, (thr_now_ns() - start) / 1e6);
	detached_threads();
	stack_size();
	self_and_equal();
	nested_exit();
	TEST_DONE();
}
