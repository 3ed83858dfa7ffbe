# libgfortran and libquadmath 12 for x86_64-hermit against our newlib: staged as lib/libgfortran.a, lib/libquadmath.a, include/quadmath*.h and lib/finclude/ieee_*.mod.
#
# include()d by ../CMakeLists.txt. Configured like the target libraries of a gcc build, in
# one tree (libgfortran finds ../libquadmath): static only, gthr-posix threads on the kernel's
# pthreads referenced strongly, and instead of libbacktrace our backtrace.c (program counters
# only), built by build.mk as the libtool convenience library libgfortran links.
# libgfortran's configure runs link tests with x86_64-hermit-gfortran, which links
# -lgfortran -lquadmath; the empty archives in ${FORTRAN_LINK_STUB} stand in for them until
# the real ones exist (libgomp's configure uses them too). Kernel changes never rebuild it.
set(LIBGFORTRAN_DIR "${CMAKE_CURRENT_BINARY_DIR}/libgfortran")
set(FINCLUDE "${SYSROOT_LIB}/finclude")
set(FORTRAN_LINK_STUB "${CMAKE_CURRENT_BINARY_DIR}/fortran-link-stub")
set(HERMIT_GFORTRAN_FOR_CONFIGURE "${HERMIT_BIN}/${HERMIT_TARGET}-gfortran -L${FORTRAN_LINK_STUB}")
add_custom_command(OUTPUT "${FORTRAN_LINK_STUB}/libgfortran.a" "${FORTRAN_LINK_STUB}/libquadmath.a"
  COMMAND "${CMAKE_COMMAND}" -E make_directory "${FORTRAN_LINK_STUB}"
  COMMAND "${CMAKE_COMMAND}" -E rm -f "${FORTRAN_LINK_STUB}/libgfortran.a" "${FORTRAN_LINK_STUB}/libquadmath.a"
  COMMAND "${HOST_AR}" rcs "${FORTRAN_LINK_STUB}/libgfortran.a"
  COMMAND "${HOST_AR}" rcs "${FORTRAN_LINK_STUB}/libquadmath.a"
  COMMENT "Creating the empty libgfortran.a and libquadmath.a for configure's link tests"
  VERBATIM)
add_custom_target(fortran-link-stub DEPENDS "${FORTRAN_LINK_STUB}/libgfortran.a")

# No -g (with it libgfortran.a is 17.6 MB and takes longer to build); the runtime's
# backtraces are addresses either way.
set(LIBGFORTRAN_CFLAGS "-O2 -fstack-clash-protection -DGTHREAD_USE_WEAK=0")
ExternalProject_Add(libgfortran
  PREFIX "${LIBGFORTRAN_DIR}"
  SOURCE_DIR "${LIBGFORTRAN_DIR}/source"
  STAMP_DIR "${LIBGFORTRAN_DIR}/stamp"
  TMP_DIR "${LIBGFORTRAN_DIR}/tmp"
  BINARY_DIR "${LIBGFORTRAN_DIR}/build"
  DOWNLOAD_COMMAND ""
  PATCH_COMMAND "${CMAKE_COMMAND}" -DTARBALL=${GCC_TARBALL} -DSRC=<SOURCE_DIR>
    -DPORT=${CMAKE_CURRENT_SOURCE_DIR}/libgfortran
    -P "${CMAKE_CURRENT_SOURCE_DIR}/libgfortran/prepare-libgfortran.cmake"
  CONFIGURE_COMMAND "${CMAKE_COMMAND}" -E rm -rf <BINARY_DIR>/libquadmath <BINARY_DIR>/libgfortran
  COMMAND "${CMAKE_COMMAND}" -E make_directory <BINARY_DIR>/libquadmath <BINARY_DIR>/libgfortran
  COMMAND "${CMAKE_COMMAND}" -E chdir <BINARY_DIR>/libquadmath
    <SOURCE_DIR>/libquadmath/configure --host=x86_64-pc-elf --target=x86_64-pc-elf
    --prefix=<INSTALL_DIR> --disable-multilib --disable-shared --enable-static
    CC=${HERMIT_BIN}/${HERMIT_TARGET}-gcc AR=${HOST_AR} RANLIB=${HOST_RANLIB} NM=${HOST_NM}
    "CFLAGS=${LIBGFORTRAN_CFLAGS}"
  COMMAND "${CMAKE_COMMAND}" -E chdir <BINARY_DIR>/libgfortran
    <SOURCE_DIR>/libgfortran/configure --host=x86_64-pc-elf --target=x86_64-pc-elf
    --prefix=<INSTALL_DIR> --disable-multilib --disable-shared --enable-static
    CC=${HERMIT_BIN}/${HERMIT_TARGET}-gcc "GFORTRAN=${HERMIT_GFORTRAN_FOR_CONFIGURE}"
    AR=${HOST_AR} RANLIB=${HOST_RANLIB} NM=${HOST_NM}
    "CFLAGS=${LIBGFORTRAN_CFLAGS}" "FCFLAGS=-O2"
  BUILD_COMMAND ${NEWLIB_MAKE} -f "${CMAKE_CURRENT_SOURCE_DIR}/libgfortran/build.mk"
    HERMIT_CC=${HERMIT_BIN}/${HERMIT_TARGET}-gcc "HERMIT_CFLAGS=${LIBGFORTRAN_CFLAGS}"
    BACKTRACE_SRC=${CMAKE_CURRENT_SOURCE_DIR}/libgfortran/backtrace.c
    BACKTRACE_INCLUDE=<SOURCE_DIR>/libbacktrace
  INSTALL_COMMAND "${CMAKE_COMMAND}" -E copy <BINARY_DIR>/libgfortran/.libs/libgfortran.a
    <BINARY_DIR>/libquadmath/.libs/libquadmath.a "${SYSROOT_LIB}"
  COMMAND "${CMAKE_COMMAND}" -E copy <SOURCE_DIR>/libquadmath/quadmath.h
    <SOURCE_DIR>/libquadmath/quadmath_weak.h "${SYSROOT_INCLUDE}"
  COMMAND "${CMAKE_COMMAND}" -E copy <BINARY_DIR>/libgfortran/ieee_arithmetic.mod
    <BINARY_DIR>/libgfortran/ieee_exceptions.mod <BINARY_DIR>/libgfortran/ieee_features.mod
    "${FINCLUDE}"
  BUILD_BYPRODUCTS "${SYSROOT_LIB}/libgfortran.a" "${SYSROOT_LIB}/libquadmath.a"
  DEPENDS newlib toolchain-c fortran-link-stub
  LOG_PATCH ON LOG_CONFIGURE ON LOG_BUILD ON LOG_INSTALL ON LOG_OUTPUT_ON_FAILURE ON)
ExternalProject_Add_StepDependencies(libgfortran patch
  "${GCC_TARBALL}" "${CMAKE_CURRENT_SOURCE_DIR}/libgfortran/prepare-libgfortran.cmake"
  "${CMAKE_CURRENT_SOURCE_DIR}/libgfortran/backtrace-supported.h"
  "${CMAKE_CURRENT_SOURCE_DIR}/gcc-source.cmake" "${CMAKE_CURRENT_SOURCE_DIR}/patch-at-anchor.cmake")
ExternalProject_Add_StepDependencies(libgfortran build
  "${CMAKE_CURRENT_SOURCE_DIR}/libgfortran/build.mk" "${CMAKE_CURRENT_SOURCE_DIR}/libgfortran/backtrace.c")
