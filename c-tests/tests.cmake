# The C test programs and how CTest runs them under the proxy; the single list to extend.
#
# Read twice: by programs/CMakeLists.txt, which builds each image with the hermit toolchain,
# and by CMakeLists.txt, which registers the CTest tests. To add a test, put foo.c into
# programs/ (include "test.h" and end main with TEST_DONE()) and add a line here:
#
#   hermit_c_test(<name> [SOURCES <file>...]        # default: <name>.c
#                 [LIBS <lib>...] [COMPILE_OPTIONS <opt>...] [LINK_OPTIONS <opt>...]
#                 [ARGS <arg>...]                   # argv[1..] of the program
#                 [ENV <VAR=value>...]              # environment of the proxy and the program
#                                                   # (e.g. HERMIT_MEM=256M, HERMIT_CPUS=2)
#                 [EXIT_CODE <n>]                   # expected exit status, default 0
#                 [TIMEOUT <seconds>]               # CTest time limit, default 150
#                 [MATCH <regex>...]                # each must match stdout+stderr
#                 [DISABLED <reason>])              # registered but not run (known issue)
#
# More runs of an image already built: hermit_c_run(<test name> PROGRAM <name> [ARGS ...]
# [ENV ...] [EXIT_CODE n] [TIMEOUT s] [MATCH ...] [DISABLED reason]). Tests are named c.<name>. ${HERMIT_TEST_TMPDIR} is a
# scratch directory on the host for programs that create files.

hermit_c_test(hello MATCH "Hello World!!!" "argv\\[0\\] = [^ ]*hello")
hermit_c_test(stdio_formats MATCH "printf: 3.500000 1.234568e\\+04 0.0001 1.250000")
hermit_c_test(strings_stdlib ARGS -v -n 5 -o out.txt rest)
hermit_c_test(math_lib LIBS m MATCH "sqrt\\(2\\)=1.414213562373095")
hermit_c_test(time_clock)
hermit_c_test(files_errno ARGS "${HERMIT_TEST_TMPDIR}")
hermit_c_test(args_env ARGS 42 "two words" "x=y" ENV "HERMIT_TEST_VALUE=hello hermit" HERMIT_MEM=256M
  EXIT_CODE 42 MATCH "argv\\[1\\]=42, exiting with it")
hermit_c_run(args_env_status PROGRAM args_env ARGS 0 "two words" "x=y"
  ENV "HERMIT_TEST_VALUE=hello hermit" EXIT_CODE 0)
hermit_c_test(signals EXIT_CODE 134 MATCH "handlers ran; calling abort")
hermit_c_test(unsupported MATCH "writev gathers this line")
hermit_c_test(tls_threads_link COMPILE_OPTIONS -pthread LINK_OPTIONS -pthread LIBS pthread rt dl)
hermit_c_test(compile_checks)
hermit_c_test(cpus ENV HERMIT_CPUS=1)
hermit_c_run(cpus_two PROGRAM cpus ENV HERMIT_CPUS=2)
hermit_c_test(unwind)
hermit_c_test(startup ENV HERMIT_MEM=128M EXIT_CODE 5
  MATCH "main returns 5, atexit ran, destructor ran")

# ---- the kernel and the proxy (boot, exits, host files, memory, faults, hostile guests) ------
hermit_c_run(hello_args PROGRAM hello ARGS first "second arg" ENV "HERMIT_TEST_VAR=passed through"
  MATCH "Hello World!!!" "argv\\[1\\] = first" "argv\\[2\\] = second arg" "HERMIT_TEST_VAR = passed through")
hermit_c_run(hello_two_cores PROGRAM hello ENV HERMIT_CPUS=2 MATCH "Hello World!!!")
hermit_c_run(hello_original_uhyve PROGRAM hello ARGS x ENV HERMIT_UHYVE_COMPAT=1 "HERMIT_TEST_VAR=compat"
  MATCH "Hello World!!!" "argv\\[1\\] = x" "HERMIT_TEST_VAR = compat")
hermit_c_run(hello_verbose PROGRAM hello ENV HERMIT_VERBOSE=1
  MATCH "\\[[0-9]+\\.[0-9]+\\]\\[0:0\\]\\[INFO\\] HermitCore \\(Rust\\) booted" "--- kernel log \\(.kmsg\\) ---" "Hello World!!!")
hermit_c_test(exitcode ARGS return 0)
foreach(code 3 255)
  hermit_c_run(exitcode_return_${code} PROGRAM exitcode ARGS return ${code} EXIT_CODE ${code})
endforeach()
foreach(code 0 3 255)
  hermit_c_run(exitcode_exit_${code} PROGRAM exitcode ARGS exit ${code} EXIT_CODE ${code})
endforeach()
hermit_c_test(fileio ARGS "${HERMIT_TEST_TMPDIR}/fileio.dat" "${HERMIT_TEST_TMPDIR}/no-such-file"
  MATCH "all [0-9]+ checks passed")
hermit_c_run(fileio_original_uhyve PROGRAM fileio ENV HERMIT_UHYVE_COMPAT=1
  ARGS "${HERMIT_TEST_TMPDIR}/fileio-compat.dat" "${HERMIT_TEST_TMPDIR}/no-such-file" nostat
  MATCH "all [0-9]+ checks passed")
hermit_c_test(bigmalloc ENV HERMIT_MEM=2G MATCH "1 GiB touched page by page")
# malloc and friends are the kernel's: behaviour, alignment, accounting; bad frees abort.
hermit_c_test(malloc_api MATCH "all [0-9]+ checks passed")
hermit_c_run(malloc_double_free PROGRAM malloc_api ARGS double-free EXIT_CODE 134 TIMEOUT 5
  MATCH "free\\(\\): double free 0x")
hermit_c_run(malloc_bad_free PROGRAM malloc_api ARGS bad-free EXIT_CODE 134 TIMEOUT 5
  MATCH "free\\(\\): invalid pointer 0x")
# Faults end the program with the original's status 242 (-EFAULT) and a report, quickly.
hermit_c_test(fault ARGS null EXIT_CODE 242 TIMEOUT 2
  MATCH "page fault \\(#PF, vector 14\\)" "read at address 0x0 \\(null pointer dereference\\)" "rip 0x"
  "rax 0x")
hermit_c_run(fault_null_write PROGRAM fault ARGS null-write EXIT_CODE 242 TIMEOUT 2
  MATCH "write at address 0x10 \\(null pointer dereference\\)")
hermit_c_run(fault_stack_overflow PROGRAM fault ARGS stack EXIT_CODE 242 TIMEOUT 2
  MATCH "stack overflow into the guard page" "stack of task")
hermit_c_run(fault_invalid_opcode PROGRAM fault ARGS ud EXIT_CODE 242 TIMEOUT 2
  MATCH "invalid opcode \\(#UD, vector 6\\)")
hermit_c_run(fault_divide PROGRAM fault ARGS div EXIT_CODE 242 TIMEOUT 2 MATCH "divide error \\(#DE, vector 0\\)")
hermit_c_run(fault_wild_pointer PROGRAM fault ARGS wild EXIT_CODE 242 TIMEOUT 2
  MATCH "access to an unmapped address")
# A hostile guest: each bad request is refused with a message and status 1.
hermit_c_test(hostile ARGS foreign-fds MATCH "foreign descriptors refused")
foreach(case write-outside write-wrap read-outside open-outside open-unterminated struct-outside
    exit-outside cmdval-outside unknown-port)
  string(REGEX MATCH "^[a-z]+" call "${case}")
  string(TOUPPER "${call}" call)
  if(case STREQUAL "struct-outside")
    set(call WRITE)
  endif()
  set(expect "proxy: bad ${call} hypercall")
  if(case STREQUAL "unknown-port")
    set(expect "proxy: the guest used unknown hypercall port 0x9f00")
  endif()
  hermit_c_run(hostile_${case} PROGRAM hostile ARGS ${case} EXIT_CODE 1 TIMEOUT 10
    MATCH "${expect}" "stopping the guest")
endforeach()

# ---- OpenMP and C++ (issue 5) ----
# Each OpenMP program runs with 1 and 2 vCPUs (one thread per vCPU by default), with
# OMP_NUM_THREADS=3 on 2 vCPUs and with 2 threads time-sharing one vCPU (more threads than
# cores: libgomp spins briefly, then blocks on futexes); the C++ ones with 1 and 2 vCPUs.
foreach(name omp_loops omp_sync omp_tasks)
  hermit_c_test(${name} COMPILE_OPTIONS -fopenmp LINK_OPTIONS -fopenmp ENV HERMIT_CPUS=1
    MATCH "all [0-9]+ checks passed")
  hermit_c_run(${name}_two PROGRAM ${name} ENV HERMIT_CPUS=2 MATCH "${name}: 2 threads")
  hermit_c_run(${name}_three_threads PROGRAM ${name} ENV HERMIT_CPUS=2 OMP_NUM_THREADS=3
    MATCH "${name}: 3 threads")
  hermit_c_run(${name}_shared_core PROGRAM ${name} ENV HERMIT_CPUS=1 OMP_NUM_THREADS=2
    MATCH "${name}: 2 threads")
endforeach()
# OMP_* variables from the proxy's environment reach libgomp (OMP_DISPLAY_ENV prints them).
hermit_c_test(omp_env COMPILE_OPTIONS -fopenmp LINK_OPTIONS -fopenmp
  ENV HERMIT_CPUS=2 OMP_NUM_THREADS=3 OMP_SCHEDULE=guided,7 OMP_DYNAMIC=false
    OMP_MAX_ACTIVE_LEVELS=3 OMP_THREAD_LIMIT=8 OMP_STACKSIZE=1M OMP_WAIT_POLICY=passive
    GOMP_SPINCOUNT=1000 OMP_DISPLAY_ENV=verbose
  MATCH "OMP_NUM_THREADS = '3'" "OMP_SCHEDULE = 'GUIDED,7'" "OMP_WAIT_POLICY = 'PASSIVE'"
    "GOMP_SPINCOUNT = '1000'" "all [0-9]+ checks passed")
foreach(name cxx_basics cxx_threads)
  hermit_c_test(${name} SOURCES ${name}.cpp COMPILE_OPTIONS -std=c++17 ENV HERMIT_CPUS=1
    "CXX_TEST_ENV=from the proxy" MATCH "all [0-9]+ checks passed")
  hermit_c_run(${name}_two PROGRAM ${name} ENV HERMIT_CPUS=2 "CXX_TEST_ENV=from the proxy"
    MATCH "all [0-9]+ checks passed")
endforeach()
