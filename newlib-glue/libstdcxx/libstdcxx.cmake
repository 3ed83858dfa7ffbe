# libstdc++-v3 12 for x86_64-hermit against our newlib: staged as lib/libstdc++.a, lib/libsupc++.a and include/c++/12.
#
# include()d by ../CMakeLists.txt. Configured like a cross target library: newlib's
# os_defines and "generic" locale model, gthr-posix threads on the kernel's pthreads. The
# compiler is the toolchain's gcc with -nostdinc++ (the g++ driver would link -lstdc++, which
# does not exist yet, into configure's link tests). Kernel changes never rebuild it.
set(LIBSTDCXX_DIR "${CMAKE_CURRENT_BINARY_DIR}/libstdcxx")
set(LIBSTDCXX_INSTALL "${LIBSTDCXX_DIR}/install")
set(CXX_INCLUDE "${SYSROOT_INCLUDE}/c++/12")

ExternalProject_Add(libstdcxx
  PREFIX "${LIBSTDCXX_DIR}"
  SOURCE_DIR "${LIBSTDCXX_DIR}/source"
  STAMP_DIR "${LIBSTDCXX_DIR}/stamp"
  TMP_DIR "${LIBSTDCXX_DIR}/tmp"
  BINARY_DIR "${LIBSTDCXX_DIR}/build"
  INSTALL_DIR "${LIBSTDCXX_INSTALL}"
  DOWNLOAD_COMMAND ""
  PATCH_COMMAND "${CMAKE_COMMAND}" -DTARBALL=${GCC_TARBALL} -DSRC=<SOURCE_DIR>
    -P "${CMAKE_CURRENT_SOURCE_DIR}/libstdcxx/prepare-libstdcxx.cmake"
  CONFIGURE_COMMAND <SOURCE_DIR>/libstdc++-v3/configure --host=x86_64-pc-elf --target=x86_64-pc-elf
    --prefix=<INSTALL_DIR> --with-gxx-include-dir=<INSTALL_DIR>/include/c++/12
    --with-newlib --disable-multilib --disable-shared --enable-static --disable-nls
    --disable-libstdcxx-pch --disable-libstdcxx-verbose --disable-libstdcxx-backtrace
    --enable-libstdcxx-time=yes
    CC=${HERMIT_BIN}/${HERMIT_TARGET}-gcc "CXX=${HERMIT_BIN}/${HERMIT_TARGET}-gcc -nostdinc++"
    AR=${HOST_AR} RANLIB=${HOST_RANLIB} NM=${HOST_NM}
    "CFLAGS=-O2 -g -fstack-clash-protection" "CXXFLAGS=-O2 -g -fstack-clash-protection"
  BUILD_COMMAND ${NEWLIB_MAKE}
  INSTALL_COMMAND ${NEWLIB_MAKE} install
  COMMAND "${CMAKE_COMMAND}" -E rm -rf "${CXX_INCLUDE}"
  COMMAND "${CMAKE_COMMAND}" -E copy_directory <INSTALL_DIR>/include/c++/12 "${CXX_INCLUDE}"
  COMMAND "${CMAKE_COMMAND}" -E copy <INSTALL_DIR>/lib/libstdc++.a <INSTALL_DIR>/lib/libsupc++.a
    "${SYSROOT_LIB}"
  BUILD_BYPRODUCTS "${SYSROOT_LIB}/libstdc++.a" "${SYSROOT_LIB}/libsupc++.a"
  DEPENDS newlib toolchain-c
  LOG_PATCH ON LOG_CONFIGURE ON LOG_BUILD ON LOG_INSTALL ON LOG_OUTPUT_ON_FAILURE ON)
ExternalProject_Add_StepDependencies(libstdcxx patch
  "${GCC_TARBALL}" "${CMAKE_CURRENT_SOURCE_DIR}/libstdcxx/prepare-libstdcxx.cmake"
  "${CMAKE_CURRENT_SOURCE_DIR}/gcc-source.cmake" "${CMAKE_CURRENT_SOURCE_DIR}/patch-at-anchor.cmake")
