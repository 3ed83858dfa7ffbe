/* original_syscall_h.c: every function of the original hermit/syscall.h, with the original types, against ours (-Wall -Wextra -Werror). */
/*
 * Each function is assigned to a pointer of the exact type the original header declared
 * (an incompatible declaration is an error under -Werror) and called with arguments of the
 * original types. Only <hermit/syscall.h> is included before the code that relies on its
 * includes: the original's signals.c called strtoul through it.
 */
#include <hermit/syscall.h>

/* From the original's includes (<stdlib.h>, <stdint.h>, <sys/types.h>). */
unsigned long parse_signal_number(const char *s)
{
	uint32_t base = 10;
	size_t unused = 0;
	(void)unused;
	return strtoul(s, NULL, (int)base) + (unsigned long)(ssize_t)0 + (unsigned long)(off_t)0;
}

/* NORETURN as the original spelled it, and sys_exit really is noreturn (-Wreturn-type). */
NORETURN void leave_with(int code);
void leave_with(int code) { sys_exit(code); }
int ends_without_return(void);
int ends_without_return(void) { sys_exit(3); }

static tid_t (*const p_getpid)(void) = sys_getpid;
static int (*const p_fork)(void) = sys_fork;
static int (*const p_wait)(int *) = sys_wait;
static int (*const p_execve)(const char *, char *const *, char *const *) = sys_execve;
static int (*const p_getprio)(tid_t *) = sys_getprio;
static int (*const p_setprio)(tid_t *, int) = sys_setprio;
static void (*const p_exit)(int) = sys_exit;
static ssize_t (*const p_read)(int, char *, size_t) = sys_read;
static ssize_t (*const p_write)(int, const char *, size_t) = sys_write;
static ssize_t (*const p_sbrk)(ssize_t) = sys_sbrk;
static int (*const p_open)(const char *, int, int) = sys_open;
static int (*const p_close)(int) = sys_close;
static void (*const p_msleep)(unsigned int) = sys_msleep;
static int (*const p_sem_init)(sem_t **, unsigned int) = sys_sem_init;
static int (*const p_sem_destroy)(sem_t *) = sys_sem_destroy;
static int (*const p_sem_wait)(sem_t *) = sys_sem_wait;
static int (*const p_sem_post)(sem_t *) = sys_sem_post;
static int (*const p_sem_timedwait)(sem_t *, unsigned int) = sys_sem_timedwait;
static int (*const p_sem_cancelablewait)(sem_t *, unsigned int) = sys_sem_cancelablewait;
static int (*const p_clone)(tid_t *, void *, void *) = sys_clone;
static off_t (*const p_lseek)(int, off_t, int) = sys_lseek;
static size_t (*const p_get_ticks)(void) = sys_get_ticks;
static int (*const p_rcce_init)(int) = sys_rcce_init;
static size_t (*const p_rcce_malloc)(int, int) = sys_rcce_malloc;
static int (*const p_rcce_fini)(int) = sys_rcce_fini;
static void (*const p_yield)(void) = sys_yield;
static int (*const p_kill)(tid_t, int) = sys_kill;
static int (*const p_signal)(signal_handler_t) = sys_signal;
static void (*const p_makecontext)(ucontext_t *, void (*)(), int, ...) = makecontext;
static int (*const p_swapcontext)(ucontext_t *, const ucontext_t *) = swapcontext;
static int (*const p_getcontext)(ucontext_t *) = getcontext;
static int (*const p_setcontext)(ucontext_t *) = setcontext;
/* Declared by the original kernel (libhermit-abi.md §2.3, §2.4). */
static int (*const p_stat)(const char *, void *) = sys_stat;
static int (*const p_spinlock_init)(spinlock_t **) = sys_spinlock_init;
static int (*const p_spinlock_destroy)(spinlock_t *) = sys_spinlock_destroy;
static int (*const p_spinlock_lock)(spinlock_t *) = sys_spinlock_lock;
static int (*const p_spinlock_unlock)(spinlock_t *) = sys_spinlock_unlock;

#include <hermit/errno.h>
#include "test.h"

/* The original entry type of sys_clone: int ep(void *), passed as a void *. */
static sem_t *clone_done;
static volatile int clone_arg_seen;
static int clone_entry(void *arg)
{
	clone_arg_seen = *(int *)arg;
	sys_sem_post(clone_done);
	return 0;
}

static void on_signal(int sig) { (void)sig; }

int main(void)
{
	CHECK_INT(parse_signal_number("30"), 30);
	CHECK(p_exit == sys_exit && p_makecontext == makecontext && p_setcontext == setcontext);

	tid_t me = p_getpid();
	CHECK_INT(p_getprio(&me) > 0, 1);
	CHECK_INT(p_getprio(NULL) > 0, 1);
	CHECK_INT(p_setprio(&me, p_getprio(NULL)), 0);
	CHECK_INT(p_fork(), -ENOSYS);
	int status = 0;
	CHECK_INT(p_wait(&status), -ENOSYS);
	char *const no_args[] = { NULL };
	CHECK_INT(p_execve("/bin/true", no_args, no_args), -ENOSYS);

	CHECK_INT(p_write(1, "syscall.h: write\n", 17), 17);
	char buf[8];
	CHECK(p_open("/no/such/file/for/original_syscall_h", 0, 0) < 0);
	CHECK(p_read(-1, buf, sizeof buf) < 0);
	CHECK(p_lseek(-1, (off_t)0, 0) < 0);
	(void)p_close(-1);
	CHECK(p_sbrk(0) > 0);
	size_t t0 = p_get_ticks();
	p_msleep(20);
	CHECK(p_get_ticks() > t0);
	p_yield();

	sem_t *sem = NULL;
	CHECK_INT(p_sem_init(&sem, 1), 0);
	CHECK_INT(p_sem_wait(sem), 0);
	CHECK_INT(p_sem_timedwait(sem, 10), -ETIME);
	CHECK_INT(p_sem_post(sem), 0);
	CHECK_INT(p_sem_cancelablewait(sem, 10), 0);
	CHECK_INT(p_sem_destroy(sem), 0);

	CHECK_INT(p_sem_init(&clone_done, 0), 0);
	int arg = 7;
	tid_t id = 0;
	CHECK_INT(p_clone(&id, (void *)clone_entry, &arg), 0);
	CHECK_INT(p_sem_wait(clone_done), 0);
	CHECK_INT(clone_arg_seen, 7);
	CHECK(id != me);

	CHECK_INT(p_rcce_init(1), -ENOSYS);
	CHECK_INT((long)p_rcce_malloc(1, 0), -ENOSYS);
	CHECK_INT(p_rcce_fini(1), -ENOSYS);

	CHECK_INT(p_kill(me, 0), 0);
	CHECK_INT(p_signal(on_signal), 0);

	char stat_buf[256];
	CHECK_INT(p_stat("/", stat_buf), -ENOSYS);

	spinlock_t *lock = NULL;
	CHECK_INT(p_spinlock_init(&lock), 0);
	CHECK_INT(p_spinlock_lock(lock), 0);
	CHECK_INT(p_spinlock_unlock(lock), 0);
	CHECK_INT(p_spinlock_destroy(lock), 0);

	/* ucontext_t is incomplete through hermit/syscall.h alone, as in the original: a
	 * buffer of the original's size stands in for it. */
	static _Alignas(16) unsigned char uc[184];
	volatile int resumed = 0;
	CHECK_INT(p_getcontext((ucontext_t *)uc), 0);
	if (!resumed) {
		resumed = 1;
		p_setcontext((ucontext_t *)uc);
	}
	CHECK_INT(resumed, 1);
	(void)p_swapcontext;
	TEST_DONE();
}
