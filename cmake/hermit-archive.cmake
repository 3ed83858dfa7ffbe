# Turns cargo's raw kernel archive into libhermit.a: one object, sections renamed as in the
# original (.text -> .ktext, .data -> .kdata, .bss -> .kbss), every global that is not on the
# reviewed allow-list made local, so the kernel's memcpy or compiler-builtins can never clash
# with newlib or libgcc, and the allow-list's "weak" symbols (POSIX threads) made weak.
#
# cmake -DRAW=<cargo libhermit.a> -DALLOWLIST=<abi-symbols.txt> -DSCRIPT=<hermit-archive.ld>
#       -DOUT=<libhermit.a> -DWORK=<dir> -P hermit-archive.cmake
cmake_minimum_required(VERSION 3.20)
foreach(var RAW ALLOWLIST SCRIPT OUT WORK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "hermit-archive.cmake: ${var} is not set")
  endif()
endforeach()

file(STRINGS "${ALLOWLIST}" lines)
set(symbols "")
set(roots "")
set(weaken "")
foreach(line IN LISTS lines)
  string(STRIP "${line}" line)
  if(line STREQUAL "" OR line MATCHES "^#")
    continue()
  endif()
  if(line MATCHES "^([^ ]+) +weak$")
    set(line "${CMAKE_MATCH_1}")
    list(APPEND weaken "--weaken-symbol=${line}")
  endif()
  list(APPEND symbols "${line}")
  list(APPEND roots "--undefined=${line}")
endforeach()

file(MAKE_DIRECTORY "${WORK}")
set(object "${WORK}/hermit.o")
list(JOIN symbols "\n" keep)
file(WRITE "${WORK}/keep.txt" "${keep}\n")

execute_process(
  COMMAND ld -r -T "${SCRIPT}" ${roots} "${RAW}" -o "${object}"
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "partial link of the kernel failed:\n${err}")
endif()
execute_process(
  COMMAND objcopy --keep-global-symbols=${WORK}/keep.txt ${weaken} --strip-unneeded-symbol=__rustc_debug_gdb_scripts_section__ "${object}"
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "objcopy on the kernel failed:\n${err}")
endif()

# Every allowed symbol must exist, and nothing else may be global.
execute_process(COMMAND nm -g --defined-only "${object}" OUTPUT_VARIABLE nm_out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm on the kernel failed")
endif()
string(REGEX MATCHALL "[^\n]+" nm_lines "${nm_out}")
set(defined "")
foreach(line IN LISTS nm_lines)
  string(REGEX REPLACE "^.* ([^ ]+)$" "\\1" name "${line}")
  list(APPEND defined "${name}")
endforeach()
foreach(name IN LISTS symbols)
  if(NOT name IN_LIST defined)
    message(FATAL_ERROR "allow-listed symbol ${name} is not defined by the kernel")
  endif()
endforeach()
foreach(name IN LISTS defined)
  if(NOT name IN_LIST symbols)
    message(FATAL_ERROR "the kernel exports ${name}, which is not on the allow-list")
  endif()
endforeach()

file(REMOVE "${OUT}")
execute_process(COMMAND ar rcs "${OUT}" "${object}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ar failed")
endif()
