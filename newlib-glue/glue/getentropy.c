/* getentropy.c: getentropy() for newlib's arc4random, on sys_read_entropy. */
#include <unistd.h>
#include "glue.h"

int getentropy(void *buf, size_t len)
{
	if (len > 256)
		return hermit_fail(EIO);
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t got = sys_read_entropy(p, len, 0);
		if (got < 0)
			return (int)hermit_result(got);
		p += got;
		len -= (size_t)got;
	}
	return 0;
}
