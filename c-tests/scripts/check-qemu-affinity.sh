#!/bin/bash
# check-qemu-affinity.sh: HERMIT_CPU_AFFINITY under HERMIT_ISLE=qemu pins QEMU's vCPU threads
# (found by their names "CPU <i>/TCG" in /proc/<qemu>/task) to the listed host CPUs, in list
# order, and leaves QEMU's other threads on the proxy's CPUs; a run that waits for GDB stays
# stopped after pinning.
# usage: check-qemu-affinity.sh <proxy> <net_header image> <scratch directory>
set -eu
proxy=$1 image=$2 dir=$3
mkdir -p "$dir"
status=0
fail() { echo "FAIL $*"; status=1; }
export HERMIT_ISLE=qemu HERMIT_KVM=0 HERMIT_VERBOSE=1 HERMIT_CPUS=2
seen=0
allowed() { sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$1/status"; }
cpus=$(allowed /proc/$$)
first=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')
last=$(python3 -c 'import os; print(max(os.sched_getaffinity(0)))')
# vCPU 0 on the last allowed CPU, vCPU 1 on the first: not the identity.
list="$last,$first"
HERMIT_CPU_AFFINITY=$list timeout 120 "$proxy" "$image" 60 > "$dir/pinned.out" 2>&1 &
run=$!
for _ in $(seq 600); do
	grep -q "^ready" "$dir/pinned.out" && break
	sleep 0.1
done
grep -q "^ready" "$dir/pinned.out" || fail "the guest did not start: $(tail -5 "$dir/pinned.out")"
qemu=$(sed -n 's/^proxy: QEMU (.*) started, pid \([0-9]*\)$/\1/p' "$dir/pinned.out")
for task in /proc/"$qemu"/task/*; do
	name=$(cat "$task/comm")
	case "$name" in
	"CPU 0/TCG") want=$last seen=$((seen + 1)) ;;
	"CPU 1/TCG") want=$first seen=$((seen + 1)) ;;
	*) want=$cpus ;;
	esac
	got=$(allowed "$task")
	if [ "$got" = "$want" ]; then
		echo "ok   thread '$name': CPUs $got"
	else
		fail "thread '$name': CPUs $got, expected $want"
	fi
done
[ "$seen" -eq 2 ] || fail "QEMU's two vCPU threads were not found ($seen)"
grep -q "pinned to CPU" "$dir/pinned.out" || fail "no 'pinned' line in the verbose output"
[ "$(grep -c '^proxy: QEMU thread .* pinned to CPU' "$dir/pinned.out")" -eq 2 ] || fail "expected two pinned threads"
kill "$run" 2>/dev/null || true
wait "$run" 2>/dev/null || true
exit $status
