/* stat_canary.c: stat() and fstat() never write past struct stat; sys_stat keeps the original contract. */
/*
 * Each call gets a buffer of sizeof(struct stat) followed by a canary; the canary must
 * survive, and the fields must be right. The original declared sys_stat(const char *, void *)
 * and always returned -ENOSYS; the original newlib passed its own, smaller struct stat, so
 * sys_stat may not write anything: it must leave even the first byte alone.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <hermit/errno.h>
#include <hermit/syscall.h>
#include "test.h"

#define CANARY 0x5a

struct guarded {
	struct stat st;
	unsigned char canary[64];
};

static void arm(struct guarded *g)
{
	memset(g, CANARY, sizeof *g);
}

static int canary_intact(const struct guarded *g)
{
	for (size_t i = 0; i < sizeof g->canary; i++)
		if (g->canary[i] != CANARY)
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	CHECK(argc == 2);
	char path[512];
	snprintf(path, sizeof path, "%s/stat_canary.dat", argc > 1 ? argv[1] : ".");
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
	CHECK(fd >= 0);
	CHECK_INT(write(fd, "12345", 5), 5);

	struct guarded g;
	arm(&g);
	CHECK_INT(stat(path, &g.st), 0);
	CHECK(canary_intact(&g));
	CHECK_INT(g.st.st_size, 5);
	CHECK(S_ISREG(g.st.st_mode));

	arm(&g);
	CHECK_INT(fstat(fd, &g.st), 0);
	CHECK(canary_intact(&g));
	CHECK_INT(g.st.st_size, 5);
	CHECK(S_ISREG(g.st.st_mode));

	/* A missing file: -1/ENOENT and nothing written at all. */
	arm(&g);
	errno = 0;
	CHECK_INT(stat(argc > 1 ? "/no/such/file/for/stat_canary" : "", &g.st), -1);
	CHECK_INT(errno, ENOENT);
	CHECK(canary_intact(&g));

	/* The original contract of sys_stat: -ENOSYS, the buffer untouched. */
	unsigned char raw[256];
	memset(raw, CANARY, sizeof raw);
	CHECK_INT(sys_stat(path, raw), -ENOSYS);
	int untouched = 1;
	for (size_t i = 0; i < sizeof raw; i++)
		untouched &= raw[i] == CANARY;
	CHECK(untouched);

	CHECK_INT(close(fd), 0);
	CHECK_INT(unlink(path), 0);
	TEST_DONE();
}
