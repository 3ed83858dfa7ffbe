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
#                 [MATCH <regex>...]                # each must match stdout+stderr
#                 [DISABLED <reason>])              # registered but not run (known issue)
#
# More runs of an image already built: hermit_c_run(<test name> PROGRAM <name> [ARGS ...]
# [ENV ...] [EXIT_CODE n] [MATCH ...] [DISABLED reason]). Tests are named c.<name>. ${HERMIT_TEST_TMPDIR} is a
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
hermit_c_run(cpus_two PROGRAM cpus ENV HERMIT_CPUS=2
  DISABLED "the kernel starts main before the secondary cores are online (cpu_online is 1)")
hermit_c_test(unwind)
hermit_c_test(startup ENV HERMIT_MEM=128M EXIT_CODE 5
  MATCH "main returns 5, atexit ran, destructor ran")
