# CMake toolchain file for x86_64-hermit applications (-DCMAKE_TOOLCHAIN_FILE=<prefix>/cmake/this file).
#
# Finds the toolchain relative to this file (<prefix>/cmake/), so it works in the build
# tree's local prefix and in any installed prefix. Sets the variables of the original
# HermitCore-Toolchain-x86_64.cmake: TARGET_ARCH (x86_64-hermit), TOOLCHAIN_BIN_DIR (default
# <prefix>/bin, where the compilers are taken from), HERMIT_KERNEL_FLAGS, HERMIT_APP_FLAGS,
# _CMAKE_TOOLCHAIN_PREFIX and _CMAKE_TOOLCHAIN_LOCATION.
#
# Languages: a language is shipped when its driver <TOOLCHAIN_BIN_DIR>/x86_64-hermit-<driver>
# exists (C gcc, CXX g++, Fortran gfortran, Go gccgo). Enabling one that is not shipped, e.g.
# with project(x C CXX Fortran Go), stops with a message that names it and the shipped ones.
get_filename_component(HERMIT_PREFIX "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(HERMIT_TARGET x86_64-hermit)
set(HERMIT_SYSROOT "${HERMIT_PREFIX}/${HERMIT_TARGET}")
set(TARGET_ARCH ${HERMIT_TARGET})
set(HERMIT_ARCH x86_64)
if(NOT TOOLCHAIN_BIN_DIR)
  set(TOOLCHAIN_BIN_DIR "${HERMIT_PREFIX}/bin")
endif()
set(_CMAKE_TOOLCHAIN_PREFIX "${TARGET_ARCH}-")
set(_CMAKE_TOOLCHAIN_LOCATION "${TOOLCHAIN_BIN_DIR}")

# The original's flags. The kernel flags are for reference only (our kernel is Rust); the
# application flags are what HermitCore-Application.cmake adds to every target.
set(HERMIT_KERNEL_FLAGS -m64 -Wall -O2 -mno-red-zone -ffreestanding -fno-stack-protector -mno-sse -mno-mmx
  -mno-sse2 -mno-3dnow -mno-avx -mno-80387 -fno-common -fno-strict-aliasing)
if(NOT DEFINED HERMIT_APP_FLAGS)
  set(HERMIT_APP_FLAGS -m64 -mtls-direct-seg-refs -O3 -ftree-vectorize)
endif()

set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_ASM_COMPILER "${TOOLCHAIN_BIN_DIR}/${HERMIT_TARGET}-gcc")

# <language>=<driver suffix>: which compiler each language the original supported needs.
set(HERMIT_LANGUAGE_DRIVERS C=gcc CXX=g++ Fortran=gfortran Go=gccgo)
set(HERMIT_LANGUAGES "")
set(_hermit_missing "")
foreach(pair IN LISTS HERMIT_LANGUAGE_DRIVERS)
  string(REPLACE "=" ";" pair "${pair}")
  list(GET pair 0 lang)
  list(GET pair 1 driver)
  set(path "${TOOLCHAIN_BIN_DIR}/${HERMIT_TARGET}-${driver}")
  if(EXISTS "${path}")
    set(CMAKE_${lang}_COMPILER "${path}")
    list(APPEND HERMIT_LANGUAGES ${lang})
  else()
    list(APPEND _hermit_missing "${lang}=${driver}")
  endif()
endforeach()
# For each language without a driver, a CMakeDetermine<lang>Compiler.cmake ahead of CMake's own
# in the module path: enable_language() and project() load it first, and it stops with the message.
set(_hermit_stubs "${CMAKE_BINARY_DIR}/hermit-languages")
list(JOIN HERMIT_LANGUAGES " " _hermit_shipped)
foreach(pair IN LISTS _hermit_missing)
  string(REPLACE "=" ";" pair "${pair}")
  list(GET pair 0 lang)
  list(GET pair 1 driver)
  # Lines after the first start with a space, so that CMake prints them as they are.
  file(WRITE "${_hermit_stubs}/CMakeDetermine${lang}Compiler.cmake"
    "message(FATAL_ERROR \"x86_64-hermit: this HermitCore toolchain does not ship ${lang}:\\n"
    " there is no ${TOOLCHAIN_BIN_DIR}/${HERMIT_TARGET}-${driver}.\\n"
    " Shipped languages: ${_hermit_shipped}.\\n"
    " Remove ${lang} from project() or enable_language().\")\n")
endforeach()
if(_hermit_missing)
  list(PREPEND CMAKE_MODULE_PATH "${_hermit_stubs}")
endif()

foreach(tool AR NM OBJCOPY OBJDUMP RANLIB READELF STRIP LINKER)
  string(TOLOWER "${tool}" name)
  if(name STREQUAL "linker")
    set(name ld)
  endif()
  set(CMAKE_${tool} "${TOOLCHAIN_BIN_DIR}/${HERMIT_TARGET}-${name}" CACHE FILEPATH "x86_64-hermit ${name}")
endforeach()

# Images are static executables; libraries and headers come only from the hermit sysroot.
set(CMAKE_EXECUTABLE_SUFFIX "")
set_property(GLOBAL PROPERTY TARGET_SUPPORTS_SHARED_LIBS FALSE)
set(CMAKE_FIND_ROOT_PATH "${HERMIT_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
