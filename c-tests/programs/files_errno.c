/* files_errno.c: errno numbers and texts, open flags, and file I/O on a host directory given as argv[1]. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test.h"

static void errno_values(void)
{
	/* Linux numbering (hermit/errno.h), not newlib's defaults. */
	CHECK_INT(ENOENT, 2);
	CHECK_INT(EAGAIN, 11);
	CHECK_INT(ENOSYS, 38);
	CHECK_INT(ENOTEMPTY, 39);
	CHECK_INT(ETIME, 62);
	CHECK_INT(EOVERFLOW, 75);
	CHECK_INT(ETIMEDOUT, 110);
	CHECK_INT(ECANCELED, 125);
	CHECK_STR(strerror(ENOENT), "No such file or directory");
	CHECK_STR(strerror(ENOSYS), "Function not implemented");
	CHECK_STR(strerror(EEXIST), "File exists");
	/* Linux open flags: the kernel passes them to the host unchanged. */
	CHECK_INT(O_WRONLY, 1);
	CHECK_INT(O_RDWR, 2);
	CHECK_INT(O_CREAT, 0100);
	CHECK_INT(O_EXCL, 0200);
	CHECK_INT(O_TRUNC, 01000);
	CHECK_INT(O_APPEND, 02000);
	CHECK_INT(O_NONBLOCK, 04000);
	CHECK_INT(O_DIRECTORY, 0200000);
	CHECK_INT(O_CLOEXEC, 02000000);
}

static void missing_file(void)
{
	errno = 0;
	FILE *f = fopen("/nonexistent-hermit-dir/file.txt", "r");
	CHECK(f == NULL);
	CHECK_INT(errno, ENOENT);
	char msg[128];
	snprintf(msg, sizeof(msg), "%s", strerror(errno));
	CHECK_STR(msg, "No such file or directory");
	struct stat st;
	CHECK_INT(stat("/nonexistent-hermit-dir", &st), -1);
	CHECK_INT(errno, ENOENT);
	CHECK_INT(close(12345), -1);
	CHECK_INT(errno, EBADF);
}

static void host_file(const char *dir)
{
	char path[512], sub[512], line[64];
	snprintf(path, sizeof(path), "%s/hermit-file.txt", dir);
	snprintf(sub, sizeof(sub), "%s/hermit-subdir", dir);
	unlink(path);

	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	for (int i = 0; i < 100; i++)
		fprintf(f, "line %03d %6.2f\n", i, i / 4.0);
	CHECK_INT(fclose(f), 0);

	struct stat st;
	CHECK_INT(stat(path, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_INT(st.st_size, 100 * 16);

	f = fopen(path, "a+");
	CHECK(f != NULL);
	fputs("tail\n", f);
	CHECK_INT(fseek(f, 16 * 42, SEEK_SET), 0);
	CHECK(fgets(line, sizeof(line), f) != NULL);
	CHECK_STR(line, "line 042  10.50\n");
	CHECK_INT(fseek(f, -5, SEEK_END), 0);
	CHECK(fgets(line, sizeof(line), f) != NULL);
	CHECK_STR(line, "tail\n");
	CHECK_INT(ftell(f), 100 * 16 + 5);
	fclose(f);

	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	CHECK_INT(fd, -1);
	CHECK_INT(errno, EEXIST);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_INT(lseek(fd, 0, SEEK_END), 100 * 16 + 5);
	struct stat fst;
	CHECK_INT(fstat(fd, &fst), 0);
	CHECK_INT(fst.st_size, 100 * 16 + 5);
	CHECK(!isatty(fd));
	close(fd);

	CHECK_INT(unlink(path), 0);
	CHECK_INT(stat(path, &st), -1);
	CHECK_INT(errno, ENOENT);
	rmdir(sub);
	CHECK_INT(mkdir(sub, 0755), 0);
	CHECK_INT(stat(sub, &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_INT(rmdir(sub), 0);
}

int main(int argc, char **argv)
{
	errno_values();
	missing_file();
	CHECK(argc == 2);
	if (argc == 2)
		host_file(argv[1]);
	TEST_DONE();
}
