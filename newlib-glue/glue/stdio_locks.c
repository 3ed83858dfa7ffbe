/* stdio_locks.c: flockfile, ftrylockfile and funlockfile (declared by newlib's stdio.h, absent from its libc.a), on the stream's own recursive lock. */
/*
 * The lock and the conditions are the ones newlib's stdio takes internally (_flockfile in
 * libc/stdio/local.h): string streams (__SSTR) and streams marked __SNLK have none.
 */
#include <reent.h>
#include <stdio.h>
#include <sys/lock.h>

extern void __sinit(struct _reent *);

static int lockable(FILE *fp)
{
	if (!_REENT->__sdidinit)
		__sinit(_REENT);
	return !(fp->_flags & __SSTR) && !(fp->_flags2 & __SNLK);
}

void flockfile(FILE *fp)
{
	if (lockable(fp))
		__lock_acquire_recursive(fp->_lock);
}

/* 0 when the lock was taken, as POSIX; non-zero if another thread holds it. */
int ftrylockfile(FILE *fp)
{
	if (!lockable(fp))
		return 0;
	/* The kernel's try-acquire returns 1 when it took the lock. */
	return __lock_try_acquire_recursive(fp->_lock) ? 0 : -1;
}

void funlockfile(FILE *fp)
{
	if (lockable(fp))
		__lock_release_recursive(fp->_lock);
}
