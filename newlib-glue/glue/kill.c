/* kill.c: kill() for newlib's _kill_r (raise, abort): newlib's handlers first, else the kernel. */
/*
 * A signal to the calling task whose newlib handler (signal()) is set goes through raise(),
 * which runs that handler. Otherwise sys_kill delivers it: to the caller without a handler
 * registered with sys_signal the program ends with status 128 + sig.
 */
#include <signal.h>
#include <reent.h>
#include "glue.h"

int kill(pid_t pid, int sig)
{
	if (sig < 0 || sig >= NSIG)
		return hermit_fail(EINVAL);
	if (sig != 0 && pid == (pid_t)sys_getpid()) {
		struct _reent *r = _REENT;
		if (r->_sig_func != NULL && r->_sig_func[sig] != SIG_DFL)
			return raise(sig);
	}
	return hermit_result(sys_kill((tid_t)pid, sig));
}
