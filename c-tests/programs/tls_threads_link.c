/* tls_threads_link.c: built with -pthread -lpthread -lrt -ldl and __thread data; single-threaded. */
#include <pthread.h>
#include "test.h"

#ifndef _REENTRANT
#error "-pthread must define _REENTRANT"
#endif

static __thread int counter = 41;
static __thread char scratch[100];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
	CHECK_INT(counter, 41);
	counter++;
	CHECK_INT(counter, 42);
	CHECK(scratch[0] == 0 && scratch[99] == 0);
	/* errno lives in the thread's struct _reent, which lives in TLS. */
	errno = 0;
	CHECK(strtol("99999999999999999999999", NULL, 10) == __LONG_MAX__);
	CHECK_INT(errno, ERANGE);
	/* A statically initialised mutex works without pthread_mutex_init. */
	CHECK_INT(pthread_mutex_lock(&lock), 0);
	CHECK_INT(pthread_mutex_trylock(&lock), EBUSY);
	CHECK_INT(pthread_mutex_unlock(&lock), 0);
	TEST_DONE();
}
