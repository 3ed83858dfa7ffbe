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
# subset (label qemu) runs here. Without /dev/kvm every C program runs under QEMU/TCG instead
# (label qemu) and the tests that need KVM itself (label vm) are named and left out.
if(EXISTS /dev/kvm)
  step("C programs under the proxy (CTest)"
    "${CMAKE_CTEST_COMMAND}" --test-dir "${BINARY_DIR}" --output-on-failure -j2 -LE qemu-full)
else()
  execute_process(COMMAND "${CMAKE_CTEST_COMMAND}" --test-dir "${BINARY_DIR}" -N -L vm -LE qemu
    OUTPUT_VARIABLE left_out)
  string(REGEX MATCHALL "Test +#[0-9]+: [^\n]+" left_out "${left_out}")
  list(LENGTH left_out count)
  message(WARNING "check: this host has no /dev/kvm. Every C program runs under QEMU/TCG (CTest label "
    "qemu, HERMIT_ISLE=qemu HERMIT_KVM=0); the ${count} tests that need KVM itself (label vm) do not run.")
  step("C programs under QEMU/TCG (CTest -L qemu)"
    "${CMAKE_CTEST_COMMAND}" --test-dir "${BINARY_DIR}" --output-on-failure -j2 -L qemu)
  step("tests that need no virtual machine (CTest -LE vm)"
    "${CMAKE_CTEST_COMMAND}" --test-dir "${BINARY_DIR}" --output-on-failure -j2 -LE vm)
endif()
message(STATUS "check: all passed")
