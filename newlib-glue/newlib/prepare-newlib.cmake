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

# 6. sys/stat.h: lstat (newlib declares it only for some targets) and Linux's UTIME_NOW and
#    UTIME_OMIT (utimensat passes times to the host unchanged).
insert_at(${inc}/sys/stat.h BEFORE "#if defined (__SPU__) || defined(__rtems__) || defined(__CYGWIN__) && !defined(__INSIDE_CYGWIN__)\nint\tlstat"
  "#ifdef __hermit__
int\tlstat (const char *__restrict __path, struct stat *__restrict __buf );
#define UTIME_NOW\t((1l << 30) - 1l)
#define UTIME_OMIT\t((1l << 30) - 2l)
#endif\n\n")

# 7. machine/setjmp.h: sigjmp_buf, sigsetjmp/siglongjmp and _setjmp/_longjmp as functions
#    (the glue's, tail calls of setjmp/longjmp: signal masks are not kept, sigprocmask
#    reports an empty one); newlib declares them only for Cygwin and RTEMS.
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

# 8. Headers added or replaced: a real sys/dirent.h, semaphore.h, endian.h, sys/_hermit_fcntl.h,
#    sys/uio.h, sys/mman.h, sys/ioctl.h, sys/utsname.h, sys/resource.h, ftw.h.
file(COPY "${OVERLAY}/" DESTINATION "${SRC}/${inc}")
