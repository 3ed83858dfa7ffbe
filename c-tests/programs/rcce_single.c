/* rcce_single.c: an RCCE program links against the original's entry points and gets the single-kernel answers. */
#include <stddef.h>
#include <hermit/errno.h>
#include <hermit/syscall.h>
#include "test.h"

/* crt0's isle number (header field isle; -1 on a single kernel) and the kernel's lock of
 * the RCCE session table, both as the original's RCCE library declared them. */
int isle_id(void);
extern void *rcce_lock;

int main(void)
{
	CHECK_INT(sys_rcce_init(1), -ENOSYS);
	CHECK_INT(sys_rcce_init(0), -ENOSYS); /* the original checked single-kernel mode first */
	CHECK_INT((long)sys_rcce_malloc(1, 0), -ENOSYS);
	CHECK_INT(sys_rcce_fini(1), -ENOSYS);
	CHECK_INT(isle_id(), -1);
	CHECK(rcce_lock == NULL);
	TEST_DONE();
}
