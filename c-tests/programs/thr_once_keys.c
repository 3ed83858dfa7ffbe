/* thr_once_keys.c: pthread_once runs its routine exactly once (nested, many concurrent callers); thread-specific keys hold per-thread values and run destructors at thread exit. */
#include <stdint.h>
#include <unistd.h>
#include "thr_common.h"

/* ---- pthread_once ---- */
static pthread_once_t once_a = PTHREAD_ONCE_INIT, once_b = PTHREAD_ONCE_INIT, once_c = PTHREAD_ONCE_INIT;
static int runs_a, runs_b, runs_c, c_ready;

static void init_b(void)
{
	runs_b++;
}

static void init_a(void)
{
	runs_a++;
	/* A once routine may use pthread_once on another control. */
	CHECK_INT(pthread_once(&once_b, init_b), 0);
	CHECK_INT(runs_b, 1);
}

static void init_c(void)
{
	__atomic_fetch_add(&runs_c, 1, __ATOMIC_ACQ_REL);
	/* Slow, so that the other callers arrive while it runs; they must wait for it. */
	usleep(30000);
	__atomic_store_n(&c_ready, 1, __ATOMIC_RELEASE);
}

#define CALLERS 16
static int gate;

static void *once_caller(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&gate, __ATOMIC_ACQUIRE))
		sched_yield();
	CHECK_INT(pthread_once(&once_c, init_c), 0);
	/* Whoever returns from pthread_once sees the initialisation finished. */
	CHECK_INT(__atomic_load_n(&c_ready, __ATOMIC_ACQUIRE), 1);
	CHECK_INT(pthread_once(&once_a, init_a), 0);
	CHECK_INT(runs_a, 1);
	CHECK_INT(runs_b, 1);
	return NULL;
}

static void once(void)
{
	CHECK_INT(pthread_once(&once_a, init_a), 0);
	CHECK_INT(runs_a, 1);
	CHECK_INT(runs_b, 1);
	CHECK_INT(pthread_once(&once_a, init_a), 0);
	CHECK_INT(pthread_once(&once_b, init_b), 0);
	CHECK_INT(runs_a, 1);
	CHECK_INT(runs_b, 1);

	pthread_t t[CALLERS];
	for (int i = 0; i < CALLERS; i++)
		CHECK_INT(pthread_create(&t[i], NULL, once_caller, NULL), 0);
	__atomic_store_n(&gate, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < CALLERS; i++)
		CHECK_INT(pthread_join(t[i], NULL), 0);
	CHECK_INT(runs_c, 1);
}

/* ---- thread-specific data ---- */
static pthread_key_t key, key_deleted, key_again;
static int destructor_calls, deleted_calls, again_calls;
static long destructor_sum;

static void destructor(void *value)
{
	__atomic_fetch_add(&destructor_calls, 1, __ATOMIC_ACQ_REL);
	__atomic_fetch_add(&destructor_sum, (long)(intptr_t)value, __ATOMIC_ACQ_REL);
	/* During its destructor, the key's value is already NULL. */
	if (pthread_getspecific(key) != NULL)
		TEST_COUNT_FAILURE();
}

static void deleted_destructor(void *value)
{
	(void)value;
	__atomic_fetch_add(&deleted_calls, 1, __ATOMIC_ACQ_REL);
}

/* Sets a new value the first time: it is called once more (PTHREAD_DESTRUCTOR_ITERATIONS). */
static void again_destructor(void *value)
{
	int n = __atomic_add_fetch(&again_calls, 1, __ATOMIC_ACQ_REL);
	if ((intptr_t)value == 1)
		pthread_setspecific(key_again, (void *)2);
	else if ((intptr_t)value != 2)
		TEST_COUNT_FAILURE();
	(void)n;
}

#define KEY_THREADS 8
static int keys_set, key_deleted_now;

static void *key_thread(void *arg)
{
	intptr_t id = (intptr_t)arg;
	/* A new thread starts with NULL values. */
	CHECK(pthread_getspecific(key) == NULL);
	CHECK(pthread_getspecific(key_deleted) == NULL);
	CHECK_INT(pthread_setspecific(key, (void *)(id + 1)), 0);
	CHECK_INT(pthread_setspecific(key_deleted, (void *)(id + 100)), 0);
	__atomic_fetch_add(&keys_set, 1, __ATOMIC_ACQ_REL);
	/* Each thread keeps its own value while the others set theirs. */
	CHECK(thr_wait_for(&keys_set, KEY_THREADS, 5000));
	sched_yield();
	CHECK(pthread_getspecific(key) == (void *)(id + 1));
	/* Wait until main has deleted key_deleted: its destructor must not run at our exit. */
	CHECK(thr_wait_for(&key_deleted_now, 1, 5000));
	if (id == 0)
		CHECK_INT(pthread_setspecific(key, NULL), 0); /* a NULL value: no destructor call */
	if (id == 1)
		CHECK_INT(pthread_setspecific(key_again, (void *)1), 0);
	if (id % 2 == 0)
		pthread_exit(NULL); /* destructors run for pthread_exit and for a return */
	return NULL;
}

static void *recycled_thread(void *arg)
{
	pthread_key_t *k = arg;
	CHECK(pthread_getspecific(*k) == NULL);
	CHECK_INT(pthread_setspecific(*k, (void *)7), 0);
	return NULL;
}

static void keys(void)
{
	CHECK_INT(pthread_key_create(&key, destructor), 0);
	CHECK_INT(pthread_key_create(&key_deleted, deleted_destructor), 0);
	CHECK_INT(pthread_key_create(&key_again, again_destructor), 0);
	CHECK(key != key_deleted && key != key_again && key_deleted != key_again);

	/* The main thread's own value. */
	CHECK(pthread_getspecific(key) == NULL);
	CHECK_INT(pthread_setspecific(key, (void *)1000), 0);
	CHECK(pthread_getspecific(key) == (void *)1000);

	pthread_t t[KEY_THREADS];
	for (int i = 0; i < KEY_THREADS; i++)
		CHECK_INT(pthread_create(&t[i], NULL, key_thread, (void *)(intptr_t)i), 0);
	CHECK(thr_wait_for(&keys_set, KEY_THREADS, 5000));
	CHECK_INT(pthread_key_delete(key_deleted), 0);
	__atomic_store_n(&key_deleted_now, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < KEY_THREADS; i++)
		CHECK_INT(pthread_join(t[i], NULL), 0);

	/* One destructor call per thread with a non-NULL value, with that value. */
	CHECK_INT(destructor_calls, KEY_THREADS - 1);
	CHECK_INT(destructor_sum, (KEY_THREADS * (KEY_THREADS + 1)) / 2 - 1);
	CHECK_INT(deleted_calls, 0);
	CHECK_INT(again_calls, 2);
	/* Threads' values did not touch the main thread's. */
	CHECK(pthread_getspecific(key) == (void *)1000);

	/* A key created after another was deleted starts NULL everywhere, even where the old one had values. */
	CHECK_INT(pthread_setspecific(key_again, (void *)5), 0);
	CHECK_INT(pthread_key_delete(key_again), 0);
	pthread_key_t fresh[64];
	int fresh_null = 1;
	for (int i = 0; i < 64; i++) {
		CHECK_INT(pthread_key_create(&fresh[i], NULL), 0);
		fresh_null = fresh_null && pthread_getspecific(fresh[i]) == NULL;
	}
	CHECK(fresh_null);
	pthread_t r;
	CHECK_INT(pthread_create(&r, NULL, recycled_thread, &fresh[0]), 0);
	CHECK_INT(pthread_join(r, NULL), 0);
	CHECK(pthread_getspecific(fresh[0]) == NULL);
	for (int i = 0; i < 64; i++)
		CHECK_INT(pthread_key_delete(fresh[i]), 0);

	/* Many keys at once, each with its own value. */
	static pthread_key_t many[200];
	int ok = 1;
	for (int i = 0; i < 200; i++) {
		CHECK_INT(pthread_key_create(&many[i], NULL), 0);
		ok = ok && pthread_setspecific(many[i], (void *)(intptr_t)(i * 3 + 1)) == 0;
	}
	for (int i = 0; i < 200; i++)
		ok = ok && pthread_getspecific(many[i]) == (void *)(intptr_t)(i * 3 + 1);
	CHECK(ok);
	for (int i = 0; i < 200; i++)
		CHECK_INT(pthread_key_delete(many[i]), 0);
	CHECK_INT(pthread_key_delete(key), 0);
}

int main(void)
{
	once();
	keys();
	TEST_DONE();
}
