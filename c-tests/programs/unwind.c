/* unwind.c: libgcc_eh unwinds through the image via the glue's _dl_find_object (what C++ exceptions need). */
#include <unwind.h>
#include "test.h"

static int frames;

static _Unwind_Reason_Code count_frame(struct _Unwind_Context *context, void *arg)
{
	(void)context;
	(void)arg;
	frames++;
	return _URC_NO_REASON;
}

__attribute__((noinline)) static int inner(int x)
{
	_Unwind_Backtrace(count_frame, NULL);
	return x + 1;
}

__attribute__((noinline)) static int outer(int x)
{
	return inner(x) * 2;
}

int main(void)
{
	CHECK_INT(outer(1), 4);
	/* inner, outer, main and crt0's libc_start at least. */
	CHECK(frames >= 4);
	printf("unwound %d frames\n", frames);
	TEST_DONE();
}
