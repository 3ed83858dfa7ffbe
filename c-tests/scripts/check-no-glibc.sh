#!/bin/sh
# check-no-glibc.sh: images contain no glibc symbol, version or header path, and no dynamic linking.
# usage: check-no-glibc.sh <toolchain bin dir> <image>...
set -u
bin=$1
shift
status=0
for image in "$@"; do
	if [ ! -f "$image" ]; then
		echo "FAIL: $image missing" >&2
		status=1
		continue
	fi
	# glibc-only symbols and symbol versions.
	bad=$("$bin/x86_64-hermit-nm" -a "$image" | grep -E 'GLIBC|__libc_start_main|__errno_location|_IO_stdin_used|__stack_chk_fail|_dl_relocate_static_pie|__libc_csu')
	if [ -n "$bad" ]; then
		echo "FAIL: $image has glibc symbols:" >&2
		echo "$bad" >&2
		status=1
	fi
	# glibc header or library paths anywhere in the file, debug info included; for Fortran
	# also the host's modules and glibc's pre-included math-vector-fortran.h.
	paths=$(strings -a "$image" | grep -E '/usr/include/x86_64-linux-gnu|/usr/include/(stdio|stdlib|string)\.h|/usr/lib/x86_64-linux-gnu|glibc|GLIBC_2|/usr/include/finclude|/usr/lib/gcc/x86_64-linux-gnu/[0-9]+/finclude')
	if [ -n "$paths" ]; then
		echo "FAIL: $image mentions glibc paths:" >&2
		echo "$paths" | head -5 >&2
		status=1
	fi
	# It was compiled with debug info, so newlib's headers must appear there instead.
	if ! strings -a "$image" | grep -q 'x86_64-hermit/include'; then
		echo "FAIL: $image has no debug reference to the hermit include directory" >&2
		status=1
	fi
done
[ $status -eq 0 ] && echo "no glibc in: $*"
exit $status
