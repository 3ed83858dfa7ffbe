# check-fortran-files.cmake: the files the Fortran program fortran_files writes, and one it reads, checked byte for byte on the host.
#
# cmake -DPROXY=<proxy> -DIMAGE=<fortran_files image> -DWORK=<scratch dir> -P check-fortran-files.cmake
cmake_minimum_required(VERSION 3.20)
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
# Input from the host: a count, then the numbers over two lines (list-directed read).
file(WRITE "${WORK}/host-input.txt" "4\n1.25 2.5\n3.75 -0.5\n")
execute_process(COMMAND "${PROXY}" "${IMAGE}" "${WORK}" "${WORK}/host-input.txt"
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
message("---- stdout ----\n${out}---- stderr ----\n${err}---- exit status: ${status}")
set(failed "")
if(NOT status STREQUAL "0")
  string(APPEND failed "exit status ${status}, expected 0\n")
endif()
foreach(regex "host input: 4 numbers, sum=7.000" "fortran_files: all [0-9]+ checks passed")
  if(NOT out MATCHES "${regex}")
    string(APPEND failed "output does not match: ${regex}\n")
  endif()
endforeach()

# expect(<file> <hex bytes>): the file's exact contents.
function(expect name hex)
  if(NOT EXISTS "${WORK}/${name}")
    set(failed "${failed}${name} was not written\n" PARENT_SCOPE)
    return()
  endif()
  file(READ "${WORK}/${name}" actual HEX)
  string(REGEX REPLACE "[ \n]" "" hex "${hex}")
  if(NOT actual STREQUAL hex)
    set(failed "${failed}${name} holds ${actual}\n  expected ${hex}\n" PARENT_SCOPE)
  endif()
endfunction()

# Formatted: (i3, f8.3, 1x, a) rows, then the appended line.
set(table "  1   1.250 *\n  2   2.500 **\n  3   3.750 ***\n  4   5.000 ****\n  5   6.250 *****\nappended\n")
string(HEX "${table}" table_hex)
expect(fortran_table.txt "${table_hex}")
# Stream: ten integer(4) squares and the real(8) 0.5, little-endian, no record markers.
expect(fortran_stream.bin "01000000 04000000 09000000 10000000 19000000 24000000 31000000 40000000
  51000000 64000000 000000000000e03f")
# Sequential unformatted: each record between two 4-byte length markers.
expect(fortran_records.bin "0c000000 07000000 0000000000000840 0c000000
  0c000000 01000000 04000000 09000000 0c000000")
if(EXISTS "${WORK}/fortran_direct.bin")
  string(APPEND failed "fortran_direct.bin was closed with status='delete' but exists\n")
endif()
if(failed)
  message(FATAL_ERROR "fortran_files: ${failed}")
endif()
message("host files written by Fortran: OK")
