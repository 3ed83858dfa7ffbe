# The manifest of the test bundle: what each registered C run expects, written from the same
# hermit_c_run()/hermit_c_many_cpus() calls that register the CTest tests (../tests.cmake).
#
# One record per run, tab-separated, read by the bundle's runner (run):
#   run      <name> <program> <exit code> <timeout s> <vCPUs, or "-">
#   env      <VAR=value>             (all env lines come before the arg lines)
#   arg      <argument>
#   match    <extended regex>        (must match a line of stdout+stderr)
#   end
# A run with a vCPU count is a template: @CPUS@ in its env, args and regexes stands for the count,
# its name gets _<n>cpus. @TMPDIR@ stands for a scratch directory of the run's own.

# hermit_bundle_record(<name> <vCPUs or -> PROGRAM p EXIT_CODE n TIMEOUT s
#                      ARGS ... ENV ... MATCH ...)
function(hermit_bundle_record name cpus)
  cmake_parse_arguments(PARSE_ARGV 2 R "" "PROGRAM;EXIT_CODE;TIMEOUT" "ARGS;ENV;MATCH")
  set(record "run\t${name}\t${R_PROGRAM}\t${R_EXIT_CODE}\t${R_TIMEOUT}\t${cpus}\n")
  foreach(kind env arg match)
    if(kind STREQUAL "env")
      set(values "${R_ENV}")
    elseif(kind STREQUAL "arg")
      set(values "${R_ARGS}")
    else()
      set(values "${R_MATCH}")
    endif()
    foreach(value IN LISTS values)
      if(value MATCHES "[\t\n]")
        message(FATAL_ERROR "${name}: a tab or newline in \"${value}\" cannot go into the bundle manifest")
      endif()
      if(HERMIT_TEST_TMPDIR)
        string(REPLACE "${HERMIT_TEST_TMPDIR}" "@TMPDIR@" value "${value}")
      endif()
      string(APPEND record "${kind}\t${value}\n")
    endforeach()
  endforeach()
  string(APPEND record "end\n")
  set_property(GLOBAL APPEND_STRING PROPERTY HERMIT_BUNDLE_MANIFEST "${record}")
endfunction()

# Writes the manifest collected so far (only when it changed).
function(hermit_bundle_write_manifest path)
  get_property(content GLOBAL PROPERTY HERMIT_BUNDLE_MANIFEST)
  file(GENERATE OUTPUT "${path}" CONTENT "${content}")
endfunction()
