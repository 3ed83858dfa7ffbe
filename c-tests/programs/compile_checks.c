/* compile_checks.c: the driver's predefined macros and the C ABI layouts, checked at compile time. */
#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <hermit/syscall.h>
#include <semaphore.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include "test.h"

#ifndef __hermit__
#error "__hermit__ is not defined"
#endif
#ifndef __unix__
#error "__unix__ is not defined"
#endif
#if defined(__linux__) || defined(__linux) || defined(linux) || defined(__gnu_linux__)
#error "a Linux macro is defined"
#endif
#if defined(__PIE__) || defined(__pie__)
#error "PIE is on"
#endif
#if defined(__GLIBC__) || defined(__GNU_LIBRARY__)
#error "glibc headers were used"
#endif
#ifndef _NEWLIB_VERSION
#error "newlib headers were not used"
#endif
#ifndef __DYNAMIC_REENT__
#error "__DYNAMIC_REENT__ is not defined"
#endif
#if __BYTE_ORDER != __LITTLE_ENDIAN
#error "endian.h"
#endif

_Static_assert(offsetof(struct hermit_stat, st_mode) == 24, "hermit_stat layout");
_Static_assert(sizeof(struct hermit_stat) == 120, "hermit_stat size");
_Static_assert(offsetof(struct dirent, d_reclen) == 16, "dirent is a linux_dirent64");
_Static_assert(offsetof(struct dirent, d_name) == 19, "dirent is a linux_dirent64");
_Static_assert(sizeof(off_t) == 8, "64-bit off_t");
_Static_assert(sizeof(time_t) == 8, "64-bit time_t");
_Static_assert(sizeof(long double) == 16, "x87 long double");
_Static_assert(S_IFDIR == 0040000 && S_IFREG == 0100000 && S_IFCHR == 0020000, "S_IF* encoding");
_Static_assert(EWOULDBLOCK == EAGAIN && ENOTSUP == EOPNOTSUPP, "Linux errno aliases");

int main(void)
{
	CHECK_INT(be32toh(htobe32(0x12345678)), 0x12345678);
	CHECK_INT(htobe16(0x1234), 0x3412);
	TEST_DONE();
}
