/* fdio.c: descriptor calls: dup/dup2/dup3, pipe/pipe2, pread/pwrite/preadv/pwritev, fsync, fdatasync, ftruncate, ioctl. */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <net/if.h>
#include <sys/uio.h>
#include <unistd.h>
#include "glue.h"

int dup(int fd)
{
	return hermit_result(sys_dup(fd));
}

int dup3(int old, int new, int flags)
{
	return hermit_result(sys_dup3(old, new, flags));
}

/* dup2(fd, fd) checks fd and changes nothing. */
int dup2(int old, int new)
{
	if (old == new)
		return sys_fd_valid(old) < 0 ? hermit_fail(EBADF) : new;
	return dup3(old, new, 0);
}

int pipe2(int fds[2], int flags)
{
	return hermit_result(sys_pipe2(fds, flags));
}

int pipe(int fds[2])
{
	return pipe2(fds, 0);
}

ssize_t pread(int fd, void *buf, size_t len, off_t offset)
{
	return hermit_result(sys_pread(fd, buf, len, offset));
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t offset)
{
	return hermit_result(sys_pwrite(fd, buf, len, offset));
}

/* A negative offset is EINVAL, as is a bad iovec array. */
ssize_t preadv(int fd, const struct iovec *iov, int count, off_t offset)
{
	return offset < 0 ? hermit_fail(EINVAL) : hermit_iov_transfer(fd, iov, count, offset, 0);
}

ssize_t pwritev(int fd, const struct iovec *iov, int count, off_t offset)
{
	return offset < 0 ? hermit_fail(EINVAL) : hermit_iov_transfer(fd, iov, count, offset, 1);
}

int fsync(int fd)
{
	return hermit_result(sys_fsync(fd));
}

int fdatasync(int fd)
{
	return hermit_result(sys_fdatasync(fd));
}

int ftruncate(int fd, off_t len)
{
	return hermit_result(sys_ftruncate(fd, len));
}

/* TIOCGWINSZ (the host terminal's size), FIONREAD (bytes a read would find: pipes, socket
 * pairs, sockets), FIONBIO, FIOCLEX/FIONCLEX, the SIOCGIF* requests on a socket (ifaddrs.c);
 * anything else ENOTTY. */
int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	switch (request) {
	case TIOCGWINSZ:
		return hermit_result(sys_winsize(fd, arg));
	case FIONREAD:
		return hermit_result(sys_fionread(fd, arg));
	case FIONBIO: {
		int flags = fcntl(fd, F_GETFL);
		if (flags < 0)
			return -1;
		flags = *(int *)arg ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
		return fcntl(fd, F_SETFL, flags);
	}
	case FIOCLEX:
		return fcntl(fd, F_SETFD, FD_CLOEXEC);
	case FIONCLEX:
		return fcntl(fd, F_SETFD, 0);
	case SIOCGIFCONF:
	case SIOCGIFFLAGS:
	case SIOCGIFADDR:
	case SIOCGIFNETMASK:
	case SIOCGIFMTU:
	case SIOCGIFHWADDR:
	case SIOCGIFINDEX:
		return hermit_ifioctl(fd, request, arg);
	default:
		if (sys_fd_valid(fd) < 0)
			return hermit_fail(EBADF);
		return hermit_fail(ENOTTY);
	}
}
