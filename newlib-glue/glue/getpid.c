/* getpid.c: getpid(), one id for the whole program (its main task's), and gettid(), the calling thread's task id. */
/*
 * The original HermitCore's getpid() was sys_getpid(), the calling task's id, so each thread
 * saw a different process id. That quirk is fixed here, as POSIX has it: libraries that
 * detect a fork (ZeroMQ, OpenSSL) compare getpid() across threads and took every other
 * thread for a forked child. kill() (signals.c) takes both ids: the program's signals the
 * calling thread, a task id that task. sys_getpid() keeps the original's meaning.
 */
#include <unistd.h>
#include "glue.h"

/* Set by libc_start (crt0.c) on the main task, before constructors run. */
pid_t __hermit_pid;

pid_t getpid(void)
{
	pid_t pid = __atomic_load_n(&__hermit_pid, __ATOMIC_RELAXED);
	return pid != 0 ? pid : (pid_t)sys_getpid();
}

pid_t gettid(void)
{
	return (pid_t)sys_getpid();
}
