/* exit.c: _exit() for newlib's exit() and abort(): ends the program through sys_exit. */
#include <unistd.h>
#include "glue.h"

void _exit(int code)
{
	sys_exit(code);
}
