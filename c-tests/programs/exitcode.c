/* exitcode: ends with the code in argv[2], by returning from main ("return") or by exit(). */
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 100;
	int code = atoi(argv[2]);
	if (strcmp(argv[1], "exit") == 0)
		exit(code);
	return code;
}
