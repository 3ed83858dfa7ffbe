/* posix_pipes.c: pipes between threads: blocking transfer of 4 MiB, atomic small writes, O_NONBLOCK, end of file, EPIPE with SIGPIPE, dup'ed ends. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test.h"

#define TOTAL (4 << 20)

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 31 + (i >> 12));
}

static void *writer(void *arg)
{
	int fd = *(int *)arg;
	static unsigned char buf[100000];
	size_t sent = 0, step = 1;
	while (sent < TOTAL) {
		size_t n = step < TOTAL - sent ? step : TOTAL - sent;
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(sent + i);
		ssize_t w = write(fd, buf, n);
		if (w != (ssize_t)n) {
			fprintf(stderr, "write returned %zd of %zu\n", w, n);
			break;
		}
		sent += n;
		step = step * 7 % 99991 + 1;
	}
	close(fd);
	return NULL;
}

static void bulk(void)
{
	int fds[2];
	CHECK_INT(pipe(fds), 0);
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, writer, &fds[1]), 0);
	static unsigned char buf[65536];
	size_t got = 0;
	int bad = 0;
	for (;;) {
		ssize_t n = read(fds[0], buf, sizeof(buf) - (got % 3));
		if (n <= 0) {
			CHECK_INT(n, 0);
			break;
		}
		for (ssize_t i = 0; i < n; i++)
			bad += buf[i] != pattern(got + i);
		got += n;
	}
	CHECK_INT(got, TOTAL);
	CHECK_INT(bad, 0);
	CHECK_INT(pthread_join(t, NULL), 0);
	CHECK_INT(close(fds[0]), 0);
}

/* Writers of PIPE_BUF-sized records never interleave. */
static void *record_writer(void *arg)
{
	int fd = ((int *)arg)[0], tag = ((int *)arg)[1];
	unsigned char rec[4096];
	memset(rec, tag, sizeof(rec));
	for (int i = 0; i < 200; i++)
		if (write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec))
			break;
	return NULL;
}

static void atomic_records(void)
{
	int fds[2];
	CHECK_INT(pipe(fds), 0);
	int a[2] = { fds[1], 'a' }, b[2] = { fds[1], 'b' };
	pthread_t ta, tb;
	CHECK_INT(pthread_create(&ta, NULL, record_writer, a), 0);
	CHECK_INT(pthread_create(&tb, NULL, record_writer, b), 0);
	unsigned char rec[4096];
	int mixed = 0, records = 0;
	for (; records < 400; records++) {
		size_t have = 0;
		while (have < sizeof(rec)) {
			ssize_t n = read(fds[0], rec + have, sizeof(rec) - have);
			if (n <= 0)
				break;
			have += n;
		}
		if (have != sizeof(rec))
			break;
		for (size_t i = 1; i < sizeof(rec); i++)
			mixed += rec[i] != rec[0];
	}
	CHECK_INT(records, 400);
	CHECK_INT(mixed, 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	close(fds[0]);
	close(fds[1]);
}

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static void nonblocking_and_ends(void)
{
	int fds[2];
	CHECK_INT(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
	CHECK_INT(fcntl(fds[0], F_GETFD), FD_CLOEXEC);
	CHECK_INT(fcntl(fds[0], F_GETFL), O_RDONLY | O_NONBLOCK);
	CHECK_INT(fcntl(fds[1], F_GETFL), O_WRONLY | O_NONBLOCK);
	char buf[8192];
	CHECK_INT(read(fds[0], buf, sizeof(buf)), -1);
	CHECK_INT(errno, EAGAIN);
	memset(buf, 'z', sizeof(buf));
	size_t filled = 0;
	ssize_t n;
	while ((n = write(fds[1], buf, sizeof(buf))) > 0)
		filled += n;
	CHECK_INT(n, -1);
	CHECK_INT(errno, EAGAIN);
	CHECK_INT(filled, 65536);
	struct stat st;
	CHECK_INT(fstat(fds[0], &st), 0);
	CHECK(S_ISFIFO(st.st_mode));
	CHECK_INT(lseek(fds[0], 0, SEEK_SET), -1);
	CHECK_INT(errno, ESPIPE);
	CHECK_INT(write(fds[0], "x", 1), -1);
	CHECK_INT(errno, EBADF);
	CHECK_INT(read(fds[1], buf, 1), -1);
	CHECK_INT(errno, EBADF);
	/* The write end survives in its duplicate. */
	int copy = dup(fds[1]);
	CHECK_INT(close(fds[1]), 0);
	CHECK_INT(fcntl(fds[0], F_SETFL, 0), 0);
	size_t drained = 0;
	while (drained < filled && (n = read(fds[0], buf, sizeof(buf))) > 0)
		drained += n;
	CHECK_INT(drained, filled);
	CHECK_INT(close(copy), 0);
	CHECK_INT(read(fds[0], buf, sizeof(buf)), 0); /* every writer gone: end of file */
	CHECK_INT(close(fds[0]), 0);

	/* No reader: EPIPE, after SIGPIPE. */
	CHECK_INT(pipe(fds), 0);
	CHECK_INT(close(fds[0]), 0);
	CHECK(signal(SIGPIPE, on_sigpipe) != SIG_ERR);
	CHECK_INT(write(fds[1], "x", 1), -1);
	CHECK_INT(errno, EPIPE);
	CHECK_INT(sigpipes, 1);
	CHECK(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
	CHECK_INT(write(fds[1], "x", 1), -1);
	CHECK_INT(errno, EPIPE);
	CHECK_INT(sigpipes, 1);
	CHECK_INT(close(fds[1]), 0);
	CHECK_INT(pipe2(fds, 12345), -1);
	CHECK_INT(errno, EINVAL);
}

int main(void)
{
	bulk();
	atomic_records();
	nonblocking_and_ends();
	TEST_DONE();
}
