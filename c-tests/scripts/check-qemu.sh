#!/bin/bash
# check-qemu.sh: HERMIT_ISLE=qemu from the host side. A missing QEMU binary and a monitor port
# already in use end the run with a clear message and status 1; HERMIT_DEBUG=1 makes QEMU wait
# (-S) and HERMIT_MONITOR's telnet monitor on 127.0.0.1 continues it; original-protocol mode is
# refused, and so are a missing tap and HERMIT_CAPTURE_NET without an interface; no QEMU
# process (also under HERMIT_MOUNT's Landlock) and no /dev/shm file is left behind by any of
# these runs.
# usage: check-qemu.sh <proxy> <hello image> <scratch directory>
set -eu
proxy=$1 hello=$2 dir=$3
mkdir -p "$dir"
status=0
fail() { echo "FAIL $*"; status=1; }
shm_before=$(ls /dev/shm | wc -l)
export HERMIT_ISLE=qemu HERMIT_KVM=0 HERMIT_VERBOSE=1
# A QEMU started by a run (its pid from the verbose line) must be gone shortly after it.
qemu_gone() {
	pid=$(sed -n 's/^proxy: QEMU (.*) started, pid \([0-9]*\)$/\1/p' "$1")
	[ -n "$pid" ] || return 0
	for _ in $(seq 50); do
		[ -e "/proc/$pid" ] || return 0
		sleep 0.1
	done
	fail "$1: QEMU (pid $pid) still runs"
}
# expect <name> <pattern> [VAR=value...]: status 1 and the pattern in the output.
expect() {
	name=$1 pattern=$2
	shift 2
	set +e
	timeout 30 env "$@" "$proxy" "$hello" > "$dir/$name.out" 2>&1
	code=$?
	set -e
	if [ "$code" -ne 1 ] || ! grep -q "$pattern" "$dir/$name.out"; then
		fail "$name: status $code, output:"; cat "$dir/$name.out"
	else
		echo "ok   $name: $(grep "$pattern" "$dir/$name.out")"
	fi
	qemu_gone "$dir/$name.out"
}
expect missing-qemu "proxy: cannot start QEMU (/nonexistent): No such file" HERMIT_QEMU=/nonexistent
expect uhyve-compat "HERMIT_UHYVE_COMPAT=1 cannot run under QEMU" HERMIT_UHYVE_COMPAT=1
# Networking's bad input under QEMU: a missing tap, a capture without an interface.
expect missing-tap "no such network interface" HERMIT_NETIF=hnotap0
expect capture-without-nic "there is none: set HERMIT_NETIF" HERMIT_CAPTURE_NET=1

# Under HERMIT_MOUNT (Landlock) too, QEMU ends with the run (its parent-death signal).
set +e
timeout 30 env HERMIT_MOUNT="$dir" "$proxy" "$hello" > "$dir/mount.out" 2>&1
code=$?
set -e
if [ "$code" -ne 0 ] || ! grep -q "Hello World" "$dir/mount.out"; then
	fail "mount: status $code, output:"; cat "$dir/mount.out"
else
	echo "ok   mount: hello under HERMIT_MOUNT"
fi
qemu_gone "$dir/mount.out"

# A run that waits for GDB holds its monitor port; a second run on the same port fails.
port=$((20000 + $$ % 20000))
HERMIT_DEBUG=1 HERMIT_DEBUG_PORT=$((port + 1)) HERMIT_MONITOR=$port timeout 60 "$proxy" "$hello" waited \
	> "$dir/waiting.out" 2>&1 &
waiting=$!
for _ in $(seq 100); do
	grep -q "started, pid" "$dir/waiting.out" && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done
expect port-in-use "Address already in use" HERMIT_MONITOR=$port
sleep 0.5
if ! kill -0 "$waiting" 2>/dev/null || grep -q "Hello World" "$dir/waiting.out"; then
	fail "waiting: the run under HERMIT_DEBUG=1 did not wait:"; cat "$dir/waiting.out"
fi
# The monitor continues the waiting guest, which then runs to its end.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'cont\n' >&3
set +e
wait "$waiting"
code=$?
set -e
exec 3>&-
if [ "$code" -ne 0 ] || ! grep -q "argv\[1\] = waited" "$dir/waiting.out"; then
	fail "monitor: status $code after 'cont', output:"; cat "$dir/waiting.out"
else
	echo "ok   monitor: 'cont' on the telnet monitor ran the waiting guest to its end"
fi
qemu_gone "$dir/waiting.out"
[ "$(ls /dev/shm | wc -l)" -le "$shm_before" ] || fail "files were left in /dev/shm: $(ls /dev/shm)"
exit $status
