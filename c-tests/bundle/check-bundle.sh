#!/bin/sh
# check-bundle.sh: the test bundle works from an empty directory: it holds one directory
# hermit-tests/ that names no path of the build tree, a few selected runs pass there with the
# promised output, and a run whose expectation is broken on purpose is reported as failed.
# usage: check-bundle.sh <hermit-tests.tar.xz> <scratch directory> <runs to select (regex)>
set -eu
bundle=$1 dir=$2 only=$3
fail() {
	echo "FAIL: $*"
	exit 1
}
[ -f "$bundle" ] || fail "$bundle is missing; 'cmake --build build --target test-bundle' writes it (check does)"
build=$(cd "$(dirname "$bundle")" && pwd)
bundle=$build/$(basename "$bundle")
rm -rf "$dir"
mkdir -p "$dir/empty"
cd "$dir/empty"
tar -xf "$bundle"
[ "$(ls -A)" = hermit-tests ] || fail "the archive holds $(ls -A | tr '\n' ' '), not one directory hermit-tests/"
! grep -F -q "$build" hermit-tests/manifest || fail "the manifest names the build tree $build"

# The selected runs pass.
set +e
TMPDIR=$dir ./hermit-tests/run --only "$only" > ../selected.out 2>&1
status=$?
set -e
cat ../selected.out
[ "$status" -eq 0 ] || fail "run --only '$only' exited with $status"
tail -n1 ../selected.out | grep -Eq '^[1-9][0-9]* passed, 0 failed$' || fail "the last line is not 'N passed, 0 failed'"
for name in $(echo "$only" | tr '|' ' '); do
	grep -Eq "^PASS c\.$name [0-9]+\.[0-9]+$" ../selected.out || fail "no PASS line for c.$name"
done

# A run that does not do what the manifest says fails, with the reason, and so does the runner.
sed 's/^run\tc\.hello\thello\t0\t/run\tc.hello\thello\t3\t/' hermit-tests/manifest > ../manifest
cp ../manifest hermit-tests/manifest
set +e
TMPDIR=$dir ./hermit-tests/run --only '^c\.hello$' > ../broken.out 2>&1
status=$?
set -e
cat ../broken.out
[ "$status" -eq 1 ] || fail "the runner exited with $status after a failed run, not 1"
grep -q '^FAIL c\.hello [0-9.]* exit status 0, expected 3$' ../broken.out || fail "no FAIL line with the reason"
[ "$(tail -n1 ../broken.out)" = "0 passed, 1 failed" ] || fail "the last line is not '0 passed, 1 failed'"
echo "bundle ok: extracted into an empty directory, selected runs passed, a broken run was reported"
