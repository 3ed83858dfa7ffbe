#!/bin/sh
# check-exit-under-load.sh: the proxy exits promptly after the guest's EXIT while every host
# CPU is busy: <runs> runs of hello beside two busy loops per host CPU, each ending at most
# 1 s after the guest's last output (hello writes all of it just before its EXIT; the
# proxy's exit closes the pipe). The busy loops stop by themselves after 10 minutes at most
# and are ended when the script ends.
# Timestamps come from bash's EPOCHREALTIME (no process is started to read the clock).
# usage: check-exit-under-load.sh <proxy> <hello image> <scratch directory> [runs]
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -eu
proxy=$1 image=$2 dir=$3 runs=${4:-200}
limit_ms=1000
mkdir -p "$dir"
loops=""
stop_loops() {
	for pid in $loops; do
		kill "$pid" 2>/dev/null || true
	done
}
trap stop_loops EXIT
i=0
while [ "$i" -lt $((2 * $(nproc))) ]; do
	timeout 600 sh -c 'while :; do :; done' &
	loops="$loops $!"
	i=$((i + 1))
done

# One run: prints "<status> <ms from the last guest line to the proxy's exit> <lines>".
run_once() {
	{
		"$proxy" "$image" 2>&1
		echo "proxy-exit $?"
	} | {
		last=0 lines=0
		while IFS= read -r line; do
			now=${EPOCHREALTIME/./}
			case $line in
			"proxy-exit "*) echo "${line#proxy-exit } $(((now - last) / 1000)) $lines" ;;
			*) last=$now lines=$((lines + 1)) ;;
			esac
		done
	}
}

run=0 worst=0 slow=0 failed=0
while [ "$run" -lt "$runs" ]; do
	set -- $(run_once)
	status=$1 gap=$2 lines=$3
	if [ "$status" -ne 0 ] || [ "$lines" -lt 3 ]; then
		echo "FAIL run $run: status $status, $lines lines of output"
		failed=$((failed + 1))
	elif [ "$gap" -gt "$limit_ms" ]; then
		echo "FAIL run $run: the proxy exited $gap ms after the guest's output"
		slow=$((slow + 1))
	fi
	[ "$gap" -gt "$worst" ] && worst=$gap
	run=$((run + 1))
done
echo "$runs runs beside $((2 * $(nproc))) busy loops: slowest exit $worst ms after the guest's output, $slow over $limit_ms ms, $failed failed"
[ "$slow" -eq 0 ] && [ "$failed" -eq 0 ]
