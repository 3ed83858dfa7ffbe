/* thread-stacksize.h (libgomp, config/hermit): OpenMP worker stacks default to 4 MiB. */
/*
 * The kernel's default pthread stack is the original's 256 KiB, too small for OpenMP code
 * that keeps large arrays on a worker's stack (EPCC arraybench overflowed it); the original
 * shipped LLVM's libomp with 4 MiB worker stacks. OMP_STACKSIZE or GOMP_STACKSIZE still
 * override this default, as in any libgomp.
 */
#define GOMP_DEFAULT_STACKSIZE	(4 * 1024 * 1024)
