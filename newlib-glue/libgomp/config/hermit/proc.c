/* proc.c (libgomp, config/hermit): Linux's processor counting on the kernel's affinity calls (the team size is the number of vCPUs in the thread's affinity set). */
/* pthread_getaffinity_np reports the vCPUs the thread may use (all HERMIT_CPUS of them
   unless the program narrowed it); sysconf (_SC_NPROCESSORS_CONF/ONLN) is HERMIT_CPUS.
   No getloadavg: OMP_DYNAMIC=true gives one thread per vCPU of the set. */
#include "../linux/proc.c"
