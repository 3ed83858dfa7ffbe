# The benchmark programs (each <name>.c), built for HermitCore and natively.
set(HERMIT_BENCHMARKS hello boot getpid write fileio hostcalls stdio compute sched threads malloc noise memlib spin2
  basic cmark netloop epoll)
# The OpenMP benchmarks (each <name>.c), built with -O3 -fopenmp on both sides.
set(HERMIT_OPENMP_BENCHMARKS stream ompbench pi npb)
