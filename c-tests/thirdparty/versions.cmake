# The third-party C sources: crates of the Rust package registry that bundle them, pinned.
# Read by fetch.cmake (which vendors them into the build tree) and by CMakeLists.txt (which
# finds the sources inside the vendored crates).
set(THIRDPARTY_CRATES
  "lua-src=548.1.2"        # lua-5.4.8/: the Lua 5.4.8 library (no lua.c)
  "libsqlite3-sys=0.40.0"  # sqlite3/sqlite3.c: the SQLite 3.54.1 amalgamation
  "libz-sys=1.1.33"        # src/zlib/: zlib 1.4
  # curl/: the whole curl 8.22.0 source tree as released, with its CMake build, libcurl
  # (lib/) and the curl command-line tool (src/tool_*.c); no docs/ nor tests/.
  "curl-sys=0.4.91+curl-8.22.0"
  # c-ares/: the c-ares 1.34.9 source tree with its CMake build, the library and its adig and
  # ahost tools (no tests/).
  "c-ares-sys=13.0.0"
  # libevent/: the libevent 2.1.12-stable source tree with its CMake build, its regression
  # suite (test/regress*.c, tinytest) and its small test programs and samples.
  "libevent-sys=0.4.0"
  # vendor/: the libzmq 4.3.5 source tree with its CMake build, its test suite (tests/,
  # unittests/: Unity) and perf tools.
  "zeromq-src=0.3.6+4.3.5"
  # openssl/: the OpenSSL 3.5.5 (LTS) source tree as released, with its Configure and the
  # openssl command-line tool (apps/); no test/ nor fuzz corpora.
  "openssl-src=300.5.5+3.5.5")
set(THIRDPARTY_LUA_DIR "lua-src-548.1.2/lua-5.4.8")
set(THIRDPARTY_SQLITE_DIR "libsqlite3-sys-0.40.0/sqlite3")
set(THIRDPARTY_ZLIB_DIR "libz-sys-1.1.33/src/zlib")
set(THIRDPARTY_CURL_DIR "curl-sys-0.4.91+curl-8.22.0/curl")
set(THIRDPARTY_CARES_DIR "c-ares-sys-13.0.0/c-ares")
set(THIRDPARTY_LIBEVENT_DIR "libevent-sys-0.4.0/libevent")
set(THIRDPARTY_ZEROMQ_DIR "zeromq-src-0.3.6+4.3.5/vendor")
set(THIRDPARTY_OPENSSL_DIR "openssl-src-300.5.5+3.5.5/openssl")
