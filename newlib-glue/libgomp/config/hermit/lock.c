/* lock.c (libgomp, config/hermit): the OpenMP lock API on libgomp's futex mutexes (static library: no versioned symbols). */
/*
 * Without symbol versioning libgomp.h names the generic gomp_*_lock_30 functions
 * omp_*_lock; the internal aliases below are what fortran.c and the rest of libgomp call.
 */
#include "wait.h"
#include "../../lock.c"

ialias (omp_init_lock)
ialias (omp_destroy_lock)
ialias (omp_set_lock)
ialias (omp_unset_lock)
ialias (omp_test_lock)
ialias (omp_init_nest_lock)
ialias (omp_destroy_nest_lock)
ialias (omp_set_nest_lock)
ialias (omp_unset_nest_lock)
ialias (omp_test_nest_lock)
