/* fileio: 1 MiB to a host file, seeks, reads it back; errors of missing files reach errno.
 * argv: <file to create> <missing file> [nostat]; the harness checks the file afterwards.
 * "nostat" is for the original uhyve protocol: it has no hypercall for stat/fstat, and a failed
 * host call reports a bare -1, so the errno is EIO instead of the host's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

#define SIZE (1 << 20)

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + (i >> 12));
}

int main(int argc, char **argv)
{
	CHECK(argc == 3 || argc == 4);
	int with_stat = argc == 3;
	const char *path = argv[1];
	unsigned char *out = malloc(SIZE), *in = malloc(SIZE);
	CHECK(out && in);
	if (!out || !in)
		return 1;
	for (size_t i = 0; i < SIZE; i++)
		out[i] = pattern(i);

	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
	CHECK(fd >= 0);
	CHECK(write(fd, out, SIZE) == SIZE);
	CHECK(lseek(fd, 0, SEEK_CUR) == SIZE);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	size_t got = 0;
	while (got < SIZE) {
		ssize_t n = read(fd, in + got, SIZE - got);
		CHECK(n > 0);
		got += n;
	}
	CHECK(memcmp(in, out, SIZE) == 0);
	CHECK(lseek(fd, 12345, SEEK_SET) == 12345);
	unsigned char byte;
	CHECK(read(fd, &byte, 1) == 1 && byte == pattern(12345));
	CHECK(read(fd, in, 16) == 16 && memcmp(in, out + 12346, 16) == 0);
	struct stat st;
	if (with_stat) {
		CHECK(fstat(fd, &st) == 0 && st.st_size == SIZE && S_ISREG(st.st_mode));
		/* Host files prefer 64 KiB per call (a host call is a round trip), at least. */
		CHECK(st.st_blksize >= 65536);
		CHECK(stat(path, &st) == 0 && st.st_size == SIZE && st.st_blksize >= 65536);
	}
	CHECK(close(fd) == 0);
	/* The guest's descriptor table answers EBADF itself, also under the original uhyve. */
	int bad_fd = EBADF, missing = with_stat ? ENOENT : EIO;
	CHECK(close(fd) == -1 && errno == bad_fd);

	/* A missing file: the host's ENOENT reaches errno. */
	errno = 0;
	CHECK(open(argv[2], O_RDONLY) == -1 && errno == missing);
	FILE *f = fopen(argv[2], "r");
	CHECK(f == NULL && errno == missing);
	CHECK(strcmp(strerror(ENOENT), "No such file or directory") == 0);

	/* stdio on the same file, appending a line. */
	f = fopen(path, "a");
	CHECK(f != NULL);
	CHECK(fprintf(f, "end %d\n", 42) == 7);
	/* The stream's buffer is st_blksize: 64 KiB with stat, BUFSIZ (1024) without. */
	CHECK(__fbufsize(f) == (with_stat ? (size_t)st.st_blksize : 1024));
	CHECK(fclose(f) == 0);
	if (with_stat)
		CHECK(stat(path, &st) == 0 && st.st_size == SIZE + 7);
	TEST_DONE();
}
