/* memalign.c: posix_memalign(), which newlib 3.3's aligned_alloc uses but does not define. */
#include <malloc.h>
#include <stdlib.h>
#include <errno.h>

int posix_memalign(void **out, size_t align, size_t size)
{
	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	void *p = memalign(align, size);
	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}
