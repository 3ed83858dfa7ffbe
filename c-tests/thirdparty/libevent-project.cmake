# Included by libevent's own project() (CMAKE_PROJECT_INCLUDE, set by CMakeLists.txt): the hermit application flags, and a relink of its programs when the kernel or the C library changes.
include("${HERMIT_PREFIX}/cmake/HermitCore-Application.cmake")
# The programs' targets (HERMIT_LIBEVENT_PROGRAMS, from CMakeLists.txt) are made later in
# libevent's CMakeLists: run when the top directory is done.
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL hermit_link_depends ${HERMIT_LIBEVENT_PROGRAMS})
