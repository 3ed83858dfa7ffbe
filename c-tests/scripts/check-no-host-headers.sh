#!/bin/sh
# check-no-host-headers.sh: a Linux-only header fails with "No such file" instead of falling back to the host's.
# usage: check-no-host-headers.sh <toolchain bin dir> <scratch dir>
set -u
bin=$1
work=$2
mkdir -p "$work" || exit 1
status=0
for header in sys/eventfd.h features.h linux/types.h gnu/stubs.h; do
	printf '#include <%s>\nint main(void) { return 0; }\n' "$header" >"$work/uses-header.c"
	if "$bin/x86_64-hermit-gcc" -c "$work/uses-header.c" -o "$work/uses-header.o" 2>"$work/err.txt"; then
		echo "FAIL: <$header> compiled; the host's headers leak in" >&2
		status=1
	elif ! grep -q "$header: No such file or directory" "$work/err.txt"; then
		echo "FAIL: <$header> failed for another reason:" >&2
		cat "$work/err.txt" >&2
		status=1
	fi
done
[ $status -eq 0 ] && echo "Linux-only headers are not found: OK"
exit $status
