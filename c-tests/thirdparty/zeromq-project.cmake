# Included by ZeroMQ's own project() (CMAKE_PROJECT_INCLUDE, set by CMakeLists.txt): the hermit application flags, and a relink of its test programs when the kernel or the C library changes.
include("${HERMIT_PREFIX}/cmake/HermitCore-Application.cmake")

# The test programs' targets are made in ZeroMQ's tests/ and unittests/: collected when the top
# directory is done.
function(hermit_zeromq_relink)
  set(programs "")
  foreach(dir tests unittests)
    get_property(targets DIRECTORY "${CMAKE_SOURCE_DIR}/${dir}" PROPERTY BUILDSYSTEM_TARGETS)
    foreach(target IN LISTS targets)
      get_target_property(type ${target} TYPE)
      if(type STREQUAL "EXECUTABLE")
        list(APPEND programs ${target})
      endif()
    endforeach()
  endforeach()
  hermit_link_depends(${programs})
endfunction()
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL hermit_zeromq_relink)
