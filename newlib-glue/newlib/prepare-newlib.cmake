# Unpacks Debian's newlib 3.3 source and applies the HermitCore changes (toolchain-facts.md §1.3).
#
# cmake -DTARBALL=<newlib-3.3.0.tar.xz> -DSRC=<source dir> -DOVERLAY=<dir of added headers>
#       -P prepare-newlib.cmake
#
# Every change is an insertion at an anchor that must occur exactly once, so a different
# newlib version fails here instead of building something unpatched. The source tree is
# recreated from the tarball each time, never patched twice.
cmake_minimum_required(VERSION 3.20)
foreach(var TARBALL SRC OVERLAY)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "prepare-newlib.cmake: ${var} is not set")
  endif()
endforeach()

set(unpack "${SRC}.unpack")
file(REMOVE_RECURSE "${SRC}" "${unpack}")
file(ARCHIVE_EXTRACT INPUT "${TARBALL}" DESTINATION "${unpack}")
file(GLOB top LIST_DIRECTORIES true "${unpack}/*")
list(LENGTH top count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one top-level directory in ${TARBALL}, found: ${top}")
endif()
file(RENAME "${top}" "${SRC}")
file(REMOVE_RECURSE "${unpack}")

include("${CMAKE_CURRENT_LIST_DIR}/../patch-at-anchor.cmake")
# Inserts TEXT before (or after) the single occurrence of ANCHOR in FILE of the newlib tree.
function(insert_at file where anchor text)
  patch_insert_at("${SRC}" "${file}" ${where} "${anchor}" "${text}")
endfunction()

set(inc newlib/libc/include)

# 1. configure.host: libc/posix (opendir, glob, regcomp, sleep, ...) for x86_64-*-elf.
insert_at(newlib/configure.host BEFORE "  *-*-cygwin*)\n\tposix_dir=posix\n\tstdio64_dir=stdio64\n"
  "  x86_64-*-elf*)\n\tposix_dir=posix\n\t;;\n")

# 2. sys/config.h: _REENT is __getreent(), per thread, in libc and in applications; read()
#    and write() return ssize_t as in POSIX (newlib defaults to int).
insert_at(${inc}/sys/config.h BEFORE "#ifndef __EXPORT\n"
  "#ifdef __hermit__\n#define __DYNAMIC_REENT__\n#define _READ_WRITE_RETURN_TYPE _ssize_t\n#endif\n\n")

# 3. sys/features.h: the POSIX thread options, so newlib's <pthread.h> is usable.
insert_at(${inc}/sys/features.h BEFORE "/* XMK loosely adheres to POSIX -- 1003.1 */\n"
  "#ifdef __hermit__
#define _POSIX_THREADS\t\t\t\t1
#define _POSIX_TIMEOUTS\t\t\t\t1
#define _POSIX_TIMERS\t\t\t\t1
#define _POSIX_MONOTONIC_CLOCK\t\t\t200112L
#define _POSIX_SEMAPHORES\t\t\t1
#define _POSIX_READER_WRITER_LOCKS\t\t200112L
#define _POSIX_SPIN_LOCKS\t\t\t200112L
#define _POSIX_BARRIERS\t\t\t\t200112L
#define _POSIX_THREAD_ATTR_STACKSIZE\t\t1
#define _POSIX_PRIORITY_SCHEDULING\t\t200112L
#define _POSIX_THREAD_PRIORITY_SCHEDULING\t200112L
#define _UNIX98_THREAD_MUTEX_ATTRIBUTES\t\t1
#endif\n\n")

# 4. sys/errno.h: the E* numbers come from the kernel's generated <hermit/errno.h> (Linux
#    numbering); newlib's errno macro, __errno() and _sys_errlist stay.
insert_at(${inc}/sys/errno.h BEFORE "#define\tEPERM 1\t\t/* Not owner */\n"
  "#ifdef __hermit__\n#include <hermit/errno.h>\n#else\n")
insert_at(${inc}/sys/errno.h AFTER "#define __ELASTERROR 2000\t/* Users can add values starting here */\n"
  "#endif /* __hermit__ */\n")

# 5. sys/_default_fcntl.h: Linux O_* values (the kernel passes open flags to the host).
insert_at(${inc}/sys/_default_fcntl.h BEFORE "#define\t_FOPEN\t\t(-1)"
  "#ifdef __hermit__\n#include <sys/_hermit_fcntl.h>\n#else\n")
insert_at(${inc}/sys/_default_fcntl.h BEFORE "#define\tO_ACCMODE\t(O_RDONLY|O_WRONLY|O_RDWR)\n"
  "#endif /* __hermit__ */\n\n")

# 6. sched.h: with _GNU_SOURCE, cpu_set_t and the CPU_* macros (our sys/cpuset.h), so that
#    sched_getaffinity/sched_setaffinity are declared as in glibc.
insert_at(${inc}/sched.h BEFORE "#if __GNU_VISIBLE\nint sched_getcpu(void);\n"
  "#if defined(__hermit__) && __GNU_VISIBLE\n#include <sys/cpuset.h>\n#endif\n\n")

# 7. pthread.h: the *_affinity_np and pthread_getattr_np declarations (RTEMS-only in newlib).
insert_at(${inc}/pthread.h AFTER "#if __GNU_VISIBLE\n#if defined(__rtems__)"
  " || defined(__hermit__)")

# 8. machine/ieeefp.h: the newer double and float exp/exp2/log/log2/pow and float sin/cos
#    (Arm's optimized-routines, the code glibc uses) instead of the old fdlibm ones, as
#    Cygwin does on x86_64: several times faster, errors below 0.52 ULP.
insert_at(${inc}/machine/ieeefp.h BEFORE "#ifdef __CYGWIN__\n#define __OBSOLETE_MATH_DEFAULT 0\n#endif\n"
  "#ifdef __hermit__\n#define __OBSOLETE_MATH_DEFAULT 0\n#endif\n\n")

# 8b. Those functions' run-time choice: on entry, a branch to the FMA variant built by
#     ../newlib/libm-fma.cmake (the same source compiled with -mfma -mavx2) when the kernel's
#     sys_fma_usable is 1, as glibc's IFUNCs choose (our static images have no IRELATIVE
#     relocations). The flag never changes after boot, so the branch always predicts.
foreach(fn IN ITEMS "exp.c;double;exp;x" "exp2.c;double;exp2;x" "log.c;double;log;x"
    "log2.c;double;(log2);x" "pow.c;double;pow;x, y" "sf_exp.c;float;expf;x"
    "sf_exp2.c;float;exp2f;x" "sf_log.c;float;logf;x" "sf_log2.c;float;log2f;x"
    "sf_pow.c;float;powf;x, y")
  list(GET fn 0 file)
  list(GET fn 1 type)
  list(GET fn 2 name)
  list(GET fn 3 args)
  string(REGEX REPLACE "[()]" "" plain "${name}")
  if(args STREQUAL "x")
    set(params "${type} x")
  else()
    set(params "${type} x, ${type} y")
  endif()
  insert_at(newlib/libm/common/${file} AFTER "${type}\n${name} (${params})\n{\n"
    "#if defined(__hermit__) && !defined(__hermit_libm_fma)
  extern const uint32_t sys_fma_usable;
  extern ${type} __hermit_${plain}_fma (${params});
  if (__builtin_expect (sys_fma_usable, 1))
    return __hermit_${plain}_fma (${args});
#endif
")
endforeach()

# 9. libm's sqrt and sqrtf: the SSE instruction (correctly rounded, as the bit-by-bit integer
#    code it bypasses; the same results for negative, zero, infinite and NaN arguments)
#    instead of that code, which takes hundreds of cycles.
insert_at(newlib/libm/math/e_sqrt.c AFTER "\tdouble __ieee754_sqrt(x)\n\tdouble x;\n#endif\n{\n"
  "#if defined(__hermit__) && defined(__x86_64__)\n\t__asm__(\"sqrtsd %1, %0\" : \"=x\"(x) : \"x\"(x));\n\treturn x;\n#endif\n")
insert_at(newlib/libm/math/ef_sqrt.c AFTER "\tfloat __ieee754_sqrtf(x)\n\tfloat x;\n#endif\n{\n"
  "#if defined(__hermit__) && defined(__x86_64__)\n\t__asm__(\"sqrtss %1, %0\" : \"=x\"(x) : \"x\"(x));\n\treturn x;\n#endif\n")

# 9b. libm's fmax/fmin/fmaxf/fminf: for two ordered arguments one maxsd/minsd (maxss/minss),
#     as glibc does, instead of two out-of-line __fpclassify calls and a data-dependent
#     branch (53 instead of 12 ns per call through a pointer; NPB-style EP spent most of its
#     time there). NaN arguments still take newlib's code; equal arguments (+0, -0) may
#     return either, which C allows.
foreach(fn IN ITEMS "s_fmax.c;double;fmax;maxsd" "s_fmin.c;double;fmin;minsd"
    "sf_fmax.c;float;fmaxf;maxss" "sf_fmin.c;float;fminf;minss")
  list(GET fn 0 file)
  list(GET fn 1 type)
  list(GET fn 2 name)
  list(GET fn 3 insn)
  insert_at(newlib/libm/common/${file} AFTER "\t${type} ${name}(x,y)\n\t${type} x;\n\t${type} y;\n#endif\n{\n"
    "#if defined(__hermit__) && defined(__x86_64__)\n  if (!__builtin_isunordered (x, y))\n    {\n      __asm__ (\"${insn} %1, %0\" : \"+x\" (x) : \"x\" (y));\n      return x;\n    }\n#endif\n")
endforeach()

# 10. sys/stat.h: lstat (newlib declares it only for some targets) and Linux's UTIME_NOW and
#     UTIME_OMIT (utimensat passes times to the host unchanged).
insert_at(${inc}/sys/stat.h BEFORE "#if defined (__SPU__) || defined(__rtems__) || defined(__CYGWIN__) && !defined(__INSIDE_CYGWIN__)\nint\tlstat"
  "#ifdef __hermit__
int\tlstat (const char *__restrict __path, struct stat *__restrict __buf );
#define UTIME_NOW\t((1l << 30) - 1l)
#define UTIME_OMIT\t((1l << 30) - 2l)
#endif\n\n")

# 11. machine/setjmp.h: sigjmp_buf, sigsetjmp/siglongjmp and _setjmp/_longjmp as functions
#     (the glue's, tail calls of setjmp/longjmp: signal masks are not kept, sigprocmask
#     reports an empty one); newlib declares them only for Cygwin and RTEMS.
insert_at(${inc}/machine/setjmp.h BEFORE "#if (defined(__CYGWIN__) || defined(__rtems__)) && __POSIX_VISIBLE\n"
  "#if defined(__hermit__) && __POSIX_VISIBLE
_BEGIN_STD_C
typedef jmp_buf sigjmp_buf;
int sigsetjmp (sigjmp_buf, int) __attribute__ ((__returns_twice__));
void siglongjmp (sigjmp_buf, int) __attribute__ ((__noreturn__));
int _setjmp (jmp_buf) __attribute__ ((__returns_twice__));
void _longjmp (jmp_buf, int) __attribute__ ((__noreturn__));
_END_STD_C
#endif\n\n")

# 12. Headers added or replaced: a real sys/dirent.h, semaphore.h, endian.h, sys/_hermit_fcntl.h,
#     sys/uio.h, sys/mman.h, sys/ioctl.h, sys/utsname.h, sys/resource.h, sys/syslog.h, syslog.h,
#     ftw.h, dlfcn.h.
file(COPY "${OVERLAY}/" DESTINATION "${SRC}/${inc}")

# 13. libc/machine/x86_64: memcpy.S and memset.S replaced (newlib's use non-temporal stores
#     from 256 bytes on, which leave the data out of the cache; ours use SSE moves up to 2 KiB
#     and rep movsb/stosb above).
file(COPY "${CMAKE_CURRENT_LIST_DIR}/machine/memcpy.S" "${CMAKE_CURRENT_LIST_DIR}/machine/memset.S"
  DESTINATION "${SRC}/newlib/libc/machine/x86_64")

# 14. printf of a double (%f, %e, %g without L): the digits from _dtoa_r, as newlib does when
#     it is built without long double I/O. With long double I/O every double went through the
#     software _ldtoa_r, about 20 µs per number; the digits are the same (a double converts to
#     long double exactly, and both give the correctly rounded digits). %Lf keeps _ldtoa_r.
insert_at(newlib/libc/stdio/vfprintf.c AFTER "extern int _ldcheck (_LONG_DOUBLE *);\n"
  "#ifdef __hermit__\nextern char *_dtoa_r (struct _reent *, double, int, int, int *, int *, char **);\n#endif\n")
insert_at(newlib/libc/stdio/vfprintf.c BEFORE "\tdigits = _DTOA_R (data, value, mode, ndigits, decpt, &dsgn, &rve);\n"
  "#if defined(__hermit__) && !defined(_NO_LONGDBL)\n\tif (!(flags & LONGDBL))\n\t\tdigits = _dtoa_r (data, (double) value, mode, ndigits, decpt, &dsgn, &rve);\n\telse\n#endif\n")

# 15. printf's scan of the format for '%': in the "C" (ASCII) and UTF-8 charsets a byte below
#     0x80 at a character boundary is that character and changes no conversion state, so runs
#     of such bytes are skipped 16 at a time (__hermit_fmt_stop in the glue's strings.c, SSE2),
#     and a '%' or the terminating NUL found that way is taken as mbtowc would report it;
#     every other byte still goes through the locale's mbtowc as before (invalid sequences,
#     other charsets such as the stateful JIS). newlib called mbtowc (through __getreent and
#     MB_CUR_MAX) for every byte of the format: about 9 cycles each, 290 of the 590 cycles
#     of a 36-byte line with two %d.
insert_at(newlib/libc/stdio/vfprintf.c BEFORE "\tfmt = (char *)fmt0;\n#ifdef _FVWRITE_IN_STREAMIO\n"
  "#if defined(__hermit__) && defined(_MB_CAPABLE)
\textern const char *__hermit_fmt_stop (const char *);
\tconst mbtowc_p fmt_mbtowc = __MBTOWC;
\tconst int ascii_fmt = fmt_mbtowc == __ascii_mbtowc || fmt_mbtowc == __utf8_mbtowc;
#endif
")
set(skip_ascii "#if defined(__hermit__)
\t\tif (ascii_fmt) {
\t\t\tfmt = (char *) __hermit_fmt_stop (fmt);
\t\t\tif (*fmt == '%' || *fmt == '\\0') {
\t\t\t\tn = *fmt == '%';
\t\t\t\tgoto hermit_scanned;
\t\t\t}
\t\t}
#endif
")
insert_at(newlib/libc/stdio/vfprintf.c BEFORE "\t        while ((n = __MBTOWC (data, &wc, fmt, MB_CUR_MAX,\n\t\t\t\t      &state)) != 0) {\n"
  "${skip_ascii}")
insert_at(newlib/libc/stdio/vfprintf.c AFTER "                    fmt += n;\n" "${skip_ascii}")
insert_at(newlib/libc/stdio/vfprintf.c BEFORE "#else\n                while (*fmt != '\\0' && *fmt != '%')\n"
  "#if defined(__hermit__)\nhermit_scanned:\n#endif\n")

# 16. stdio/local.h: no cancellation guard around every stdio call. With _POSIX_THREADS newlib
#     disables and restores thread cancellation (two pthread_setcancelstate calls) in each
#     fprintf, putc, fputs, ...; the kernel has no cancellation (pthread_cancel is ENOSYS), so
#     the pair only cost time (about 15 cycles of a 37-cycle putc).
insert_at(newlib/libc/stdio/local.h BEFORE "\n#define _STDIO_WITH_THREAD_CANCELLATION_SUPPORT\n"
  " \\\n    && !defined (__hermit__)")

# 17. __sfvwrite_r (fwrite, fputs, puts and each piece of printf): data that fits into a fully
#     buffered stream's buffer without filling it is moved straight in. This is what its
#     general loop does in that case (no flush, no direct write: those need a full buffer),
#     without the per-piece bookkeeping; wide, line-buffered, unbuffered, string and
#     not-yet-writing streams take the loop as before.
insert_at(newlib/libc/stdio/fvwrite.c AFTER "  if ((len = uio->uio_resid) == 0)\n    return 0;\n"
  "
#ifdef __hermit__
  if ((fp->_flags & (__SWR | __SNBF | __SLBF | __SSTR)) == __SWR && fp->_bf._base != NULL
      && fp->_w > 0 && len < (size_t) fp->_w)
    {
      const struct __siov *piece = uio->uio_iov;
      size_t left = len;
      while (left > 0)
        {
          size_t n = MIN (piece->iov_len, left);
          memmove (fp->_p, piece->iov_base, n);
          fp->_p += n;
          left -= n;
          piece++;
        }
      fp->_w -= (int) len;
      uio->uio_resid = 0;
      return 0;
    }
#endif
")

# 18. sys/signal.h: sigaction's flags with Linux's values (newlib defines SA_NOCLDSTOP alone
#     for this target) and a struct sigaction whose handler is a union of sa_handler and
#     sa_sigaction, of the same layout; the glue's sigaction carries them out (signals.c).
insert_at(${inc}/sys/signal.h BEFORE "#define SA_NOCLDSTOP 1  /* only value supported now for sa_flags */\n\ntypedef void (*_sig_func_ptr)(int);\n\nstruct sigaction \n{\n"
  "#if defined(__hermit__)
#define SA_NOCLDSTOP 0x00000001
#define SA_NOCLDWAIT 0x00000002
#define SA_SIGINFO 0x00000004
#define SA_ONSTACK 0x08000000
#define SA_RESTART 0x10000000
#define SA_NODEFER 0x40000000
#define SA_RESETHAND 0x80000000
#define SA_NOMASK SA_NODEFER
#define SA_ONESHOT SA_RESETHAND

typedef void (*_sig_func_ptr)(int);

struct sigaction {
\tunion {
\t\t_sig_func_ptr __handler;
#if defined(_POSIX_REALTIME_SIGNALS) || __POSIX_VISIBLE >= 199309
\t\tvoid (*__sigaction)(int, siginfo_t *, void *);
#else
\t\tvoid (*__sigaction)(int, void *, void *);
#endif
\t} __sigaction_handler;
\tsigset_t sa_mask;
\tint sa_flags;
};
#define sa_handler __sigaction_handler.__handler
#define sa_sigaction __sigaction_handler.__sigaction
#else
")
insert_at(${inc}/sys/signal.h AFTER "struct sigaction \n{\n\t_sig_func_ptr sa_handler;\n\tsigset_t sa_mask;\n\tint sa_flags;\n};\n"
  "#endif /* __hermit__ */\n")
