/* thr_signals.c: signals between threads: pthread_kill runs the handler in the target (blocked or busy), raise in a thread, the original sys_kill/sys_signal. */
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>
#include "thr_common.h"
#ifdef __hermit__
#include <hermit/syscall.h>
#endif

static pthread_t handler_thread;
static int handler_sig, handled;

static void handler(int sig)
{
	handler_thread = pthread_self();
	handler_sig = sig;
	__atomic_fetch_add(&handled, 1, __ATOMIC_ACQ_REL);
}

static void reset(void)
{
	handler_thread = 0;
	handler_sig = 0;
	__atomic_store_n(&handled, 0, __ATOMIC_RELEASE);
}

static sem_t ready, release;

/* ---- the target blocks in sem_wait ---- */
static void *blocked_target(void *arg)
{
	(void)arg;
	CHECK(signal(SIGUSR1, handler) != SIG_ERR);
	CHECK(signal(SIGUSR2, SIG_IGN) != SIG_ERR);
	CHECK_INT(sem_post(&ready), 0);
	int rc, interrupted = 0;
	/* A handler may end sem_wait with EINTR (POSIX allows both); wait again then. */
	while ((rc = sem_wait(&release)) != 0 && errno == EINTR)
		interrupted++;
	CHECK_INT(rc, 0);
	return (void *)(intptr_t)interrupted;
}

static void signal_blocked_thread(void)
{
	pthread_t t;
	reset();
	CHECK_INT(pthread_create(&t, NULL, blocked_target, NULL), 0);
	CHECK_INT(sem_wait(&ready), 0);
	usleep(20000); /* it is blocked in sem_wait by now */
	CHECK_INT(pthread_kill(t, 0), 0);
	/* An ignored signal changes nothing. */
	CHECK_INT(pthread_kill(t, SIGUSR2), 0);
	CHECK_INT(pthread_kill(t, SIGUSR1), 0);
	CHECK(thr_wait_for(&handled, 1, 3000));
	CHECK_INT(handled, 1);
	CHECK_INT(handler_sig, SIGUSR1);
	CHECK(pthread_equal(handler_thread, t));
	CHECK_INT(sem_post(&release), 0);
	void *interrupted = NULL;
	CHECK_INT(pthread_join(t, &interrupted), 0);
	printf("blocked target: handler ran in the target; sem_wait interrupted %d times\n", (int)(intptr_t)interrupted);
}

/* ---- the target spins without any call that could block or yield ---- */
static int spinner_saw;

static void *busy_target(void *arg)
{
	(void)arg;
	CHECK(signal(SIGUSR1, handler) != SIG_ERR);
	CHECK_INT(sem_post(&ready), 0);
	int64_t end = thr_now_ns() + 5000000000LL;
	while (__atomic_load_n(&handled, __ATOMIC_ACQUIRE) == 0 && thr_now_ns() < end)
		;
	__atomic_store_n(&spinner_saw, __atomic_load_n(&handled, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
	return NULL;
}

static void signal_busy_thread(void)
{
	pthread_t t;
	reset();
	CHECK_INT(pthread_create(&t, NULL, busy_target, NULL), 0);
	CHECK_INT(sem_wait(&ready), 0);
	int64_t sent = thr_now_ns();
	CHECK_INT(pthread_kill(t, SIGUSR1), 0);
	CHECK(thr_wait_for(&handled, 1, 3000));
	int64_t latency = thr_now_ns() - sent;
	CHECK_INT(pthread_join(t, NULL), 0);
	CHECK_INT(spinner_saw, 1);
	CHECK_INT(handler_sig, SIGUSR1);
	CHECK(pthread_equal(handler_thread, t));
	printf("busy target: handler ran in the target after %.3f ms\n", latency / 1e6);
}

/* ---- raise() in a thread runs the handler in that thread, before raise returns ---- */
static void *raising_thread(void *arg)
{
	(void)arg;
	CHECK(signal(SIGUSR2, handler) != SIG_ERR);
	CHECK_INT(raise(SIGUSR2), 0);
	CHECK_INT(handled, 1);
	CHECK_INT(handler_sig, SIGUSR2);
	CHECK(pthread_equal(handler_thread, pthread_self()));
	/* Delivery left the handler installed (BSD semantics, glibc) or reset it (System V, newlib). */
	void (*previous)(int) = signal(SIGUSR2, handler);
	CHECK(previous == handler || previous == SIG_DFL);
	return NULL;
}

static void raise_in_thread(void)
{
	pthread_t t;
	reset();
	CHECK_INT(pthread_create(&t, NULL, raising_thread, NULL), 0);
	CHECK_INT(pthread_join(t, NULL), 0);
	CHECK_INT(handled, 1);
}

/* ---- several threads signalled at once, each runs its own handler once ---- */
#define MANY 6
static int many_hits[MANY];
static __thread int my_index = -1;

static void many_handler(int sig)
{
	(void)sig;
	if (my_index >= 0)
		__atomic_fetch_add(&many_hits[my_index], 1, __ATOMIC_ACQ_REL);
}

static void *many_target(void *arg)
{
	my_index = (int)(intptr_t)arg;
	CHECK(signal(SIGUSR1, many_handler) != SIG_ERR);
	CHECK_INT(sem_post(&ready), 0);
	int rc;
	while ((rc = sem_wait(&release)) != 0 && errno == EINTR)
		;
	CHECK_INT(rc, 0);
	return NULL;
}

static void signal_many(void)
{
	pthread_t t[MANY];
	for (int i = 0; i < MANY; i++)
		CHECK_INT(pthread_create(&t[i], NULL, many_target, (void *)(intptr_t)i), 0);
	for (int i = 0; i < MANY; i++)
		CHECK_INT(sem_wait(&ready), 0);
	for (int i = 0; i < MANY; i++)
		CHECK_INT(pthread_kill(t[i], SIGUSR1), 0);
	for (int i = 0; i < MANY; i++)
		CHECK(thr_wait_for(&many_hits[i], 1, 3000));
	for (int i = 0; i < MANY; i++)
		CHECK_INT(sem_post(&release), 0);
	for (int i = 0; i < MANY; i++) {
		CHECK_INT(pthread_join(t[i], NULL), 0);
		CHECK_INT(many_hits[i], 1);
	}
}

/* ---- a handler runs in a thread blocked in a pthread call; the call still completes correctly ---- */
enum blocker { B_MUTEX, B_COND, B_JOIN, B_BARRIER, B_RWLOCK, B_SEM_TIMED, B_COUNT };
static const char *const blocker_names[B_COUNT] = { "pthread_mutex_lock", "pthread_cond_wait", "pthread_join",
						    "pthread_barrier_wait", "pthread_rwlock_wrlock", "sem_timedwait" };
static pthread_mutex_t b_mutex;
static pthread_cond_t b_cond = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t b_barrier;
static pthread_rwlock_t b_rwlock = PTHREAD_RWLOCK_INITIALIZER;
static sem_t b_sem;
static int b_go;
static pthread_t b_joinee;

static void *joinee(void *arg)
{
	(void)arg;
	int rc;
	while ((rc = sem_wait(&release)) != 0 && errno == EINTR)
		;
	return (void *)42;
}

struct blocked_result {
	int rc;
	int unlock_rc; /* unlocking the error-checking mutex afterwards: 0 if the call reacquired it */
	int64_t elapsed;
};

static void *blocked_in(void *arg)
{
	enum blocker b = (enum blocker)(intptr_t)arg;
	struct blocked_result *r = calloc(1, sizeof(*r));
	CHECK(signal(SIGUSR1, handler) != SIG_ERR);
	CHECK_INT(sem_post(&ready), 0);
	int64_t start = thr_now_ns();
	void *joined = NULL;
	switch (b) {
	case B_MUTEX:
		r->rc = pthread_mutex_lock(&b_mutex);
		r->unlock_rc = pthread_mutex_unlock(&b_mutex);
		break;
	case B_COND:
		CHECK_INT(pthread_mutex_lock(&b_mutex), 0);
		while (!__atomic_load_n(&b_go, __ATOMIC_ACQUIRE) && r->rc == 0)
			r->rc = pthread_cond_wait(&b_cond, &b_mutex);
		r->unlock_rc = pthread_mutex_unlock(&b_mutex);
		break;
	case B_JOIN:
		r->rc = pthread_join(b_joinee, &joined);
		if (joined != (void *)42)
			r->rc = -1;
		break;
	case B_BARRIER:
		r->rc = pthread_barrier_wait(&b_barrier);
		if (r->rc == PTHREAD_BARRIER_SERIAL_THREAD)
			r->rc = 0;
		break;
	case B_RWLOCK:
		r->rc = pthread_rwlock_wrlock(&b_rwlock);
		r->unlock_rc = pthread_rwlock_unlock(&b_rwlock);
		break;
	default: {
		struct timespec deadline = thr_deadline(CLOCK_REALTIME, 300);
		while ((r->rc = sem_timedwait(&b_sem, &deadline)) != 0 && errno == EINTR)
			;
		r->rc = r->rc ? errno : 0;
		break;
	}
	}
	r->elapsed = thr_now_ns() - start;
	return r;
}

static void signal_blocked_calls(void)
{
	pthread_mutexattr_t attr;
	CHECK_INT(pthread_mutexattr_init(&attr), 0);
	CHECK_INT(pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK), 0);
	CHECK_INT(pthread_mutex_init(&b_mutex, &attr), 0);
	CHECK_INT(pthread_barrier_init(&b_barrier, NULL, 2), 0);
	CHECK_INT(sem_init(&b_sem, 0, 0), 0);
	for (int b = 0; b < B_COUNT; b++) {
		reset();
		__atomic_store_n(&b_go, 0, __ATOMIC_RELEASE);
		/* Make the call block. */
		if (b == B_MUTEX)
			CHECK_INT(pthread_mutex_lock(&b_mutex), 0);
		if (b == B_JOIN)
			CHECK_INT(pthread_create(&b_joinee, NULL, joinee, NULL), 0);
		if (b == B_RWLOCK)
			CHECK_INT(pthread_rwlock_rdlock(&b_rwlock), 0);
		pthread_t t;
		CHECK_INT(pthread_create(&t, NULL, blocked_in, (void *)(intptr_t)b), 0);
		CHECK_INT(sem_wait(&ready), 0);
		usleep(50000);
		CHECK_INT(pthread_kill(t, SIGUSR1), 0);
		CHECK(thr_wait_for(&handled, 1, 3000));
		CHECK(pthread_equal(handler_thread, t));
		usleep(20000);
		/* Unblock it (the timed wait just times out). */
		switch (b) {
		case B_MUTEX:
			CHECK_INT(pthread_mutex_unlock(&b_mutex), 0);
			break;
		case B_COND:
			CHECK_INT(pthread_mutex_lock(&b_mutex), 0);
			__atomic_store_n(&b_go, 1, __ATOMIC_RELEASE);
			CHECK_INT(pthread_cond_broadcast(&b_cond), 0);
			CHECK_INT(pthread_mutex_unlock(&b_mutex), 0);
			break;
		case B_JOIN:
			CHECK_INT(sem_post(&release), 0);
			break;
		case B_BARRIER: {
			int rc = pthread_barrier_wait(&b_barrier);
			CHECK(rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD);
			break;
		}
		case B_RWLOCK:
			CHECK_INT(pthread_rwlock_unlock(&b_rwlock), 0);
			break;
		default:
			break;
		}
		struct blocked_result *r = NULL;
		CHECK_INT(pthread_join(t, (void **)&r), 0);
		if (!r)
			continue;
		if (b == B_SEM_TIMED) {
			/* The handler did not restart the timeout: it ends 300 ms after the start. */
			CHECK_INT(r->rc, ETIMEDOUT);
			CHECK_ELAPSED(r->elapsed, 300, 0.10);
		} else {
			if (r->rc != 0 || r->unlock_rc != 0)
				fprintf(stderr, "%s after a signal: %d, unlock %d\n", blocker_names[b], r->rc, r->unlock_rc);
			CHECK_INT(r->rc, 0);
			CHECK_INT(r->unlock_rc, 0);
		}
		CHECK_INT(handled, 1);
		free(r);
	}
	printf("handlers ran in threads blocked in mutex, cond, join, barrier, rwlock and timed semaphore waits\n");
	CHECK_INT(pthread_mutex_destroy(&b_mutex), 0);
	CHECK_INT(pthread_barrier_destroy(&b_barrier), 0);
	CHECK_INT(sem_destroy(&b_sem), 0);
}

#ifdef __hermit__
/* ---- the original kernel API: sys_signal registers a task's handler, sys_kill sends ---- */
static tid_t ktarget_tid, kchild_tid;
static int khandled, khandler_sig;
static tid_t khandler_tid;

static void khandler(int sig)
{
	khandler_sig = sig;
	khandler_tid = sys_getpid();
	__atomic_fetch_add(&khandled, 1, __ATOMIC_ACQ_REL);
}

static pid_t kchild_pid;

static void *kchild(void *arg)
{
	(void)arg;
	kchild_pid = getpid();
	kchild_tid = sys_getpid();
	CHECK_INT(sem_post(&ready), 0);
	while (sem_wait(&release) != 0)
		;
	return NULL;
}

static void *ktarget(void *arg)
{
	(void)arg;
	CHECK_INT(sys_signal(khandler), 0);
	ktarget_tid = sys_getpid();
	/* To itself: delivered before sys_kill returns. */
	CHECK_INT(sys_kill(ktarget_tid, SIGUSR2), 0);
	CHECK_INT(khandled, 1);
	CHECK_INT(khandler_sig, SIGUSR2);
	CHECK_INT(khandler_tid, ktarget_tid);
	/* A thread it creates inherits the handler. */
	pthread_t child;
	CHECK_INT(pthread_create(&child, NULL, kchild, NULL), 0);
	CHECK_INT(sem_post(&ready), 0);
	while (sem_wait(&release) != 0)
		;
	CHECK_INT(pthread_join(child, NULL), 0);
	return NULL;
}

static void original_api(void)
{
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, ktarget, NULL), 0);
	CHECK_INT(sem_wait(&ready), 0);
	CHECK_INT(sem_wait(&ready), 0);
	usleep(20000);
	CHECK(ktarget_tid != 0 && kchild_tid != 0 && ktarget_tid != kchild_tid && ktarget_tid != sys_getpid());
	/* getpid() is the program's, the same in every thread (the original gave the task id). */
	CHECK_INT(kchild_pid, getpid());
	CHECK_INT(getpid(), sys_getpid());
	CHECK_INT(sys_kill(ktarget_tid, 0), 0);
	CHECK_INT(sys_kill(ktarget_tid, 64), -EINVAL);
	CHECK_INT(sys_kill(ktarget_tid, -1), -EINVAL);
	CHECK_INT(sys_kill(1000000, SIGUSR1), -ESRCH);
	CHECK_INT(khandled, 1);
	/* To a blocked task: its handler runs in it. */
	CHECK_INT(sys_kill(ktarget_tid, SIGUSR1), 0);
	CHECK(thr_wait_for(&khandled, 2, 3000));
	CHECK_INT(khandler_sig, SIGUSR1);
	CHECK_INT(khandler_tid, ktarget_tid);
	/* To the child, which inherited the handler. */
	CHECK_INT(sys_kill(kchild_tid, SIGTERM), 0);
	CHECK(thr_wait_for(&khandled, 3, 3000));
	CHECK_INT(khandler_sig, SIGTERM);
	CHECK_INT(khandler_tid, kchild_tid);
	CHECK_INT(sem_post(&release), 0);
	CHECK_INT(sem_post(&release), 0);
	CHECK_INT(pthread_join(t, NULL), 0);
	CHECK_INT(khandled, 3);
	printf("sys_kill/sys_signal: handlers ran in the target tasks\n");
}

/* Once pthread_join has returned, the thread's task is gone: signals to it give ESRCH. */
static void *quick(void *arg)
{
	*(tid_t *)arg = sys_getpid();
	return NULL;
}

static void ended_tasks(void)
{
	int still_there = 0;
	for (int i = 0; i < 2000; i++) {
		tid_t tid = 0;
		pthread_t t;
		CHECK_INT(pthread_create(&t, NULL, quick, &tid), 0);
		CHECK_INT(pthread_join(t, NULL), 0);
		if (sys_kill(tid, 0) != -ESRCH)
			still_there++;
	}
	printf("%d of 2000 joined threads could still be signalled\n", still_there);
	CHECK_INT(still_there, 0);
}
#endif

/* ---- POSIX behaviours registered as separate runs ---- */

/* A signal handler interrupts nanosleep: -1 with EINTR and the remaining time. */
static void *sleeping_target(void *arg)
{
	(void)arg;
	CHECK(signal(SIGUSR1, handler) != SIG_ERR);
	CHECK_INT(sem_post(&ready), 0);
	struct timespec req = { 3, 0 }, rem = { 0, 0 };
	int64_t start = thr_now_ns();
	int rc = nanosleep(&req, &rem);
	int err = errno;
	int64_t elapsed = thr_now_ns() - start;
	CHECK_INT(rc, -1);
	CHECK_INT(err, EINTR);
	CHECK(elapsed < 2000000000LL);
	CHECK(rem.tv_sec >= 1 && rem.tv_sec <= 3);
	printf("nanosleep(3 s) returned %d after %.1f ms, %ld.%03ld s remaining\n", rc, elapsed / 1e6,
	       (long)rem.tv_sec, rem.tv_nsec / 1000000);
	return NULL;
}

static void sleep_interrupted(void)
{
	pthread_t t;
	reset();
	CHECK_INT(pthread_create(&t, NULL, sleeping_target, NULL), 0);
	CHECK_INT(sem_wait(&ready), 0);
	usleep(100000);
	CHECK_INT(pthread_kill(t, SIGUSR1), 0);
	CHECK_INT(pthread_join(t, NULL), 0);
	CHECK_INT(handled, 1);
}

/* Dispositions are per process: a handler the main thread installs runs in the thread signalled. */
static void *plain_target(void *arg)
{
	(void)arg;
	CHECK_INT(sem_post(&ready), 0);
	int rc;
	while ((rc = sem_wait(&release)) != 0 && errno == EINTR)
		;
	return NULL;
}

static void process_wide(void)
{
	pthread_t t;
	reset();
	CHECK(signal(SIGUSR1, handler) != SIG_ERR);
	CHECK_INT(pthread_create(&t, NULL, plain_target, NULL), 0);
	CHECK_INT(sem_wait(&ready), 0);
	CHECK_INT(pthread_kill(t, SIGUSR1), 0);
	CHECK(thr_wait_for(&handled, 1, 3000));
	CHECK(pthread_equal(handler_thread, t));
	CHECK_INT(sem_post(&release), 0);
	CHECK_INT(pthread_join(t, NULL), 0);
}

int main(int argc, char **argv)
{
	CHECK_INT(sem_init(&ready, 0, 0), 0);
	CHECK_INT(sem_init(&release, 0, 0), 0);
	if (argc > 1 && strcmp(argv[1], "sleep-eintr") == 0) {
		sleep_interrupted();
		TEST_DONE();
	}
	if (argc > 1 && strcmp(argv[1], "process-wide") == 0) {
		process_wide();
		TEST_DONE();
	}
#ifdef __hermit__
	if (argc > 1 && strcmp(argv[1], "ended-tasks") == 0) {
		ended_tasks();
		TEST_DONE();
	}
#endif
	signal_blocked_thread();
	signal_busy_thread();
	raise_in_thread();
	signal_many();
	signal_blocked_calls();
	pthread_t self = pthread_self();
	CHECK_INT(pthread_kill(self, 0), 0);
	CHECK_INT(pthread_kill(self, 9999), EINVAL);
#ifdef __hermit__
	original_api();
#endif
	TEST_DONE();
}
