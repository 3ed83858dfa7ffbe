/* sys/socket.h: BSD sockets with the original HermitCore's (lwIP 2.1) layouts and constants; the kernel implements them (src/syscalls/net.rs). */
#ifndef _SYS_SOCKET_H
#define _SYS_SOCKET_H

#include <sys/cdefs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <stdint.h>

typedef uint32_t socklen_t;
typedef uint8_t sa_family_t;

/* Socket descriptors carry this bit (lwIP's LWIP_FD_BIT); read, write, close, fcntl work on them. */
#define LWIP_FD_BIT 0x40000000

struct sockaddr {
	uint8_t sa_len;
	sa_family_t sa_family;
	char sa_data[14];
};

struct sockaddr_storage {
	uint8_t s2_len;
	sa_family_t ss_family;
	char s2_data1[2];
	uint32_t s2_data2[3];
	uint32_t s2_data3[3];
};

struct msghdr {
	void *msg_name;
	socklen_t msg_namelen;
	struct iovec *msg_iov;
	int msg_iovlen;
	void *msg_control;
	socklen_t msg_controllen;
	int msg_flags;
};

/* Control messages of sendmsg/recvmsg (the original's lwIP 2.0 headers had none) in the layout
 * of lwIP 2.1, its kernel's stack: cmsg_len is a socklen_t (Linux's is a size_t); the data
 * starts 16 bytes in and each message at a multiple of 8, as on Linux. Unix sockets pass
 * descriptors with them (SCM_RIGHTS). */
struct cmsghdr {
	socklen_t cmsg_len;
	int cmsg_level;
	int cmsg_type;
};

#define CMSG_ALIGN(n) (((size_t)(n) + sizeof(long) - 1) & ~(size_t)(sizeof(long) - 1))
#define CMSG_DATA(c) ((unsigned char *)(c) + CMSG_ALIGN(sizeof(struct cmsghdr)))
#define CMSG_LEN(n) (CMSG_ALIGN(sizeof(struct cmsghdr)) + (n))
#define CMSG_SPACE(n) (CMSG_ALIGN(sizeof(struct cmsghdr)) + CMSG_ALIGN(n))
#define CMSG_FIRSTHDR(m) \
	((size_t)(m)->msg_controllen >= sizeof(struct cmsghdr) ? (struct cmsghdr *)(m)->msg_control : (struct cmsghdr *)0)
/* The message after c, if a whole header fits after it; lwIP's gives the first for a null c. */
#define CMSG_NXTHDR(m, c) __cmsg_next((m), (c))

static __inline struct cmsghdr *__cmsg_next(const struct msghdr *m, const struct cmsghdr *c)
{
	unsigned char *end = (unsigned char *)m->msg_control + m->msg_controllen;
	unsigned char *next;
	if (c == 0)
		return CMSG_FIRSTHDR(m);
	if (c->cmsg_len < sizeof(struct cmsghdr))
		return (struct cmsghdr *)0;
	next = (unsigned char *)c + CMSG_ALIGN(c->cmsg_len);
	if (next + CMSG_ALIGN(sizeof(struct cmsghdr)) > end)
		return (struct cmsghdr *)0;
	return (struct cmsghdr *)next;
}

/* cmsg_type at SOL_SOCKET: an array of descriptors (Unix sockets only). */
#define SCM_RIGHTS 0x01

struct linger {
	int l_onoff;
	int l_linger;
};

#define AF_UNSPEC 0
/* Sockets between the threads of the program (<sys/un.h>). */
#define AF_UNIX 1
#define AF_LOCAL AF_UNIX
#define AF_INET 2
#define AF_INET6 10
#define PF_UNSPEC AF_UNSPEC
#define PF_UNIX AF_UNIX
#define PF_LOCAL AF_UNIX
#define PF_INET AF_INET
#define PF_INET6 AF_INET6

#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_RAW 3
/* Linux's (lwIP has none): AF_UNIX only. */
#define SOCK_SEQPACKET 5
/* Linux's flags in socket()'s type, accepted as an extension. */
#define SOCK_NONBLOCK 04000
#define SOCK_CLOEXEC 02000000

#define SOL_SOCKET 0xfff
/* Read only: 1 for a socket that listens (lwIP's). */
#define SO_ACCEPTCONN 0x0002
#define SO_REUSEADDR 0x0004
#define SO_KEEPALIVE 0x0008
#define SO_BROADCAST 0x0020
#define SO_LINGER 0x0080
/* lwIP's value (lwIP left it unimplemented), with Linux's meaning: sockets that all set it
 * before bind share an address and port, and each connection or datagram goes to one of
 * them by a hash of its addresses and ports. Internet sockets only. */
#define SO_REUSEPORT 0x0200
#define SO_SNDBUF 0x1001
#define SO_RCVBUF 0x1002
#define SO_SNDLOWAT 0x1003
#define SO_RCVLOWAT 0x1004
#define SO_SNDTIMEO 0x1005
#define SO_RCVTIMEO 0x1006
#define SO_ERROR 0x1007
#define SO_TYPE 0x1008
/* Linux's 17 in lwIP's range (lwIP has none): an AF_UNIX socket's peer, a struct ucred. */
#define SO_PEERCRED 0x1011

#if __GNU_VISIBLE
/* SO_PEERCRED's value, as Linux's (with _GNU_SOURCE). */
struct ucred {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};
#endif

/* The original (lwIP) said 0xff; listen() here keeps at most 128 pending connections (Linux's
 * value before 5.4), fewer where their buffers would take over a quarter of guest memory. */
#define SOMAXCONN 128

#define MSG_PEEK 0x01
#define MSG_WAITALL 0x02
#define MSG_OOB 0x04
#define MSG_DONTWAIT 0x08
#define MSG_MORE 0x10
#define MSG_NOSIGNAL 0x20
/* Linux's (lwIP has none): descriptors received with SCM_RIGHTS get FD_CLOEXEC. */
#define MSG_CMSG_CLOEXEC 0x40000000
/* msg_flags values (lwIP's): a datagram longer than the buffers, control data cut. Given to
   recv on a UDP socket, MSG_TRUNC (MSG_OOB's value) returns the datagram's whole length, as
   on Linux. */
#define MSG_TRUNC 0x04
#define MSG_CTRUNC 0x08

#define SHUT_RD 0
#define SHUT_WR 1
#define SHUT_RDWR 2

__BEGIN_DECLS
int socket(int domain, int type, int protocol);
/* AF_UNIX only: a connected pair of a stream, datagram or sequenced-packet type inside the guest. */
int socketpair(int domain, int type, int protocol, int sv[2]);
int bind(int s, const struct sockaddr *name, socklen_t namelen);
int listen(int s, int backlog);
int accept(int s, struct sockaddr *addr, socklen_t *addrlen);
/* Linux's: accept with SOCK_NONBLOCK and SOCK_CLOEXEC for the new descriptor. */
int accept4(int s, struct sockaddr *addr, socklen_t *addrlen, int flags);
int connect(int s, const struct sockaddr *name, socklen_t namelen);
ssize_t send(int s, const void *dataptr, size_t size, int flags);
ssize_t sendto(int s, const void *dataptr, size_t size, int flags, const struct sockaddr *to, socklen_t tolen);
ssize_t sendmsg(int s, const struct msghdr *message, int flags);
ssize_t recv(int s, void *mem, size_t len, int flags);
ssize_t recvfrom(int s, void *mem, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen);
ssize_t recvmsg(int s, struct msghdr *message, int flags);
int shutdown(int s, int how);
int getsockname(int s, struct sockaddr *name, socklen_t *namelen);
int getpeername(int s, struct sockaddr *name, socklen_t *namelen);
int getsockopt(int s, int level, int optname, void *optval, socklen_t *optlen);
int setsockopt(int s, int level, int optname, const void *optval, socklen_t optlen);

#if __GNU_VISIBLE
/* Linux's (with _GNU_SOURCE): several messages in one call, each one's length in msg_len. */
struct mmsghdr {
	struct msghdr msg_hdr;
	unsigned int msg_len;
};
/* recvmmsg: the messages after the first do not wait. */
#define MSG_WAITFORONE 0x10000
struct timespec;
int sendmmsg(int s, struct mmsghdr *vec, unsigned int vlen, int flags);
/* The timeout, as Linux's, is looked at after each message only. */
int recvmmsg(int s, struct mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout);
#endif
__END_DECLS

#endif /* _SYS_SOCKET_H */
