/* thr_mutex.c: mutexes (normal, recursive, error-checking, static, timed, trylock) and spin locks keep shared counters exact under contention. */
#include <stdint.h>
#include <unistd.h>
#include "thr_common.h"

#define WORKERS 4
#define INCREMENTS 200000

static pthread_mutex_t static_lock = PTHREAD_MUTEX_INITIALIZER;
#ifdef PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP
static pthread_mutex_t static_recursive = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
#endif

/* A counter whose read-modify-write is deliberately split, so that unprotected updates get lost. */
static volatile long counter;
static int inside;
static long busy_seen; /* trylock failures: a holder was preempted or ran in parallel */

static inline void bump(void)
{
	/* At most one thread between lock and unlock. */
	if (__atomic_add_fetch(&inside, 1, __ATOMIC_ACQ_REL) != 1)
		TEST_COUNT_FAILURE();
	long v = counter;
	/* Some work inside, so that preemption often lands in the critical section. */
	for (int i = 0; i < 150; i++)
		__asm__ volatile("" ::: "memory");
	counter = v + 1;
	__atomic_sub_fetch(&inside, 1, __ATOMIC_ACQ_REL);
}

struct hammer {
	pthread_mutex_t *mutex;
	pthread_spinlock_t *spin;
	int use_trylock;
	int depth; /* recursive locking depth */
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	for (int i = 0; i < INCREMENTS; i++) {
		if (h->spin) {
			if (pthread_spin_lock(h->spin) != 0)
				TEST_COUNT_FAILURE();
			bump();
			if (pthread_spin_unlock(h->spin) != 0)
				TEST_COUNT_FAILURE();
			continue;
		}
		if (h->use_trylock) {
			int rc;
			while ((rc = pthread_mutex_trylock(h->mutex)) == EBUSY) {
				__atomic_fetch_add(&busy_seen, 1, __ATOMIC_RELAXED);
				sched_yield();
			}
			if (rc != 0)
				TEST_COUNT_FAILURE();
		} else {
			for (int d = 0; d < h->depth; d++)
				if (pthread_mutex_lock(h->mutex) != 0)
					TEST_COUNT_FAILURE();
		}
		bump();
		for (int d = 0; d < (h->use_trylock ? 1 : h->depth); d++)
			if (pthread_mutex_unlock(h->mutex) != 0)
				TEST_COUNT_FAILURE();
	}
	return NULL;
}

static void hammer(const char *what, struct hammer *h)
{
	pthread_t threads[WORKERS];
	counter = 0;
	int64_t start = thr_now_ns();
	for (int i = 0; i < WORKERS; i++)
		CHECK_INT(pthread_create(&threads[i], NULL, hammer_thread, h), 0);
	for (int i = 0; i < WORKERS; i++)
		CHECK_INT(pthread_join(threads[i], NULL), 0);
	printf("%-22s %d x %d increments in %6.1f ms\n", what, WORKERS, INCREMENTS, (thr_now_ns() - start) / 1e6);
	CHECK_INT(counter, (long)WORKERS * INCREMENTS);
}

static void init_mutex(pthread_mutex_t *m, int type)
{
	pthread_mutexattr_t attr;
	int got = -1;
	CHECK_INT(pthread_mutexattr_init(&attr), 0);
	CHECK_INT(pthread_mutexattr_settype(&attr, type), 0);
	CHECK_INT(pthread_mutexattr_gettype(&attr, &got), 0);
	CHECK_INT(got, type);
	CHECK_INT(pthread_mutex_init(m, &attr), 0);
	CHECK_INT(pthread_mutexattr_destroy(&attr), 0);
}

static void counters(void)
{
	pthread_mutex_t normal, recursive, errorcheck;
	pthread_spinlock_t spin;
	init_mutex(&normal, PTHREAD_MUTEX_NORMAL);
	init_mutex(&recursive, PTHREAD_MUTEX_RECURSIVE);
	init_mutex(&errorcheck, PTHREAD_MUTEX_ERRORCHECK);
	CHECK_INT(pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE), 0);

	struct hammer h_static = { &static_lock, NULL, 0, 1 };
	struct hammer h_normal = { &normal, NULL, 0, 1 };
	struct hammer h_recursive = { &recursive, NULL, 0, 3 };
	struct hammer h_errorcheck = { &errorcheck, NULL, 0, 1 };
	struct hammer h_trylock = { &normal, NULL, 1, 1 };
	struct hammer h_spin = { NULL, &spin, 0, 0 };
	hammer("static initializer", &h_static);
	hammer("normal (attr)", &h_normal);
	hammer("recursive, depth 3", &h_recursive);
	hammer("error-checking", &h_errorcheck);
	hammer("trylock", &h_trylock);
	printf("trylock found the mutex held %ld times\n", busy_seen);
	hammer("spin lock", &h_spin);
#ifdef PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP
	struct hammer h_static_rec = { &static_recursive, NULL, 0, 2 };
	hammer("static recursive", &h_static_rec);
#endif
	CHECK_INT(pthread_mutex_destroy(&normal), 0);
	CHECK_INT(pthread_mutex_destroy(&recursive), 0);
	CHECK_INT(pthread_mutex_destroy(&errorcheck), 0);
	CHECK_INT(pthread_spin_destroy(&spin), 0);
}

/* Operations another thread tries on a mutex the main thread holds. */
struct probe {
	pthread_mutex_t *mutex;
	pthread_spinlock_t *spin;
	int trylock, unlock, spin_trylock;
};

static void *probe_thread(void *arg)
{
	struct probe *p = arg;
	if (p->mutex) {
		p->trylock = pthread_mutex_trylock(p->mutex);
		p->unlock = pthread_mutex_unlock(p->mutex);
	}
	if (p->spin)
		p->spin_trylock = pthread_spin_trylock(p->spin);
	return NULL;
}

static struct probe probe(pthread_mutex_t *m, pthread_spinlock_t *s)
{
	struct probe p = { m, s, -1, -1, -1 };
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, probe_thread, &p), 0);
	CHECK_INT(pthread_join(t, NULL), 0);
	return p;
}

static void semantics(void)
{
	/* Error-checking: relock is EDEADLK, unlocking by a non-owner or when unlocked is EPERM. */
	pthread_mutex_t ec;
	init_mutex(&ec, PTHREAD_MUTEX_ERRORCHECK);
	CHECK_INT(pthread_mutex_unlock(&ec), EPERM);
	CHECK_INT(pthread_mutex_lock(&ec), 0);
	CHECK_INT(pthread_mutex_lock(&ec), EDEADLK);
	CHECK_INT(pthread_mutex_trylock(&ec), EBUSY);
	struct probe p = probe(&ec, NULL);
	CHECK_INT(p.trylock, EBUSY);
	CHECK_INT(p.unlock, EPERM);
	CHECK_INT(pthread_mutex_unlock(&ec), 0);
	CHECK_INT(pthread_mutex_unlock(&ec), EPERM);
	p = probe(&ec, NULL); /* free now: the probe takes and releases it */
	CHECK_INT(p.trylock, 0);
	CHECK_INT(p.unlock, 0);
	CHECK_INT(pthread_mutex_destroy(&ec), 0);

	/* Recursive: the owner relocks (also with trylock); others see EBUSY until the last unlock. */
	pthread_mutex_t rec;
	init_mutex(&rec, PTHREAD_MUTEX_RECURSIVE);
	CHECK_INT(pthread_mutex_lock(&rec), 0);
	CHECK_INT(pthread_mutex_lock(&rec), 0);
	CHECK_INT(pthread_mutex_trylock(&rec), 0);
	p = probe(&rec, NULL);
	CHECK_INT(p.trylock, EBUSY);
	CHECK_INT(p.unlock, EPERM);
	CHECK_INT(pthread_mutex_unlock(&rec), 0);
	CHECK_INT(pthread_mutex_unlock(&rec), 0);
	p = probe(&rec, NULL);
	CHECK_INT(p.trylock, EBUSY);
	CHECK_INT(pthread_mutex_unlock(&rec), 0);
	CHECK_INT(pthread_mutex_unlock(&rec), EPERM);
	p = probe(&rec, NULL);
	CHECK_INT(p.trylock, 0);
	CHECK_INT(p.unlock, 0);
	CHECK_INT(pthread_mutex_destroy(&rec), 0);

	/* Normal and static: trylock of a held mutex is EBUSY, also for the owner. */
	CHECK_INT(pthread_mutex_lock(&static_lock), 0);
	CHECK_INT(pthread_mutex_trylock(&static_lock), EBUSY);
	p = probe(&static_lock, NULL);
	CHECK_INT(p.trylock, EBUSY);
	CHECK_INT(pthread_mutex_unlock(&static_lock), 0);
	CHECK_INT(pthread_mutex_trylock(&static_lock), 0);
	CHECK_INT(pthread_mutex_unlock(&static_lock), 0);
#ifdef PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP
	CHECK_INT(pthread_mutex_lock(&static_recursive), 0);
	CHECK_INT(pthread_mutex_lock(&static_recursive), 0);
	p = probe(&static_recursive, NULL);
	CHECK_INT(p.trylock, EBUSY);
	CHECK_INT(pthread_mutex_unlock(&static_recursive), 0);
	CHECK_INT(pthread_mutex_unlock(&static_recursive), 0);
	printf("PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP works\n");
#endif

	/* Spin locks: trylock EBUSY while held, by the holder and by others. */
	pthread_spinlock_t spin;
	CHECK_INT(pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE), 0);
	CHECK_INT(pthread_spin_trylock(&spin), 0);
	CHECK_INT(pthread_spin_trylock(&spin), EBUSY);
	p = probe(NULL, &spin);
	CHECK_INT(p.spin_trylock, EBUSY);
	CHECK_INT(pthread_spin_unlock(&spin), 0);
	p = probe(NULL, &spin);
	CHECK_INT(p.spin_trylock, 0); /* the probe ended holding it */
	CHECK_INT(pthread_spin_trylock(&spin), EBUSY);
	CHECK_INT(pthread_spin_unlock(&spin), 0);
	CHECK_INT(pthread_spin_destroy(&spin), 0);
}

/* pthread_mutex_timedlock: ETIMEDOUT after the deadline; success when released in time. */
struct timed {
	pthread_mutex_t *mutex;
	long ms;
	int rc;
	int64_t elapsed;
};

static void *timed_thread(void *arg)
{
	struct timed *t = arg;
	int64_t start = thr_now_ns();
	struct timespec deadline = thr_deadline(CLOCK_REALTIME, t->ms);
	t->rc = pthread_mutex_timedlock(t->mutex, &deadline);
	t->elapsed = thr_now_ns() - start;
	if (t->rc == 0)
		CHECK_INT(pthread_mutex_unlock(t->mutex), 0);
	return NULL;
}

static void timedlock(void)
{
	pthread_mutex_t m;
	init_mutex(&m, PTHREAD_MUTEX_NORMAL);
	CHECK_INT(pthread_mutex_lock(&m), 0);
	struct timed t = { &m, 200, -1, 0 };
	pthread_t thread;
	CHECK_INT(pthread_create(&thread, NULL, timed_thread, &t), 0);
	CHECK_INT(pthread_join(thread, NULL), 0);
	CHECK_INT(t.rc, ETIMEDOUT);
	CHECK_ELAPSED(t.elapsed, 200, 0.10);

	/* A deadline in the past on a held mutex: ETIMEDOUT at once. */
	struct timespec past = thr_deadline(CLOCK_REALTIME, -1000);
	struct timed t2 = { &m, -1000, -1, 0 };
	CHECK_INT(pthread_create(&thread, NULL, timed_thread, &t2), 0);
	CHECK_INT(pthread_join(thread, NULL), 0);
	CHECK_INT(t2.rc, ETIMEDOUT);
	CHECK(t2.elapsed < 50 * 1000000LL * thr_slack_scale());

	/* Released after 50 ms: a waiter with a 5 s deadline gets it. */
	struct timed t3 = { &m, 5000, -1, 0 };
	CHECK_INT(pthread_create(&thread, NULL, timed_thread, &t3), 0);
	usleep(50000);
	CHECK_INT(pthread_mutex_unlock(&m), 0);
	CHECK_INT(pthread_join(thread, NULL), 0);
	CHECK_INT(t3.rc, 0);
	CHECK(t3.elapsed >= 40 * 1000000LL && t3.elapsed < 1000 * 1000000LL);

	/* A free mutex is taken at once even with a past deadline. */
	CHECK_INT(pthread_mutex_timedlock(&m, &past), 0);
	CHECK_INT(pthread_mutex_unlock(&m), 0);
	CHECK_INT(pthread_mutex_destroy(&m), 0);
}

int main(void)
{
	counters();
	semantics();
	timedlock();
	TEST_DONE();
}
