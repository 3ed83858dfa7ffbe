# patch_insert_at(): the one way the prepare scripts patch unpacked sources (newlib, libgomp, libstdc++).
#
# patch_insert_at(<source dir> <file> BEFORE|AFTER <anchor> <text>)
#   Inserts <text> before or after the single occurrence of <anchor> in <file>; fails if the
#   anchor is missing or repeated, so another version of the sources stops here instead of
#   building something unpatched.
function(patch_insert_at src file where anchor text)
  set(path "${src}/${file}")
  file(READ "${path}" content)
  string(LENGTH "${anchor}" anchor_len)
  string(FIND "${content}" "${anchor}" first)
  string(FIND "${content}" "${anchor}" last REVERSE)
  if(first EQUAL -1 OR NOT first EQUAL last)
    message(FATAL_ERROR "patch anchor not found exactly once in ${file}: ${anchor}")
  endif()
  if(where STREQUAL "AFTER")
    math(EXPR first "${first} + ${anchor_len}")
  endif()
  string(SUBSTRING "${content}" 0 ${first} head)
  string(SUBSTRING "${content}" ${first} -1 tail)
  file(WRITE "${path}" "${head}${text}${tail}")
endfunction()
