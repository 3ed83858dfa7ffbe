/* gdb_target.c: the program the GDB checks (scripts/check-gdb.sh) debug; alone it checks itself. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static volatile int worker_result;
static volatile int keep_spinning = 1;

/* With an argument, main spins here until GDB interrupts it and clears keep_spinning. */
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

int main(int argc, char **argv)
{
	int local = 6;
	local = local * 7;
	local = local + 0;
	if (argc > 1) {
		spin();
		printf("%s: the spin ended\n", argv[1]);
	}
	write(1, "a line through a hypercall\n", 27);
	pthread_t thread;
	int arg = 5;
	if (pthread_create(&thread, NULL, worker, &arg) != 0 || pthread_join(thread, NULL) != 0)
		return 1;
	printf("local=%d worker=%d\n", local, worker_result);
	/* 3: the debugger must see this status. */
	return local == 42 && worker_result == 25 ? 3 : 1;
}
