/* sbrk.c: sbrk() for newlib's _sbrk_r (malloc), on sys_sbrk. */
#include <unistd.h>
#include "glue.h"

void *sbrk(ptrdiff_t incr)
{
	ssize_t old = sys_sbrk(incr);
	if (old < 0) {
		errno = ENOMEM;
		return (void *)-1;
	}
	return (void *)old;
}
