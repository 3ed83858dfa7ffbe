/* args_env.c: argv and the environment from the proxy; exits with the status given as argv[1]. */
#include <unistd.h>
#include "test.h"

extern char **environ;

int main(int argc, char **argv, char **envp)
{
	CHECK_INT(argc, 4);
	if (argc != 4)
		TEST_DONE();
	CHECK_STR(argv[2], "two words");
	CHECK_STR(argv[3], "x=y");
	CHECK(argv[4] == NULL);
	CHECK_STR(getenv("HERMIT_TEST_VALUE"), "hello hermit");
	CHECK(envp == environ);
	int found = 0;
	for (char **e = environ; *e != NULL; e++)
		found += strcmp(*e, "HERMIT_TEST_VALUE=hello hermit") == 0;
	CHECK_INT(found, 1);
	CHECK_INT(setenv("HERMIT_NEW", "1", 0), 0);
	CHECK_STR(getenv("HERMIT_NEW"), "1");
	char host[64];
	CHECK_INT(gethostname(host, sizeof(host)), 0);
	CHECK_STR(host, "hermit");
	CHECK(sysconf(_SC_NPROCESSORS_ONLN) >= 1);
	CHECK_INT(sysconf(_SC_PAGESIZE), 4096);
	if (test_failures)
		TEST_DONE();
	printf("argv[1]=%s, exiting with it\n", argv[1]);
	exit(atoi(argv[1]));
}
