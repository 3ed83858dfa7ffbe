# The whole test suite: formatting, lints, Rust unit tests (kernel and proxy), and the CTest
# tests that boot C programs under the proxy. Run by the `check` target.
#
# cmake -DSOURCE_DIR=<repository> -DBINARY_DIR=<build dir> -DCARGO=<cargo> -P check.cmake
cmake_minimum_required(VERSION 3.20)
set(target_dir "${BINARY_DIR}/cargo")
function(step title)
  message(STATUS "check: ${title}")
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY "${SOURCE_DIR}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "check failed: ${title}")
  endif()
endfunction()
step("rustfmt" "${CARGO}" fmt --all -- --check)
step("clippy (proxy, interface, host unit tests)"
  "${CARGO}" clippy --quiet --workspace --all-targets --target-dir "${target_dir}" -- -D warnings)
step("clippy (kernel, x86_64-unknown-none)"
  "${CARGO}" clippy --quiet --release -p hermit --target x86_64-unknown-none --target-dir "${target_dir}" -- -D warnings)
step("Rust unit tests" "${CARGO}" test --quiet --workspace --target-dir "${target_dir}")
step("test bundle (build/hermit-tests.tar.xz, run from an empty directory by CTest)"
  "${CMAKE_COMMAND}" --build "${BINARY_DIR}" --target test-bundle)
# The full C suite under QEMU/TCG (label qemu-full) is left to `check-qemu`; its default
# subset (label qemu) runs here.
step("C programs under the proxy (CTest)"
  "${CMAKE_CTEST_COMMAND}" --test-dir "${BINARY_DIR}" --output-on-failure -j2 -LE qemu-full)
message(STATUS "check: all passed")
