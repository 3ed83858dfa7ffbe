/* signals.c: sigprocmask() (no signal masks) and the dispatcher of signals the kernel delivers. */
#include <reent.h>
#include <signal.h>
#include <string.h>
#include "glue.h"

/* Accepts every request and reports an empty mask. */
int sigprocmask(int how, const sigset_t *restrict set, sigset_t *restrict old)
{
	if (set != NULL && how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK)
		return hermit_fail(EINVAL);
	if (old != NULL)
		sigemptyset(old);
	return 0;
}

/*
 * The handler the kernel runs when a signal reaches a task (registered by crt0 for the main
 * task; threads inherit it): the receiving thread's newlib handler, through raise(), which
 * also gives newlib's semantics; SIG_IGN; or the default action, ending the program with
 * 128 + sig as newlib-hermit's dispatcher did.
 */
void __hermit_signal_dispatch(int sig)
{
	struct _reent *r = _REENT;
	_sig_func_ptr handler = SIG_DFL;
	if (r->_sig_func != NULL && sig >= 0 && sig < NSIG)
		handler = r->_sig_func[sig];
	if (handler == SIG_IGN)
		return;
	if (handler != SIG_DFL) {
		raise(sig);
		return;
	}
	static const char prefix[] = "Caught unhandled signal ";
	char line[48];
	int n = sizeof(prefix) - 1;
	memcpy(line, prefix, n);
	if (sig >= 10)
		line[n++] = '0' + sig / 10;
	line[n++] = '0' + sig % 10;
	memcpy(line + n, ", terminating\n", 14);
	sys_write(2, line, n + 14);
	sys_exit(128 + sig);
}
