/* lseek.c: lseek() for newlib's _lseek_r, on sys_lseek (64-bit offsets throughout). */
#include <unistd.h>
#include "glue.h"

off_t lseek(int fd, off_t offset, int whence)
{
	return hermit_result(sys_lseek(fd, offset, whence));
}
