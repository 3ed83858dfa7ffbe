#!/bin/sh
# check-memory-use.sh: the proxy backs with host memory what the guest uses, plus a bounded
# look-ahead, not all of HERMIT_MEM: a 32 GiB guest that sleeps 10 s stays below 1 GiB of
# resident memory; one that touches 2 GiB stays between 2 and 2.6 GiB; memory a guest gives
# back by lowering its break goes back to the host. The proxy's VmRSS is sampled every 0.2 s
# while it runs.
# usage: check-memory-use.sh <proxy> <memuse image> <scratch directory>
set -eu
proxy=$1 image=$2 dir=$3
mkdir -p "$dir"
status=0
# measure <name> <memuse arguments...>: runs the guest, prints the largest VmRSS in MiB
# (the last one in $dir/<name>.last).
measure() {
	name=$1
	shift
	HERMIT_MEM=32G "$proxy" "$image" "$@" > "$dir/$name.out" 2>&1 &
	pid=$!
	peak=0
	while kill -0 "$pid" 2>/dev/null; do
		rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
		if [ -n "$rss" ] && [ "$rss" -gt "$peak" ]; then
			peak=$rss
		fi
		[ -n "$rss" ] && echo $((rss / 1024)) > "$dir/$name.last"
		sleep 0.2
	done
	if ! wait "$pid" || ! grep -q "all [0-9]* checks passed" "$dir/$name.out"; then
		echo "FAIL $name: the guest failed:"
		cat "$dir/$name.out"
		status=1
	fi
	echo $((peak / 1024))
}
# expect <name> <min MiB> <max MiB> <memuse arguments...>
expect() {
	name=$1 min=$2 max=$3
	shift 3
	mib=$(measure "$name" "$@")
	case $mib in
	*FAIL*) echo "$mib"; status=1; return ;;
	esac
	if [ "$mib" -lt "$min" ] || [ "$mib" -gt "$max" ]; then
		echo "FAIL $name: peak RSS $mib MiB, expected $min to $max MiB"
		status=1
	else
		echo "ok   $name: peak RSS $mib MiB (expected $min to $max MiB)"
	fi
}
expect sleeping-32G 0 1023 sleep 10
expect touching-2G-of-32G 2048 2662 touch 2048 3
# 1 GiB taken with sbrk, touched, held 3 s, given back: all but the 256 MiB look-ahead above
# the break returns to the host.
expect sbrk-1G-and-back 1024 1700 release 1024 3
last=$(cat "$dir/sbrk-1G-and-back.last")
if [ "$last" -gt 700 ]; then
	echo "FAIL sbrk-1G-and-back: $last MiB resident after the break went back down"
	status=1
else
	echo "ok   sbrk-1G-and-back: $last MiB resident after the break went back down"
fi
exit $status
