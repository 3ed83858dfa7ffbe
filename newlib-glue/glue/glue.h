/* glue.h: shared helper of the newlib syscall layer: kernel results to the errno convention. */
#ifndef HERMIT_GLUE_H
#define HERMIT_GLUE_H

#include <errno.h>
#include <hermit/syscall.h>

/* The kernel returns a value >= 0 or a negative errno; POSIX wants -1 and errno. */
static inline long hermit_result(long ret)
{
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

/* Sets errno and returns -1, for calls the kernel does not offer. */
static inline int hermit_fail(int err)
{
	errno = err;
	return -1;
}

struct iovec;
/* uio.c: readv/writev (offset -1) and preadv/pwritev (offset >= 0) over one buffer at a time. */
ssize_t hermit_iov_transfer(int fd, const struct iovec *iov, int count, off_t offset, int writing);

/* ifaddrs.c: the SIOCGIF* requests of ioctl on socket descriptor fd. */
int hermit_ifioctl(int fd, unsigned long request, void *arg);

#endif
