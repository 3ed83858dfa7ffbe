/* hello.c: the smallest program: output is matched by the test, exit status must be 0. */
#include <stdio.h>

int main(int argc, char **argv)
{
	printf("Hello World!!!\n");
	for (int i = 0; i < argc; i++)
		printf("argv[%d] = %s\n", i, argv[i]);
	return 0;
}
