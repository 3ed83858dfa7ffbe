/* thr_cond.c: condition variables (bounded buffer, broadcast, static initializer), barriers and rwlocks coordinate threads correctly. */
#include <stdint.h>
#include <unistd.h>
#include "thr_common.h"

/* ---- producers and consumers over a bounded buffer ---- */
#define PRODUCERS 3
#define CONSUMERS 3
#define ITEMS 20000 /* per producer */
#define SLOTS 16

static struct {
	pthread_mutex_t lock;
	pthread_cond_t not_full, not_empty;
	long items[SLOTS];
	int head, count;
} buffer;

static unsigned char consumed[PRODUCERS * ITEMS];
static long consumer_sum[CONSUMERS], consumer_count[CONSUMERS];
static long max_fill;

static void put(long item)
{
	pthread_mutex_lock(&buffer.lock);
	while (buffer.count == SLOTS)
		pthread_cond_wait(&buffer.not_full, &buffer.lock);
	buffer.items[(buffer.head + buffer.count) % SLOTS] = item;
	buffer.count++;
	if (buffer.count > max_fill)
		max_fill = buffer.count;
	pthread_cond_signal(&buffer.not_empty);
	pthread_mutex_unlock(&buffer.lock);
}

static long take(void)
{
	pthread_mutex_lock(&buffer.lock);
	while (buffer.count == 0)
		pthread_cond_wait(&buffer.not_empty, &buffer.lock);
	long item = buffer.items[buffer.head];
	buffer.head = (buffer.head + 1) % SLOTS;
	buffer.count--;
	pthread_cond_signal(&buffer.not_full);
	pthread_mutex_unlock(&buffer.lock);
	return item;
}

static void *producer(void *arg)
{
	long p = (long)(intptr_t)arg;
	for (long i = 0; i < ITEMS; i++)
		put(p * ITEMS + i);
	return NULL;
}

static void *consumer(void *arg)
{
	int c = (int)(intptr_t)arg;
	for (;;) {
		long item = take();
		if (item < 0)
			break;
		if (item >= PRODUCERS * ITEMS || __atomic_fetch_add(&consumed[item], 1, __ATOMIC_RELAXED) != 0)
			TEST_COUNT_FAILURE();
		consumer_sum[c] += item;
		consumer_count[c]++;
	}
	return NULL;
}

static void producers_consumers(void)
{
	CHECK_INT(pthread_mutex_init(&buffer.lock, NULL), 0);
	CHECK_INT(pthread_cond_init(&buffer.not_full, NULL), 0);
	CHECK_INT(pthread_cond_init(&buffer.not_empty, NULL), 0);
	pthread_t prod[PRODUCERS], cons[CONSUMERS];
	int64_t start = thr_now_ns();
	for (int i = 0; i < CONSUMERS; i++)
		CHECK_INT(pthread_create(&cons[i], NULL, consumer, (void *)(intptr_t)i), 0);
	for (int i = 0; i < PRODUCERS; i++)
		CHECK_INT(pthread_create(&prod[i], NULL, producer, (void *)(intptr_t)i), 0);
	for (int i = 0; i < PRODUCERS; i++)
		CHECK_INT(pthread_join(prod[i], NULL), 0);
	for (int i = 0; i < CONSUMERS; i++)
		put(-1); /* one end marker per consumer */
	for (int i = 0; i < CONSUMERS; i++)
		CHECK_INT(pthread_join(cons[i], NULL), 0);
	long n = PRODUCERS * ITEMS, sum = 0, count = 0;
	for (int i = 0; i < CONSUMERS; i++) {
		sum += consumer_sum[i];
		count += consumer_count[i];
	}
	int each_once = 1;
	for (long i = 0; i < n; i++)
		each_once = each_once && consumed[i] == 1;
	printf("%ld items through a %d-slot buffer in %.1f ms (max fill %ld; per consumer %ld %ld %ld)\n", count,
	       SLOTS, (thr_now_ns() - start) / 1e6, max_fill, consumer_count[0], consumer_count[1],
	       consumer_count[2]);
	CHECK(each_once);
	CHECK_INT(count, n);
	CHECK_INT(sum, n * (n - 1) / 2);
	CHECK_INT(buffer.count, 0);
	CHECK_INT(pthread_cond_destroy(&buffer.not_full), 0);
	CHECK_INT(pthread_cond_destroy(&buffer.not_empty), 0);
	CHECK_INT(pthread_mutex_destroy(&buffer.lock), 0);
}

/* ---- broadcast wakes every waiter (static initializers) ---- */
#define WAITERS 6
static pthread_mutex_t bc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bc_cond = PTHREAD_COND_INITIALIZER;
static int bc_round, bc_waiting, bc_woken;

static void *bc_waiter(void *arg)
{
	(void)arg;
	for (int round = 1; round <= 3; round++) {
		pthread_mutex_lock(&bc_lock);
		bc_waiting++;
		while (bc_round < round)
			pthread_cond_wait(&bc_cond, &bc_lock);
		bc_waiting--;
		bc_woken++;
		pthread_mutex_unlock(&bc_lock);
	}
	return NULL;
}

static int bc_read(int *v)
{
	pthread_mutex_lock(&bc_lock);
	int r = *v;
	pthread_mutex_unlock(&bc_lock);
	return r;
}

static void broadcast(void)
{
	pthread_t t[WAITERS];
	for (int i = 0; i < WAITERS; i++)
		CHECK_INT(pthread_create(&t[i], NULL, bc_waiter, NULL), 0);
	for (int round = 1; round <= 3; round++) {
		/* All waiters are blocked in pthread_cond_wait (they counted themselves under the lock). */
		int64_t end = thr_now_ns() + 5000000000LL;
		while (bc_read(&bc_waiting) < WAITERS && thr_now_ns() < end)
			sched_yield(); /* (not 1 ms sleeps: they can hang, see thr_timeout_short_sleeps) */
		CHECK_INT(bc_read(&bc_waiting), WAITERS);
		thr_spin_ms(5); /* let the last one get from the mutex into the futex wait */
		pthread_mutex_lock(&bc_lock);
		bc_round = round;
		CHECK_INT(pthread_cond_broadcast(&bc_cond), 0);
		pthread_mutex_unlock(&bc_lock);
		/* One broadcast is enough for all of them. */
		end = thr_now_ns() + 5000000000LL;
		while (bc_read(&bc_woken) < WAITERS * round && thr_now_ns() < end)
			sched_yield();
		CHECK_INT(bc_read(&bc_woken), WAITERS * round);
		if (bc_read(&bc_woken) < WAITERS * round)
			break;
	}
	for (int i = 0; i < WAITERS; i++)
		CHECK_INT(pthread_join(t[i], NULL), 0);
	/* Signalling without waiters is harmless. */
	CHECK_INT(pthread_cond_signal(&bc_cond), 0);
	CHECK_INT(pthread_cond_broadcast(&bc_cond), 0);
}

/* ---- barriers: everyone arrives before anyone leaves; one serial thread per round ---- */
#define BARRIER_THREADS 4
#define ROUNDS 2000
static pthread_barrier_t barrier;
static int arrivals[BARRIER_THREADS];
static int serial[ROUNDS];

static void *barrier_thread(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int round = 0; round < ROUNDS; round++) {
		__atomic_store_n(&arrivals[id], round + 1, __ATOMIC_RELEASE);
		int rc = pthread_barrier_wait(&barrier);
		if (rc == PTHREAD_BARRIER_SERIAL_THREAD)
			__atomic_fetch_add(&serial[round], 1, __ATOMIC_RELAXED);
		else if (rc != 0)
			TEST_COUNT_FAILURE();
		for (int j = 0; j < BARRIER_THREADS; j++)
			if (__atomic_load_n(&arrivals[j], __ATOMIC_ACQUIRE) < round + 1) {
				fprintf(stderr, "round %d: thread %d left the barrier before thread %d arrived\n", round,
					id, j);
				TEST_COUNT_FAILURE();
			}
		if (round % 100 == id)
			sched_yield();
	}
	return NULL;
}

static void barriers(void)
{
	pthread_barrierattr_t attr;
	CHECK_INT(pthread_barrierattr_init(&attr), 0);
	CHECK_INT(pthread_barrier_init(&barrier, &attr, BARRIER_THREADS), 0);
	CHECK_INT(pthread_barrierattr_destroy(&attr), 0);
	pthread_t t[BARRIER_THREADS];
	int64_t start = thr_now_ns();
	for (int i = 0; i < BARRIER_THREADS; i++)
		CHECK_INT(pthread_create(&t[i], NULL, barrier_thread, (void *)(intptr_t)i), 0);
	for (int i = 0; i < BARRIER_THREADS; i++)
		CHECK_INT(pthread_join(t[i], NULL), 0);
	int one_each = 1;
	for (int r = 0; r < ROUNDS; r++)
		if (serial[r] != 1) {
			if (one_each)
				fprintf(stderr, "round %d had %d serial threads\n", r, serial[r]);
			one_each = 0;
		}
	printf("%d barrier rounds of %d threads in %.1f ms\n", ROUNDS, BARRIER_THREADS, (thr_now_ns() - start) / 1e6);
	CHECK(one_each);
	CHECK_INT(pthread_barrier_destroy(&barrier), 0);
	/* A count of zero is invalid. */
	pthread_barrier_t bad;
	CHECK_INT(pthread_barrier_init(&bad, NULL, 0), EINVAL);
}

/* ---- rwlocks: readers share, writers are exclusive ---- */
#define READERS 4
#define WRITERS 2
static pthread_rwlock_t rw;
static int readers_in, writers_in, max_readers, rw_errors, rw_stop;
static long rw_value, reads_done, writes_done;

static void *rw_reader(void *arg)
{
	(void)arg;
	long n = 0;
	while (!__atomic_load_n(&rw_stop, __ATOMIC_ACQUIRE)) {
		n++;
		pthread_rwlock_rdlock(&rw);
		int r = __atomic_add_fetch(&readers_in, 1, __ATOMIC_ACQ_REL);
		int m = __atomic_load_n(&max_readers, __ATOMIC_RELAXED);
		while (r > m && !__atomic_compare_exchange_n(&max_readers, &m, r, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
		if (__atomic_load_n(&writers_in, __ATOMIC_ACQUIRE) != 0)
			__atomic_fetch_add(&rw_errors, 1, __ATOMIC_RELAXED);
		long v = rw_value;
		for (int k = 0; k < 200; k++)
			__asm__ volatile("" ::: "memory");
		if (rw_value != v || v % 2 != 0) /* a writer would leave it odd for a while */
			__atomic_fetch_add(&rw_errors, 1, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&readers_in, 1, __ATOMIC_ACQ_REL);
		pthread_rwlock_unlock(&rw);
	}
	__atomic_fetch_add(&reads_done, n, __ATOMIC_RELAXED);
	return NULL;
}

static void *rw_writer(void *arg)
{
	(void)arg;
	long n = 0;
	for (int i = 0; !__atomic_load_n(&rw_stop, __ATOMIC_ACQUIRE); i++) {
		n++;
		pthread_rwlock_wrlock(&rw);
		if (__atomic_add_fetch(&writers_in, 1, __ATOMIC_ACQ_REL) != 1 ||
		    __atomic_load_n(&readers_in, __ATOMIC_ACQUIRE) != 0)
			__atomic_fetch_add(&rw_errors, 1, __ATOMIC_RELAXED);
		rw_value++;
		for (int k = 0; k < 200; k++)
			__asm__ volatile("" ::: "memory");
		rw_value++;
		__atomic_sub_fetch(&writers_in, 1, __ATOMIC_ACQ_REL);
		pthread_rwlock_unlock(&rw);
		if (i % 10 == 0)
			sched_yield();
	}
	__atomic_fetch_add(&writes_done, n, __ATOMIC_RELAXED);
	return NULL;
}

static int rendezvous;
static int try_rd, try_wr;

static void *rw_meet(void *arg)
{
	(void)arg;
	/* Three readers inside at once: each waits inside until all three are. */
	CHECK_INT(pthread_rwlock_rdlock(&rw), 0);
	__atomic_fetch_add(&rendezvous, 1, __ATOMIC_ACQ_REL);
	CHECK(thr_wait_for(&rendezvous, 3, 5000));
	CHECK_INT(pthread_rwlock_unlock(&rw), 0);
	return NULL;
}

static void *rw_try(void *arg)
{
	(void)arg;
	try_rd = pthread_rwlock_tryrdlock(&rw);
	if (try_rd == 0)
		pthread_rwlock_unlock(&rw);
	try_wr = pthread_rwlock_trywrlock(&rw);
	if (try_wr == 0)
		pthread_rwlock_unlock(&rw);
	return NULL;
}

static void run_try(int expect_rd, int expect_wr)
{
	pthread_t t;
	try_rd = try_wr = -1;
	CHECK_INT(pthread_create(&t, NULL, rw_try, NULL), 0);
	CHECK_INT(pthread_join(t, NULL), 0);
	CHECK_INT(try_rd, expect_rd);
	CHECK_INT(try_wr, expect_wr);
}

static void rwlocks(void)
{
	pthread_rwlockattr_t attr;
	CHECK_INT(pthread_rwlockattr_init(&attr), 0);
	CHECK_INT(pthread_rwlock_init(&rw, &attr), 0);
	CHECK_INT(pthread_rwlockattr_destroy(&attr), 0);

	pthread_t t[READERS + WRITERS];
	int64_t start = thr_now_ns();
	for (int i = 0; i < READERS + WRITERS; i++)
		CHECK_INT(pthread_create(&t[i], NULL, i < READERS ? rw_reader : rw_writer, NULL), 0);
	usleep(200000);
	__atomic_store_n(&rw_stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < READERS + WRITERS; i++)
		CHECK_INT(pthread_join(t[i], NULL), 0);
	printf("rwlock: %d readers, %d writers for %.1f ms: %ld reads, %ld writes, up to %d readers inside at once\n",
	       READERS, WRITERS, (thr_now_ns() - start) / 1e6, reads_done, writes_done, max_readers);
	CHECK_INT(rw_errors, 0);
	CHECK(reads_done > 0 && writes_done > 0);
	CHECK_INT(rw_value, writes_done * 2);

	pthread_t m[3];
	for (int i = 0; i < 3; i++)
		CHECK_INT(pthread_create(&m[i], NULL, rw_meet, NULL), 0);
	for (int i = 0; i < 3; i++)
		CHECK_INT(pthread_join(m[i], NULL), 0);
	CHECK_INT(rendezvous, 3);

	/* Try-locks: a read-held lock admits readers, not writers; a write-held lock neither. */
	run_try(0, 0);
	CHECK_INT(pthread_rwlock_rdlock(&rw), 0);
	run_try(0, EBUSY);
	CHECK_INT(pthread_rwlock_trywrlock(&rw), EBUSY);
	CHECK_INT(pthread_rwlock_unlock(&rw), 0);
	CHECK_INT(pthread_rwlock_wrlock(&rw), 0);
	run_try(EBUSY, EBUSY);
	CHECK_INT(pthread_rwlock_tryrdlock(&rw), EBUSY);
	CHECK_INT(pthread_rwlock_unlock(&rw), 0);
	run_try(0, 0);
	CHECK_INT(pthread_rwlock_destroy(&rw), 0);

	/* A statically initialised rwlock. */
	static pthread_rwlock_t srw = PTHREAD_RWLOCK_INITIALIZER;
	CHECK_INT(pthread_rwlock_rdlock(&srw), 0);
	CHECK_INT(pthread_rwlock_tryrdlock(&srw), 0);
	CHECK_INT(pthread_rwlock_trywrlock(&srw), EBUSY);
	CHECK_INT(pthread_rwlock_unlock(&srw), 0);
	CHECK_INT(pthread_rwlock_unlock(&srw), 0);
	CHECK_INT(pthread_rwlock_trywrlock(&srw), 0);
	CHECK_INT(pthread_rwlock_unlock(&srw), 0);
}

int main(void)
{
	producers_consumers();
	broadcast();
	barriers();
	rwlocks();
	TEST_DONE();
}
