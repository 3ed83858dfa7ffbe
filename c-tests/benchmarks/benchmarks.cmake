# The benchmark programs (each <name>.c), built for HermitCore and natively.
set(HERMIT_BENCHMARKS hello boot getpid write compute sched threads malloc noise)
