#!/bin/sh
# check-installed-app.sh: cmake --install gives a relocated, working prefix for out-of-tree applications.
# usage: check-installed-app.sh <cmake> <build dir of this project> <app source dir> <scratch dir>
#        [<OpenMP C/C++ app source dir> [<original-style app dir> <all-languages app dir>
#        [<OpenMP Fortran + C app source dir>]]]
set -u
cmake=$1
build=$2
app=$3
work=$4
omp_app=${5:-}
orig_app=${6:-}
langs_app=${7:-}
fortran_app=${8:-}
rm -rf "$work"
mkdir -p "$work" || exit 1
prefix="$work/prefix"
status=0
fail() {
	echo "FAIL: $*" >&2
	status=1
}

"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 || {
	cat "$work/install.log" >&2
	echo "FAIL: cmake --install" >&2
	exit 1
}
for file in bin/proxy bin/x86_64-hermit-gcc bin/x86_64-hermit-ld x86_64-hermit/bin/ld \
	x86_64-hermit/lib/libhermit.a x86_64-hermit/lib/libc.a x86_64-hermit/lib/libg.a \
	x86_64-hermit/lib/libm.a x86_64-hermit/lib/crt0.o x86_64-hermit/lib/hermit.ld \
	x86_64-hermit/lib/hermit.specs x86_64-hermit/lib/libgomp.spec x86_64-hermit/lib/libpthread.a \
	x86_64-hermit/include/stdio.h x86_64-hermit/include/hermit/syscall.h \
	bin/x86_64-hermit-g++ bin/x86_64-hermit-c++ x86_64-hermit/lib/libgomp.a x86_64-hermit/lib/libstdc++.a \
	x86_64-hermit/lib/libsupc++.a x86_64-hermit/include/openmp/omp.h x86_64-hermit/include/c++/12/iostream \
	x86_64-hermit/extra/tests/hello cmake/HermitCore-Application.cmake cmake/HermitCore.cmake \
	x86_64-hermit/lib/libxray.a x86_64-hermit/lib/libxray.spec x86_64-hermit/include/xray.h \
	bin/x86_64-hermit-gfortran bin/x86_64-hermit-f95 bin/x86_64-hermit-f77 x86_64-hermit/lib/libgfortran.a \
	x86_64-hermit/lib/libgfortran.spec x86_64-hermit/lib/libquadmath.a x86_64-hermit/include/quadmath.h \
	x86_64-hermit/lib/finclude/omp_lib.mod x86_64-hermit/lib/finclude/omp_lib_kinds.mod \
	x86_64-hermit/lib/finclude/omp_lib.h x86_64-hermit/lib/finclude/ieee_arithmetic.mod; do
	[ -e "$prefix/$file" ] || fail "installed prefix lacks $file"
done

# 1. include(<prefix>/cmake/HermitCore-Application.cmake) before project(), as in the original.
"$cmake" -S "$app" -B "$work/build1" -DHERMIT_PREFIX="$prefix" -DCMAKE_INSTALL_PREFIX="$work/app-install" \
	>"$work/configure1.log" 2>&1 || { cat "$work/configure1.log" >&2; fail "configure with HermitCore-Application.cmake"; }
"$cmake" --build "$work/build1" >"$work/build1.log" 2>&1 || { cat "$work/build1.log" >&2; fail "build"; }
"$cmake" --install "$work/build1" >/dev/null 2>&1 || fail "install of the application"
[ -x "$work/app-install/x86_64-hermit/extra/tests/app" ] || fail "install_local_targets did not install the image"
"$prefix/bin/proxy" "$work/build1/app" installed >"$work/run1.txt" 2>&1
rc=$?
[ $rc -eq 7 ] || fail "app exited with $rc: $(cat "$work/run1.txt")"
grep -q 'app from an installed prefix: installed' "$work/run1.txt" || fail "app printed: $(cat "$work/run1.txt")"

# 2. The toolchain file alone.
"$cmake" -S "$app" -B "$work/build2" -DCMAKE_TOOLCHAIN_FILE="$prefix/cmake/HermitCore-Toolchain-x86_64.cmake" \
	>"$work/configure2.log" 2>&1 || { cat "$work/configure2.log" >&2; fail "configure with the toolchain file"; }
"$cmake" --build "$work/build2" >"$work/build2.log" 2>&1 || { cat "$work/build2.log" >&2; fail "build 2"; }
"$prefix/bin/proxy" "$work/build2/app" again >"$work/run2.txt" 2>&1
[ $? -eq 7 ] || fail "app (toolchain file) failed: $(cat "$work/run2.txt")"

# 3. project(x C CXX) with find_package(OpenMP) and the OpenMP::OpenMP_C/_CXX targets.
if [ -n "$omp_app" ]; then
	"$cmake" -S "$omp_app" -B "$work/build3" -DHERMIT_PREFIX="$prefix" >"$work/configure3.log" 2>&1 ||
		{ cat "$work/configure3.log" >&2; fail "configure the OpenMP application"; }
	grep -q 'Found OpenMP_C: -fopenmp' "$work/configure3.log" || fail "find_package(OpenMP) did not find OpenMP_C"
	grep -q "OpenMP_gomp_LIBRARY:FILEPATH=$prefix/x86_64-hermit/lib/libgomp.a" "$work/build3/CMakeCache.txt" ||
		fail "find_package(OpenMP) did not pick the prefix's libgomp.a"
	"$cmake" --build "$work/build3" >"$work/build3.log" 2>&1 || { cat "$work/build3.log" >&2; fail "build 3"; }
	for image in omp_app omp_cxx_app; do
		HERMIT_CPUS=2 "$prefix/bin/proxy" "$work/build3/$image" >"$work/run-$image.txt" 2>&1
		rc=$?
		[ $rc -eq 7 ] || fail "$image exited with $rc: $(cat "$work/run-$image.txt")"
	done
	grep -q 'omp_app: 2 threads, sum 500500' "$work/run-omp_app.txt" || fail "omp_app printed: $(cat "$work/run-omp_app.txt")"
fi

# 4. Written as the original usr/benchmarks: include(../../cmake/...) from <prefix>/usr/benchmarks,
#    programs under if(TARGET_ARCH STREQUAL x86_64-hermit), install_local_targets(extra/benchmarks).
if [ -n "$orig_app" ]; then
	mkdir -p "$prefix/usr" && cp -r "$orig_app" "$prefix/usr/benchmarks" || fail "copy the original-style app"
	"$cmake" -S "$prefix/usr/benchmarks" -B "$work/build4" -DCMAKE_INSTALL_PREFIX="$work/bench-install" \
		>"$work/configure4.log" 2>&1 || { cat "$work/configure4.log" >&2; fail "configure the original-style app"; }
	"$cmake" --build "$work/build4" >"$work/build4.log" 2>&1 || { cat "$work/build4.log" >&2; fail "build 4"; }
	"$cmake" --install "$work/build4" >"$work/install4.log" 2>&1 || { cat "$work/install4.log" >&2; fail "install 4"; }
	bench="$work/bench-install/x86_64-hermit/extra/benchmarks"
	for image in basic stream; do
		[ -x "$bench/$image" ] || { fail "install_local_targets(extra/benchmarks) did not install $image"; continue; }
		HERMIT_CPUS=2 "$prefix/bin/proxy" "$bench/$image" >"$work/run4-$image.txt" 2>&1
		rc=$?
		[ $rc -eq 0 ] || fail "$image exited with $rc: $(cat "$work/run4-$image.txt")"
	done
	grep -q 'basic: the thread said 42' "$work/run4-basic.txt" || fail "basic printed: $(cat "$work/run4-basic.txt")"
	grep -q 'stream: 2 threads, sum 500500' "$work/run4-stream.txt" || fail "stream printed: $(cat "$work/run4-stream.txt")"
fi

# 5. project(x C CXX Fortran Go): stops at the first language without a driver, saying so.
if [ -n "$langs_app" ]; then
	cp -r "$langs_app" "$prefix/usr/tests" || fail "copy the all-languages app"
	if "$cmake" -S "$prefix/usr/tests" -B "$work/build5" >"$work/configure5.log" 2>&1; then
		fail "project(hermit_tests C CXX Fortran Go) configured without a Fortran or Go compiler"
	fi
	missing=""
	for lang in Fortran Go; do
		[ -e "$prefix/bin/x86_64-hermit-$([ $lang = Fortran ] && echo gfortran || echo gccgo)" ] || missing="$missing $lang"
	done
	first=$(echo $missing | cut -d' ' -f1)
	grep -q "this HermitCore toolchain does not ship $first:" "$work/configure5.log" &&
		grep -q "there is no $prefix/bin/x86_64-hermit-" "$work/configure5.log" ||
		{ cat "$work/configure5.log" >&2; fail "no clear message for $first"; }
	shipped="C CXX"
	[ -e "$prefix/bin/x86_64-hermit-gfortran" ] && shipped="$shipped Fortran"
	grep -q "Shipped languages: $shipped\." "$work/configure5.log" || fail "the message does not list the shipped languages ($shipped)"
	grep -q "The C compiler identification is GNU" "$work/configure5.log" || fail "C was not enabled before $first"
fi

# 6. project(x C Fortran) with find_package(OpenMP) and OpenMP::OpenMP_Fortran.
if [ -n "$fortran_app" ]; then
	"$cmake" -S "$fortran_app" -B "$work/build6" -DHERMIT_PREFIX="$prefix" >"$work/configure6.log" 2>&1 ||
		{ cat "$work/configure6.log" >&2; fail "configure the Fortran application"; }
	grep -qs "set(CMAKE_Fortran_COMPILER \"$prefix/bin/x86_64-hermit-gfortran\")" \
		"$work"/build6/CMakeFiles/*/CMakeFortranCompiler.cmake ||
		fail "project(x C Fortran) did not pick x86_64-hermit-gfortran"
	grep -q 'Found OpenMP_Fortran: -fopenmp' "$work/configure6.log" || fail "find_package(OpenMP) did not find OpenMP_Fortran"
	"$cmake" --build "$work/build6" >"$work/build6.log" 2>&1 || { cat "$work/build6.log" >&2; fail "build 6"; }
	HERMIT_CPUS=2 "$prefix/bin/proxy" "$work/build6/fortran_app" >"$work/run-fortran_app.txt" 2>&1
	rc=$?
	[ $rc -eq 7 ] || fail "fortran_app exited with $rc: $(cat "$work/run-fortran_app.txt")"
	grep -q 'fortran_app: 2 threads, sum 500500, twice 21 = 42' "$work/run-fortran_app.txt" ||
		fail "fortran_app printed: $(cat "$work/run-fortran_app.txt")"
	# The toolchain file alone knows x86_64-hermit-gfortran too.
	"$cmake" -S "$fortran_app" -B "$work/build7" -DCMAKE_TOOLCHAIN_FILE="$prefix/cmake/HermitCore-Toolchain-x86_64.cmake" \
		>"$work/configure7.log" 2>&1 || { cat "$work/configure7.log" >&2; fail "configure the Fortran application with the toolchain file"; }
	"$cmake" --build "$work/build7" >"$work/build7.log" 2>&1 || { cat "$work/build7.log" >&2; fail "build 7"; }
	"$prefix/bin/proxy" "$work/build7/fortran_app" >"$work/run7.txt" 2>&1
	[ $? -eq 7 ] || fail "fortran_app (toolchain file) failed: $(cat "$work/run7.txt")"
	grep -q 'fortran_app: 1 threads, sum 500500' "$work/run7.txt" || fail "fortran_app (toolchain file) printed: $(cat "$work/run7.txt")"
fi

[ $status -eq 0 ] && echo "installed prefix and out-of-tree application: OK"
exit $status
