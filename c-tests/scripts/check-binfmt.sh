#!/bin/sh
# check-binfmt.sh: `proxy --install-binfmt` makes an executable HermitCore image run when
# started directly (arguments, exit status), Linux programs stay untouched, and
# `--uninstall-binfmt` removes the entry again. Uses its own entry name, removed on exit.
# usage: check-binfmt.sh <proxy> <hello image> <args_env image> <scratch directory>
set -eu
proxy=$1 hello=$2 args=$3 dir=$4
name=hermit-test-$$
mkdir -p "$dir"
if [ "$(id -u)" -ne 0 ]; then
	echo "FAIL: registering a binfmt_misc entry needs root; this test cannot run as $(id -un)"
	exit 1
fi
trap '"$proxy" --uninstall-binfmt "$name" >/dev/null 2>&1 || true' EXIT
"$proxy" --install-binfmt "$name"
grep -q '^enabled' "/proc/sys/fs/binfmt_misc/$name"
grep -q "interpreter $(readlink -f "$proxy")" "/proc/sys/fs/binfmt_misc/$name"
cp "$hello" "$dir/hello" && cp "$args" "$dir/args_env" && chmod +x "$dir/hello" "$dir/args_env"
out=$("$dir/hello" first "second arg")
echo "$out" | grep -q "argv\[2\] = second arg" || { echo "FAIL: ./hello printed: $out"; exit 1; }
echo "ok   ./hello ran in the unikernel with its arguments"
set +e
HERMIT_TEST_VALUE="hello hermit" "$dir/args_env" 7 "two words" x=y > "$dir/args.out" 2>&1
code=$?
set -e
[ "$code" -eq 7 ] || { echo "FAIL: ./args_env 7 exited with $code:"; cat "$dir/args.out"; exit 1; }
echo "ok   ./args_env 7 ... (arguments and environment checked inside) exited with status 7"
/bin/true || { echo "FAIL: a Linux program no longer runs"; exit 1; }
"$proxy" --install-binfmt "$name" > /dev/null # registering again replaces the entry
"$proxy" --uninstall-binfmt "$name"
[ ! -e "/proc/sys/fs/binfmt_misc/$name" ] || { echo "FAIL: entry $name still registered"; exit 1; }
if "$proxy" --uninstall-binfmt "$name" > "$dir/again.out" 2>&1; then
	echo "FAIL: removing a missing entry succeeded"; exit 1
fi
grep -q "no binfmt_misc entry" "$dir/again.out"
echo "ok   entry removed; removing it again: $(cat "$dir/again.out")"
