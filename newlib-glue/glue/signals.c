/* signals.c: process-wide signal dispositions (signal, sigaction), kill(), per-thread masks (sigprocmask, pthread_sigmask), and the kernel's dispatcher. */
/*
 * newlib keeps handlers in each struct _reent, which is per thread here, while POSIX makes
 * dispositions process-wide (a handler main installs must run in the thread pthread_kill
 * targets). So newlib is built with SIGNAL_PROVIDED and this file owns one table; newlib's
 * raise() then is kill(getpid(), sig), which acts in the calling thread at once (the
 * program's id, getpid.c; Linux delivers a signal to the process to any thread that does
 * not block it, here the sender). signal()
 * has BSD semantics, as with glibc: the handler stays installed when it runs (newlib's own
 * signal() reset it to SIG_DFL first) and interrupted calls restart (SA_RESTART).
 * sigaction's flags (Linux's values, our <sys/signal.h>): SA_SIGINFO calls sa_sigaction with
 * a siginfo_t (si_code SI_USER) and no context, SA_RESETHAND puts SIG_DFL back before the
 * handler runs, SA_RESTART tells the kernel (sys_sigrestart) that a blocked socket call
 * without a timeout or a pipe's read or write waits again after the handler, where it ends
 * with EINTR otherwise; poll, select, epoll_wait, nanosleep and sem_wait end with EINTR
 * after any handler, as on Linux. SA_NODEFER changes nothing: the handler always runs with
 * the thread's mask as it is (sa_mask is ignored). SA_NOCLDSTOP, SA_NOCLDWAIT and
 * SA_ONSTACK are accepted (no child processes, no alternate stacks).
 */
#include <reent.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "glue.h"

static _sig_func_ptr handlers[NSIG];
/* sigaction's sa_flags of each signal (SA_RESTART for signal()'s). */
static int flags[NSIG];

static int valid(int sig)
{
	return sig > 0 && sig < NSIG;
}

/* Whether SIG_DFL ignores `sig`. */
static int ignored_by_default(int sig)
{
	return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

/* The default action: ignore for the signals that POSIX ignores, else end the program with
 * 128 + sig, as the original's dispatcher did. */
static void default_action(int sig)
{
	if (ignored_by_default(sig))
		return;
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

/* Installs `handler` with `sa_flags` for `sig` (valid); returns the previous handler and
 * puts the previous flags into *old_flags (if not null). Tells the kernel whether the
 * signal restarts calls: with SA_RESTART, or where it is ignored. */
static _sig_func_ptr install(int sig, _sig_func_ptr handler, int sa_flags, int *old_flags)
{
	int previous_flags = __atomic_exchange_n(&flags[sig], sa_flags, __ATOMIC_ACQ_REL);
	_sig_func_ptr previous = __atomic_exchange_n(&handlers[sig], handler, __ATOMIC_ACQ_REL);
	int ignored = handler == SIG_IGN || (handler == SIG_DFL && ignored_by_default(sig));
	sys_sigrestart(sig, (sa_flags & SA_RESTART) != 0 || ignored);
	if (old_flags != NULL)
		*old_flags = previous_flags;
	return previous;
}

/* Carries out the disposition of `sig` (valid) in the calling thread. */
static void act(int sig)
{
	_sig_func_ptr handler = __atomic_load_n(&handlers[sig], __ATOMIC_ACQUIRE);
	if (handler == SIG_IGN)
		return;
	if (handler == SIG_DFL) {
		default_action(sig);
		return;
	}
	int sa_flags = __atomic_load_n(&flags[sig], __ATOMIC_ACQUIRE);
	if (sa_flags & SA_RESETHAND)
		install(sig, SIG_DFL, 0, NULL);
	if (sa_flags & SA_SIGINFO) {
		siginfo_t info;
		memset(&info, 0, sizeof(info));
		info.si_signo = sig;
		info.si_code = SI_USER;
		((void (*)(int, siginfo_t *, void *))(void (*)(void))handler)(sig, &info, NULL);
	} else {
		handler(sig);
	}
}

_sig_func_ptr signal(int sig, _sig_func_ptr func)
{
	if (!valid(sig) || sig == SIGKILL || sig == SIGSTOP) {
		errno = EINVAL;
		return SIG_ERR;
	}
	return install(sig, func, SA_RESTART, NULL);
}

_sig_func_ptr _signal_r(struct _reent *r, int sig, _sig_func_ptr func)
{
	(void)r;
	return signal(sig, func);
}

/* sa_handler and sa_sigaction share their place in struct sigaction; sa_mask is ignored (the
 * handler runs with the thread's mask as it is). */
int sigaction(int sig, const struct sigaction *restrict act_in, struct sigaction *restrict old)
{
	if (!valid(sig) || (act_in != NULL && (sig == SIGKILL || sig == SIGSTOP)))
		return hermit_fail(EINVAL);
	int previous_flags = __atomic_load_n(&flags[sig], __ATOMIC_ACQUIRE);
	_sig_func_ptr previous = act_in != NULL
		? install(sig, act_in->sa_handler, act_in->sa_flags, &previous_flags)
		: __atomic_load_n(&handlers[sig], __ATOMIC_ACQUIRE);
	if (old != NULL) {
		old->sa_handler = previous;
		sigemptyset(&old->sa_mask);
		old->sa_flags = previous_flags;
	}
	return 0;
}

/* To the program (getpid()) or the calling thread's task id: in the calling thread, at once.
 * To another task id (the original's kill): through sys_kill, whose handler there is
 * __hermit_signal_dispatch. */
int kill(pid_t pid, int sig)
{
	if (sig < 0 || sig >= NSIG)
		return hermit_fail(EINVAL);
	tid_t self = sys_getpid();
	if (pid != getpid() && pid != (pid_t)self)
		return hermit_result(sys_kill((tid_t)pid, sig));
	if (sig == 0)
		return 0;
	sigset_t mask;
	sys_sigprocmask(SIG_BLOCK, NULL, &mask);
	/* A blocked signal stays pending in the kernel until sigprocmask unblocks it. */
	if (mask & (1UL << sig))
		return hermit_result(sys_kill(self, sig));
	act(sig);
	return 0;
}

/* newlib's hooks for ports that deliver signals themselves: 0 if a handler ran, 1 for
 * SIG_DFL, 3 for SIG_IGN, -1 for a bad number. */
int __sigtramp(int sig)
{
	if (!valid(sig))
		return -1;
	_sig_func_ptr handler = __atomic_load_n(&handlers[sig], __ATOMIC_ACQUIRE);
	if (handler == SIG_DFL)
		return 1;
	if (handler == SIG_IGN)
		return 3;
	handler(sig);
	return 0;
}

int __sigtramp_r(struct _reent *r, int sig)
{
	(void)r;
	return __sigtramp(sig);
}

int _init_signal(void)
{
	return 0;
}

int _init_signal_r(struct _reent *r)
{
	(void)r;
	return 0;
}

/* The calling thread's signal mask, kept by the kernel (sys_sigprocmask): blocked signals
 * stay pending and neither run nor interrupt waits; pselect and ppoll swap it for a wait.
 * Each thread has its own, inherited by the threads it creates. */
int sigprocmask(int how, const sigset_t *restrict set, sigset_t *restrict old)
{
	if (set != NULL && how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK)
		return hermit_fail(EINVAL);
	sigset_t wanted = 0;
	if (set != NULL)
		wanted = *set & ~((1UL << SIGKILL) | (1UL << SIGSTOP));
	/* newlib's SIG_BLOCK/SIG_UNBLOCK/SIG_SETMASK are 1, 2, 0; the kernel's 0, 1, 2. */
	int kernel_how = how == SIG_BLOCK ? 0 : how == SIG_UNBLOCK ? 1 : 2;
	return hermit_result(sys_sigprocmask(kernel_how, set != NULL ? &wanted : NULL, old));
}

/* As sigprocmask, but returns the error number. */
int pthread_sigmask(int how, const sigset_t *restrict set, sigset_t *restrict old)
{
	return sigprocmask(how, set, old) == 0 ? 0 : errno;
}

/* The handler the kernel runs when a signal reaches a task (sys_kill, pthread_kill):
 * registered by crt0 for the main task, inherited by threads. */
void __hermit_signal_dispatch(int sig)
{
	if (valid(sig))
		act(sig);
}
