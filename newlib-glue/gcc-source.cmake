# Helpers for the prepare scripts of libgomp and libstdc++: unpack parts of Debian's gcc-12 source (patches: patch-at-anchor.cmake).
#
# include()d by libgomp/prepare-libgomp.cmake and libstdcxx/prepare-libstdcxx.cmake (cmake -P).
# Each library gets its own source tree, recreated from the tarball every time (never patched
# twice); unpacking only the needed directories of the 80 MB tarball takes about 5 s.
cmake_minimum_required(VERSION 3.20)
include("${CMAKE_CURRENT_LIST_DIR}/patch-at-anchor.cmake")

# gcc_unpack(<tarball> <source dir> MEMBERS <path>... [EXCLUDE <path>...])
#   Extracts the given paths (relative to the tarball's top directory, e.g. libgomp or
#   config.sub) into <source dir>, which is removed first. EXCLUDE drops subtrees
#   (testsuites, documentation) that the build never reads.
function(gcc_unpack tarball src)
  cmake_parse_arguments(PARSE_ARGV 2 U "" "" "MEMBERS;EXCLUDE")
  find_program(TAR tar REQUIRED)
  # The top directory of the tarball (gcc-12.2.0), from its first entry.
  execute_process(COMMAND "${TAR}" tJf "${tarball}" COMMAND head -n 1
    OUTPUT_VARIABLE first OUTPUT_STRIP_TRAILING_WHITESPACE)
  string(REGEX REPLACE "/.*" "" top "${first}")
  if(top STREQUAL "")
    message(FATAL_ERROR "cannot list ${tarball}")
  endif()
  set(unpack "${src}.unpack")
  file(REMOVE_RECURSE "${src}" "${unpack}")
  file(MAKE_DIRECTORY "${unpack}")
  set(args "")
  foreach(path IN LISTS U_EXCLUDE)
    list(APPEND args "--exclude=${top}/${path}")
  endforeach()
  foreach(path IN LISTS U_MEMBERS)
    list(APPEND args "${top}/${path}")
  endforeach()
  execute_process(COMMAND "${TAR}" xJf "${tarball}" -C "${unpack}" ${args}
    RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "unpacking ${tarball} failed: ${err}")
  endif()
  file(RENAME "${unpack}/${top}" "${src}")
  file(REMOVE_RECURSE "${unpack}")
endfunction()
