# Include before project() in a HermitCore library or application (HermitCore-Application.cmake does).
#
# As the original HermitCore.cmake: selects the x86_64-hermit toolchain file unless one is set,
# defines the original's variables (TARGET_ARCH, HERMIT_ARCH, HERMIT_APP_FLAGS, TOOLCHAIN_BIN_DIR,
# HERMIT_ROOT, LOCAL_PREFIX_*; see HermitCore-Toolchain-x86_64.cmake), honours MTUNE and PROFILING:
#
#   -DPROFILING=ON   compiles every target with -finstrument-functions (and -falign-functions=32),
#                    defines XRAY, XRAY_DISABLE_BROWSER_INTEGRATION, XRAY_NO_DEMANGLE and
#                    XRAY_ANNOTATE, links -lxray and writes a linker map <target>.map beside each
#                    image (install_local_targets installs it too); libxray then writes a report
#                    at exit (README, "Profiling with XRay").
#
# Deviation: the original pointed LOCAL_PREFIX_* at a staging directory of its source tree and
# added it to the include and library paths; here they name the toolchain's own sysroot, which
# the compiler driver searches anyway. The original also enabled C, CXX, Fortran and Go here;
# project() enables the languages it lists, and a language the toolchain does not ship stops
# with a message.
include_guard(GLOBAL)
include("${CMAKE_CURRENT_LIST_DIR}/HermitCore-Utils.cmake")

if(NOT CMAKE_TOOLCHAIN_FILE)
  set(CMAKE_TOOLCHAIN_FILE "${CMAKE_CURRENT_LIST_DIR}/HermitCore-Toolchain-x86_64.cmake")
endif()
get_filename_component(HERMIT_PREFIX "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(HERMIT_TARGET x86_64-hermit)
set(HERMIT_SYSROOT "${HERMIT_PREFIX}/${HERMIT_TARGET}")
set(HERMIT_ARCH x86_64)
set(TARGET_ARCH ${HERMIT_TARGET})
set_default(TOOLCHAIN_BIN_DIR "${HERMIT_PREFIX}/bin")
set(HERMIT_APP_FLAGS -m64 -mtls-direct-seg-refs -O3 -ftree-vectorize)
if(MTUNE)
  list(APPEND HERMIT_APP_FLAGS -mtune=${MTUNE})
endif()

set(HERMIT_ROOT "${HERMIT_PREFIX}")
set(LOCAL_PREFIX_DIR "${HERMIT_PREFIX}")
set(LOCAL_PREFIX_ARCH_DIR "${HERMIT_SYSROOT}")
set(LOCAL_PREFIX_ARCH_INCLUDE_DIR "${HERMIT_SYSROOT}/include")
set(LOCAL_PREFIX_ARCH_LIB_DIR "${HERMIT_SYSROOT}/lib")
set(GENERATED_CONFIG_DIR "${HERMIT_SYSROOT}/include")

if(PROFILING)
  add_compile_options(-falign-functions=32 -finstrument-functions
    -finstrument-functions-exclude-function-list=_mm_pause,_mm_setcsr,_mm_getcsr)
  add_compile_definitions(XRAY XRAY_DISABLE_BROWSER_INTEGRATION XRAY_NO_DEMANGLE XRAY_ANNOTATE)
  link_libraries(xray "-Wl,-Map=$<TARGET_PROPERTY:NAME>.map")
endif()
