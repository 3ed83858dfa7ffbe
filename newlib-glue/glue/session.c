/* session.c: process groups and sessions of a one-process system: the program leads its own group and session. */
/*
 * The original left getppid, getpgrp, getpgid, setpgid, getsid and setsid undefined, so
 * programs that call them did not link (OpenSSL's `openssl` tool calls setpgid). Answers as
 * Linux gives them to a process that leads its group and session and whose parent lies
 * outside its pid namespace: the parent is 0, setpgid to its own group succeeds, setsid fails
 * with EPERM (a group leader cannot start a session), any other process is ESRCH.
 */
#include <unistd.h>
#include "glue.h"

static int is_self(pid_t pid)
{
	return pid == 0 || pid == getpid();
}

pid_t getppid(void)
{
	return 0;
}

pid_t getpgrp(void)
{
	return getpid();
}

pid_t getpgid(pid_t pid)
{
	return is_self(pid) ? getpid() : hermit_fail(ESRCH);
}

pid_t getsid(pid_t pid)
{
	return is_self(pid) ? getpid() : hermit_fail(ESRCH);
}

int setpgid(pid_t pid, pid_t pgid)
{
	if (pgid < 0)
		return hermit_fail(EINVAL);
	if (!is_self(pid))
		return hermit_fail(ESRCH);
	/* Joining another group needs another process to lead it. */
	return is_self(pgid) ? 0 : hermit_fail(EPERM);
}

pid_t setsid(void)
{
	return hermit_fail(EPERM);
}
