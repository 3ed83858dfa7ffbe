/* unsupported.c: calls HermitCore does not offer fail cleanly with the documented errno. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test.h"

int main(void)
{
	CHECK_INT(fork(), -1);
	CHECK_INT(errno, ENOSYS);
	CHECK_INT(wait(NULL), -1);
	CHECK_INT(errno, ENOSYS);
	char *const argv[] = { "x", NULL };
	CHECK_INT(execve("/bin/true", argv, argv), -1);
	CHECK_INT(errno, ENOSYS);
	CHECK_INT(system("ls"), -1);
	CHECK_INT(errno, ENOSYS);
	CHECK(popen("ls", "r") == NULL);
	CHECK_INT(errno, ENOSYS);
	CHECK_INT(getuid(), 0);

	/* writev gathers into one stream; the test matches the line. */
	struct iovec iov[3] = { { "writev ", 7 }, { "gathers ", 8 }, { "this line\n", 10 } };
	CHECK_INT(writev(1, iov, 3), 25);
	CHECK_INT(writev(1, iov, -1), -1);
	CHECK_INT(errno, EINVAL);

	unsigned char a[32] = { 0 }, b[32] = { 0 };
	CHECK_INT(getentropy(a, sizeof(a)), 0);
	CHECK_INT(getentropy(b, sizeof(b)), 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK_INT(getentropy(a, 257), -1);
	CHECK_INT(errno, EIO);
	TEST_DONE();
}
