/* fcntl.c: fcntl() and flock(), newlib's F_* numbers and struct flock translated to the kernel's (Linux's). */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/file.h>
#include "glue.h"

/* Linux's commands and lock types, as sys_fcntl takes them. */
enum { L_F_DUPFD = 0, L_F_GETFD = 1, L_F_SETFD = 2, L_F_GETFL = 3, L_F_SETFL = 4, L_F_GETLK = 5,
       L_F_SETLK = 6, L_F_SETLKW = 7, L_F_DUPFD_CLOEXEC = 1030 };
enum { L_F_RDLCK = 0, L_F_WRLCK = 1, L_F_UNLCK = 2 };

static int to_linux_type(short type)
{
	switch (type) {
	case F_RDLCK: return L_F_RDLCK;
	case F_WRLCK: return L_F_WRLCK;
	case F_UNLCK: return L_F_UNLCK;
	default: return -1;
	}
}

static short from_linux_type(short type)
{
	return type == L_F_RDLCK ? F_RDLCK : type == L_F_WRLCK ? F_WRLCK : F_UNLCK;
}

static int lock(int fd, int cmd, struct flock *fl)
{
	struct hermit_flock l;
	int type = to_linux_type(fl->l_type);
	if (type < 0)
		return hermit_fail(EINVAL);
	l.l_type = (short)type;
	l.l_whence = fl->l_whence;
	l.l_start = fl->l_start;
	l.l_len = fl->l_len;
	l.l_pid = 0;
	long ret = sys_fcntl(fd, cmd, (int64_t)(uintptr_t)&l);
	if (ret < 0)
		return hermit_result(ret);
	if (cmd == L_F_GETLK) {
		fl->l_type = from_linux_type(l.l_type);
		fl->l_whence = l.l_whence;
		fl->l_start = l.l_start;
		fl->l_len = l.l_len;
		fl->l_pid = (short)l.l_pid;
	}
	return 0;
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	switch (cmd) {
	case F_DUPFD: return hermit_result(sys_fcntl(fd, L_F_DUPFD, arg));
	case F_DUPFD_CLOEXEC: return hermit_result(sys_fcntl(fd, L_F_DUPFD_CLOEXEC, arg));
	case F_GETFD: return hermit_result(sys_fcntl(fd, L_F_GETFD, 0));
	case F_SETFD: return hermit_result(sys_fcntl(fd, L_F_SETFD, (int)arg));
	case F_GETFL: return hermit_result(sys_fcntl(fd, L_F_GETFL, 0));
	case F_SETFL: return hermit_result(sys_fcntl(fd, L_F_SETFL, (int)arg));
	case F_GETLK: return lock(fd, L_F_GETLK, (struct flock *)arg);
	case F_SETLK: return lock(fd, L_F_SETLK, (struct flock *)arg);
	case F_SETLKW: return lock(fd, L_F_SETLKW, (struct flock *)arg);
	default: return hermit_fail(EINVAL);
	}
}

/* LOCK_* have Linux's values in newlib too. */
int flock(int fd, int op)
{
	return hermit_result(sys_flock(fd, op));
}
