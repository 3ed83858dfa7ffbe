/* sys/cpuset.h (HermitCore): glibc's cpu_set_t and CPU_* macros, for sched_setaffinity and pthread_setaffinity_np. */
#ifndef _SYS_CPUSET_H_
#define _SYS_CPUSET_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1024 CPUs as in glibc (the kernel has at most 512 cores), one bit per CPU. */
#define CPU_SETSIZE 1024
#define __NCPUBITS (8 * sizeof(unsigned long))

typedef unsigned long __cpu_mask;

typedef struct {
	__cpu_mask __bits[CPU_SETSIZE / __NCPUBITS];
} cpu_set_t;

#define __CPUELT(cpu) ((cpu) / __NCPUBITS)
#define __CPUMASK(cpu) ((__cpu_mask)1 << ((cpu) % __NCPUBITS))

#define CPU_ALLOC_SIZE(count) \
	((((size_t)(count) + __NCPUBITS - 1) / __NCPUBITS) * sizeof(__cpu_mask))

#define CPU_ZERO_S(setsize, set) __builtin_memset((set), 0, (setsize))
#define CPU_SET_S(cpu, setsize, set) \
	((size_t)(cpu) / 8 < (setsize) ? ((set)->__bits[__CPUELT(cpu)] |= __CPUMASK(cpu)) : 0)
#define CPU_CLR_S(cpu, setsize, set) \
	((size_t)(cpu) / 8 < (setsize) ? ((set)->__bits[__CPUELT(cpu)] &= ~__CPUMASK(cpu)) : 0)
#define CPU_ISSET_S(cpu, setsize, set) \
	((size_t)(cpu) / 8 < (setsize) ? (((set)->__bits[__CPUELT(cpu)] & __CPUMASK(cpu)) != 0) : 0)
#define CPU_COUNT_S(setsize, set) __hermit_cpu_count((setsize), (set)->__bits)
#define __HERMIT_CPU_OP_S(setsize, dest, a, b, op)                                   \
	do {                                                                          \
		size_t __i;                                                           \
		for (__i = 0; __i < (setsize) / sizeof(__cpu_mask); __i++)           \
			(dest)->__bits[__i] = (a)->__bits[__i] op (b)->__bits[__i];   \
	} while (0)
#define CPU_AND_S(setsize, dest, a, b) __HERMIT_CPU_OP_S(setsize, dest, a, b, &)
#define CPU_OR_S(setsize, dest, a, b) __HERMIT_CPU_OP_S(setsize, dest, a, b, |)
#define CPU_XOR_S(setsize, dest, a, b) __HERMIT_CPU_OP_S(setsize, dest, a, b, ^)
#define CPU_EQUAL_S(setsize, a, b) (__builtin_memcmp((a), (b), (setsize)) == 0)

#define CPU_ZERO(set) CPU_ZERO_S(sizeof(cpu_set_t), set)
#define CPU_SET(cpu, set) CPU_SET_S(cpu, sizeof(cpu_set_t), set)
#define CPU_CLR(cpu, set) CPU_CLR_S(cpu, sizeof(cpu_set_t), set)
#define CPU_ISSET(cpu, set) CPU_ISSET_S(cpu, sizeof(cpu_set_t), set)
#define CPU_COUNT(set) CPU_COUNT_S(sizeof(cpu_set_t), set)
#define CPU_AND(dest, a, b) CPU_AND_S(sizeof(cpu_set_t), dest, a, b)
#define CPU_OR(dest, a, b) CPU_OR_S(sizeof(cpu_set_t), dest, a, b)
#define CPU_XOR(dest, a, b) CPU_XOR_S(sizeof(cpu_set_t), dest, a, b)
#define CPU_EQUAL(a, b) CPU_EQUAL_S(sizeof(cpu_set_t), a, b)

static __inline int __hermit_cpu_count(size_t __setsize, const __cpu_mask *__bits)
{
	/* C90-clean (no declaration in the for): programs built with -std=c90, such as c-ares,
	   include this through <pthread.h> under _GNU_SOURCE. */
	int __count = 0;
	size_t __i;
	for (__i = 0; __i < __setsize / sizeof(__cpu_mask); __i++)
		__count += __builtin_popcountl(__bits[__i]);
	return __count;
}

#ifdef __cplusplus
}
#endif

#endif /* _SYS_CPUSET_H_ */
