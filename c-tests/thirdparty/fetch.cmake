# Vendors the pinned crates of versions.cmake into <OUT>/vendor with cargo (crates.io), once.
#
# cmake -DCARGO=<cargo> -DOUT=<dir> -P fetch.cmake
#
# Never fails the build: on success <OUT>/state.cmake says THIRDPARTY_AVAILABLE TRUE, otherwise
# it holds the reason, and a loud warning is printed; the thirdparty tests then fail saying so
# (`ctest -LE thirdparty` runs the suite without them). state.cmake is rewritten only when it
# changes, so the projects that read it reconfigure exactly then.
cmake_minimum_required(VERSION 3.20)
include("${CMAKE_CURRENT_LIST_DIR}/versions.cmake")
set(vendor "${OUT}/vendor")
set(state "${OUT}/state.cmake")

function(write_state content)
  if(EXISTS "${state}")
    file(READ "${state}" old)
    if(old STREQUAL content)
      return()
    endif()
  endif()
  file(WRITE "${state}" "${content}")
endfunction()

set(missing FALSE)
foreach(dir IN ITEMS "${THIRDPARTY_LUA_DIR}" "${THIRDPARTY_SQLITE_DIR}" "${THIRDPARTY_ZLIB_DIR}" "${THIRDPARTY_CURL_DIR}"
    "${THIRDPARTY_CARES_DIR}" "${THIRDPARTY_LIBEVENT_DIR}" "${THIRDPARTY_ZEROMQ_DIR}" "${THIRDPARTY_OPENSSL_DIR}")
  # Empty counts as missing: ExternalProject_Add creates its SOURCE_DIR when it configures, so
  # a tree configured before a crate was added to versions.cmake holds an empty directory.
  file(GLOB entries "${vendor}/${dir}/*")
  if(NOT entries)
    set(missing TRUE)
  endif()
endforeach()

if(missing)
  set(manifest "${OUT}/manifest")
  file(MAKE_DIRECTORY "${manifest}/src")
  # Its own [workspace]: the build tree lies inside this repository's workspace.
  set(toml "[package]\nname = \"hermit-thirdparty-sources\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n\n[dependencies]\n")
  foreach(crate IN LISTS THIRDPARTY_CRATES)
    string(REPLACE "=" ";" pair "${crate}")
    list(GET pair 0 name)
    list(GET pair 1 version)
    string(APPEND toml "${name} = \"=${version}\"\n")
  endforeach()
  file(WRITE "${manifest}/Cargo.toml" "${toml}")
  file(WRITE "${manifest}/src/lib.rs" "")
  message(STATUS "Fetching the third-party C sources through cargo (${THIRDPARTY_CRATES})")
  execute_process(COMMAND "${CARGO}" vendor --quiet --versioned-dirs --manifest-path "${manifest}/Cargo.toml"
      "${vendor}"
    RESULT_VARIABLE status OUTPUT_QUIET ERROR_VARIABLE err TIMEOUT 600)
  if(NOT status EQUAL 0)
    string(REPLACE "\"" "'" err "${err}")
    string(REPLACE "\n" " " err "${err}")
    write_state("set(THIRDPARTY_AVAILABLE FALSE)\nset(THIRDPARTY_REASON \"cargo vendor failed (${status}): ${err}\")\n")
    message(WARNING "\n*** THIRD-PARTY SOURCES UNAVAILABLE: cargo could not fetch ${THIRDPARTY_CRATES} from the "
      "crates registry (${status}):\n${err}\n*** The thirdparty tests (Lua, SQLite, zlib, curl, c-ares, libevent, ZeroMQ, OpenSSL) will FAIL; "
      "`ctest -LE thirdparty` runs the rest of the suite.\n")
    return()
  endif()
endif()
write_state("set(THIRDPARTY_AVAILABLE TRUE)\nset(THIRDPARTY_VENDOR \"${vendor}\")\n")
