# Unpacks GNU libgomp from Debian's gcc-12 source and adds the hermit port (toolchain-facts.md §3.2).
#
# cmake -DTARBALL=<gcc-12.2.0-dfsg.tar.xz> -DSRC=<source dir> -DPORT=<dir with config/hermit>
#       -P prepare-libgomp.cmake
#
# The port is config/hermit (futex.h, lock.c, affinity.c, proc.c) in front of config/linux,
# whose futex-based mutexes, barriers and semaphores then run on the kernel's sys_futex_*;
# configure.tgt selects it for x86_64-*-elf, the triple the toolchain's libraries are built for.
cmake_minimum_required(VERSION 3.20)
foreach(var TARBALL SRC PORT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "prepare-libgomp.cmake: ${var} is not set")
  endif()
endforeach()
include("${CMAKE_CURRENT_LIST_DIR}/../gcc-source.cmake")

gcc_unpack("${TARBALL}" "${SRC}"
  MEMBERS libgomp config include config.guess config.sub install-sh ltmain.sh missing
    mkinstalldirs config-ml.in compile depcomp ar-lib test-driver multilib.am libtool-ldflags
  EXCLUDE "libgomp/testsuite/libgomp.*")

patch_insert_at("${SRC}" libgomp/configure.tgt BEFORE "  *-*-hpux*)\n"
  "  x86_64-*-elf*)\n\t# HermitCore: futexes are the kernel's sys_futex_wait/sys_futex_wake.\n\tconfig_path=\"hermit linux posix\"\n\t;;\n\n")

file(COPY "${PORT}/config/hermit" DESTINATION "${SRC}/libgomp/config")
