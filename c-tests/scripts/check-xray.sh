#!/bin/sh
# check-xray.sh: -DPROFILING=ON builds an instrumented program whose libxray reports are right.
# usage: check-xray.sh <cmake> <toolchain prefix> <proxy> <xray-app source dir> <scratch dir>
#
# xray_hot runs hot_function 500 times in each of two threads and cold_function 10 times; the
# report must put hot_function first with 1000 calls, name it from the linker map, and without
# a map give an address that addr2line resolves to it.
set -u
cmake=$1
prefix=$2
proxy=$3
app=$4
work=$5
rm -rf "$work"
mkdir -p "$work/run1" "$work/run2" "$work/run3" || exit 1
status=0
fail() {
	echo "FAIL: $*" >&2
	status=1
}
show() {
	echo "--- $1:"
	cat "$1"
}

"$cmake" -S "$app" -B "$work/build" -DHERMIT_PREFIX="$prefix" -DPROFILING=ON >"$work/configure.log" 2>&1 ||
	{ cat "$work/configure.log" >&2; echo "FAIL: configure with PROFILING" >&2; exit 1; }
"$cmake" --build "$work/build" >"$work/build.log" 2>&1 ||
	{ cat "$work/build.log" >&2; echo "FAIL: build with PROFILING" >&2; exit 1; }
image="$work/build/xray_hot"
map="$work/build/xray_hot.map"
# Instrumented (calls to the hooks) and built with XRAY (the real XRayInit, not the null inline one).
symbols=$("$prefix/bin/x86_64-hermit-nm" "$image")
echo "$symbols" | grep -q ' T __cyg_profile_func_enter$' || fail "PROFILING: no -finstrument-functions hooks linked"
echo "$symbols" | grep -q ' T XRayInit$' || fail "PROFILING: XRAY not defined (no XRayInit linked)"
[ -f "$map" ] || fail "PROFILING wrote no linker map $map"

# 1. The report the program saves (XRaySaveReport, map from XRayInit) and the one at exit (XRAY_REPORT).
(cd "$work/run1" && XRAY_REPORT="$work/run1/exit.txt" HERMIT_CPUS=2 "$proxy" "$image" "$map" "$work/run1/saved.txt") \
	>"$work/run1/out.txt" 2>&1 || fail "xray_hot failed: $(cat "$work/run1/out.txt")"
for report in saved exit; do
	file="$work/run1/$report.txt"
	[ -f "$file" ] || { fail "no $report report"; continue; }
	show "$file"
	grep -qE '^ +[0-9]+ +1000 .* hot_function$' "$file" || fail "$report report: no hot_function with 1000 calls"
	grep -q '^threads: 2 ' "$file" || fail "$report report: not 2 threads"
	grep -q "^names: from the linker map $map" "$file" || fail "$report report: names not from the map"
	grep -q 'frame 0 "hot loop": [1-9]' "$file" || fail "$report report: no frame \"hot loop\""
	grep -q '^  workers done$' "$file" || fail "$report report: no annotation"
done
# The saved report has cutoffs (1 %): cold_function is below, and hot_function is on top. (At exit,
# main has the time XRaySaveReport took as its own: run 2 checks the order at exit.)
first=$(grep -E '^ +1 ' "$work/run1/saved.txt")
echo "$first" | grep -qE '^ +1 +1000 .* hot_function$' || fail "saved report: the first row is not hot_function with 1000 calls: $first"
grep -q 'cold_function' "$work/run1/saved.txt" && fail "saved report: cold_function is above a 1 % cutoff"
grep -qE '^ +[0-9]+ +10 .* cold_function$' "$work/run1/exit.txt" || fail "exit report: no cold_function with 10 calls"
grep -qE '^ +[0-9]+ +1 .* main$' "$work/run1/exit.txt" || fail "exit report: no main with 1 call"
# worker is static, so not in the map: no name rather than a wrong one.
grep -qE '^ +[0-9]+ +2 .* 0x[0-9a-f]{16} +\? \(not in the map' "$work/run1/exit.txt" || fail "exit report: worker (static) not shown as unnamed"
[ -e "$work/run1/xray-report.txt" ] && fail "a default report was written although XRAY_REPORT was set"

# 2. No map: the default file ./xray-report.txt, with addresses that addr2line resolves.
(cd "$work/run2" && HERMIT_CPUS=2 "$proxy" "$image") >"$work/run2/out.txt" 2>&1 ||
	fail "xray_hot without a map failed: $(cat "$work/run2/out.txt")"
file="$work/run2/xray-report.txt"
if [ -f "$file" ]; then
	show "$file"
	first=$(grep -E '^ +1 ' "$file")
	echo "$first" | grep -qE '^ +1 +1000 .* 0x[0-9a-f]{16} +\?$' || fail "report without a map: first row: $first"
	address=$(echo "$first" | grep -oE '0x[0-9a-f]{16}')
	name=$(addr2line -f -e "$image" "$address" | head -n 1)
	[ "$name" = hot_function ] || fail "addr2line -f -e xray_hot $address gave $name, not hot_function"
	grep -q 'resolve addresses with: addr2line -f -e' "$file" || fail "report without a map does not say how to resolve"
else
	fail "no default report ./xray-report.txt"
fi

# 3. The map from XRAY_MAP, the report at exit only: hot_function with 1000 calls on top.
mkdir -p "$work/run4"
(cd "$work/run4" && XRAY_MAP="$map" XRAY_REPORT="$work/run4/report.txt" HERMIT_CPUS=2 "$proxy" "$image") \
	>"$work/run4/out.txt" 2>&1 || fail "xray_hot with XRAY_MAP failed: $(cat "$work/run4/out.txt")"
if [ -f "$work/run4/report.txt" ]; then
	show "$work/run4/report.txt"
	first=$(grep -E '^ +1 ' "$work/run4/report.txt")
	echo "$first" | grep -qE '^ +1 +1000 .* hot_function$' || fail "exit report with XRAY_MAP: first row: $first"
else
	fail "no report at exit with XRAY_MAP"
fi

# 4. Without PROFILING the program includes xray.h, builds with the null API and writes no report.
"$cmake" -S "$app" -B "$work/build-plain" -DHERMIT_PREFIX="$prefix" >"$work/configure-plain.log" 2>&1 &&
	"$cmake" --build "$work/build-plain" >"$work/build-plain.log" 2>&1 ||
	{ cat "$work/configure-plain.log" "$work/build-plain.log" >&2; fail "build without PROFILING"; }
"$prefix/bin/x86_64-hermit-nm" "$work/build-plain/xray_hot" | grep -q -E ' (XRayInit|__cyg_profile_func_enter)$' &&
	fail "without PROFILING the image has XRay symbols"
(cd "$work/run3" && "$proxy" "$work/build-plain/xray_hot" "$map" "$work/run3/saved.txt") >"$work/run3/out.txt" 2>&1 ||
	fail "xray_hot without PROFILING failed: $(cat "$work/run3/out.txt")"
[ -z "$(ls "$work/run3" | grep -v out.txt)" ] || fail "without PROFILING a report was written: $(ls "$work/run3")"

[ $status -eq 0 ] && echo "XRay profiling: OK"
exit $status
