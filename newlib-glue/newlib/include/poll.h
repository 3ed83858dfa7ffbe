/* poll.h: poll() over every descriptor (sockets, pipes, host files), lwIP 2.1 values as the original HermitCore; POSIX semantics; ppoll as Linux's. */
#ifndef _POLL_H
#define _POLL_H

#include <sys/cdefs.h>
#include <sys/_sigset.h>

struct timespec;

#define POLLIN 0x1
#define POLLOUT 0x2
#define POLLERR 0x4
#define POLLNVAL 0x8
#define POLLRDNORM 0x10
#define POLLRDBAND 0x20
#define POLLPRI 0x40
#define POLLWRNORM 0x80
#define POLLWRBAND 0x100
#define POLLHUP 0x200

typedef unsigned int nfds_t;

struct pollfd {
	int fd;
	short events;
	short revents;
};

__BEGIN_DECLS
int poll(struct pollfd *fds, nfds_t nfds, int timeout);
/* Linux's: poll with a timespec timeout (NULL: forever) and a signal mask for the wait. */
int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout, const __sigset_t *sigmask);
__END_DECLS

#endif /* _POLL_H */
