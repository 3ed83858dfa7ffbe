/* posix_misc.c: sys/mman.h, sys/ioctl.h, sys/resource.h (limits, usage, niceness), sys/utsname.h, dlfcn.h, sysconf, the setjmp families, stdio stream locks, popen/system/waitpid, process groups and sessions, the user and group look-ups, syslog. */
#include <dlfcn.h>
#include <syslog.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "test.h"

static void memory_maps(const char *file)
{
	size_t len = 3 * 4096 + 100;
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	if (p != MAP_FAILED) {
		CHECK(((uintptr_t)p & 4095) == 0);
		int zero = 1;
		for (size_t i = 0; i < len; i++)
			zero &= p[i] == 0;
		CHECK(zero);
		memset(p, 0xab, len);
		CHECK_INT(madvise(p, 4096, MADV_DONTNEED), 0);
		CHECK_INT(p[0], 0);
		CHECK_INT(p[4096], 0xab);
		CHECK_INT(mprotect(p, 4096, PROT_READ), 0);
		CHECK_INT(mprotect((char *)p + 1, 4096, PROT_READ), -1);
		CHECK_INT(errno, EINVAL);
		CHECK_INT(munmap(p, len), 0);
	}
	CHECK(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED);
	CHECK_INT(errno, EINVAL);

	/* A private read-only map of a host file: its bytes, zeros after the end. */
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	char text[6000];
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (char)('a' + i % 26);
	CHECK_INT(write(fd, text, sizeof(text)), (long)sizeof(text));
	char *m = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 4096);
	CHECK(m != MAP_FAILED);
	if (m != MAP_FAILED) {
		CHECK(memcmp(m, text + 4096, sizeof(text) - 4096) == 0);
		CHECK_INT(m[sizeof(text) - 4096], 0);
		CHECK_INT(munmap(m, 8192), 0);
	}
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 100) == MAP_FAILED);
	CHECK_INT(errno, EINVAL);
	/* Shared mappings: posix_mmap_shared. */
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 99, 0) == MAP_FAILED);
	CHECK_INT(errno, EBADF);
	CHECK_INT(close(fd), 0);
	CHECK_INT(unlink(file), 0);
}

static void limits_and_names(void)
{
	CHECK_INT(sysconf(_SC_PAGESIZE), 4096);
	CHECK_INT(sysconf(_SC_OPEN_MAX), 1024);
	CHECK(sysconf(_SC_NPROCESSORS_ONLN) >= 1);
	struct rlimit rl;
	CHECK_INT(getrlimit(RLIMIT_NOFILE, &rl), 0);
	CHECK_INT(rl.rlim_cur, 1024);
	CHECK_INT(getrlimit(RLIMIT_STACK, &rl), 0);
	CHECK_INT(rl.rlim_cur, 8 << 20);
	CHECK_INT(getrlimit(RLIMIT_AS, &rl), 0);
	CHECK(rl.rlim_cur == RLIM_INFINITY);
	CHECK_INT(getrlimit(99, &rl), -1);
	CHECK_INT(errno, EINVAL);
	/* RLIMIT_NOFILE takes effect: descriptors below the soft limit, EMFILE beyond. */
	int probe = dup(1);
	CHECK(probe > 2);
	close(probe);
	rl.rlim_cur = (rlim_t)probe;
	rl.rlim_max = 1024;
	CHECK_INT(setrlimit(RLIMIT_NOFILE, &rl), 0);
	CHECK_INT(sysconf(_SC_OPEN_MAX), probe);
	CHECK_INT(dup(1), -1);
	CHECK_INT(errno, EMFILE);
	int fds[2];
	CHECK_INT(pipe(fds), -1);
	CHECK_INT(errno, EMFILE);
	CHECK_INT(fcntl(1, F_DUPFD, probe), -1);
	CHECK_INT(errno, EINVAL);
	rl.rlim_cur = 1024;
	CHECK_INT(setrlimit(RLIMIT_NOFILE, &rl), 0);
	probe = dup(1);
	CHECK(probe > 2);
	close(probe);
	rl.rlim_cur = rl.rlim_max = 512;
	CHECK_INT(setrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max = 4096;
	CHECK_INT(setrlimit(RLIMIT_NOFILE, &rl), -1);
	CHECK_INT(errno, EPERM);
	rl.rlim_cur = rl.rlim_max = 1024;
	CHECK_INT(setrlimit(RLIMIT_NOFILE, &rl), -1);
	CHECK_INT(errno, EPERM);
	CHECK_INT(getrlimit(RLIMIT_NOFILE, &rl), 0);
	CHECK_INT(rl.rlim_max, 512);
	volatile double x = 0;
	for (int i = 0; i < 2000000; i++)
		x += i * 0.5;
	struct rusage ru;
	CHECK_INT(getrusage(RUSAGE_SELF, &ru), 0);
	CHECK(ru.ru_utime.tv_sec > 0 || ru.ru_utime.tv_usec > 0);
	CHECK_INT(getrusage(42, &ru), -1);
	CHECK_INT(errno, EINVAL);
	/* The niceness: nice() returns it, getpriority() reports it, clamped to -20..19. */
	CHECK_INT(getpriority(PRIO_PROCESS, 0), 0);
	CHECK_INT(nice(5), 5);
	CHECK_INT(nice(30), 19);
	CHECK_INT(getpriority(PRIO_PROCESS, getpid()), 19);
	CHECK_INT(setpriority(PRIO_PROCESS, 0, -3), 0);
	CHECK_INT(getpriority(PRIO_USER, 0), -3);
	CHECK_INT(getpriority(PRIO_PROCESS, 12345), -1);
	CHECK_INT(errno, ESRCH);
	CHECK_INT(getpriority(7, 0), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(nice(3), 0);
	struct utsname u;
	CHECK_INT(uname(&u), 0);
	CHECK_STR(u.sysname, "HermitCore");
	CHECK_STR(u.machine, "x86_64");
	struct winsize ws;
	CHECK_INT(ioctl(99, TIOCGWINSZ, &ws), -1);
	CHECK_INT(errno, EBADF);
}

static jmp_buf jb;
static sigjmp_buf sjb;

static void jump_plain(int v)
{
	_longjmp(jb, v);
}

static void jump_sig(int v)
{
	siglongjmp(sjb, v);
}

static void jumps(void)
{
	volatile int rounds = 0;
	int v = _setjmp(jb);
	if (v < 3) {
		rounds++;
		jump_plain(v + 1);
	}
	CHECK_INT(v, 3);
	CHECK_INT(rounds, 3);
	/* A jump with 0 makes the setjmp return 1 (newlib's own longjmp returned 0 again). */
	volatile int tries = 0;
	v = sigsetjmp(sjb, 1);
	if (v == 0 && tries++ == 0)
		jump_sig(0);
	CHECK_INT(v, 1);
	tries = 0;
	v = setjmp(jb);
	if (v == 0 && tries++ == 0)
		longjmp(jb, 0);
	CHECK_INT(v, 1);
}

static void stream_locks_and_processes(void)
{
	flockfile(stdout);
	flockfile(stdout); /* recursive */
	printf("stdout locked twice\n");
	funlockfile(stdout);
	funlockfile(stdout);
	CHECK_INT(ftrylockfile(stdout), 0);
	funlockfile(stdout);
	CHECK_INT(system(NULL), 0);
	CHECK_INT(system("true"), -1);
	CHECK_INT(errno, ENOSYS);
	CHECK(popen("ls", "r") == NULL);
	CHECK_INT(errno, ENOSYS);
	CHECK_INT(pclose(stdin), -1);
	CHECK_INT(errno, ENOSYS);
	int status;
	CHECK_INT((int)waitpid(-1, &status, WNOHANG), -1);
	CHECK_INT(errno, ECHILD);
	/* One process, leading its group and session; its parent is outside (0). */
	pid_t me = getpid();
	CHECK_INT(getppid(), 0);
	CHECK_INT(getpgrp(), me);
	CHECK_INT(getpgid(0), me);
	CHECK_INT(getpgid(me), me);
	CHECK_INT(getsid(0), me);
	CHECK_INT(setpgid(0, 0), 0);
	CHECK_INT(setpgid(me, me), 0);
	CHECK_INT(setpgid(me + 1000, 0), -1);
	CHECK_INT(errno, ESRCH);
	CHECK_INT(setpgid(0, me + 1000), -1);
	CHECK_INT(errno, EPERM);
	CHECK_INT(setpgid(0, -1), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(setsid(), -1);
	CHECK_INT(errno, EPERM);
	CHECK_INT(getpgid(me + 1000), -1);
	CHECK_INT(errno, ESRCH);
	/* Root, and no user or group database: the look-ups find nothing, errno unchanged. */
	CHECK_INT(getuid(), 0);
	CHECK_INT(getgid(), 0);
	gid_t groups[4];
	CHECK_INT(getgroups(4, groups), 0);
	errno = 0;
	CHECK(getpwuid(0) == NULL);
	CHECK(getgrgid(0) == NULL);
	CHECK(getgrnam("root") == NULL);
	CHECK_INT(errno, 0);
	struct group grp, *found = &grp;
	char buf[256];
	CHECK_INT(getgrgid_r(0, &grp, buf, sizeof(buf), &found), 0);
	CHECK(found == NULL);
	setgrent();
	CHECK(getgrent() == NULL);
	endgrent();
	/* No log daemon: a line on standard error ("%m" is strerror(errno)), none below the mask. */
	openlog("posix_misc", LOG_PID, LOG_USER);
	errno = ENOENT;
	syslog(LOG_ERR, "syslog %d: %m, 100%%", 42);
	CHECK_INT(errno, ENOENT);
	CHECK_INT(setlogmask(LOG_UPTO(LOG_WARNING)), LOG_UPTO(LOG_DEBUG));
	syslog(LOG_INFO, "syslog below the mask");
	syslog(LOG_WARNING, "syslog at the mask");
	closelog();
	/* One static image: nothing to load, and dlerror says so once. */
	CHECK(dlopen("libm.so.6", RTLD_NOW) == NULL);
	CHECK(dlerror() != NULL);
	CHECK(dlerror() == NULL);
	CHECK(dlsym(RTLD_DEFAULT, "printf") == NULL);
	struct stat st;
	CHECK_INT(lstat("/", &st), 0);
	CHECK(S_ISDIR(st.st_mode));
}

/* Under the original uhyve (HERMIT_UHYVE_COMPAT=1) host calls beyond its set fail with
 * ENOSYS; what lives in the guest (descriptors, pipes) works. */
static void original_uhyve(void)
{
	char buf[64];
	CHECK(getcwd(buf, sizeof(buf)) == NULL);
	CHECK_INT(errno, ENOSYS);
	CHECK_INT(access("/", F_OK), -1);
	CHECK_INT(errno, ENOSYS);
	CHECK_INT(fsync(1), -1);
	CHECK_INT(errno, ENOSYS);
	CHECK_INT(rename("/a", "/b"), -1);
	CHECK_INT(errno, ENOSYS);
	int fds[2];
	CHECK_INT(pipe(fds), 0);
	CHECK_INT(write(fds[1], "ok", 2), 2);
	CHECK_INT(read(fds[0], buf, sizeof(buf)), 2);
	int copy = dup(1);
	CHECK(copy > 2);
	CHECK_INT(write(copy, "dup of stdout\n", 14), 14);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: posix_misc <scratch file> | compat\n");
		return 2;
	}
	if (strcmp(argv[1], "compat") == 0) {
		original_uhyve();
		TEST_DONE();
	}
	memory_maps(argv[1]);
	limits_and_names();
	jumps();
	stream_locks_and_processes();
	TEST_DONE();
}
