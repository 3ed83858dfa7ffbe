# Unpacks libstdc++-v3 from Debian's gcc-12 source and adapts it to HermitCore (toolchain-facts.md §2.4).
#
# cmake -DTARBALL=<gcc-12.2.0-dfsg.tar.xz> -DSRC=<source dir> -P prepare-libstdcxx.cmake
#
# Changes: libgcc's gthr-posix.h is the thread model (gthr-default.h, which a gcc build would
# generate), so std::thread, std::mutex and friends exist; newlib's os_defines.h references
# the pthread functions strongly on hermit (the kernel always has them), so a missing one is
# a link error instead of a silent "threads are not active".
cmake_minimum_required(VERSION 3.20)
foreach(var TARBALL SRC)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "prepare-libstdcxx.cmake: ${var} is not set")
  endif()
endforeach()
include("${CMAKE_CURRENT_LIST_DIR}/../gcc-source.cmake")

# configure needs the Makefile.in of doc/, po/ and testsuite/, not their contents.
gcc_unpack("${TARBALL}" "${SRC}"
  MEMBERS libstdc++-v3 libgcc/gthr.h libgcc/gthr-posix.h libgcc/gthr-single.h libgcc/unwind-pe.h
    libiberty/cp-demangle.c libiberty/cp-demangle.h config include
    config.guess config.sub install-sh ltmain.sh missing mkinstalldirs config-ml.in compile
    depcomp ar-lib test-driver multilib.am libtool-ldflags move-if-change config.rpath
    gcc/BASE-VER gcc/DATESTAMP gcc/DEV-PHASE
  EXCLUDE "libstdc++-v3/testsuite/*/*" "libstdc++-v3/doc/html" "libstdc++-v3/doc/xml"
    "libstdc++-v3/ChangeLog*")

file(COPY_FILE "${SRC}/libgcc/gthr-posix.h" "${SRC}/libgcc/gthr-default.h")

patch_insert_at("${SRC}" libstdc++-v3/config/os/newlib/os_defines.h BEFORE "#ifdef __CYGWIN__\n"
  "#ifdef __hermit__
// HermitCore: the kernel always provides POSIX threads; reference them strongly.
#define _GLIBCXX_GTHREAD_USE_WEAK 0
#endif

")
