/* hello.c: the original greeting, the arguments and one environment variable passed through. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	printf("Hello World!!!\n");
	for (int i = 0; i < argc; i++)
		printf("argv[%d] = %s\n", i, argv[i]);
	const char *value = getenv("HERMIT_TEST_VAR");
	printf("HERMIT_TEST_VAR = %s\n", value ? value : "(unset)");
	return 0;
}
