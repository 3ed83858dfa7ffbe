/* posix_files.c: the POSIX file calls on host files: results, errno values as on Linux, and what the host then holds (checked by check-posix-host.sh). */
#define _GNU_SOURCE
/*
 * usage: posix_files <scratch directory> [locked <file> | handoff <file> <ask fifo> <answer fifo>]
 * The directory is emptied (nftw, depth first) or created first.
 * With "locked", <file> is held by a host process with an exclusive fcntl lock on bytes 0-99:
 * F_GETLK must report it and F_SETLK must fail with EAGAIN.
 * With "handoff", a host process answers through the two FIFOs whether it can take each lock
 * the guest has just released (see handoff()).
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>
#include "test.h"

static char dir[PATH_MAX];

static const char *at(const char *name)
{
	static char buf[4][2 * PATH_MAX];
	static int next;
	char *p = buf[next++ % 4];
	snprintf(p, 2 * PATH_MAX, "%s/%s", dir, name);
	return p;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_INT(write(fd, text, strlen(text)), (long)strlen(text));
	CHECK_INT(close(fd), 0);
}

static void empty_writes(void)
{
	int fd = open(at("empty.dat"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_INT(write(fd, NULL, 0), 0);
	char block[2048];
	memset(block, 'x', sizeof(block));
	/* libstdc++'s ofstream: an empty first entry, then the block. */
	struct iovec iov[2] = { { NULL, 0 }, { block, sizeof(block) } };
	CHECK_INT(writev(fd, iov, 2), 2048);
	CHECK_INT(write(-1, NULL, 0), -1);
	CHECK_INT(errno, EBADF);
	struct stat st;
	CHECK_INT(fstat(fd, &st), 0);
	CHECK_INT(st.st_size, 2048);
	CHECK_INT(close(fd), 0);
}

static void positional(void)
{
	int fd = open(at("pos.dat"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_INT(pwrite(fd, "0123456789", 10, 0), 10);
	CHECK_INT(pwrite(fd, "AB", 2, 20), 2);
	CHECK_INT(lseek(fd, 0, SEEK_CUR), 0); /* the offset stays */
	char buf[32] = { 0 };
	CHECK_INT(pread(fd, buf, 4, 3), 4);
	CHECK(memcmp(buf, "3456", 4) == 0);
	CHECK_INT(pread(fd, buf, sizeof(buf), 20), 2);
	CHECK_INT(pread(fd, buf, 4, 100), 0);
	CHECK_INT(pread(fd, buf, 4, -1), -1);
	CHECK_INT(errno, EINVAL);
	char a[3] = "ab", b[4] = "cde";
	struct iovec out[2] = { { a, 2 }, { b, 3 } };
	CHECK_INT(pwritev(fd, out, 2, 30), 5);
	char c[2], d[3];
	struct iovec in[2] = { { c, 2 }, { d, 3 } };
	CHECK_INT(preadv(fd, in, 2, 30), 5);
	CHECK(memcmp(c, "ab", 2) == 0 && memcmp(d, "cde", 3) == 0);
	CHECK_INT(fsync(fd), 0);
	CHECK_INT(fdatasync(fd), 0);
	CHECK_INT(ftruncate(fd, 5), 0);
	struct stat st;
	CHECK_INT(fstat(fd, &st), 0);
	CHECK_INT(st.st_size, 5);
	CHECK_INT(close(fd), 0);
	CHECK_INT(truncate(at("pos.dat"), 3), 0);
	CHECK_INT(stat(at("pos.dat"), &st), 0);
	CHECK_INT(st.st_size, 3);
	CHECK_INT(truncate(at("missing"), 0), -1);
	CHECK_INT(errno, ENOENT);
	CHECK_INT(fsync(99), -1);
	CHECK_INT(errno, EBADF);
}

/* The file offset (kept by the kernel for regular files, so that lseek needs no host call):
 * reads and writes after seeks land where Linux puts them, duplicates share the offset,
 * O_APPEND writes end at the end of the file, and relative lock ranges use the offset. */
static void offsets(void)
{
	int fd = open(at("off.dat"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_INT(write(fd, "0123456789abcdef", 16), 16);
	CHECK_INT(lseek(fd, 0, SEEK_CUR), 16);
	CHECK_INT(lseek(fd, 4, SEEK_SET), 4);
	char buf[16] = { 0 };
	CHECK_INT(read(fd, buf, 3), 3);
	CHECK(memcmp(buf, "456", 3) == 0);
	CHECK_INT(lseek(fd, 0, SEEK_CUR), 7);
	CHECK_INT(lseek(fd, 2, SEEK_CUR), 9);
	CHECK_INT(read(fd, buf, 2), 2);
	CHECK(memcmp(buf, "9a", 2) == 0);
	CHECK_INT(lseek(fd, -20, SEEK_CUR), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(lseek(fd, -1, SEEK_SET), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(lseek(fd, 0, SEEK_CUR), 11); /* a refused seek moves nothing */
	/* A duplicate shares the offset both ways. */
	int dup_fd = dup(fd);
	CHECK(dup_fd >= 0);
	CHECK_INT(lseek(dup_fd, 0, SEEK_CUR), 11);
	CHECK_INT(lseek(fd, 1, SEEK_SET), 1);
	CHECK_INT(read(dup_fd, buf, 2), 2);
	CHECK(memcmp(buf, "12", 2) == 0);
	CHECK_INT(lseek(fd, 0, SEEK_CUR), 3);
	/* A write after a seek writes there and moves the offset past it. */
	CHECK_INT(lseek(fd, 5, SEEK_SET), 5);
	CHECK_INT(write(fd, "XY", 2), 2);
	CHECK_INT(lseek(dup_fd, 0, SEEK_CUR), 7);
	CHECK_INT(read(fd, buf, 1), 1);
	CHECK_INT(buf[0], '7');
	CHECK_INT(pread(fd, buf, 16, 0), 16);
	CHECK(memcmp(buf, "01234XY789abcdef", 16) == 0);
	/* Beyond the end: reads give 0, a write leaves a hole. */
	CHECK_INT(lseek(fd, 100, SEEK_SET), 100);
	CHECK_INT(read(fd, buf, 4), 0);
	CHECK_INT(lseek(fd, 0, SEEK_END), 16);
	CHECK_INT(lseek(fd, 4, SEEK_END), 20);
	CHECK_INT(write(fd, "Z", 1), 1);
	struct stat st;
	CHECK_INT(fstat(fd, &st), 0);
	CHECK_INT(st.st_size, 21);
	/* A lock relative to the offset covers the bytes after it (seen by F_GETLK of a
	 * second open file description: the host reports our own locks there as free, so
	 * check the range by unlocking exactly it). */
	CHECK_INT(lseek(fd, 8, SEEK_SET), 8);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_CUR, .l_start = 2, .l_len = 3 };
	CHECK_INT(fcntl(fd, F_SETLK, &fl), 0);
	CHECK_INT(lseek(fd, 0, SEEK_CUR), 8);
	fl.l_type = F_UNLCK;
	CHECK_INT(fcntl(fd, F_SETLK, &fl), 0);
	CHECK_INT(close(dup_fd), 0);
	CHECK_INT(close(fd), 0);
	/* O_APPEND: a write after a seek still appends, and the offset is then the end. */
	fd = open(at("off.dat"), O_RDWR | O_APPEND);
	CHECK(fd >= 0);
	CHECK_INT(lseek(fd, 2, SEEK_SET), 2);
	CHECK_INT(read(fd, buf, 2), 2);
	CHECK(memcmp(buf, "23", 2) == 0);
	CHECK_INT(write(fd, "END", 3), 3);
	CHECK_INT(lseek(fd, 0, SEEK_CUR), 24);
	CHECK_INT(pread(fd, buf, 3, 21), 3);
	CHECK(memcmp(buf, "END", 3) == 0);
	CHECK_INT(close(fd), 0);
	/* stdio's fseek/ftell/fread over the same offsets. */
	FILE *f = fopen(at("off.dat"), "r");
	CHECK(f != NULL);
	CHECK_INT(fseek(f, 10, SEEK_SET), 0);
	CHECK_INT(fgetc(f), 'a');
	CHECK_INT(ftell(f), 11);
	CHECK_INT(fseek(f, -3, SEEK_END), 0);
	CHECK_INT(fgetc(f), 'E');
	CHECK_INT(fclose(f), 0);
	CHECK_INT(unlink(at("off.dat")), 0);
}

static void modes_owners_times(void)
{
	write_file(at("mode.dat"), "m");
	CHECK_INT(access(at("mode.dat"), F_OK), 0);
	CHECK_INT(access(at("mode.dat"), R_OK | W_OK), 0);
	CHECK_INT(access(at("missing"), F_OK), -1);
	CHECK_INT(errno, ENOENT);
	CHECK_INT(faccessat(AT_FDCWD, at("mode.dat"), F_OK, AT_EACCESS), 0);
	CHECK_INT(access(at("mode.dat"), 0100), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(chmod(at("mode.dat"), 0640), 0);
	struct stat st;
	CHECK_INT(stat(at("mode.dat"), &st), 0);
	CHECK_INT(st.st_mode & 07777, 0640);
	int fd = open(at("mode.dat"), O_RDONLY);
	CHECK_INT(fchmod(fd, 0604), 0);
	CHECK_INT(fstat(fd, &st), 0);
	CHECK_INT(st.st_mode & 07777, 0604);
	/* Chowning to the present owner is allowed for anyone. */
	CHECK_INT(fchown(fd, st.st_uid, st.st_gid), 0);
	CHECK_INT(chown(at("mode.dat"), st.st_uid, st.st_gid), 0);
	CHECK_INT(chown(at("missing"), 0, 0), -1);
	CHECK_INT(errno, ENOENT);
	struct timeval tv[2] = { { 1000000000, 0 }, { 1234567890, 500000 } };
	CHECK_INT(utimes(at("mode.dat"), tv), 0);
	CHECK_INT(stat(at("mode.dat"), &st), 0);
	CHECK_INT(st.st_mtim.tv_sec, 1234567890);
	CHECK_INT(st.st_mtim.tv_nsec, 500000000);
	CHECK_INT(st.st_atim.tv_sec, 1000000000);
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1500000000, 7 } };
	CHECK_INT(futimens(fd, ts), 0);
	CHECK_INT(fstat(fd, &st), 0);
	CHECK_INT(st.st_mtim.tv_sec, 1500000000);
	CHECK_INT(st.st_atim.tv_sec, 1000000000);
	ts[1].tv_nsec = 2000000000;
	CHECK_INT(utimensat(AT_FDCWD, at("mode.dat"), ts, 0), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(close(fd), 0);
	/* The host sees 0604 and mtime 1500000000. */
}

static void names(void)
{
	write_file(at("old.txt"), "old");
	write_file(at("target.txt"), "replaced");
	CHECK_INT(rename(at("old.txt"), at("target.txt")), 0);
	struct stat st;
	CHECK_INT(stat(at("old.txt"), &st), -1);
	CHECK_INT(errno, ENOENT);
	CHECK_INT(stat(at("target.txt"), &st), 0);
	CHECK_INT(st.st_size, 3);
	CHECK_INT(rename(at("missing"), at("x")), -1);
	CHECK_INT(errno, ENOENT);
	CHECK_INT(renameat(AT_FDCWD, at("target.txt"), AT_FDCWD, at("renamed.txt")), 0);
	CHECK_INT(link(at("renamed.txt"), at("hard.txt")), 0);
	CHECK_INT(stat(at("renamed.txt"), &st), 0);
	CHECK_INT(st.st_nlink, 2);
	CHECK_INT(link(at("renamed.txt"), at("hard.txt")), -1);
	CHECK_INT(errno, EEXIST);
	CHECK_INT(symlink("renamed.txt", at("soft.txt")), 0);
	char buf[64] = { 0 };
	CHECK_INT(readlink(at("soft.txt"), buf, sizeof(buf)), 11);
	CHECK(memcmp(buf, "renamed.txt", 11) == 0);
	CHECK_INT(readlink(at("renamed.txt"), buf, sizeof(buf)), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(lstat(at("soft.txt"), &st), 0);
	CHECK(S_ISLNK(st.st_mode));
	CHECK_INT(stat(at("soft.txt"), &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_INT(unlink(at("hard.txt")), 0);
	CHECK_INT(mkdir(at("sub"), 0755), 0);
	CHECK_INT(mkdir(at("sub"), 0755), -1);
	CHECK_INT(errno, EEXIST);
	write_file(at("sub/a.txt"), "a");
	CHECK_INT(rmdir(at("sub")), -1);
	CHECK_INT(errno, ENOTEMPTY);
}

static void working_directory(void)
{
	char saved[PATH_MAX], buf[PATH_MAX];
	CHECK(getcwd(saved, sizeof(saved)) != NULL);
	CHECK(saved[0] == '/');
	struct stat start;
	int reachable = stat(saved, &start) == 0;
	CHECK(reachable || strcmp(saved, "/") == 0);
	CHECK_INT(chdir(dir), 0);
	CHECK_STR(getcwd(buf, sizeof(buf)), dir);
	CHECK(getcwd(buf, 2) == NULL);
	CHECK_INT(errno, ERANGE);
	char *dynamic = getcwd(NULL, 0);
	CHECK_STR(dynamic, dir);
	free(dynamic);
	/* Relative paths now resolve below dir. */
	write_file("relative.txt", "rel");
	struct stat st;
	CHECK_INT(stat(at("relative.txt"), &st), 0);
	CHECK_INT(chdir("sub"), 0);
	CHECK_INT(access("a.txt", R_OK), 0);
	CHECK_INT(access("../relative.txt", R_OK), 0);
	CHECK_INT(chdir(".."), 0);
	CHECK_STR(getcwd(buf, sizeof(buf)), dir);
	CHECK_INT(chdir("relative.txt"), -1);
	CHECK_INT(errno, ENOTDIR);
	CHECK_INT(chdir("no-such-dir"), -1);
	CHECK_INT(errno, ENOENT);
	int d = open("sub", O_RDONLY | O_DIRECTORY);
	CHECK(d >= 0);
	int f = openat(d, "a.txt", O_RDONLY);
	CHECK(f >= 0);
	CHECK_INT(read(f, buf, 10), 1);
	CHECK_INT(close(f), 0);
	CHECK_INT(fchdir(d), 0);
	CHECK_INT(access("a.txt", F_OK), 0);
	CHECK_INT(close(d), 0);
	/* Back to the start, unless it is outside every HERMIT_MOUNT mount (the "/" a run starts
	 * in when the proxy's directory is not mounted), which cannot be entered. */
	if (reachable) {
		CHECK_INT(chdir(saved), 0);
		CHECK_STR(getcwd(buf, sizeof(buf)), saved);
	} else {
		CHECK_INT(chdir(saved), -1);
		CHECK_INT(errno, ENOENT);
	}
}

static int listed;

static int count_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_F || type == FTW_D || type == FTW_SL)
		listed++;
	if (strstr(path, "sub/a.txt") != NULL)
		CHECK_INT(type, FTW_F);
	return 0;
}

static int not_dots(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

static void directories(void)
{
	DIR *d = opendir(dir);
	CHECK(d != NULL);
	int entries = 0, saw_sub = 0;
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		entries++;
		if (strcmp(e->d_name, "sub") == 0)
			saw_sub = (e->d_type == DT_DIR);
	}
	CHECK(saw_sub);
	/* ., .., empty.dat, pos.dat, mode.dat, renamed.txt, soft.txt, sub, relative.txt */
	CHECK_INT(entries, 9);
	if (d != NULL)
		CHECK_INT(closedir(d), 0);
	CHECK(opendir(at("missing")) == NULL);
	CHECK_INT(errno, ENOENT);
	CHECK(opendir(at("pos.dat")) == NULL);
	CHECK_INT(errno, ENOTDIR);
	struct dirent **list;
	int n = scandir(dir, &list, not_dots, alphasort);
	CHECK_INT(n, 7);
	if (n > 0) {
		CHECK_STR(list[0]->d_name, "empty.dat");
		CHECK_STR(list[n - 1]->d_name, "sub");
		for (int i = 0; i < n; i++)
			free(list[i]);
		free(list);
	}
	listed = 0;
	CHECK_INT(nftw(dir, count_entry, 8, FTW_PHYS), 0);
	/* dir itself, its 7 entries and sub/a.txt */
	CHECK_INT(listed, 9);
}

static void descriptors(void)
{
	int fd = open(at("dup.dat"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	int copy = dup(fd);
	CHECK(copy > fd);
	CHECK_INT(write(fd, "abc", 3), 3);
	CHECK_INT(lseek(copy, 0, SEEK_CUR), 3); /* one open file: shared offset */
	CHECK_INT(dup2(fd, 50), 50);
	CHECK_INT(dup2(fd, fd), fd);
	CHECK_INT(dup2(77, 78), -1);
	CHECK_INT(errno, EBADF);
	CHECK_INT(dup3(fd, fd, 0), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(dup3(fd, 51, O_CLOEXEC), 51);
	CHECK_INT(fcntl(51, F_GETFD), FD_CLOEXEC);
	CHECK_INT(fcntl(50, F_GETFD), 0);
	CHECK_INT(fcntl(50, F_SETFD, FD_CLOEXEC), 0);
	CHECK_INT(fcntl(50, F_GETFD), FD_CLOEXEC);
	CHECK_INT(fcntl(fd, F_DUPFD, 60), 60);
	CHECK_INT(fcntl(fd, F_DUPFD_CLOEXEC, 60), 61);
	CHECK_INT(fcntl(61, F_GETFD), FD_CLOEXEC);
	CHECK_INT(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	CHECK_INT(fcntl(fd, F_SETFL, O_APPEND), 0);
	CHECK(fcntl(copy, F_GETFL) & O_APPEND); /* status flags belong to the open file */
	CHECK_INT(lseek(fd, 0, SEEK_SET), 0);
	CHECK_INT(write(copy, "d", 1), 1);
	CHECK_INT(lseek(fd, 0, SEEK_CUR), 4);
	/* Append mode off again: a write after a seek lands there (the kernel writes with a
	 * host pwrite at its own offset) and moves the shared offset past it. */
	CHECK_INT(fcntl(copy, F_SETFL, 0), 0);
	CHECK_INT(lseek(fd, 1, SEEK_SET), 1);
	CHECK_INT(write(copy, "Q", 1), 1);
	CHECK_INT(lseek(fd, 0, SEEK_CUR), 2);
	char q = 0;
	CHECK_INT(pread(fd, &q, 1, 1), 1);
	CHECK_INT(q, 'Q');
	struct stat st_mid;
	CHECK_INT(fstat(fd, &st_mid), 0);
	CHECK_INT(st_mid.st_size, 4);
	CHECK_INT(fcntl(fd, F_SETFL, O_APPEND), 0);
	CHECK_INT(lseek(fd, 0, SEEK_END), 4);
	CHECK_INT(fcntl(fd, 12345), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(fcntl(99, F_GETFD), -1);
	CHECK_INT(errno, EBADF);
	/* Closing one descriptor keeps the open file for the others. */
	CHECK_INT(close(fd), 0);
	CHECK_INT(close(fd), -1);
	CHECK_INT(errno, EBADF);
	CHECK_INT(write(50, "e", 1), 1);
	for (int d = 50; d <= 61; d++)
		close(d);
	struct stat st;
	CHECK_INT(fstat(copy, &st), 0);
	CHECK_INT(st.st_size, 5);
	/* The lowest free number is reused. */
	int again = open(at("dup.dat"), O_RDONLY);
	CHECK_INT(again, fd);
	/* Record locks and flock on the host. */
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	CHECK_INT(fcntl(copy, F_SETLK, &fl), 0);
	fl.l_type = F_RDLCK;
	CHECK_INT(fcntl(copy, F_GETLK, &fl), 0);
	CHECK_INT(fl.l_type, F_UNLCK); /* our own lock never conflicts */
	fl.l_type = F_UNLCK;
	CHECK_INT(fcntl(copy, F_SETLKW, &fl), 0);
	fl.l_type = 99;
	CHECK_INT(fcntl(copy, F_SETLK, &fl), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(flock(copy, LOCK_EX | LOCK_NB), 0);
	CHECK_INT(flock(copy, LOCK_UN), 0);
	CHECK_INT(flock(copy, 0), -1);
	CHECK_INT(errno, EINVAL);
	/* Files are no terminals. */
	CHECK_INT(isatty(copy), 0);
	CHECK_INT(errno, ENOTTY);
	struct winsize ws;
	CHECK_INT(ioctl(copy, TIOCGWINSZ, &ws), -1);
	CHECK_INT(errno, ENOTTY);
	CHECK_INT(close(copy), 0);
	CHECK_INT(close(again), 0);
	CHECK_INT(unlink(at("dup.dat")), 0);
}

/* A host process holds an exclusive lock on bytes 0-99 of path. */
static void locked_by_host(const char *path)
{
	int fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 5 };
	CHECK_INT(fcntl(fd, F_GETLK, &fl), 0);
	CHECK_INT(fl.l_type, F_WRLCK);
	CHECK_INT(fl.l_start, 0);
	CHECK_INT(fl.l_len, 100);
	fl.l_type = F_WRLCK;
	CHECK_INT(fcntl(fd, F_SETLK, &fl), -1);
	CHECK_INT(errno, EAGAIN);
	fl.l_start = 200;
	CHECK_INT(fcntl(fd, F_SETLK, &fl), 0);
	CHECK_INT(close(fd), 0);
}

/* Takes and releases locks on path (fcntl on bytes 0-99, then flock, by turns) and after each
 * release asks a host process (one byte to `ask`, its answer from `answer`) whether it can take
 * the same lock: it must, because a release reaches the host before the program's next host call
 * (the kernel posts releases without waiting for them). */
static void handoff(const char *path, const char *ask, const char *answer)
{
	int fd = open(path, O_RDWR);
	int to_host = open(ask, O_WRONLY);
	int from_host = open(answer, O_RDONLY);
	CHECK(fd >= 0 && to_host >= 0 && from_host >= 0);
	int free_seen = 0;
	for (int i = 0; i < 400; i++) {
		char kind = (i & 1) ? 'b' : 'f', verdict = 0;
		if (kind == 'f') {
			struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100 };
			CHECK_INT(fcntl(fd, F_SETLK, &fl), 0);
			fl.l_type = F_UNLCK;
			CHECK_INT(fcntl(fd, F_SETLK, &fl), 0);
		} else {
			CHECK_INT(flock(fd, LOCK_EX | LOCK_NB), 0);
			CHECK_INT(flock(fd, LOCK_UN), 0);
		}
		CHECK_INT(write(to_host, &kind, 1), 1);
		CHECK_INT(read(from_host, &verdict, 1), 1);
		free_seen += verdict == 'y';
	}
	CHECK_INT(free_seen, 400);
	printf("the host took each of 400 released locks at once\n");
	CHECK_INT(write(to_host, "q", 1), 1);
	CHECK_INT(close(fd), 0);
	CHECK_INT(close(to_host), 0);
	CHECK_INT(close(from_host), 0);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	if (ftw->level == 0)
		return 0;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* An empty directory at dir: a previous run's files removed (nftw depth first). */
static void prepare(void)
{
	struct stat st;
	if (stat(dir, &st) == 0)
		CHECK_INT(nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
	else
		CHECK_INT(mkdir(dir, 0755), 0);
	DIR *d = opendir(dir);
	int entries = 0;
	while (d != NULL && readdir(d) != NULL)
		entries++;
	CHECK_INT(entries, 2);
	if (d != NULL)
		closedir(d);
}

/* mkdtemp creates a fresh directory (newlib without HAVE_MKDIR failed with ENOSYS). */
static void temporary_directory(void)
{
	char name[PATH_MAX];
	snprintf(name, sizeof(name), "%s/tmpXXXXXX", dir);
	CHECK(mkdtemp(name) != NULL);
	CHECK(strstr(name, "XXXXXX") == NULL);
	struct stat st;
	CHECK_INT(stat(name, &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	char again[PATH_MAX];
	snprintf(again, sizeof(again), "%s/tmpXXXXXX", dir);
	CHECK(mkdtemp(again) != NULL);
	CHECK(strcmp(name, again) != 0);
	CHECK_INT(rmdir(name), 0);
	CHECK_INT(rmdir(again), 0);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: posix_files <dir> [locked <file> | handoff <file> <ask> <answer>]\n");
		return 2;
	}
	if (argc == 4 && strcmp(argv[2], "locked") == 0) {
		locked_by_host(argv[3]);
		TEST_DONE();
	}
	if (argc == 6 && strcmp(argv[2], "handoff") == 0) {
		handoff(argv[3], argv[4], argv[5]);
		TEST_DONE();
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	prepare();
	empty_writes();
	positional();
	offsets();
	modes_owners_times();
	names();
	working_directory();
	directories();
	descriptors();
	temporary_directory();
	TEST_DONE();
}
