# GNU libgomp 12 for x86_64-hermit: built with the toolchain's own gcc, staged as lib/libgomp.a and include/openmp/omp.h.
#
# include()d by ../CMakeLists.txt. The steps depend only on the tarball, the prepare script
# and the port files (and on newlib being done), so kernel changes never rebuild libgomp.
# -fopenmp links it through driver/libgomp.spec (*link_gomp: -lgomp).
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
    CC=${HERMIT_BIN}/${HERMIT_TARGET}-gcc AR=${HOST_AR} RANLIB=${HOST_RANLIB} NM=${HOST_NM}
    "CFLAGS=-O2 -g -fstack-clash-protection"
  BUILD_COMMAND ${NEWLIB_MAKE}
  INSTALL_COMMAND "${CMAKE_COMMAND}" -E copy <BINARY_DIR>/.libs/libgomp.a "${SYSROOT_LIB}/libgomp.a"
  COMMAND "${CMAKE_COMMAND}" -E copy <BINARY_DIR>/omp.h "${SYSROOT_INCLUDE}/openmp/omp.h"
  BUILD_BYPRODUCTS "${SYSROOT_LIB}/libgomp.a" "${SYSROOT_INCLUDE}/openmp/omp.h"
  DEPENDS newlib toolchain-c
  LOG_PATCH ON LOG_CONFIGURE ON LOG_BUILD ON LOG_INSTALL ON LOG_OUTPUT_ON_FAILURE ON)
ExternalProject_Add_StepDependencies(libgomp patch
  "${GCC_TARBALL}" "${CMAKE_CURRENT_SOURCE_DIR}/libgomp/prepare-libgomp.cmake"
  "${CMAKE_CURRENT_SOURCE_DIR}/gcc-source.cmake" "${CMAKE_CURRENT_SOURCE_DIR}/patch-at-anchor.cmake" ${LIBGOMP_PORT})
