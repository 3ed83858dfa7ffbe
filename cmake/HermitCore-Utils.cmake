# Helpers for HermitCore applications: installing images and relinking them when the toolchain changes.
include_guard(GLOBAL)

# install_local_targets(<path> [<excluded target>...])
#   Installs every executable and static library of the current directory to
#   ${CMAKE_INSTALL_PREFIX}/x86_64-hermit/<path>, e.g. install_local_targets(extra/tests).
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
    install(TARGETS ${selected} DESTINATION "${HERMIT_TARGET}/${path}")
  endif()
endfunction()

# hermit_link_depends(<target>...)
#   Relinks the images when the kernel, the C or C++ library, libgomp, crt0 or the linker
#   script change (CMake does not see these inputs of the compiler driver on its own).
function(hermit_link_depends)
  set(inputs "")
  foreach(file libhermit.a libc.a libm.a libgomp.a libstdc++.a crt0.o hermit.ld)
    list(APPEND inputs "${HERMIT_SYSROOT}/lib/${file}")
  endforeach()
  foreach(target IN LISTS ARGN)
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${inputs})
  endforeach()
endfunction()
