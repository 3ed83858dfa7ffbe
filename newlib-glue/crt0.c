/* crt0.c: the C start-up of a HermitCore image; the kernel calls libc_start on the main task. */
/*
 * The ELF entry _start belongs to the kernel (libhermit.a). Once the kernel has set up the
 * main task, its stack and its TLS, it calls libc_start(argc, argv, envp) (libhermit-abi.md
 * §1 facts 8-9, §3.3). The helpers below read the kernel header at 0x800000.
 */
#include <reent.h>
#include <stdint.h>
#include <stdlib.h>

extern char **environ;
extern void __libc_init_array(void);
extern void __libc_fini_array(void);
extern int main(int argc, char **argv, char **envp);
extern void __hermit_signal_dispatch(int sig);
extern int sys_signal(void (*handler)(int));
extern unsigned int sys_getpid(void);
extern int __hermit_pid;
extern void _cleanup_r(struct _reent *reent);

int libc_start(int argc, char **argv, char **envp);
int get_cpufreq(void);
int isle_id(void);
int get_num_cpus(void);
void _init(void);
void _fini(void);

/* The proxy socket of the original; the kernel may read and write it. */
int libc_sd = -1;

/* The DSO handle of the executable, used by __cxa_atexit (normally from crtbegin.o). */
void *__dso_handle __attribute__((visibility("hidden"))) = 0;

/* Empty: newlib's __libc_init_array and __libc_fini_array call them (HAVE_INIT_FINI). */
void _init(void) {}
void _fini(void) {}

/* Reads a 32-bit field of the kernel header; the asm hides the constant address from gcc. */
static int header_field(uintptr_t offset)
{
	const volatile int *field;
	__asm__("" : "=r"(field) : "0"(0x800000UL + offset));
	return *field;
}

/* TSC frequency in MHz (header cpu_freq). */
int get_cpufreq(void) { return header_field(0x18); }

/* Isle number of this kernel (header isle, -1 in single-kernel mode). */
int isle_id(void) { return header_field(0x34); }

/* Number of cores that are up (header cpu_online). */
int get_num_cpus(void) { return header_field(0x20); }

int libc_start(int argc, char **argv, char **envp)
{
	/* exit() flushes stdio through the global reent's __cleanup, which newlib 3.3 sets only
	 * in the reent that first used stdio; with a reent per thread that is never the global
	 * one, so output still buffered at exit would be lost. */
	_GLOBAL_REENT->__cleanup = _cleanup_r;
	/* getpid()'s one id for every thread (glue/getpid.c). */
	__hermit_pid = (int)sys_getpid();
	/* The environment first, so that constructors see it: libgomp reads OMP_* in one, and
	 * C++ globals may call getenv (the original set it after them). */
	if (envp != NULL)
		environ = envp;
	__libc_init_array();
	atexit(__libc_fini_array);
	/* Signals from other threads run the receiving thread's newlib handler (threads inherit
	 * this registration). */
	sys_signal(__hermit_signal_dispatch);
	exit(main(argc, argv, envp));
}
