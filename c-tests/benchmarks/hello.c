/* hello: the program the end-to-end start-to-exit time is measured with. */
#include <stdio.h>

int main(void)
{
	printf("Hello World!!!\n");
	return 0;
}
