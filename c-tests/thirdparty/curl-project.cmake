# Included by curl's own project() (CMAKE_PROJECT_INCLUDE, set by CMakeLists.txt): the hermit application flags, and a relink of the curl tool when the kernel or the C library changes.
include("${HERMIT_PREFIX}/cmake/HermitCore-Application.cmake")
# The tool's target is made later, in curl's src/: run when the top directory is done.
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL hermit_link_depends curl)
