/* thr_sysapi.c: the original kernel API used directly, as pthread-embedded did: sys_clone, do_exit, sys_sem_*, sys_spinlock_*, priorities, yield, msleep. */
#include <stdint.h>
#include "thr_common.h"

#ifdef __hermit__
#include <hermit/errno.h>
#include <hermit/syscall.h>

#define TASKS 4
#define INCREMENTS 20000

static sem_t *done;
static spinlock_t *lock;
static volatile long counter;
static tid_t task_ids[TASKS], seen_ids[TASKS];
static int after_exit;

/* ---- sys_clone, sys_getpid, do_exit, completion through a kernel semaphore ---- */
static int counting_task(void *arg)
{
	intptr_t i = (intptr_t)arg;
	seen_ids[i] = sys_getpid();
	for (int k = 0; k < INCREMENTS; k++) {
		/* The spin lock is recursive for its owner. */
		if (sys_spinlock_lock(lock) != 0 || sys_spinlock_lock(lock) != 0)
			TEST_COUNT_FAILURE();
		long v = counter;
		for (int w = 0; w < 20; w++)
			__asm__ volatile("" ::: "memory");
		counter = v + 1;
		if (sys_spinlock_unlock(lock) != 0 || sys_spinlock_unlock(lock) != 0)
			TEST_COUNT_FAILURE();
	}
	sys_sem_post(done);
	if (i % 2)
		do_exit(0); /* ends the task here */
	return 0;
}

static int exiting_task(void *arg)
{
	(void)arg;
	sys_sem_post(done);
	do_exit(3);
	__atomic_store_n(&after_exit, 1, __ATOMIC_RELEASE);
	return 0;
}

static void tasks(void)
{
	CHECK_INT(sys_sem_init(&done, 0), 0);
	CHECK_INT(sys_spinlock_init(&lock), 0);
	tid_t me = sys_getpid();
	for (intptr_t i = 0; i < TASKS; i++)
		CHECK_INT(sys_clone(&task_ids[i], counting_task, (void *)i), 0);
	for (int i = 0; i < TASKS; i++)
		CHECK_INT(sys_sem_wait(done), 0);
	CHECK_INT(counter, TASKS * INCREMENTS);
	for (int i = 0; i < TASKS; i++) {
		CHECK(task_ids[i] != 0 && task_ids[i] != me);
		CHECK_INT(seen_ids[i], task_ids[i]);
		for (int j = i + 1; j < TASKS; j++)
			CHECK(task_ids[i] != task_ids[j]);
	}
	tid_t id = 0;
	CHECK_INT(sys_clone(&id, exiting_task, NULL), 0);
	CHECK_INT(sys_sem_wait(done), 0);
	sys_msleep(20);
	CHECK_INT(after_exit, 0);
	CHECK_INT(sys_kill(id, 0), -ESRCH); /* it has ended */
	CHECK_INT(sys_clone(NULL, exiting_task, NULL), 0); /* the id is optional */
	CHECK_INT(sys_sem_wait(done), 0);
	CHECK_INT(sys_clone(&id, NULL, NULL), -EINVAL);

	/* Unlocking a spin lock the caller does not hold. */
	CHECK_INT(sys_spinlock_unlock(lock), -EINVAL);
	CHECK_INT(sys_spinlock_destroy(lock), 0);
	CHECK_INT(sys_spinlock_init(NULL), -EINVAL);
}

/* ---- kernel semaphores: counting, timeouts (-ETIME), ms == 0 waits forever ---- */
static sem_t *sem;

static int poster(void *arg)
{
	sys_msleep((unsigned)(uintptr_t)arg);
	sys_sem_post(sem);
	return 0;
}

static void semaphores(void)
{
	CHECK_INT(sys_sem_init(&sem, 2), 0);
	CHECK_INT(sys_sem_wait(sem), 0);
	CHECK_INT(sys_sem_timedwait(sem, 100), 0);
	int64_t start = thr_now_ns();
	CHECK_INT(sys_sem_timedwait(sem, 100), -ETIME);
	int64_t elapsed = thr_now_ns() - start;
	CHECK_ELAPSED(elapsed, 100, 0.10);
	start = thr_now_ns();
	CHECK_INT(sys_sem_cancelablewait(sem, 50), -ETIME);
	CHECK_ELAPSED(thr_now_ns() - start, 50, 0.10);

	/* ms == 0: no timeout; a post 150 ms later ends the wait. */
	CHECK_INT(sys_clone(NULL, poster, (void *)(uintptr_t)150), 0);
	start = thr_now_ns();
	CHECK_INT(sys_sem_timedwait(sem, 0), 0);
	elapsed = thr_now_ns() - start;
	CHECK(elapsed >= 140000000 && elapsed < 1000000000);
	/* A post before the timeout ends a timed wait. */
	CHECK_INT(sys_clone(NULL, poster, (void *)(uintptr_t)30), 0);
	start = thr_now_ns();
	CHECK_INT(sys_sem_timedwait(sem, 5000), 0);
	elapsed = thr_now_ns() - start;
	CHECK(elapsed >= 25000000 && elapsed < 1000000000);
	for (int i = 0; i < 5; i++)
		CHECK_INT(sys_sem_post(sem), 0);
	for (int i = 0; i < 5; i++)
		CHECK_INT(sys_sem_timedwait(sem, 10), 0);
	CHECK_INT(sys_sem_timedwait(sem, 10), -ETIME);
	CHECK_INT(sys_sem_destroy(sem), 0);
	CHECK_INT(sys_sem_post(NULL), -EINVAL);
	CHECK_INT(sys_sem_wait(NULL), -EINVAL);
	CHECK_INT(sys_sem_init(NULL, 1), -EINVAL);
}

/* ---- priorities and yielding ---- */
static int turn_log[64], turns;
static int stop;

static int yielder(void *arg)
{
	int id = (int)(intptr_t)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		int n = __atomic_fetch_add(&turns, 1, __ATOMIC_ACQ_REL);
		if (n < 64)
			turn_log[n] = id;
		if (id == 0)
			sys_yield();
		else
			reschedule();
	}
	sys_sem_post(done);
	return 0;
}

static void priorities(int cpus)
{
	CHECK_INT(sys_getprio(NULL), 8);
	tid_t me = sys_getpid(), other = me + 1000;
	CHECK_INT(sys_getprio(&me), 8);
	CHECK_INT(sys_getprio(&other), -EINVAL);
	CHECK_INT(sys_setprio(NULL, 12), 0);
	CHECK_INT(sys_getprio(NULL), 12);
	CHECK_INT(sys_setprio(&me, 8), 0);
	CHECK_INT(sys_getprio(NULL), 8);
	CHECK_INT(sys_setprio(NULL, 0), -EINVAL);
	CHECK_INT(sys_setprio(NULL, 32), -EINVAL);
	CHECK_INT(sys_setprio(&other, 9), -EINVAL);

	/* Two tasks of one priority on one core that yield after every step take turns. */
	CHECK_INT(sys_sem_init(&done, 0), 0);
	CHECK_INT(sys_clone(NULL, yielder, (void *)0), 0);
	CHECK_INT(sys_clone(NULL, yielder, (void *)1), 0);
	sys_msleep(50);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	CHECK_INT(sys_sem_wait(done), 0);
	CHECK_INT(sys_sem_wait(done), 0);
	CHECK(turns > 100);
	if (cpus == 1) {
		int alternating = 1;
		for (int i = 1; i < 64; i++)
			alternating = alternating && turn_log[i] != turn_log[i - 1];
		CHECK(alternating);
	}
	CHECK_INT(sys_sem_destroy(done), 0);
}

/* ---- sleeping and the 100 Hz tick count ---- */
static void sleeping(void)
{
	size_t ticks = sys_get_ticks();
	int64_t start = thr_now_ns();
	sys_msleep(200);
	int64_t elapsed = thr_now_ns() - start;
	CHECK_ELAPSED(elapsed, 200, 0.10);
	long advanced = (long)(sys_get_ticks() - ticks);
	CHECK(advanced >= 19 && advanced <= 20 * (1 + 0.10 * thr_slack_scale()) + 1);
	start = thr_now_ns();
	sys_usleep(100000);
	CHECK_ELAPSED(thr_now_ns() - start, 100, 0.10);
	printf("sys_msleep(200) took %.2f ms, %ld ticks\n", elapsed / 1e6, advanced);
}
#endif

int main(int argc, char **argv)
{
	int cpus = argc > 1 ? atoi(argv[1]) : 1;
#ifdef __hermit__
	tasks();
	semaphores();
	priorities(cpus);
	sleeping();
	printf("the original kernel API works\n");
#else
	(void)cpus;
	printf("HermitCore only\n");
#endif
	TEST_DONE();
}
