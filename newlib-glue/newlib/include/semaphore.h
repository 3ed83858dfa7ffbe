/* semaphore.h: POSIX unnamed semaphores (declarations; the kernel's pthread layer implements them). */
/*
 * newlib 3.3 ships no <semaphore.h>; libgomp and ordinary programs include it. sem_t is an
 * opaque, fixed-size object that the implementation initialises lazily.
 */
#ifndef _SEMAPHORE_H
#define _SEMAPHORE_H

#include <sys/cdefs.h>
#include <sys/_timespec.h>

typedef struct {
	unsigned int __value;	/* count */
	unsigned int __waiters;	/* implementation-defined */
	void *__impl;		/* implementation-defined */
} sem_t;

#define SEM_FAILED ((sem_t *)0)

__BEGIN_DECLS
int sem_init(sem_t *sem, int pshared, unsigned int value);
int sem_destroy(sem_t *sem);
int sem_wait(sem_t *sem);
int sem_trywait(sem_t *sem);
int sem_timedwait(sem_t *__restrict sem, const struct timespec *__restrict abstime);
int sem_post(sem_t *sem);
int sem_getvalue(sem_t *__restrict sem, int *__restrict value);
sem_t *sem_open(const char *name, int oflag, ...);
int sem_close(sem_t *sem);
int sem_unlink(const char *name);
__END_DECLS

#endif /* _SEMAPHORE_H */
