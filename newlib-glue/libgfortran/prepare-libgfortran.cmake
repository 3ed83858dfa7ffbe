# Unpacks libgfortran and libquadmath from Debian's gcc-12 source and adapts them to HermitCore.
#
# cmake -DTARBALL=<gcc-12.2.0-dfsg.tar.xz> -DSRC=<source dir> -DPORT=<this directory>
#       -P prepare-libgfortran.cmake
#
# Changes: lstat is declared for intrinsics/stat.c; libgcc's gthr-posix.h is the thread model (gthr-default.h, which a gcc build would
# generate), referenced strongly (-DGTHREAD_USE_WEAK=0 in libgfortran.cmake); libbacktrace is
# not built: backtrace-supported.h says "no symbolic backtraces", and backtrace.c (added to
# libgfortran.a by libgfortran.cmake) gives the program-counter-only backtrace that libgfortran
# then prints.
cmake_minimum_required(VERSION 3.20)
foreach(var TARBALL SRC PORT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "prepare-libgfortran.cmake: ${var} is not set")
  endif()
endforeach()
include("${CMAKE_CURRENT_LIST_DIR}/../gcc-source.cmake")

gcc_unpack("${TARBALL}" "${SRC}"
  MEMBERS libgfortran libquadmath libgcc/gthr.h libgcc/gthr-posix.h libgcc/gthr-single.h
    libbacktrace/backtrace.h gcc/fortran/libgfortran.h gcc/BASE-VER gcc/DATESTAMP gcc/DEV-PHASE
    config include config.guess config.sub install-sh ltmain.sh missing mkinstalldirs
    config-ml.in compile depcomp ar-lib test-driver multilib.am libtool-ldflags config.rpath
    move-if-change
  EXCLUDE "libgfortran/ChangeLog*" "libquadmath/ChangeLog*")

file(COPY_FILE "${SRC}/libgcc/gthr-posix.h" "${SRC}/libgcc/gthr-default.h")

# newlib 3.3 declares lstat only for RTEMS, SPU and Cygwin; libc has it (glue/stat.c), and
# configure found it with a link test, so LSTAT intrinsics use it.
patch_insert_at("${SRC}" libgfortran/intrinsics/stat.c AFTER "#include <sys/stat.h>\n"
  "
#ifdef __hermit__
/* HermitCore: in libc (the syscall glue), not declared by newlib 3.3's <sys/stat.h>. */
int lstat (const char *__restrict, struct stat *__restrict);
#endif
")
file(COPY "${PORT}/backtrace-supported.h" DESTINATION "${SRC}/libbacktrace")
