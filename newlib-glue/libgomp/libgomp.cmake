# GNU libgomp 12 for x86_64-hermit: built with the toolchain's own gcc, staged as lib/libgomp.a and include/openmp/omp.h.
#
# include()d by ../CMakeLists.txt. The steps depend only on the tarball, the prepare script
# and the port files (and on newlib being done), so kernel changes never rebuild libgomp.
# -fopenmp links it through driver/libgomp.spec (*link_gomp: -lgomp). Configured with
# x86_64-hermit-gfortran (and the empty stand-ins for libgfortran.a and libquadmath.a, see
# libgfortran/libgfortran.cmake), so the Fortran interface is built too: omp_lib.mod,
# omp_lib_kinds.mod and omp_lib.h go to lib/finclude, where gfortran looks for modules.
set(LIBGOMP_DIR "${CMAKE_CURRENT_BINARY_DIR}/libgomp")
file(GLOB LIBGOMP_PORT CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/libgomp/config/hermit/*")

ExternalProject_Add(libgomp
  PREFIX "${LIBGOMP_DIR}"
  SOURCE_DIR "${LIBGOMP_DIR}/source"
  STAMP_DIR "${LIBGOMP_DIR}/stamp"
  TMP_DIR "${LIBGOMP_DIR}/tmp"
  BINARY_DIR "${LIBGOMP_DIR}/build"
  DOWNLOAD_COMMAND ""
  PATCH_COMMAND "${CMAKE_COMMAND}" -DTARBALL=${GCC_TARBALL} -DSRC=<SOURCE_DIR>
    -DPORT=${CMAKE_CURRENT_SOURCE_DIR}/libgomp
    -P "${CMAKE_CURRENT_SOURCE_DIR}/libgomp/prepare-libgomp.cmake"
  CONFIGURE_COMMAND <SOURCE_DIR>/libgomp/configure --host=x86_64-pc-elf --target=x86_64-pc-elf
    --prefix=<INSTALL_DIR> --disable-multilib --disable-shared --enable-static
    CC=${HERMIT_BIN}/${HERMIT_TARGET}-gcc "GFORTRAN=${HERMIT_GFORTRAN_FOR_CONFIGURE}"
    AR=${HOST_AR} RANLIB=${HOST_RANLIB} NM=${HOST_NM}
    "CFLAGS=-O2 -g -fstack-clash-protection" "FCFLAGS=-O2 -g"
  BUILD_COMMAND ${NEWLIB_MAKE}
  INSTALL_COMMAND "${CMAKE_COMMAND}" -E copy <BINARY_DIR>/.libs/libgomp.a "${SYSROOT_LIB}/libgomp.a"
  COMMAND "${CMAKE_COMMAND}" -E copy <BINARY_DIR>/omp.h "${SYSROOT_INCLUDE}/openmp/omp.h"
  COMMAND "${CMAKE_COMMAND}" -E copy <BINARY_DIR>/omp_lib.mod <BINARY_DIR>/omp_lib_kinds.mod
    <BINARY_DIR>/omp_lib.h <BINARY_DIR>/omp_lib.f90 "${FINCLUDE}"
  BUILD_BYPRODUCTS "${SYSROOT_LIB}/libgomp.a" "${SYSROOT_INCLUDE}/openmp/omp.h"
  DEPENDS newlib toolchain-c fortran-link-stub
  LOG_PATCH ON LOG_CONFIGURE ON LOG_BUILD ON LOG_INSTALL ON LOG_OUTPUT_ON_FAILURE ON)
ExternalProject_Add_StepDependencies(libgomp patch
  "${GCC_TARBALL}" "${CMAKE_CURRENT_SOURCE_DIR}/libgomp/prepare-libgomp.cmake"
  "${CMAKE_CURRENT_SOURCE_DIR}/gcc-source.cmake" "${CMAKE_CURRENT_SOURCE_DIR}/patch-at-anchor.cmake" ${LIBGOMP_PORT})
