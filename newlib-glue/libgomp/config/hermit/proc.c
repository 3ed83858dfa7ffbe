/* proc.c (libgomp, config/hermit): processor count for the default team size and omp_get_num_procs (HERMIT_CPUS). */
#include "libgomp.h"
#include <unistd.h>

/* The number of vCPUs the proxy started (sysconf reads the kernel header). */
static unsigned
hermit_online_cpus (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);
  return n > 0 ? (unsigned) n : 1;
}

/* Default nthreads-var: one thread per vCPU, as on Linux. */
void
gomp_init_num_threads (void)
{
  gomp_global_icv.nthreads_var = hermit_online_cpus ();
}

/* OMP_DYNAMIC=true: never more threads than vCPUs (there is no load average to subtract). */
unsigned
gomp_dynamic_max_threads (void)
{
  unsigned cpus = hermit_online_cpus ();
  unsigned nthreads = gomp_icv (false)->nthreads_var;
  return cpus < nthreads ? cpus : nthreads;
}

int
omp_get_num_procs (void)
{
  return hermit_online_cpus ();
}

ialias (omp_get_num_procs)
