/* process.c: fork(), execve() and wait() for newlib's _fork_r/_execve_r/_wait_r: a unikernel has one process. */
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
