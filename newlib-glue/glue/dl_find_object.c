/* dl_find_object.c: _dl_find_object(), through which GCC 12's libgcc_eh finds unwind tables (C++ exceptions). */
/*
 * A HermitCore image is one static object: every address of the image maps to the
 * .eh_frame_hdr that the linker script marks with __eh_frame_hdr_start. The struct has the
 * layout of glibc 2.35's <dlfcn.h>, which libgcc was built against.
 */
#include <stddef.h>

struct link_map;

struct dl_find_object {
	unsigned long long dlfo_flags;
	void *dlfo_map_start;
	void *dlfo_map_end;
	struct link_map *dlfo_link_map;
	void *dlfo_eh_frame;
	unsigned long long __dlfo_reserved[7];
};

extern char kernel_start[], _end[], __eh_frame_hdr_start[];

int _dl_find_object(void *pc, struct dl_find_object *result);

int _dl_find_object(void *pc, struct dl_find_object *result)
{
	char *addr = pc;
	if (addr < kernel_start || addr >= _end)
		return -1;
	result->dlfo_flags = 0;
	result->dlfo_map_start = kernel_start;
	result->dlfo_map_end = _end;
	result->dlfo_link_map = NULL;
	result->dlfo_eh_frame = __eh_frame_hdr_start;
	return 0;
}
