/* gdb_target.c: the program the GDB checks (scripts/check-gdb.sh) debug; alone it checks itself.
 * Arguments: "spin" (spin until GDB clears keep_spinning), "tasks" (three threads, two of them
 * blocked when GDB stops in tasks_blocked), "segv" (a NULL write: status 242). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <hermit/syscall.h>

static volatile int worker_result;
static volatile int keep_spinning = 1;
static volatile int watched, watched_after;

/* With "spin", main spins here until GDB interrupts it and clears keep_spinning. */
static void spin(void)
{
	while (keep_spinning)
		;
}

static int square(int x)
{
	return x * x;
}

static void *worker(void *arg)
{
	int n = *(int *)arg;
	worker_result = square(n);
	return NULL;
}

static void touch(void)
{
	watched = 7; watched_after = 1; /* the watched write */
}

/* "tasks": main holds the lock; locker blocks on it, joiner blocks joining locker. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t locker_thread;
static volatile int locker_id, joiner_id;

static void *locker(void *arg)
{
	locker_id = sys_getpid();
	pthread_mutex_lock(&lock);
	pthread_mutex_unlock(&lock);
	return arg;
}

static void *joiner(void *arg)
{
	joiner_id = sys_getpid();
	pthread_join(locker_thread, NULL);
	return arg;
}

/* GDB stops here while locker and joiner are blocked. */
static void tasks_blocked(void)
{
	__asm__ volatile("" ::: "memory");
}

static int tasks(void)
{
	pthread_t joiner_thread;
	pthread_mutex_lock(&lock);
	if (pthread_create(&locker_thread, NULL, locker, NULL) != 0 ||
	    pthread_create(&joiner_thread, NULL, joiner, NULL) != 0)
		return 1;
	while (!locker_id || !joiner_id)
		sched_yield();
	usleep(200000);
	tasks_blocked();
	pthread_mutex_unlock(&lock);
	if (pthread_join(joiner_thread, NULL) != 0)
		return 1;
	printf("tasks: main %d, locker %d, joiner %d\n", (int)sys_getpid(), locker_id, joiner_id);
	return 3;
}

static void crash(int *p)
{
	*p = 1; /* the NULL write */
}

int main(int argc, char **argv)
{
	int local = 6;
	local = local * 7;
	local = local + 0;
	if (argc > 1 && strcmp(argv[1], "spin") == 0) {
		spin();
		printf("%s: the spin ended\n", argv[1]);
	}
	if (argc > 1 && strcmp(argv[1], "tasks") == 0)
		return tasks();
	if (argc > 1 && strcmp(argv[1], "segv") == 0)
		crash(NULL);
	write(1, "a line through a hypercall\n", 27);
	touch();
	pthread_t thread;
	pthread_attr_t attr;
	int arg = 5;
	/*
	 * The worker runs on the second vCPU when there is one (the GDB check of threads looks
	 * for it there): left alone it would stay on main's core, which waits for it.
	 */
	pthread_attr_init(&attr);
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1) {
		cpu_set_t second;
		CPU_ZERO(&second);
		CPU_SET(1, &second);
		pthread_attr_setaffinity_np(&attr, sizeof(second), &second);
	}
	if (pthread_create(&thread, &attr, worker, &arg) != 0 || pthread_join(thread, NULL) != 0)
		return 1;
	pthread_attr_destroy(&attr);
	printf("local=%d worker=%d watched=%d\n", local, worker_result, watched);
	/* 3: the debugger must see this status. */
	return local == 42 && worker_result == 25 && watched == 7 ? 3 : 1;
}
