/* process.c: fork(), execve(), wait(), waitpid(), system(), popen() and pclose(): a unikernel runs one program, so these fail (ENOSYS; waitpid ECHILD). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "glue.h"

pid_t fork(void)
{
	return (pid_t)hermit_result(sys_fork());
}

int execve(const char *path, char *const argv[], char *const envp[])
{
	return (int)hermit_result(sys_execve(path, argv, envp));
}

pid_t wait(int *status)
{
	return (pid_t)hermit_result(sys_wait(status));
}

/* No child process can exist: ECHILD, as Linux answers a process without children. */
pid_t waitpid(pid_t pid, int *status, int options)
{
	(void)pid;
	(void)status;
	(void)options;
	return hermit_fail(ECHILD);
}

/* system(NULL) reports that no command processor exists. */
int system(const char *command)
{
	if (command == NULL)
		return 0;
	return hermit_fail(ENOSYS);
}

FILE *popen(const char *command, const char *mode)
{
	(void)command;
	(void)mode;
	errno = ENOSYS;
	return NULL;
}

int pclose(FILE *stream)
{
	(void)stream;
	return hermit_fail(ENOSYS);
}
