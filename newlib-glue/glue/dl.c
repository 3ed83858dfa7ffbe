/* dl.c: dlopen, dlsym, dlclose, dlerror, dladdr: a HermitCore image is one static program, so nothing can be loaded or looked up. */
#include <dlfcn.h>
#include <stddef.h>

static __thread const char *last_error;

static void *fail(const char *why)
{
	last_error = why;
	return NULL;
}

void *dlopen(const char *file, int mode)
{
	(void)file;
	(void)mode;
	return fail("dlopen: dynamic loading is not supported by HermitCore (static images)");
}

void *dlsym(void *restrict handle, const char *restrict name)
{
	(void)handle;
	(void)name;
	return fail("dlsym: no symbol table at run time (static HermitCore image)");
}

int dlclose(void *handle)
{
	(void)handle;
	fail("dlclose: no object was loaded");
	return -1;
}

/* The message of the last failure in this thread, once; NULL if none. */
char *dlerror(void)
{
	const char *e = last_error;
	last_error = NULL;
	return (char *)e;
}

int dladdr(const void *addr, Dl_info *info)
{
	(void)addr;
	(void)info;
	return 0;
}
