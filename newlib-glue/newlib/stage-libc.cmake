# Makes the toolchain's libc.a: newlib's archive without the members the kernel or the glue
# replace, plus the glue objects; libg.a is a copy (the original linked -lc -lg -lm -lhermit).
#
# cmake -DNEWLIB_LIBC=<newlib libc.a> -DGLUE_OBJECTS=<obj|obj|...> -DOUT_DIR=<sysroot/lib>
#       -DWORK=<scratch dir> -P stage-libc.cmake
#
# Removed members: lib_a-lock.o (the kernel provides __retarget_lock_* and the nine static
# locks, toolchain-facts.md §1.5 item 2), libc/posix's isatty objects (the glue's isatty
# uses fstat), lib_a-renamer.o (newlib's _rename_r is link + unlink, which cannot replace an
# existing file; the glue's renames on the host) and lib_a-system.o/lib_a-popen.o (the glue's
# fail with ENOSYS; newlib's system(NULL) claimed a shell) and lib_a-setjmp.o (its x86-64
# longjmp(env, 0) made setjmp return 0; the glue's returns 1), lib_a-remove.o (it only
# unlinked; POSIX removes a directory as rmdir), lib_a-strlen.o, lib_a-memchr.o and
# lib_a-memmove.o (generic C; the glue's use SSE2). Fails if any global symbol is
# then defined twice.
cmake_minimum_required(VERSION 3.20)
foreach(var NEWLIB_LIBC GLUE_OBJECTS OUT_DIR WORK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "stage-libc.cmake: ${var} is not set")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed: ${ARGN}\n${out}${err}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
string(REPLACE "|" ";" GLUE_OBJECTS "${GLUE_OBJECTS}")
set(lib "${WORK}/libc.a")
file(COPY_FILE "${NEWLIB_LIBC}" "${lib}")
run(ar d "${lib}" lib_a-lock.o lib_a-isatty.o lib_a-_isatty.o lib_a-renamer.o lib_a-system.o lib_a-popen.o
  lib_a-setjmp.o lib_a-remove.o lib_a-strlen.o lib_a-memchr.o lib_a-memmove.o)

# Glue members get a "hermit-" prefix so they never shadow a newlib member name.
set(members "")
foreach(obj IN LISTS GLUE_OBJECTS)
  get_filename_component(name "${obj}" NAME_WE)
  set(member "${WORK}/hermit-${name}.o")
  file(COPY_FILE "${obj}" "${member}")
  list(APPEND members "${member}")
endforeach()
run(ar rcs "${lib}" ${members})

execute_process(COMMAND nm -g --defined-only "${lib}" OUTPUT_VARIABLE nm_out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm ${lib} failed")
endif()
string(REGEX MATCHALL "[^\n]+" lines "${nm_out}")
set(symbols "")
foreach(line IN LISTS lines)
  # Weak (W, V) and common (C) definitions may legitimately repeat, and so may the
  # _dummy_* placeholders newlib compiles in place of its malloc (MALLOC_PROVIDED): nothing
  # references them, so they are never linked.
  if(line MATCHES "^[0-9a-f]+ [ABDGRSTU] (.+)$" AND NOT CMAKE_MATCH_1 MATCHES "^_dummy_")
    list(APPEND symbols "${CMAKE_MATCH_1}")
  endif()
endforeach()
list(SORT symbols)
set(previous "")
foreach(sym IN LISTS symbols)
  if(sym STREQUAL previous)
    message(FATAL_ERROR "libc.a defines ${sym} twice (newlib and the glue?)")
  endif()
  set(previous "${sym}")
endforeach()

file(MAKE_DIRECTORY "${OUT_DIR}")
file(COPY_FILE "${lib}" "${OUT_DIR}/libc.a")
file(COPY_FILE "${lib}" "${OUT_DIR}/libg.a")
