/* signals.c: signal()/sigaction()/raise()/kill() run process-wide handlers, sigaction's SA_SIGINFO/SA_RESETHAND/SA_RESTART work, alarm/setitimer send SIGALRM; abort() ends the program with status 128 + SIGABRT. */
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "interrupt.h"
#include "test.h"

static volatile sig_atomic_t caught;
static pthread_t handled_in;

static void handler(int sig)
{
	handled_in = pthread_self();
	__atomic_store_n(&caught, sig, __ATOMIC_RELEASE); /* after handled_in, for main's wait */
}

/* A thread that installs nothing: main's handler must run in it (dispositions are
 * process-wide). */
static void *target(void *arg)
{
	volatile int *go = arg;
	while (!*go)
		sched_yield();
	return NULL;
}

/* Sends SIGUSR2 to main after 100 ms. */
static pthread_t main_thread;

static void *interrupter(void *arg)
{
	(void)arg;
	usleep(100000);
	pthread_kill(main_thread, SIGUSR2);
	return NULL;
}

static void nothing(int sig)
{
	(void)sig;
}

/* A handler that runs during nanosleep ends it early with EINTR and the time left. */
static void sleep_is_interrupted(void)
{
	main_thread = pthread_self();
	CHECK(signal(SIGUSR2, nothing) == SIG_DFL);
	pthread_t thread;
	CHECK_INT(pthread_create(&thread, NULL, interrupter, NULL), 0);
	struct timespec request = { 2, 0 }, left = { 0, 0 };
	errno = 0;
	CHECK_INT(nanosleep(&request, &left), -1);
	CHECK_INT(errno, EINTR);
	double remaining = left.tv_sec + left.tv_nsec * 1e-9;
	CHECK(remaining > 1.5 && remaining < 2.0);
	CHECK_INT(pthread_join(thread, NULL), 0);
	CHECK(signal(SIGUSR2, SIG_DFL) == nothing);
}

static volatile int info_signo, info_code;

static void with_info(int sig, siginfo_t *info, void *context)
{
	(void)context;
	info_signo = info->si_signo == sig ? sig : -1;
	info_code = info->si_code;
}

/* sigaction's flags: SA_SIGINFO calls sa_sigaction with a siginfo_t, SA_RESETHAND puts SIG_DFL
 * back before the handler runs, the flags read back; signal() restarts calls, as glibc's. */
static void flags_work(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = with_info;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	CHECK_INT(sigaction(SIGUSR2, &sa, NULL), 0);
	CHECK_INT(sigaction(SIGUSR2, NULL, &old), 0);
	CHECK_INT(old.sa_flags, (int)(SA_SIGINFO | SA_RESETHAND));
	CHECK(old.sa_sigaction == with_info);
	CHECK_INT(raise(SIGUSR2), 0);
	CHECK_INT(info_signo, SIGUSR2);
	CHECK_INT(info_code, SI_USER);
	CHECK_INT(sigaction(SIGUSR2, NULL, &old), 0);
	CHECK(old.sa_handler == SIG_DFL);
	CHECK_INT(old.sa_flags, 0);
	CHECK(signal(SIGUSR2, nothing) == SIG_DFL);
	CHECK_INT(sigaction(SIGUSR2, NULL, &old), 0);
	CHECK_INT(old.sa_flags, SA_RESTART);
	CHECK(signal(SIGUSR2, SIG_DFL) == nothing);
}

/* A thread blocked in a pipe's read. */
struct blocked {
	int fd;
	volatile int ready;
	ssize_t result;
	int err;
};

static void *read_one(void *arg)
{
	struct blocked *b = arg;
	char c;
	b->ready = 1;
	b->result = read(b->fd, &c, 1);
	b->err = errno;
	return NULL;
}

/* A handler installed with `flags` runs while a thread is blocked in a pipe's read; then a
 * byte comes: the read ended with EINTR, or with SA_RESTART it waited on and got the byte. */
static void pipe_read_with(int flags)
{
	handle_with(SIGUSR2, nothing, flags);
	int fds[2];
	CHECK_INT(pipe(fds), 0);
	struct blocked b = { fds[0], 0, 0, 0 };
	pthread_t thread;
	CHECK_INT(pthread_create(&thread, NULL, read_one, &b), 0);
	interrupt_blocked(thread, &b.ready, SIGUSR2);
	CHECK_INT((int)write(fds[1], "x", 1), 1);
	CHECK_INT(pthread_join(thread, NULL), 0);
	if (flags & SA_RESTART) {
		CHECK_INT((int)b.result, 1);
	} else {
		CHECK_INT((int)b.result, -1);
		CHECK_INT(b.err, EINTR);
	}
	close(fds[0]);
	close(fds[1]);
	handle_with(SIGUSR2, SIG_DFL, 0);
}

static volatile int alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* setitimer's periodic timer sends SIGALRM to the thread that armed it, getitimer shows it,
 * alarm returns the seconds left of the previous one; CPU-time timers are not offered. */
static void timers_work(void)
{
	CHECK(signal(SIGALRM, on_alarm) == SIG_DFL);
	struct itimerval every = { { 0, 20000 }, { 0, 50000 } }, now;
	CHECK_INT(setitimer(ITIMER_REAL, &every, NULL), 0);
	CHECK_INT(getitimer(ITIMER_REAL, &now), 0);
	CHECK(now.it_value.tv_sec == 0 && now.it_value.tv_usec > 0 && now.it_value.tv_usec <= 50000);
	CHECK_INT((int)now.it_interval.tv_usec, 20000);
	time_t give_up = time(NULL) + 5;
	while (alarms < 3 && time(NULL) < give_up)
		usleep(1000);
	CHECK(alarms >= 3);
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	CHECK_INT(setitimer(ITIMER_REAL, &off, &now), 0);
	CHECK_INT((int)now.it_interval.tv_usec, 20000);
	int seen = alarms;
	usleep(100000);
	CHECK_INT(alarms, seen);
	CHECK_INT((int)alarm(10), 0);
	CHECK_INT((int)alarm(0), 10);
	CHECK_INT(setitimer(ITIMER_PROF, &every, NULL), -1);
	CHECK_INT(errno, ENOSYS);
	CHECK(signal(SIGALRM, SIG_DFL) == on_alarm);
}

int main(void)
{
	CHECK(signal(SIGUSR1, handler) == SIG_DFL);
	CHECK_INT(raise(SIGUSR1), 0);
	CHECK_INT(caught, SIGUSR1);
	/* BSD semantics, as glibc: the handler stays installed after it ran. */
	CHECK(signal(SIGUSR1, handler) == handler);
	caught = 0;
	CHECK_INT(kill(getpid(), SIGUSR1), 0);
	CHECK_INT(caught, SIGUSR1);
	/* sigaction reads and replaces the same disposition. */
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	CHECK_INT(sigaction(SIGUSR1, &sa, &old), 0);
	CHECK(old.sa_handler == handler);
	caught = 0;
	CHECK_INT(raise(SIGUSR1), 0);
	CHECK_INT(caught, 0);
	sa.sa_handler = handler;
	CHECK_INT(sigaction(SIGUSR1, &sa, NULL), 0);
	CHECK_INT(sigaction(SIGKILL, &sa, NULL), -1);
	CHECK(signal(SIGSTOP, handler) == SIG_ERR);
	/* A signal sent to another thread runs the process-wide handler in that thread. */
	volatile int go = 0;
	pthread_t thread;
	CHECK_INT(pthread_create(&thread, NULL, target, (void *)&go), 0);
	caught = 0;
	CHECK_INT(pthread_kill(thread, SIGUSR1), 0);
	/* Delivery may wait until the target runs (a few ms on a loaded host): allow 5 s. */
	time_t give_up = time(NULL) + 5;
	while (!__atomic_load_n(&caught, __ATOMIC_ACQUIRE) && time(NULL) < give_up)
		sched_yield();
	CHECK_INT(caught, SIGUSR1);
	CHECK(pthread_equal(handled_in, thread));
	go = 1;
	CHECK_INT(pthread_join(thread, NULL), 0);
	sleep_is_interrupted();
	flags_work();
	pipe_read_with(0);
	pipe_read_with(SA_RESTART);
	timers_work();
	CHECK(signal(SIGUSR2, SIG_IGN) == SIG_DFL);
	CHECK_INT(raise(SIGUSR2), 0);
	CHECK_INT(kill(getpid(), 999), -1);
	CHECK_INT(errno, EINVAL);
	sigset_t set;
	CHECK_INT(sigprocmask(SIG_BLOCK, NULL, &set), 0);
	if (test_failures)
		TEST_DONE();
	printf("handlers ran; calling abort()\n");
	fflush(stdout);
	abort();
}
