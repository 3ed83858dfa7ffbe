/* affinity.c (libgomp, config/hermit): Linux's thread binding (OMP_PROC_BIND, OMP_PLACES, GOMP_CPU_AFFINITY) on the kernel's affinity calls, with the vCPUs' topology answered here instead of read from the host's /sys. */
/* Linux's affinity.c reads /sys/devices/system/{cpu,node} for the places "threads",
   "cores", "sockets", "ll_caches" and "numa_domains". In the guest those paths would reach
   the host's files (or nothing, under HERMIT_MOUNT), which describe the host, not the
   vCPUs. The guest's topology is flat: every vCPU is a core with one hardware thread, and
   all of them share one socket, one last-level cache and one NUMA node; the file contents
   below say exactly that for vCPUs 0..HERMIT_CPUS-1, and every other /sys path does not
   exist. So "threads" and "cores" give one place per vCPU, "sockets", "ll_caches" and
   "numa_domains" one place with all of them. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* cpu_set_t and the CPU_* macros, before the first header */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static FILE *hermit_topology_fopen (const char *name, const char *mode);
#define fopen hermit_topology_fopen
#define getline __getline /* newlib has only the reserved name */
#include "../linux/affinity.c"
#undef getline
#undef fopen

/* A read-only stream over `text` (the ring of buffers outlives the few streams libgomp
   keeps open at once while it builds its place list, at most two). */
static FILE *
hermit_topology_text (const char *text)
{
  static char ring[4][32];
  static unsigned next;
  char *buf = ring[next++ % 4];
  size_t len = strlen (text);
  if (len >= sizeof ring[0])
    len = sizeof ring[0] - 1;
  memcpy (buf, text, len);
  buf[len] = 0;
  return fmemopen (buf, len, "r");
}

static FILE *
hermit_topology_fopen (const char *name, const char *mode)
{
  static const char cpu[] = "/sys/devices/system/cpu/cpu";
  static const char node[] = "/sys/devices/system/node/";
  long cpus = sysconf (_SC_NPROCESSORS_ONLN);
  char all[32], one[24];
  if (cpus < 1)
    cpus = 1;
  if (cpus == 1)
    strcpy (all, "0\n");
  else
    sprintf (all, "0-%ld\n", cpus - 1);
  if (strcmp (mode, "r") != 0)
    goto absent;
  if (strncmp (name, cpu, sizeof cpu - 1) == 0)
    {
      char *rest;
      long id = strtol (name + sizeof cpu - 1, &rest, 10);
      if (rest == name + sizeof cpu - 1 || id < 0 || id >= cpus)
	goto absent;
      if (strcmp (rest, "/topology/thread_siblings_list") == 0)
	{
	  sprintf (one, "%ld\n", id);
	  return hermit_topology_text (one);
	}
      if (strcmp (rest, "/topology/core_siblings_list") == 0
	  || strcmp (rest, "/cache/index0/shared_cpu_list") == 0)
	return hermit_topology_text (all);
      if (strcmp (rest, "/cache/index0/level") == 0)
	return hermit_topology_text ("3\n");
      goto absent;
    }
  if (strcmp (name, "/sys/devices/system/node/online") == 0)
    return hermit_topology_text ("0\n");
  if (strncmp (name, node, sizeof node - 1) == 0
      && strcmp (name + sizeof node - 1, "node0/cpulist") == 0)
    return hermit_topology_text (all);
absent:
  errno = ENOENT;
  return NULL;
}
