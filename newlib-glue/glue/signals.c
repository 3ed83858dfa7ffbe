/* signals.c: sigprocmask() for newlib's abort/signal code: HermitCore has no signal masks. */
#include <signal.h>
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
