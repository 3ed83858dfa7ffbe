/* uio.c: readv() and writev() as loops over sys_read/sys_write (the original returned -ENOSYS). */
#include <limits.h>
#include <sys/uio.h>
#include "glue.h"

/* 0, or -EINVAL for a bad count or a total that does not fit in ssize_t (as Linux). */
int hermit_check_iov(const struct iovec *iov, int count)
{
	size_t total = 0;
	if (count < 0 || count > IOV_MAX)
		return -EINVAL;
	for (int i = 0; i < count; i++) {
		if (iov[i].iov_len > (size_t)LONG_MAX - total)
			return -EINVAL;
		total += iov[i].iov_len;
	}
	return 0;
}

static ssize_t read_one(int fd, void *buf, size_t len)
{
	return sys_read(fd, buf, len);
}

static ssize_t write_one(int fd, void *buf, size_t len)
{
	return sys_write(fd, buf, len);
}

/* One call per buffer; stops at the first short transfer, as a single read or write would. */
static ssize_t transfer(int fd, const struct iovec *iov, int count, ssize_t (*one)(int, void *, size_t))
{
	ssize_t done = 0;
	int err = hermit_check_iov(iov, count);
	if (err < 0)
		return hermit_result(err);
	for (int i = 0; i < count; i++) {
		ssize_t n = one(fd, iov[i].iov_base, iov[i].iov_len);
		if (n < 0)
			return done > 0 ? done : hermit_result(n);
		done += n;
		if ((size_t)n < iov[i].iov_len)
			break;
	}
	return done;
}

ssize_t readv(int fd, const struct iovec *iov, int count)
{
	return transfer(fd, iov, count, read_one);
}

ssize_t writev(int fd, const struct iovec *iov, int count)
{
	return transfer(fd, iov, count, write_one);
}
