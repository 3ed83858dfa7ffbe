/* basic.c: built only when TARGET_ARCH is x86_64-hermit, as the original benchmark; a thread answers 42. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

static void *answer(void *arg)
{
	return (void *)((uintptr_t)arg * 2);
}

int main(void)
{
	pthread_t thread;
	void *result = NULL;
	if (pthread_create(&thread, NULL, answer, (void *)21) != 0 || pthread_join(thread, &result) != 0)
		return 1;
	printf("basic: the thread said %lu\n", (unsigned long)(uintptr_t)result);
	return (uintptr_t)result == 42 ? 0 : 1;
}
