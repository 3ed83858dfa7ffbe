/* signals.c: signal()/raise()/kill() run handlers in the program; abort() ends it with status 128 + SIGABRT. */
#include <signal.h>
#include <unistd.h>
#include "test.h"

static volatile sig_atomic_t caught;

static void handler(int sig)
{
	caught = sig;
}

int main(void)
{
	CHECK(signal(SIGUSR1, handler) == SIG_DFL);
	CHECK_INT(raise(SIGUSR1), 0);
	CHECK_INT(caught, SIGUSR1);
	/* newlib's signal() has System V semantics: delivery resets the handler. */
	CHECK(signal(SIGUSR1, handler) == SIG_DFL);
	caught = 0;
	CHECK_INT(kill(getpid(), SIGUSR1), 0);
	CHECK_INT(caught, SIGUSR1);
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
