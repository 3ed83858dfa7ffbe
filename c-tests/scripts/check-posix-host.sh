#!/bin/sh
# check-posix-host.sh: runs posix_files and checks on the host what it left (modes, times,
# renames, links, the working directory's file), then holds an fcntl lock on a file from a
# host process and lets the guest see it (F_GETLK) and be refused (F_SETLK: EAGAIN), and has
# a host process take each lock the guest releases (posted releases are not late).
# usage: check-posix-host.sh <proxy> <posix_files image> <scratch directory>
set -eu
proxy=$1 image=$2 dir=$3
rm -rf "$dir"
mkdir -p "$dir"
work="$dir/files"
"$proxy" "$image" "$work" > "$dir/posix-files.log" 2>&1 || {
	cat "$dir/posix-files.log"; echo "posix_files failed"; exit 1; }
fail() { echo "host check failed: $*"; exit 1; }
[ "$(stat -c %s "$work/empty.dat")" -eq 2048 ] || fail "empty.dat is not 2048 bytes"
[ "$(stat -c %a "$work/mode.dat")" = 604 ] || fail "mode.dat mode $(stat -c %a "$work/mode.dat"), expected 604"
[ "$(stat -c %Y "$work/mode.dat")" -eq 1500000000 ] || fail "mode.dat mtime $(stat -c %Y "$work/mode.dat")"
[ "$(stat -c %X "$work/mode.dat")" -eq 1000000000 ] || fail "mode.dat atime $(stat -c %X "$work/mode.dat")"
[ "$(cat "$work/renamed.txt")" = old ] || fail "renamed.txt does not hold the renamed file"
[ ! -e "$work/old.txt" ] && [ ! -e "$work/target.txt" ] && [ ! -e "$work/hard.txt" ] || fail "stale names left"
[ "$(readlink "$work/soft.txt")" = renamed.txt ] || fail "soft.txt is not a link to renamed.txt"
[ "$(cat "$work/relative.txt")" = rel ] || fail "relative.txt (written after chdir) is missing"
[ "$(stat -c %s "$work/pos.dat")" -eq 3 ] || fail "pos.dat was not truncated to 3 bytes"
echo "host side ok: modes, times, renames, links and the working directory"

if ! command -v python3 > /dev/null; then
	echo "SKIPPED the host-lock part: no python3 on this host to hold an fcntl lock"
	exit 0
fi
lockfile="$dir/locked.dat"
head -c 1000 /dev/zero > "$lockfile"
ready="$dir/lock-ready"
rm -f "$ready"
python3 - "$lockfile" "$ready" <<'PY' &
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 100, 0, os.SEEK_SET)
open(sys.argv[2], "w").close()
time.sleep(30)
PY
holder=$!
for _ in $(seq 100); do [ -e "$ready" ] && break; sleep 0.1; done
[ -e "$ready" ] || { kill "$holder"; fail "the host process did not take its lock"; }
status=0
"$proxy" "$image" "$work" locked "$lockfile" > "$dir/posix-lock.log" 2>&1 || status=$?
kill "$holder" 2> /dev/null || true
wait "$holder" 2> /dev/null || true
cat "$dir/posix-lock.log"
[ "$status" -eq 0 ] || fail "the guest did not see the host's lock as expected"
echo "host lock seen by the guest (F_GETLK) and refused to it (F_SETLK: EAGAIN)"

# Released locks reach the host before the guest's next host call (the kernel posts them
# without waiting): a host process takes each one at once, fcntl and flock by turns; again
# with the proxy on one host CPU, where the poller is often off it and a posted release
# travels with the next call's port exit.
ask="$dir/ask" answer="$dir/answer" handfile="$dir/handoff.dat"
for cpus in all one; do
	rm -f "$ask" "$answer"
	mkfifo "$ask" "$answer"
	head -c 1000 /dev/zero > "$handfile"
	timeout 60 python3 - "$handfile" "$ask" "$answer" > "$dir/taker.log" 2>&1 <<'PY' &
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
ask = os.open(sys.argv[2], os.O_RDONLY)
answer = os.open(sys.argv[3], os.O_WRONLY)
while True:
    kind = os.read(ask, 1)
    if kind in (b"q", b""):
        break
    try:
        if kind == b"f":
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 0, os.SEEK_SET)
            fcntl.lockf(fd, fcntl.LOCK_UN, 100, 0, os.SEEK_SET)
        else:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.write(answer, b"y")
    except OSError as e:
        print("lock", kind, "still held:", e)
        os.write(answer, b"n")
PY
	taker=$!
	pin=""
	[ "$cpus" = one ] && pin="taskset -c 0"
	status=0
	$pin "$proxy" "$image" "$work" handoff "$handfile" "$ask" "$answer" > "$dir/handoff.log" 2>&1 || status=$?
	wait "$taker" 2> /dev/null || true
	cat "$dir/handoff.log" "$dir/taker.log"
	[ "$status" -eq 0 ] || fail "a lock the guest released was still held for the host ($cpus CPUs)"
done
echo "released locks were free for the host at once (all CPUs and one)"
