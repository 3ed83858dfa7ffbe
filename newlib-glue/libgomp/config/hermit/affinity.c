/* affinity.c (libgomp, config/hermit): no thread binding (the kernel places threads and never migrates them). */
#include "../../affinity.c"
