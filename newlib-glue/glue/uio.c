/* uio.c: readv/writev, and for fdio.c preadv/pwritev, one buffer at a time (the original returned -ENOSYS). */
#include <limits.h>
#include <sys/uio.h>
#include "glue.h"

/* 0, or -EINVAL for a bad count or a total that does not fit in ssize_t (as Linux). */
static int check(const struct iovec *iov, int count)
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

/* One call per buffer, at advancing offsets from `offset` (pread/pwrite), or at the
   descriptor's own position when `offset` is -1 (read/write); stops at the first short
   transfer, as a single call would. */
ssize_t hermit_iov_transfer(int fd, const struct iovec *iov, int count, off_t offset, int writing)
{
	ssize_t done = 0;
	int err = check(iov, count);
	if (err < 0)
		return hermit_result(err);
	for (int i = 0; i < count; i++) {
		char *buf = iov[i].iov_base;
		size_t len = iov[i].iov_len;
		ssize_t n;
		if (offset < 0)
			n = writing ? sys_write(fd, buf, len) : sys_read(fd, buf, len);
		else
			n = writing ? sys_pwrite(fd, buf, len, offset + done) : sys_pread(fd, buf, len, offset + done);
		if (n < 0)
			return done > 0 ? done : hermit_result(n);
		done += n;
		if ((size_t)n < len)
			break;
	}
	return done;
}

ssize_t readv(int fd, const struct iovec *iov, int count)
{
	return hermit_iov_transfer(fd, iov, count, -1, 0);
}

ssize_t writev(int fd, const struct iovec *iov, int count)
{
	return hermit_iov_transfer(fd, iov, count, -1, 1);
}
