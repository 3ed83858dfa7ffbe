/* confine: a hostile guest tries to reach into the proxy and out of its file sandbox.
 *
 *   confine header              the header hides the proxy's memory address; the obvious
 *                               spellings of the proxy's /proc entries and devices are refused
 *   confine proxy <dir>         with HERMIT_TEST_PROXY_PID set: creates <dir>/ready, waits for
 *                               <dir>/tids (the proxy's thread ids, written by
 *                               scripts/check-confine.sh) and tries mem, environ, fd/N, exe,
 *                               cwd, root of every proxy thread, under every spelling
 *   confine mount <rw> <ro>     under HERMIT_MOUNT (rw mount at guest path <rw>, read-only
 *                               one at <ro>, the proxy's cwd in <rw>): inside works,
 *                               every escape fails, <ro> refuses writes
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int lstat(const char *restrict path, struct stat *restrict st); /* in the glue, not in newlib's header */
#include <time.h>
#include <unistd.h>

#include <hermit/syscall.h>

#include "test.h"

/* The header's host_logical_addr (libhermit-abi.md: image + 0xBC). */
#define HOST_LOGICAL_ADDR ((volatile uint64_t *)0x8000BCULL)

static char path[512];

/* open() that reports -errno. */
static int try_open(const char *p, int flags)
{
	int fd = sys_open(p, flags, 0);
	if (fd >= 0)
		sys_close(fd);
	return fd < 0 ? fd : 0;
}

#define REFUSED(p, flags) \
	do { \
		int r_ = try_open((p), (flags)); \
		if (r_ != -EACCES) \
			fprintf(stderr, "not refused: %s (flags %d): %d\n", (p), (flags), r_); \
		CHECK(r_ == -EACCES); \
	} while (0)

static int header(void)
{
	CHECK(*HOST_LOGICAL_ADDR == 0);
	REFUSED("/dev/kvm", O_RDWR);
	REFUSED("/dev/mem", O_RDONLY);
	REFUSED("/proc/self/mem", O_RDWR);
	REFUSED("/proc/self/environ", O_RDONLY);
	REFUSED("/proc/thread-self/mem", O_RDWR);
	REFUSED("/proc/self/task/../mem", O_RDWR);
	REFUSED("/dev/fd/1", O_RDWR);
	REFUSED("/dev/stdout", O_WRONLY);
	REFUSED("/proc/1/root/etc/hostname", O_RDONLY);
	/* Ordinary host files, other processes' /proc entries and /dev/null still work. */
	CHECK(try_open("/proc/1/status", O_RDONLY) == 0);
	CHECK(try_open("/dev/null", O_RDWR) == 0);
	printf("confine: header hides the host address, the proxy's own entries are refused\n");
	TEST_DONE();
}

static void wait_for(const char *file)
{
	struct timespec step = { 0, 10 * 1000 * 1000 };
	for (int i = 0; i < 1000; i++) {
		struct stat st;
		if (stat(file, &st) == 0)
			return;
		nanosleep(&step, NULL);
	}
	fprintf(stderr, "timed out waiting for %s\n", file);
	exit(1);
}

/* Reads up to `max` numbers from `dir`/`name` (one per line); returns how many. */
static int read_list(const char *dir, const char *name, long *out, int max)
{
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *list = fopen(path, "r");
	CHECK(list != NULL);
	if (list == NULL)
		return 0;
	int n = 0;
	while (n < max && fscanf(list, "%ld", &out[n]) == 1)
		n++;
	fclose(list);
	return n;
}

/* Opening /proc/<tid>/fd/0 gives -EACCES for a live thread with files, -ENOENT otherwise. */
static int thread_alive(long tid)
{
	snprintf(path, sizeof(path), "/proc/%ld/fd/0", tid);
	return try_open(path, O_RDONLY) == -EACCES;
}

static int proxy_threads(const char *dir)
{
	const char *env = getenv("HERMIT_TEST_PROXY_PID");
	CHECK(env != NULL);
	if (env == NULL)
		TEST_DONE();
	long pid = strtol(env, NULL, 10);
	CHECK(pid > 1);

	/* Made under another name and renamed once closed: the script lists the proxy's
	 * descriptors as soon as "ready" exists, and the proxy's descriptor of a file still open
	 * then was gone (ENOENT, not EACCES) by the time the spellings were tried. */
	char made[sizeof(path)];
	snprintf(made, sizeof(made), "%s/ready.tmp", dir);
	FILE *ready = fopen(made, "w");
	CHECK(ready != NULL);
	if (ready)
		fclose(ready);
	snprintf(path, sizeof(path), "%s/ready", dir);
	CHECK_INT(rename(made, path), 0);
	snprintf(path, sizeof(path), "%s/tids", dir);
	wait_for(path);
	long tids[64], fds[64];
	int n = read_list(dir, "tids", tids, 64);
	int nfds = read_list(dir, "fds", fds, 64);
	CHECK(nfds >= 3);

	static const char *const files[] = { "mem", "environ", "maps", "syscall", "exe", "cwd/.", "root/etc/hostname",
					     "fdinfo/1", "status", "fd/../mem" };
	int tried = 0, alive = 0;
	for (int t = 0; t < n; t++) {
		/* Every spelling of every file, read-only and read-write. */
		int results[4 * (sizeof(files) / sizeof(files[0]) + 64) + 8], k = 0;
		char fd_name[16];
		for (size_t f = 0; f < sizeof(files) / sizeof(files[0]) + (size_t)nfds; f++) {
			const char *name = fd_name;
			if (f < sizeof(files) / sizeof(files[0]))
				name = files[f];
			else
				snprintf(fd_name, sizeof(fd_name), "fd/%ld", fds[f - sizeof(files) / sizeof(files[0])]);
			snprintf(path, sizeof(path), "/proc/%ld/%s", tids[t], name);
			results[k++] = try_open(path, O_RDONLY);
			results[k++] = try_open(path, O_RDWR);
			snprintf(path, sizeof(path), "/proc/%ld/task/%ld/%s", pid, tids[t], name);
			results[k++] = try_open(path, O_RDONLY);
			snprintf(path, sizeof(path), "/proc/%ld/task/%ld/%s", tids[t], tids[t], name);
			results[k++] = try_open(path, O_RDWR);
		}
		/* Through a symbolic link the wrapper made, and with .. */
		snprintf(path, sizeof(path), "%s/proxylink/task/%ld/mem", dir, tids[t]);
		results[k++] = try_open(path, O_RDWR);
		snprintf(path, sizeof(path), "/proc/1/../%ld/./mem", tids[t]);
		results[k++] = try_open(path, O_RDWR);
		/* The other path calls follow the same policy. */
		struct stat st;
		snprintf(path, sizeof(path), "/proc/%ld/mem", tids[t]);
		results[k++] = stat(path, &st) == 0 ? 0 : -errno;
		results[k++] = unlink(path) == 0 ? 0 : -errno;
		snprintf(path, sizeof(path), "/proc/%ld/x", tids[t]);
		results[k++] = mkdir(path, 0700) == 0 ? 0 : -errno;
		/* A task without files has no fd/ entries: KVM's kernel worker in the proxy's
		 * thread group (kvm-nx-lpage-recovery), or a thread that ended meanwhile (the
		 * population thread when its work is done). ENOENT is then the truth. */
		int lives = thread_alive(tids[t]);
		alive += lives;
		for (int i = 0; i < k; i++) {
			int ok = results[i] == -EACCES || (!lives && results[i] == -ENOENT);
			if (!ok)
				fprintf(stderr, "thread %ld: spelling %d not refused: %d\n", tids[t], i, results[i]);
			CHECK(ok);
		}
		tried += k;
	}
	CHECK(alive >= 3); /* vCPU 0, vCPU 1, the channel poller (and the population thread) */
	snprintf(path, sizeof(path), "%s/kvmlink", dir);
	REFUSED(path, O_RDWR);
	CHECK(try_open("/proc/1/status", O_RDONLY) == 0);
	printf("confine: %d proxy threads (%d alive at the end), %d spellings refused\n", n, alive, tried);
	TEST_DONE();
}

/* Writes `text` to `file`; returns 0 or -errno. */
static int put(const char *file, const char *text, int flags)
{
	int fd = sys_open(file, flags, 0644);
	if (fd < 0)
		return fd;
	int n = sys_write(fd, text, strlen(text));
	sys_close(fd);
	return n == (int)strlen(text) ? 0 : -EIO;
}

/* Reads `file` into `buf`; returns the length or -errno. */
static int get(const char *file, char *buf, int size)
{
	int fd = sys_open(file, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	int n = sys_read(fd, buf, size - 1);
	sys_close(fd);
	if (n >= 0)
		buf[n] = 0;
	return n;
}

#define JOIN(base, rest) (snprintf(path, sizeof(path), "%s%s", (base), (rest)), path)

static int mount_mode(const char *rw, const char *ro)
{
	char buf[256];
	/* Inside the read-write mount: create, read, stat, mkdir, rmdir, unlink. */
	CHECK_INT(put(JOIN(rw, "/new.txt"), "written by the guest\n", O_WRONLY | O_CREAT | O_TRUNC), 0);
	CHECK_INT(get(JOIN(rw, "/new.txt"), buf, sizeof(buf)), 21);
	CHECK_STR(buf, "written by the guest\n");
	CHECK_INT(get(JOIN(rw, "/inside.txt"), buf, sizeof(buf)), 7);
	CHECK_STR(buf, "inside\n");
	struct stat st;
	CHECK(stat(JOIN(rw, "/inside.txt"), &st) == 0 && st.st_size == 7);
	CHECK(mkdir(JOIN(rw, "/newdir"), 0755) == 0);
	CHECK_INT(put(JOIN(rw, "/newdir/../newdir/./f"), "f", O_WRONLY | O_CREAT), 0);
	CHECK(unlink(JOIN(rw, "/newdir/f")) == 0);
	CHECK(rmdir(JOIN(rw, "/newdir")) == 0);
	/* Relative paths start at the proxy's working directory, mapped into the mount. */
	CHECK_INT(put("relative.txt", "relative\n", O_WRONLY | O_CREAT | O_TRUNC), 0);
	CHECK_INT(get(JOIN(rw, "/relative.txt"), buf, sizeof(buf)), 9);
	CHECK_INT(get("./inside.txt", buf, sizeof(buf)), 7);
	/* A symbolic link inside the mount that stays inside works. */
	CHECK_INT(get(JOIN(rw, "/inner-link"), buf, sizeof(buf)), 7);

	/* Escapes: outside every mount, .., absolute paths, symbolic links pointing out. */
	CHECK_INT(try_open("/etc/hostname", O_RDONLY), -ENOENT);
	CHECK_INT(try_open("/etc/passwd", O_RDONLY), -ENOENT);
	CHECK_INT(try_open("/proc/1/status", O_RDONLY), -ENOENT);
	CHECK_INT(try_open("/proc/self/mem", O_RDWR), -ENOENT);
	CHECK_INT(try_open("/dev/kvm", O_RDWR), -ENOENT);
	CHECK_INT(try_open(JOIN(rw, "/../secret.txt"), O_RDONLY), -ENOENT);
	CHECK_INT(try_open(JOIN(rw, "/../../../../../../etc/hostname"), O_RDONLY), -ENOENT);
	CHECK_INT(try_open("../secret.txt", O_RDONLY), -ENOENT);
	CHECK_INT(try_open("../../../../etc/hostname", O_RDONLY), -ENOENT);
	CHECK_INT(try_open(JOIN(rw, "/etc-link/hostname"), O_RDONLY), -EACCES);
	CHECK_INT(try_open(JOIN(rw, "/secret-link"), O_RDONLY), -EACCES);
	CHECK_INT(try_open(JOIN(rw, "/secret-link"), O_WRONLY | O_TRUNC), -EACCES);
	CHECK_INT(try_open(JOIN(rw, "/dir-link/secret.txt"), O_RDONLY), -EACCES);
	CHECK_INT(put(JOIN(rw, "/etc-link/created-by-guest"), "x", O_WRONLY | O_CREAT), -EACCES);
	CHECK_INT(put(JOIN(rw, "/dir-link/created-by-guest"), "x", O_WRONLY | O_CREAT), -EACCES);
	errno = 0;
	CHECK(stat(JOIN(rw, "/secret-link"), &st) == -1 && errno == EACCES);
	CHECK(lstat(JOIN(rw, "/secret-link"), &st) == 0 && S_ISLNK(st.st_mode));
	errno = 0;
	CHECK(unlink(JOIN(rw, "/dir-link/secret.txt")) == -1 && errno == EACCES);
	errno = 0;
	CHECK(mkdir(JOIN(rw, "/../made-by-guest"), 0755) == -1 && errno == ENOENT);
	/* A symbolic link the guest makes is only text: following it out of the mount is refused. */
	CHECK(symlink("/etc", JOIN(rw, "/guest-link")) == 0);
	CHECK_INT(try_open(JOIN(rw, "/guest-link/hostname"), O_RDONLY), -EACCES);
	CHECK(unlink(JOIN(rw, "/guest-link")) == 0);
	errno = 0;
	CHECK(rename(JOIN(rw, "/../made-by-guest"), JOIN(rw, "/x")) == -1 && errno == ENOENT);

	/* The read-only mount: reads work, every write is refused. */
	CHECK_INT(get(JOIN(ro, "/readonly.txt"), buf, sizeof(buf)), 9);
	CHECK_INT(try_open(JOIN(ro, "/readonly.txt"), O_WRONLY), -EROFS);
	CHECK_INT(try_open(JOIN(ro, "/readonly.txt"), O_RDWR), -EROFS);
	CHECK_INT(try_open(JOIN(ro, "/readonly.txt"), O_RDONLY | O_TRUNC), -EROFS);
	CHECK_INT(put(JOIN(ro, "/new.txt"), "x", O_WRONLY | O_CREAT), -EROFS);
	errno = 0;
	CHECK(unlink(JOIN(ro, "/readonly.txt")) == -1 && errno == EROFS);
	errno = 0;
	CHECK(symlink("x", JOIN(ro, "/link")) == -1 && errno == EROFS);
	errno = 0;
	CHECK(chmod(JOIN(ro, "/readonly.txt"), 0600) == -1 && errno == EROFS);
	errno = 0;
	CHECK(access(JOIN(ro, "/readonly.txt"), W_OK) == -1 && errno == EROFS);
	CHECK(access(JOIN(ro, "/readonly.txt"), R_OK) == 0);
	errno = 0;
	CHECK(mkdir(JOIN(ro, "/d"), 0755) == -1 && errno == EROFS);
	errno = 0;
	CHECK(rmdir(JOIN(ro, "/subdir")) == -1 && errno == EROFS);
	printf("confine: mounts work inside, escapes and writes to read-only mounts are refused\n");
	TEST_DONE();
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "header") == 0)
		return header();
	if (argc == 3 && strcmp(argv[1], "proxy") == 0)
		return proxy_threads(argv[2]);
	if (argc == 4 && strcmp(argv[1], "mount") == 0)
		return mount_mode(argv[2], argv[3]);
	fprintf(stderr, "usage: confine header | proxy <dir> | mount <rw guest path> <ro guest path>\n");
	return 100;
}
