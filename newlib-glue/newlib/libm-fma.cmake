# The FMA variants of libm's exp, exp2, log, log2, pow and their float versions: newlib's
# sources compiled a second time with -mfma -mavx2 under other names, added to libm.a.
#
# include()d by ../CMakeLists.txt. The generic functions (step 8b of prepare-newlib.cmake)
# branch to __hermit_<name>_fma when the kernel's sys_fma_usable is 1 (FMA and AVX2 present,
# AVX state saved): chosen at run time, so one image runs on every x86-64 host and
# HERMIT_CPU_HIDE=avx still gets the generic code. The variants share the generic code's
# tables and error handlers (errno, special cases).
set(LIBM_COMMON "${CMAKE_CURRENT_BINARY_DIR}/newlib/source/newlib/libm/common")
set(LIBM_FMA_DIR "${CMAKE_CURRENT_BINARY_DIR}/libm-fma")
set(LIBM_FMA_SOURCES "")
foreach(pair IN ITEMS exp:exp.c exp2:exp2.c log:log.c log2:log2.c pow:pow.c
    expf:sf_exp.c exp2f:sf_exp2.c logf:sf_log.c log2f:sf_log2.c powf:sf_pow.c)
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 FN)
  list(GET pair 1 FILE)
  configure_file("${CMAKE_CURRENT_SOURCE_DIR}/newlib/libm-fma.c.in" "${LIBM_FMA_DIR}/${FN}_fma.c" @ONLY)
  list(APPEND LIBM_FMA_SOURCES "${LIBM_FMA_DIR}/${FN}_fma.c")
endforeach()
add_library(hermit-libm-fma OBJECT ${LIBM_FMA_SOURCES})
# newlib's flags for libm (NEWLIB_CFLAGS, then libm's -fbuiltin -fno-math-errno), plus FMA.
separate_arguments(newlib_cflags UNIX_COMMAND "${NEWLIB_CFLAGS}")
target_compile_options(hermit-libm-fma PRIVATE -nostdinc "SHELL:-isystem ${GCC_INCLUDE_DIR}"
  "SHELL:-isystem ${SYSROOT_INCLUDE}" ${newlib_cflags} -fbuiltin -fno-math-errno -mfma -mavx2)
target_include_directories(hermit-libm-fma PRIVATE "${LIBM_COMMON}")
add_dependencies(hermit-libm-fma newlib)

add_custom_command(OUTPUT "${SYSROOT_LIB}/libm.a"
  COMMAND "${CMAKE_COMMAND}" -E copy "${NEWLIB_ARCH_DIR}/lib/libm.a" "${SYSROOT_LIB}/libm.a"
  COMMAND "${HOST_AR}" rs "${SYSROOT_LIB}/libm.a" $<TARGET_OBJECTS:hermit-libm-fma>
  DEPENDS newlib "${NEWLIB_ARCH_DIR}/lib/libm.a" hermit-libm-fma $<TARGET_OBJECTS:hermit-libm-fma>
  COMMENT "Staging libm.a: newlib + the FMA variants"
  VERBATIM COMMAND_EXPAND_LISTS)
