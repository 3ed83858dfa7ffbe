/* thr_rwlock.c: readers and writers hammer one rwlock in many short rounds; no waiter is ever lost (a reader giving way to writers used to sleep forever). */
#include <stdint.h>
#include <unistd.h>
#include "thr_common.h"

#define READERS 4
#define WRITERS 2
#define ROUNDS 30
#define ROUND_MS 30
#define STUCK_MS 5000 /* a thread that has not ended this long after the stop is lost */

static pthread_rwlock_t rw;
static int stop, ended[READERS + WRITERS], readers_in, writers_in, errors;
static long value, progress[READERS + WRITERS];

static void *reader(void *arg)
{
	int id = (int)(intptr_t)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		CHECK_INT(pthread_rwlock_rdlock(&rw), 0);
		__atomic_add_fetch(&readers_in, 1, __ATOMIC_ACQ_REL);
		if (__atomic_load_n(&writers_in, __ATOMIC_ACQUIRE) != 0 || value % 2 != 0)
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
		for (int k = 0; k < 200; k++)
			__asm__ volatile("" ::: "memory");
		__atomic_sub_fetch(&readers_in, 1, __ATOMIC_ACQ_REL);
		CHECK_INT(pthread_rwlock_unlock(&rw), 0);
		__atomic_add_fetch(&progress[id], 1, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&ended[id], 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *writer(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; !__atomic_load_n(&stop, __ATOMIC_ACQUIRE); i++) {
		CHECK_INT(pthread_rwlock_wrlock(&rw), 0);
		if (__atomic_add_fetch(&writers_in, 1, __ATOMIC_ACQ_REL) != 1 ||
		    __atomic_load_n(&readers_in, __ATOMIC_ACQUIRE) != 0)
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
		value++;
		for (int k = 0; k < 50; k++)
			__asm__ volatile("" ::: "memory");
		value++;
		__atomic_sub_fetch(&writers_in, 1, __ATOMIC_ACQ_REL);
		CHECK_INT(pthread_rwlock_unlock(&rw), 0);
		__atomic_add_fetch(&progress[id], 1, __ATOMIC_RELAXED);
		if (i % 10 == 0)
			sched_yield();
	}
	__atomic_store_n(&ended[id], 1, __ATOMIC_RELEASE);
	return NULL;
}

int main(void)
{
	long reads = 0, writes = 0;
	for (int round = 0; round < ROUNDS; round++) {
		CHECK_INT(pthread_rwlock_init(&rw, NULL), 0);
		__atomic_store_n(&stop, 0, __ATOMIC_RELEASE);
		pthread_t t[READERS + WRITERS];
		for (int i = 0; i < READERS + WRITERS; i++) {
			ended[i] = 0;
			progress[i] = 0;
			CHECK_INT(pthread_create(&t[i], NULL, i < READERS ? reader : writer, (void *)(intptr_t)i), 0);
		}
		usleep(ROUND_MS * 1000);
		__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
		/* Every thread ends soon after the stop; one that does not waits for a wake-up that was lost. */
		for (int i = 0; i < READERS + WRITERS; i++) {
			if (!thr_wait_for(&ended[i], 1, STUCK_MS)) {
				fprintf(stderr, "round %d: %s %d did not end within %d ms of the stop (%ld turns before)\n",
					round, i < READERS ? "reader" : "writer", i, STUCK_MS, progress[i]);
				TEST_COUNT_FAILURE();
				TEST_DONE(); /* (a lost thread cannot be joined) */
			}
		}
		for (int i = 0; i < READERS + WRITERS; i++) {
			CHECK_INT(pthread_join(t[i], NULL), 0);
			*(i < READERS ? &reads : &writes) += progress[i];
		}
		CHECK_INT(pthread_rwlock_destroy(&rw), 0);
	}
	printf("%d rounds of %d readers and %d writers: %ld reads, %ld writes, every thread ended\n", ROUNDS, READERS,
	       WRITERS, reads, writes);
	CHECK_INT(errors, 0);
	CHECK_INT(value, 2 * writes);
	TEST_DONE();
}
