# Include before project() in a HermitCore application: selects the x86_64-hermit toolchain and the app flags.
#
#   include(<prefix>/cmake/HermitCore-Application.cmake)
#   project(app C)                          # or C CXX Fortran: x86_64-hermit-g++, -gfortran
#   add_executable(app app.c)
#   install_local_targets(extra/tests)      # optional: <install prefix>/x86_64-hermit/extra/tests
#
# find_package(OpenMP) works as on Linux (-fopenmp, the toolchain's libgomp.a): link
# OpenMP::OpenMP_C, OpenMP::OpenMP_CXX or OpenMP::OpenMP_Fortran (the omp_lib module).
#
# Set MTUNE (e.g. -DMTUNE=native) to add -mtune=<MTUNE>. Applications keep the red zone: the
# kernel runs every interrupt on an IST stack (libhermit-abi.md §1 fact 25).
include_guard(GLOBAL)
if(NOT CMAKE_TOOLCHAIN_FILE)
  set(CMAKE_TOOLCHAIN_FILE "${CMAKE_CURRENT_LIST_DIR}/HermitCore-Toolchain-x86_64.cmake")
endif()
get_filename_component(HERMIT_PREFIX "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(HERMIT_TARGET x86_64-hermit)
set(HERMIT_SYSROOT "${HERMIT_PREFIX}/${HERMIT_TARGET}")
include("${CMAKE_CURRENT_LIST_DIR}/HermitCore-Utils.cmake")

set(HERMIT_APP_FLAGS -m64 -mtls-direct-seg-refs -O3 -ftree-vectorize)
if(MTUNE)
  list(APPEND HERMIT_APP_FLAGS -mtune=${MTUNE})
endif()
add_compile_options(${HERMIT_APP_FLAGS})
