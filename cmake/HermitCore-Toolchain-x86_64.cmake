# CMake toolchain file for x86_64-hermit applications (-DCMAKE_TOOLCHAIN_FILE=<prefix>/cmake/this file).
#
# Finds the toolchain relative to this file (<prefix>/cmake/), so it works in the build
# tree's local prefix and in any installed prefix.
get_filename_component(HERMIT_PREFIX "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(HERMIT_TARGET x86_64-hermit)
set(HERMIT_SYSROOT "${HERMIT_PREFIX}/${HERMIT_TARGET}")

set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER "${HERMIT_PREFIX}/bin/${HERMIT_TARGET}-gcc")
set(CMAKE_CXX_COMPILER "${HERMIT_PREFIX}/bin/${HERMIT_TARGET}-g++")
set(CMAKE_Fortran_COMPILER "${HERMIT_PREFIX}/bin/${HERMIT_TARGET}-gfortran")
set(CMAKE_ASM_COMPILER "${HERMIT_PREFIX}/bin/${HERMIT_TARGET}-gcc")
foreach(tool AR NM OBJCOPY OBJDUMP RANLIB READELF STRIP LINKER)
  string(TOLOWER "${tool}" name)
  if(name STREQUAL "linker")
    set(name ld)
  endif()
  set(CMAKE_${tool} "${HERMIT_PREFIX}/bin/${HERMIT_TARGET}-${name}" CACHE FILEPATH "x86_64-hermit ${name}")
endforeach()

# Images are static executables; libraries and headers come only from the hermit sysroot.
set(CMAKE_EXECUTABLE_SUFFIX "")
set_property(GLOBAL PROPERTY TARGET_SUPPORTS_SHARED_LIBS FALSE)
set(CMAKE_FIND_ROOT_PATH "${HERMIT_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
