/* sys/uio.h: struct iovec, readv(), writev(), preadv() and pwritev() (newlib 3.3 ships none; the glue implements them). */
#ifndef _SYS_UIO_H
#define _SYS_UIO_H

#include <sys/cdefs.h>
#include <sys/types.h>

struct iovec {
	void *iov_base;		/* start of the buffer */
	size_t iov_len;		/* its length */
};

#define UIO_MAXIOV 1024
#ifndef IOV_MAX
#define IOV_MAX UIO_MAXIOV
#endif

__BEGIN_DECLS
ssize_t readv(int fd, const struct iovec *iov, int count);
ssize_t writev(int fd, const struct iovec *iov, int count);
ssize_t preadv(int fd, const struct iovec *iov, int count, off_t offset);
ssize_t pwritev(int fd, const struct iovec *iov, int count, off_t offset);
__END_DECLS

#endif /* _SYS_UIO_H */
