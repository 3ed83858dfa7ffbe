/* interrupt.h: a signal handler installed with sigaction's flags, and a signal sent to a thread once it has blocked; for the EINTR and SA_RESTART checks. */
#ifndef HERMIT_INTERRUPT_H
#define HERMIT_INTERRUPT_H

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "test.h"

/* Installs `handler` for `sig` with sigaction's `flags`. */
static inline void handle_with(int sig, void (*handler)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = flags;
	CHECK_INT(sigaction(sig, &sa, NULL), 0);
}

/* Waits until `thread` set *ready (just before its blocking call), gives it 20 ms to block,
 * sends it `sig` and gives the handler 20 ms to run. */
static inline void interrupt_blocked(pthread_t thread, volatile int *ready, int sig)
{
	while (!*ready)
		usleep(1000);
	usleep(20000);
	CHECK_INT(pthread_kill(thread, sig), 0);
	usleep(20000);
}

#endif
