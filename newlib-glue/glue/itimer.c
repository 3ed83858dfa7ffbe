/* itimer.c: alarm, ualarm, setitimer and getitimer (ITIMER_REAL): a timer thread of the C library sends SIGALRM to the thread that armed the timer. */
/*
 * The kernel has no process timers. The first timer armed starts a thread that sleeps on a
 * condition variable (CLOCK_MONOTONIC) until the timer is due, then sends SIGALRM with
 * pthread_kill to the thread that armed it (POSIX sends it to the process; signals here go
 * to threads, and the thread that armed the timer is the one a program expects it in,
 * usually main) and rearms it with its interval. The thread blocks every signal and lives
 * until the program ends. ITIMER_VIRTUAL and ITIMER_PROF (CPU time) fail with ENOSYS.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "glue.h"

#define NS_PER_S 1000000000ull
#define NS_PER_US 1000ull

static pthread_mutex_t timer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timer_changed;
static int timer_started;
/* When the timer is due (CLOCK_MONOTONIC, ns; 0: disarmed), its interval (ns) and the thread
 * it signals; all under timer_lock. */
static uint64_t due_ns, interval_ns;
static pthread_t target;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void *timer_thread(void *arg)
{
	(void)arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	pthread_mutex_lock(&timer_lock);
	for (;;) {
		if (due_ns == 0) {
			pthread_cond_wait(&timer_changed, &timer_lock);
			continue;
		}
		uint64_t now = now_ns();
		if (now < due_ns) {
			struct timespec at = { (time_t)(due_ns / NS_PER_S), (long)(due_ns % NS_PER_S) };
			pthread_cond_timedwait(&timer_changed, &timer_lock, &at);
			continue;
		}
		pthread_t to = target;
		/* A periodic timer that fell behind (a busy host) fires once and goes on from now. */
		due_ns = interval_ns == 0 ? 0 : (due_ns + interval_ns > now ? due_ns + interval_ns : now + interval_ns);
		pthread_mutex_unlock(&timer_lock);
		pthread_kill(to, SIGALRM);
		pthread_mutex_lock(&timer_lock);
	}
	return NULL;
}

/* Starts the timer thread (under timer_lock); 0 or an error number. */
static int start_thread(void)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&timer_changed, &attr);
	pthread_condattr_destroy(&attr);
	pthread_t thread;
	int err = pthread_create(&thread, NULL, timer_thread, NULL);
	if (err != 0)
		return err;
	pthread_detach(thread);
	timer_started = 1;
	return 0;
}

static uint64_t timeval_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * NS_PER_S + (uint64_t)tv->tv_usec * NS_PER_US;
}

static struct timeval ns_timeval(uint64_t ns)
{
	struct timeval tv = { (time_t)(ns / NS_PER_S), (suseconds_t)((ns % NS_PER_S + NS_PER_US - 1) / NS_PER_US) };
	if (tv.tv_usec == 1000000) {
		tv.tv_sec++;
		tv.tv_usec = 0;
	}
	return tv;
}

static int valid_timeval(const struct timeval *tv)
{
	return tv->tv_sec >= 0 && tv->tv_usec >= 0 && tv->tv_usec < 1000000;
}

/* The timer as it stands (under timer_lock). */
static void current(struct itimerval *out)
{
	uint64_t now = now_ns();
	out->it_value = ns_timeval(due_ns > now ? due_ns - now : 0);
	if (due_ns != 0 && due_ns <= now)
		out->it_value.tv_usec = 1; /* due, not yet sent: still armed */
	out->it_interval = ns_timeval(interval_ns);
}

/* 0 for ITIMER_REAL, else -1: ENOSYS for the CPU-time timers, EINVAL for anything else. */
static int real_timer(int which)
{
	if (which == ITIMER_VIRTUAL || which == ITIMER_PROF)
		return hermit_fail(ENOSYS);
	return which == ITIMER_REAL ? 0 : hermit_fail(EINVAL);
}

int getitimer(int which, struct itimerval *value)
{
	if (real_timer(which) != 0)
		return -1;
	if (value == NULL)
		return hermit_fail(EFAULT);
	pthread_mutex_lock(&timer_lock);
	current(value);
	pthread_mutex_unlock(&timer_lock);
	return 0;
}

int setitimer(int which, const struct itimerval *restrict value, struct itimerval *restrict old)
{
	if (real_timer(which) != 0)
		return -1;
	if (value != NULL && (!valid_timeval(&value->it_value) || !valid_timeval(&value->it_interval)))
		return hermit_fail(EINVAL);
	pthread_mutex_lock(&timer_lock);
	if (old != NULL)
		current(old);
	if (value != NULL) {
		uint64_t after = timeval_ns(&value->it_value);
		if (after != 0 && !timer_started) {
			int err = start_thread();
			if (err != 0) {
				pthread_mutex_unlock(&timer_lock);
				return hermit_fail(err);
			}
		}
		due_ns = after == 0 ? 0 : now_ns() + after;
		interval_ns = after == 0 ? 0 : timeval_ns(&value->it_interval);
		target = pthread_self();
		if (timer_started)
			pthread_cond_signal(&timer_changed);
	}
	pthread_mutex_unlock(&timer_lock);
	return 0;
}

unsigned alarm(unsigned seconds)
{
	struct itimerval value = { { 0, 0 }, { (time_t)seconds, 0 } }, old;
	if (setitimer(ITIMER_REAL, &value, &old) != 0)
		return 0;
	/* Seconds left of the previous alarm, a part of one counting as one. */
	return (unsigned)old.it_value.tv_sec + (old.it_value.tv_usec != 0);
}

useconds_t ualarm(useconds_t usecs, useconds_t interval)
{
	struct itimerval value = { { (time_t)(interval / 1000000), (suseconds_t)(interval % 1000000) },
				   { (time_t)(usecs / 1000000), (suseconds_t)(usecs % 1000000) } };
	struct itimerval old;
	if (setitimer(ITIMER_REAL, &value, &old) != 0)
		return 0;
	return (useconds_t)(old.it_value.tv_sec * 1000000 + old.it_value.tv_usec);
}
