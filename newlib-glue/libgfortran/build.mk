# build.mk: builds libquadmath, our libbacktrace, then libgfortran, in the build tree of libgfortran.cmake (make -f).
#
# make -f build.mk HERMIT_CC=<x86_64-hermit-gcc> HERMIT_CFLAGS=<flags> BACKTRACE_SRC=<backtrace.c>
#      BACKTRACE_INCLUDE=<dir with backtrace.h and backtrace-supported.h>
#
# One make invocation, so that all share the jobserver of the outer make. libgfortran's
# Makefile links ../libquadmath and ../libbacktrace/libbacktrace.la, a libtool convenience
# library whose objects end up in libgfortran.a: here it is backtrace.c alone. libgfortran's
# Fortran sources are compiled with -Wall -Werror and include paths into a gcc build tree
# that a standalone build lacks, which gfortran 12 warns about: -Wno-missing-include-dirs.
LIBTOOL = ../libgfortran/libtool
all:
	$(MAKE) -C libquadmath
	mkdir -p libbacktrace
	cd libbacktrace && $(LIBTOOL) --tag=CC --mode=compile $(HERMIT_CC) $(HERMIT_CFLAGS) -Wall -Wextra \
		-DHAVE_STDINT_H -I$(BACKTRACE_INCLUDE) -c $(BACKTRACE_SRC) -o backtrace.lo
	cd libbacktrace && $(LIBTOOL) --tag=CC --mode=link $(HERMIT_CC) -o libbacktrace.la backtrace.lo
	$(MAKE) -C libgfortran FCFLAGS="-O2 -g -Wno-missing-include-dirs"
.PHONY: all
