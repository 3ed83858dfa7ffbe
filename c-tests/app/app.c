/* app.c: an application built against an installed prefix; prints its argument and exits with 7. */
#include <math.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	volatile double x = 49.0;
	printf("app from an installed prefix: %s (sqrt %g)\n", argc > 1 ? argv[1] : "-", sqrt(x));
	return sqrt(x) == 7.0 ? 7 : 1;
}
