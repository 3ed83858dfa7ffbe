/* futex.h (libgomp, config/hermit): futex_wait/futex_wake on the kernel's sys_futex_*, and cpu_relax. */
/*
 * Included by config/linux/wait.h, whose spin-then-block do_wait and the futex-based
 * mutexes, barriers, semaphores and locks of config/linux are used unchanged. wait.h has
 * pushed hidden visibility; the kernel's functions keep the default one.
 */
#ifndef GOMP_HERMIT_FUTEX_H
#define GOMP_HERMIT_FUTEX_H 1

#pragma GCC visibility push(default)
#include <hermit/syscall.h>
#pragma GCC visibility pop

/* Blocks while *addr == val (no timeout). A changed value or a wakeup both return. */
static inline void
futex_wait (int *addr, int val)
{
  sys_futex_wait ((uint32_t *) addr, (uint32_t) val, NULL, 0);
}

/* Wakes up to count waiters of addr (libgomp passes INT_MAX for all of them). */
static inline void
futex_wake (int *addr, int count)
{
  sys_futex_wake ((uint32_t *) addr, count);
}

/* The body of libgomp's spin loops. */
static inline void
cpu_relax (void)
{
  __builtin_ia32_pause ();
}

#endif
