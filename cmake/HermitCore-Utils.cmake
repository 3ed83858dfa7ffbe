# Helpers for HermitCore applications: the original HermitCore-Utils.cmake functions, and relinking on toolchain changes.
include_guard(GLOBAL)

# install_local_targets(<path> [<excluded target>...])
#   Installs every executable and static library of the current directory to
#   ${CMAKE_INSTALL_PREFIX}/x86_64-hermit/<path>, e.g. install_local_targets(extra/tests), with
#   the linker map <image>.map beside each image where one was written (PROFILING).
function(install_local_targets path)
  get_property(targets DIRECTORY PROPERTY BUILDSYSTEM_TARGETS)
  set(selected "")
  foreach(target IN LISTS targets)
    if(target IN_LIST ARGN)
      continue()
    endif()
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "EXECUTABLE" OR type STREQUAL "STATIC_LIBRARY")
      list(APPEND selected ${target})
    endif()
  endforeach()
  if(selected)
    install(TARGETS ${selected} DESTINATION "x86_64-hermit/${path}")
    foreach(target IN LISTS selected)
      install(FILES "$<TARGET_FILE:${target}>.map" DESTINATION "x86_64-hermit/${path}" OPTIONAL)
    endforeach()
  endif()
endfunction()

# set_default(<variable> <value>...): sets the variable unless it already has a true value.
macro(set_default variable)
  if(NOT ${variable})
    set(${variable} ${ARGN})
  endif()
endmacro()

# set_parent(<variable> <value>): sets the variable here and in the parent scope.
macro(set_parent variable value)
  set(${variable} ${value})
  set(${variable} ${value} PARENT_SCOPE)
endmacro()

# get_cmd_variables(<out>): the names of the cache variables given with -D on the command line.
function(get_cmd_variables out)
  set(names "")
  get_cmake_property(all VARIABLES)
  foreach(name IN LISTS all)
    get_property(help CACHE "${name}" PROPERTY HELPSTRING)
    if(help STREQUAL "No help, variable specified on the command line.")
      list(APPEND names "${name}")
    endif()
  endforeach()
  set(${out} ${names} PARENT_SCOPE)
endfunction()

# find_toolchain_program(<name>): CMAKE_<NAME> = the toolchain's x86_64-hermit-<name>, or a fatal error.
function(find_toolchain_program name)
  string(TOUPPER "${name}" upper)
  string(TOLOWER "${name}" lower)
  find_program(CMAKE_${upper} NAMES x86_64-hermit-${lower} HINTS "${TOOLCHAIN_BIN_DIR}" NO_CMAKE_FIND_ROOT_PATH)
  if(NOT CMAKE_${upper})
    message(FATAL_ERROR "cannot find x86_64-hermit-${lower} (looked in ${TOOLCHAIN_BIN_DIR})")
  endif()
endfunction()

# hermit_link_depends(<target>...)
#   Relinks the images when the kernel, the C or C++ library, libgomp, libxray, crt0 or the
#   linker script change (CMake does not see these inputs of the compiler driver on its own).
function(hermit_link_depends)
  set(inputs "")
  foreach(file libhermit.a libc.a libm.a libgomp.a libstdc++.a libxray.a crt0.o hermit.ld)
    list(APPEND inputs "${HERMIT_SYSROOT}/lib/${file}")
  endforeach()
  foreach(target IN LISTS ARGN)
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${inputs})
  endforeach()
endfunction()
