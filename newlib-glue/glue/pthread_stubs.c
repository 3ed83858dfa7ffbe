/* pthread_stubs.c: pthread_setcancelstate() for newlib's stdio (_POSIX_THREADS); weak until the pthread layer exists. */
#include <pthread.h>

/* Cancellation is not supported: the state is always "enabled" and never acted upon. */
__attribute__((weak)) int pthread_setcancelstate(int state, int *old)
{
	(void)state;
	if (old != NULL)
		*old = PTHREAD_CANCEL_ENABLE;
	return 0;
}
