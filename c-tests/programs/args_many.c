/* args_many: more arguments and environment variables than the original protocol's 128 each
 * arrive whole: argv[i] is "arg<i>", ARGS_MANY_ENV_<i> is "value<i>" for i up to
 * ARGS_MANY_COUNT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

extern char **environ;

int main(int argc, char **argv)
{
	const char *count_text = getenv("ARGS_MANY_COUNT");
	CHECK(count_text != NULL);
	int count = count_text ? atoi(count_text) : 0;
	CHECK_INT(argc, count + 1);
	CHECK(argv[argc] == NULL);
	int args_ok = 0, env_ok = 0, env_total = 0;
	char want[64], name[64];
	for (int i = 1; i < argc && i <= count; i++) {
		snprintf(want, sizeof(want), "arg%d", i);
		args_ok += strcmp(argv[i], want) == 0;
	}
	for (int i = 1; i <= count; i++) {
		snprintf(name, sizeof(name), "ARGS_MANY_ENV_%d", i);
		snprintf(want, sizeof(want), "value%d", i);
		const char *value = getenv(name);
		env_ok += value != NULL && strcmp(value, want) == 0;
	}
	for (char **e = environ; *e; e++)
		env_total++;
	CHECK_INT(args_ok, count);
	CHECK_INT(env_ok, count);
	printf("args_many: %d arguments and %d variables arrived, %d of them ours\n", argc - 1, env_total, env_ok);
	TEST_DONE();
}
