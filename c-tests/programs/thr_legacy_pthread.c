/* thr_legacy_pthread.c: stands in for the original toolchain's pthread-embedded libpthread.a: the application's own pthread_create/join, mutexes and semaphores on the original kernel API. */
/*
 * Linked into thr_legacy_link together with libhermit.a, whose definitions of the same names are
 * weak: these strong ones must win without duplicate-symbol errors. Each counts its calls, so the
 * program can check that these ran. Only for HermitCore; natively the C library's are used.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include "thr_legacy.h"

struct legacy_calls legacy_calls;

#ifdef __hermit__
#include <hermit/syscall.h>

#define COUNT(field) __atomic_fetch_add(&legacy_calls.field, 1, __ATOMIC_RELAXED)

/* A thread made with sys_clone; joined through a kernel semaphore. */
struct legacy_thread {
	void *(*start)(void *);
	void *arg, *result;
	sem_t *done;
	tid_t id;
};

#define MAX_THREADS 64
static struct legacy_thread threads[MAX_THREADS];
static int next_thread;

static int trampoline(void *arg)
{
	struct legacy_thread *t = arg;
	t->result = t->start(t->arg);
	sys_sem_post(t->done);
	return 0;
}

int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg)
{
	(void)attr;
	COUNT(create);
	int slot = __atomic_fetch_add(&next_thread, 1, __ATOMIC_RELAXED);
	if (slot >= MAX_THREADS)
		return EAGAIN;
	struct legacy_thread *t = &threads[slot];
	t->start = start;
	t->arg = arg;
	if (sys_sem_init(&t->done, 0) != 0)
		return EAGAIN;
	if (sys_clone(&t->id, trampoline, t) != 0)
		return EAGAIN;
	*thread = (pthread_t)(slot + 1);
	return 0;
}

int pthread_join(pthread_t thread, void **result)
{
	COUNT(join);
	if (thread < 1 || thread > MAX_THREADS)
		return ESRCH;
	struct legacy_thread *t = &threads[thread - 1];
	if (sys_sem_wait(t->done) != 0)
		return EINVAL;
	sys_sem_destroy(t->done);
	if (result)
		*result = t->result;
	return 0;
}

/* Mutexes: a test-and-set on the state word that yields while taken. */
int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
	(void)attr;
	COUNT(mutex_init);
	m->state = 0;
	return 0;
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
	COUNT(mutex_lock);
	while (__atomic_exchange_n(&m->state, 1, __ATOMIC_ACQUIRE) != 0)
		sys_yield();
	return 0;
}

int pthread_mutex_unlock(pthread_mutex_t *m)
{
	COUNT(mutex_unlock);
	__atomic_store_n(&m->state, 0, __ATOMIC_RELEASE);
	return 0;
}

/* Semaphores: a kernel semaphore made with sys_sem_init, its pointer kept in the sem_t. */
_Static_assert(sizeof(sem_t) >= sizeof(void *), "a sem_t holds a pointer");

int sem_init(sem_t *sem, int pshared, unsigned value)
{
	(void)pshared;
	COUNT(sem_init);
	return sys_sem_init((sem_t **)sem, value) == 0 ? 0 : -1;
}

int sem_wait(sem_t *sem)
{
	COUNT(sem_wait);
	return sys_sem_wait(*(sem_t **)sem) == 0 ? 0 : -1;
}

int sem_post(sem_t *sem)
{
	COUNT(sem_post);
	return sys_sem_post(*(sem_t **)sem) == 0 ? 0 : -1;
}

int sem_destroy(sem_t *sem)
{
	COUNT(sem_destroy);
	return sys_sem_destroy(*(sem_t **)sem) == 0 ? 0 : -1;
}
#endif
