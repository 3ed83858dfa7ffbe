# Included by c-ares's own project() (CMAKE_PROJECT_INCLUDE, set by CMakeLists.txt): the hermit application flags, and a relink of the tools when the kernel or the C library changes.
include("${HERMIT_PREFIX}/cmake/HermitCore-Application.cmake")
# The tools' targets are made later, in c-ares's src/tools: run when the top directory is done.
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL hermit_link_depends adig ahost)
