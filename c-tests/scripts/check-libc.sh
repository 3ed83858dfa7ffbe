#!/bin/sh
# check-libc.sh: libc.a is newlib plus the syscall glue, without newlib's locks and malloc (the kernel's win).
# usage: check-libc.sh <toolchain bin dir>
set -u
bin=$1
lib="$bin/../x86_64-hermit/lib"
status=0
fail() {
	echo "FAIL: $*" >&2
	status=1
}
defined=$("$bin/x86_64-hermit-nm" -g --defined-only "$lib/libc.a" | awk 'NF == 3 { print $3 }' | sort -u)
# The hooks newlib needs from the OS (toolchain-facts.md §1.6) and the glue's extras.
for sym in read write open close lseek fstat stat lstat unlink mkdir rmdir link isatty getpid kill \
	gettimeofday clock_gettime clock_getres times sbrk _exit getentropy nanosleep getdents fcntl \
	sigprocmask fork execve wait getuid getlogin getpwnam getpwuid issetugid \
	secure_getenv gethostname sysconf readv writev _dl_find_object __getreent getcwd chdir chmod pathconf \
	printf strtod qsort aligned_alloc reallocf sleep usleep opendir glob regcomp; do
	printf '%s\n' "$defined" | grep -qx "$sym" || fail "libc.a does not define $sym"
done
# The kernel provides the retargetable locks and the static lock objects.
for sym in __retarget_lock_acquire __retarget_lock_init_recursive __lock___malloc_recursive_mutex \
	__lock___sinit_recursive_mutex __lock___tz_mutex; do
	printf '%s\n' "$defined" | grep -qx "$sym" && fail "libc.a defines $sym (lock.o was not removed)"
done
# The kernel provides malloc and friends (newlib is built with MALLOC_PROVIDED).
for sym in malloc free realloc calloc memalign posix_memalign _malloc_r _free_r _realloc_r \
	__malloc_lock; do
	printf '%s\n' "$defined" | grep -qx "$sym" && fail "libc.a defines $sym (newlib's malloc was built)"
done
cmp -s "$lib/libc.a" "$lib/libg.a" || fail "libg.a differs from libc.a"
for name in pthread rt dl; do
	[ "$(head -c 8 "$lib/lib$name.a")" = '!<arch>' ] || fail "lib$name.a is not an archive"
done
[ $status -eq 0 ] && echo "libc.a contents: OK"
exit $status
