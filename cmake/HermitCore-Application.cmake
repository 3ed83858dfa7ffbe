# Include before project() in a HermitCore application: selects the x86_64-hermit toolchain and the app flags.
#
#   include(<prefix>/cmake/HermitCore-Application.cmake)
#   project(app C)                          # or C CXX Fortran: x86_64-hermit-g++, -gfortran
#   if("${TARGET_ARCH}" STREQUAL "x86_64-hermit")
#     add_executable(app app.c)
#   endif()
#   install_local_targets(extra/tests)      # <install prefix>/x86_64-hermit/extra/tests
#
# The original's variables and functions are defined (HermitCore.cmake, HermitCore-Utils.cmake,
# HermitCore-Toolchain-x86_64.cmake), so the original usr/tests and usr/benchmarks CMakeLists
# work unchanged from <prefix>/<dir>/<dir>/ (their include(../../cmake/...)). -DPROFILING=ON
# profiles with XRay; -DMTUNE=native adds -mtune=<MTUNE>.
#
# find_package(OpenMP) works as on Linux (-fopenmp, the toolchain's libgomp.a): link
# OpenMP::OpenMP_C, OpenMP::OpenMP_CXX or OpenMP::OpenMP_Fortran (the omp_lib module).
#
# Applications keep the red zone: the kernel runs every interrupt on an IST stack
# (libhermit-abi.md §1 fact 25).
include_guard(GLOBAL)
include("${CMAKE_CURRENT_LIST_DIR}/HermitCore.cmake")
add_compile_options(${HERMIT_APP_FLAGS})
