/* sysconf.c: sysconf() for programs and libgomp: processors from the kernel header, page size, clock ticks. */
#include <limits.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>
#include "glue.h"

extern int get_num_cpus(void);

long sysconf(int name)
{
	switch (name) {
	case _SC_NPROCESSORS_ONLN:
	case _SC_NPROCESSORS_CONF: {
		int n = get_num_cpus();
		return n > 0 ? n : 1;
	}
	case _SC_PAGESIZE:
		return getpagesize();
	case _SC_CLK_TCK:
		return CLK_TCK;
	case _SC_ARG_MAX:
		return ARG_MAX;
	case _SC_OPEN_MAX: {
		/* The soft RLIMIT_NOFILE, as Linux's. */
		struct rlimit nofile;
		getrlimit(RLIMIT_NOFILE, &nofile);
		return (long)nofile.rlim_cur;
	}
	case _SC_CHILD_MAX:
		return 1;
	case _SC_NGROUPS_MAX:
		return 0;
	case _SC_LINE_MAX:
		return 2048;
	case _SC_HOST_NAME_MAX:
		return 64;
	case _SC_IOV_MAX:
		return 1024;
	case _SC_THREADS:
		return 200112L;
	default:
		return hermit_fail(EINVAL);
	}
}
