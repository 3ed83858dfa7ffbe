#!/bin/sh
# check-driver.sh: x86_64-hermit-gcc/-ld behave like the original toolchain (link line, flags, -r, OSABI).
# usage: check-driver.sh <toolchain bin dir> <hello.c> <scratch dir>
set -u
bin=$1
hello=$2
work=$3
rm -rf "$work"
mkdir -p "$work" || exit 1
cd "$work" || exit 1
gcc="$bin/x86_64-hermit-gcc"
readelf="$bin/x86_64-hermit-readelf"
status=0
fail() {
	echo "FAIL: $*" >&2
	status=1
}
osabi() { "$readelf" -h "$1" | sed -n 's/^ *OS\/ABI: *//p'; }
etype() { "$readelf" -h "$1" | awk '/Type:/ { print $2 }'; }

# The original usage, with the original application flags.
"$gcc" -m64 -mtls-direct-seg-refs -O3 -ftree-vectorize "$hello" -o hello -lhermit || fail "original link line"
[ "$(osabi hello)" = "<unknown: ff>" ] || fail "hello: OS/ABI is $(osabi hello)"
[ "$(etype hello)" = "EXEC" ] || fail "hello is not ET_EXEC"
"$bin/proxy" ./hello one >out.txt 2>&1 || fail "hello did not run: $(cat out.txt)"
grep -q '^argv\[1\] = one$' out.txt || fail "hello printed: $(cat out.txt)"

# Libraries ordinary Makefiles pass, and -pthread.
"$gcc" -pthread "$hello" -o threads -lm -lrt -ldl -lpthread || fail "-pthread -lm -lrt -ldl -lpthread"

# Partial links stay ELFOSABI_NONE relocatable objects.
"$gcc" -c "$hello" -o hello.o || fail "compile"
"$gcc" -r hello.o -o partial.o || fail "gcc -r"
[ "$(etype partial.o)" = "REL" ] || fail "partial.o is not ET_REL"
[ "$(osabi partial.o)" = "UNIX - System V" ] || fail "partial.o was marked: $(osabi partial.o)"

# x86_64-hermit-ld on its own marks a final link.
sys="$bin/../x86_64-hermit/lib"
"$bin/x86_64-hermit-ld" -T "$sys/hermit.ld" --no-warn-rwx-segments -z noexecstack -o direct "$sys/crt0.o" hello.o \
	-L"$sys" --start-group -lc -lm -lhermit -lgcc -lgcc_eh --end-group || fail "x86_64-hermit-ld"
[ "$(osabi direct)" = "<unknown: ff>" ] || fail "direct: OS/ABI is $(osabi direct)"

# The link line: our start file, script and libraries, no glibc directory, no crt1/crti.
"$gcc" -v "$hello" -o verbose 2>verbose.txt || fail "gcc -v"
link=$(grep 'collect2' verbose.txt)
for want in x86_64-hermit/lib/crt0.o x86_64-hermit/lib/hermit.ld -lhermit -static; do
	case $link in *"$want"*) ;; *) fail "link line lacks $want" ;; esac
done
for unwanted in /usr/lib/x86_64-linux-gnu crt1.o crti.o crtbegin -pie; do
	case $link in *" $unwanted"* | *"/$unwanted"*) fail "link line has $unwanted" ;; esac
done

# -fopenmp reads our libgomp.spec (found through -B), not the host's, which adds -ldl, and
# links our libgomp.a; <omp.h> is ours, not the one in the host gcc's own directory.
"$gcc" -fopenmp -v -Wl,-t "$hello" -o omp >omp.txt 2>&1 || fail "-fopenmp does not link: $(cat omp.txt)"
omp_link=$(grep collect2 omp.txt)
case $omp_link in *" -lgomp"*) ;; *) fail "-fopenmp does not link -lgomp" ;; esac
case $omp_link in *" -ldl"*) fail "-fopenmp used the host's libgomp.spec (-ldl)" ;; esac
grep -q 'x86_64-hermit/lib/libgomp.a' omp.txt || fail "-fopenmp did not link the toolchain's libgomp.a"
echo '#include <omp.h>' | "$gcc" -fopenmp -H -E -x c - -o /dev/null 2>omp-h.txt || fail "#include <omp.h>"
grep -q '^\. .*x86_64-hermit/include/openmp/omp.h$' omp-h.txt || fail "omp.h is not ours: $(cat omp-h.txt)"

# C++: x86_64-hermit-g++ (and -c++) link our libstdc++ with the same start file and script;
# our C++ headers come before gcc's and the C library's.
gxx="$bin/x86_64-hermit-g++"
printf '#include <string>\nint main() { return std::string("ab").size() == 2 ? 0 : 1; }\n' >cxx.cpp
"$gxx" -v -Wl,-t cxx.cpp -o cxx >cxx.txt 2>&1 || fail "x86_64-hermit-g++ does not link: $(cat cxx.txt)"
cxx_link=$(grep collect2 cxx.txt)
for want in x86_64-hermit/lib/crt0.o x86_64-hermit/lib/hermit.ld -lstdc++ -lhermit; do
	case $cxx_link in *"$want"*) ;; *) fail "g++ link line lacks $want" ;; esac
done
grep -q 'x86_64-hermit/lib/libstdc++.a' cxx.txt || fail "g++ did not link the toolchain's libstdc++.a"
[ "$(osabi cxx)" = "<unknown: ff>" ] || fail "cxx: OS/ABI is $(osabi cxx)"
"$bin/x86_64-hermit-c++" cxx.cpp -o cxx2 || fail "x86_64-hermit-c++"
echo '#include <cstdlib>' | "$gxx" -v -E -x c++ - -o /dev/null >cxx-h.txt 2>&1 || fail "#include <cstdlib>"
dirs=$(sed -n '/^#include <...> search starts here:$/,/^End of search list.$/p' cxx-h.txt)
first_cxx=$(printf '%s\n' "$dirs" | grep -n 'x86_64-hermit/include/c++/12$' | cut -d: -f1)
gcc_dir=$(printf '%s\n' "$dirs" | grep -n '/gcc/.*/include$' | cut -d: -f1)
libc_dir=$(printf '%s\n' "$dirs" | grep -n 'x86_64-hermit/include$' | cut -d: -f1)
[ -n "$first_cxx" ] && [ -n "$gcc_dir" ] && [ -n "$libc_dir" ] && [ "$first_cxx" -lt "$gcc_dir" ] &&
	[ "$gcc_dir" -lt "$libc_dir" ] || fail "C++ header search order: $dirs"
"$gxx" -dM -E -x c++ - </dev/null | grep -q '^#define __hermit__ ' || fail "g++ does not define __hermit__"

# Library lookups find the hermit sysroot.
case $("$gcc" -print-file-name=libc.a) in *x86_64-hermit/lib/libc.a) ;; *) fail "-print-file-name=libc.a is not ours" ;; esac

# Predefined macros.
macros=$("$gcc" -dM -E - </dev/null)
for want in __hermit__ __unix__ __x86_64__ __ELF__; do
	printf '%s\n' "$macros" | grep -q "^#define $want " || fail "$want is not defined"
done
for unwanted in __linux__ __linux linux __gnu_linux__ __PIE__ __pie__; do
	printf '%s\n' "$macros" | grep -q "^#define $unwanted " && fail "$unwanted is defined"
done
"$gcc" -pthread -dM -E - </dev/null | grep -q '^#define _REENTRANT ' || fail "-pthread does not define _REENTRANT"

# -fstack-clash-protection is on by default for C and C++ (a 64 KiB frame is probed page by
# page, "orq $0, (%rsp)"), and -fno-stack-clash-protection turns it off.
printf 'void g(char *);\nvoid f(void) { char a[65536]; g(a); }\n' >clash.c
probe='orq	\$0, (%rsp)'
"$gcc" -O2 -S clash.c -o clash.s || fail "compile clash.c"
grep -q "$probe" clash.s || fail "-fstack-clash-protection is not in effect for C"
"$gxx" -O2 -S -x c++ clash.c -o clash-cxx.s || fail "compile clash.c as C++"
grep -q "$probe" clash-cxx.s || fail "-fstack-clash-protection is not in effect for C++"
"$gcc" -O2 -S -fno-stack-clash-protection clash.c -o noclash.s || fail "compile clash.c without probes"
grep -q "$probe" noclash.s && fail "-fno-stack-clash-protection does not turn the probes off"
# The toolchain's libraries were compiled with it too (gcc records its switches).
for lib in libc.a libm.a libgomp.a libstdc++.a; do
	"$readelf" --debug-dump=info "$sys/$lib" 2>/dev/null | grep -m1 -q 'DW_AT_producer.*-fstack-clash-protection' ||
		fail "$lib was not built with -fstack-clash-protection"
done

[ $status -eq 0 ] && echo "driver: OK"
exit $status
