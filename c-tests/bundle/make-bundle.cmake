# Writes the relocatable test bundle: hermit-tests/ with the proxy, the test images, the
# manifest, the runner, the benchmark images and their static native twins, as one .tar.xz.
# The images lose their debug sections (x86_64-hermit-strip --strip-debug), nothing else.
#
# cmake -DSTAGE=<scratch dir> -DOUT=<archive> -DPROXY=<proxy> -DIMAGES=<extra/tests>
#       -DMANIFEST=<manifest> -DBENCH_IMAGES=<extra/benchmarks> -DNATIVE=<native benchmarks>
#       -DSOURCE_DIR=<c-tests> -DSTRIP=<x86_64-hermit-strip> -DMAX_MB=<size limit in MB>
#       -P make-bundle.cmake
cmake_minimum_required(VERSION 3.20)
set(root "${STAGE}/hermit-tests")
file(REMOVE_RECURSE "${STAGE}")
file(MAKE_DIRECTORY "${root}/images" "${root}/bench/hermit" "${root}/bench/native")

# Every image the manifest names must be there.
file(STRINGS "${MANIFEST}" runs REGEX "^run\t")
set(programs "")
foreach(line IN LISTS runs)
  string(REPLACE "\t" ";" fields "${line}")
  list(GET fields 2 program)
  list(APPEND programs "${program}")
endforeach()
list(REMOVE_DUPLICATES programs)
foreach(program IN LISTS programs)
  if(NOT EXISTS "${IMAGES}/${program}")
    message(FATAL_ERROR "the manifest names ${program}, but ${IMAGES}/${program} does not exist")
  endif()
  file(COPY "${IMAGES}/${program}" DESTINATION "${root}/images")
endforeach()
file(GLOB bench_images "${BENCH_IMAGES}/*")
file(GLOB native "${NATIVE}/*")
file(COPY ${bench_images} DESTINATION "${root}/bench/hermit")
file(COPY ${native} DESTINATION "${root}/bench/native")
# The images without their debug sections (a quarter of the size; what is loaded is unchanged).
file(GLOB hermit_images "${root}/images/*" "${root}/bench/hermit/*")
execute_process(COMMAND "${STRIP}" --strip-debug ${hermit_images} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${STRIP} --strip-debug failed")
endif()
file(COPY "${PROXY}" "${SOURCE_DIR}/bundle/run" DESTINATION "${root}")
file(COPY "${SOURCE_DIR}/benchmarks/run-benchmarks.sh" DESTINATION "${root}/bench")
file(COPY_FILE "${MANIFEST}" "${root}/manifest")

find_package(Git QUIET)
set(version "")
if(GIT_FOUND)
  execute_process(COMMAND "${GIT_EXECUTABLE}" describe --always --dirty WORKING_DIRECTORY "${SOURCE_DIR}"
    OUTPUT_VARIABLE version OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
string(TIMESTAMP built "%Y-%m-%d" UTC)
file(WRITE "${root}/VERSION" "${version} (built ${built})\n")

execute_process(COMMAND "${CMAKE_COMMAND}" -E tar cJf "${OUT}" hermit-tests WORKING_DIRECTORY "${STAGE}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "tar failed")
endif()
file(SIZE "${OUT}" size)
math(EXPR limit "${MAX_MB} * 1000000")
list(LENGTH programs count)
message(STATUS "${OUT}: ${size} bytes, ${count} test images")
if(size GREATER_EQUAL limit)
  message(FATAL_ERROR "${OUT} has ${size} bytes, a bundle must stay under ${MAX_MB} MB")
endif()
