/* startup.c: the crt0 contract: constructors before main, environ, atexit and destructors after, exit(main()). */
#include <setjmp.h>
#include <unistd.h>
#include "test.h"

extern char **environ;
extern int libc_sd;
int get_cpufreq(void);
int get_num_cpus(void);
int isle_id(void);

static int constructed;
static char **environ_in_constructor;

__attribute__((constructor)) static void before_main(void)
{
	constructed = 1;
	environ_in_constructor = environ;
}

__attribute__((destructor)) static void after_main(void)
{
	printf("destructor ran\n");
}

static void at_exit(void)
{
	printf("atexit ran, ");
}

static jmp_buf jump;

static void jump_back(int value)
{
	longjmp(jump, value);
}

int main(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	CHECK_INT(constructed, 1);
	CHECK(environ_in_constructor != NULL);
	CHECK(environ == envp);
	CHECK_INT(libc_sd, -1);
	CHECK(get_num_cpus() >= 1);
	CHECK_INT(isle_id(), -1);
	CHECK(get_cpufreq() >= 0);
	int value = setjmp(jump);
	if (value == 0)
		jump_back(7);
	CHECK_INT(value, 7);
	CHECK_INT(atexit(at_exit), 0);
	/* Allocation beyond guest memory fails cleanly: malloc returns NULL with ENOMEM. */
	errno = 0;
	void *huge = malloc((size_t)16 << 30);
	CHECK(huge == NULL);
	CHECK_INT(errno, ENOMEM);
	CHECK(sbrk((intptr_t)16 << 30) == (void *)-1);
	void *small = malloc(1000);
	CHECK(small != NULL);
	free(small);
	if (test_failures)
		TEST_DONE();
	printf("main returns 5, ");
	return 5;
}
