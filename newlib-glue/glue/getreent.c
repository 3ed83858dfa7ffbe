/* getreent.c: __getreent() for newlib's _REENT (errno, stdio state, strtok, ...): one struct _reent per thread. */
/*
 * The struct lives in TLS, so every thread gets its own (the kernel copies the TLS image per
 * thread) and nothing is allocated: malloc itself uses _REENT (toolchain-facts.md §1.5 item 7).
 */
#include <reent.h>
#include <string.h>

static __thread struct _reent thread_reent;
static __thread int thread_reent_ready;

struct _reent *__getreent(void)
{
	if (!thread_reent_ready) {
		_REENT_INIT_PTR(&thread_reent);
		thread_reent_ready = 1;
	}
	return &thread_reent;
}
