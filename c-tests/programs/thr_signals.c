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
#ifdef __hermit__
	/* newlib's signal() has System V semantics: delivery reset the handler. */
	CHECK(signal(SIGUSR2, handler) == SIG_DFL);
#endif
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

static void *kchild(void *arg)
{
	(void)arg;
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
	/* Ended tasks are gone. */
	CHECK_INT(sys_kill(ktarget_tid, 0), -ESRCH);
	CHECK_INT(sys_kill(kchild_tid, 0), -ESRCH);
	printf("sys_kill/sys_signal: handlers ran in the target tasks\n");
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
	signal_blocked_thread();
	signal_busy_thread();
	raise_in_thread();
	signal_many();
	pthread_t self = pthread_self();
	CHECK_INT(pthread_kill(self, 0), 0);
	CHECK_INT(pthread_kill(self, 9999), EINVAL);
#ifdef __hermit__
	original_api();
#endif
	TEST_DONE();
}
