/* thr_legacy_link.c: an application that brings its own pthread and semaphore functions (like one linked with pthread-embedded's libpthread.a) links against libhermit.a and uses its own. */
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include "test.h"
#include "thr_legacy.h"

#define THREADS 4
#define INCREMENTS 20000

static pthread_mutex_t lock;
static sem_t started;
static volatile long counter;
static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;
static __thread int tls_value = 5;

static void init_once(void)
{
	__atomic_fetch_add(&once_runs, 1, __ATOMIC_RELAXED);
}

static void *worker(void *arg)
{
	intptr_t id = (intptr_t)arg;
	CHECK_INT(sem_post(&started), 0);
	/* The kernel's own functions (not overridden) work in these threads too. */
	CHECK_INT(pthread_once(&once, init_once), 0);
	CHECK(pthread_getspecific(key) == NULL);
	CHECK_INT(pthread_setspecific(key, (void *)(id + 1)), 0);
	CHECK_INT(tls_value, 5);
	tls_value = (int)id;
	for (int i = 0; i < INCREMENTS; i++) {
		pthread_mutex_lock(&lock);
		long v = counter;
		for (int k = 0; k < 20; k++)
			__asm__ volatile("" ::: "memory");
		counter = v + 1;
		pthread_mutex_unlock(&lock);
	}
	CHECK(pthread_getspecific(key) == (void *)(id + 1));
	CHECK_INT(tls_value, id);
	return (void *)(id * 10);
}

int main(void)
{
	CHECK_INT(pthread_mutex_init(&lock, NULL), 0);
	CHECK_INT(sem_init(&started, 0, 0), 0);
	CHECK_INT(pthread_key_create(&key, NULL), 0);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		CHECK_INT(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		CHECK_INT(sem_wait(&started), 0);
	for (int i = 0; i < THREADS; i++) {
		void *result = NULL;
		CHECK_INT(pthread_join(t[i], &result), 0);
		CHECK_INT((intptr_t)result, i * 10);
	}
	CHECK_INT(counter, THREADS * INCREMENTS);
	CHECK_INT(once_runs, 1);
	CHECK_INT(sem_destroy(&started), 0);
	CHECK_INT(pthread_key_delete(key), 0);
#ifdef __hermit__
	/* The application's definitions ran, every time. */
	printf("own definitions called: create %d, join %d, mutex_lock %d, mutex_unlock %d, sem_post %d, sem_wait %d\n",
	       legacy_calls.create, legacy_calls.join, legacy_calls.mutex_lock, legacy_calls.mutex_unlock,
	       legacy_calls.sem_post, legacy_calls.sem_wait);
	CHECK_INT(legacy_calls.create, THREADS);
	CHECK_INT(legacy_calls.join, THREADS);
	CHECK_INT(legacy_calls.mutex_init, 1);
	CHECK_INT(legacy_calls.mutex_lock, THREADS * INCREMENTS);
	CHECK_INT(legacy_calls.mutex_unlock, THREADS * INCREMENTS);
	CHECK_INT(legacy_calls.sem_init, 1);
	CHECK_INT(legacy_calls.sem_post, THREADS);
	CHECK_INT(legacy_calls.sem_wait, THREADS);
	CHECK_INT(legacy_calls.sem_destroy, 1);
#endif
	TEST_DONE();
}
