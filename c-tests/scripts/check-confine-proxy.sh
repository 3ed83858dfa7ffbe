#!/bin/sh
# check-confine-proxy.sh: the guest tries to reach every thread of its proxy through /proc
# (mem, environ, fd/N, exe, cwd, root; /proc/<tid>, /proc/<pid>/task/<tid>, symbolic links),
# and all of it must be refused. The proxy's pid is known only once it runs, and its thread
# ids only once the guest runs: the proxy is started as `sh -c 'HERMIT_TEST_PROXY_PID=$$ exec
# proxy ...'`, the guest creates <dir>/ready, this script lists /proc/<pid>/task into
# <dir>/tids (and its descriptors into <dir>/fds) and adds <dir>/proxylink -> /proc/<pid> and
# <dir>/kvmlink -> /dev/kvm.
# usage: check-confine-proxy.sh <proxy> <confine image> <scratch directory>
set -eu
proxy=$1 image=$2 dir=$3
rm -rf "$dir"
mkdir -p "$dir"
ln -s /dev/kvm "$dir/kvmlink"
HERMIT_CPUS=2 sh -c 'HERMIT_TEST_PROXY_PID=$$ exec "$0" "$1" proxy "$2"' "$proxy" "$image" "$dir" \
	> "$dir/log" 2>&1 &
pid=$!
i=0
while [ ! -e "$dir/ready" ]; do
	i=$((i + 1))
	if [ "$i" -gt 1000 ] || ! kill -0 "$pid" 2>/dev/null; then
		cat "$dir/log"; echo "the guest did not get ready"; kill "$pid" 2>/dev/null; exit 1
	fi
	sleep 0.01
done
ln -s "/proc/$pid" "$dir/proxylink"
ls "/proc/$pid/fd" > "$dir/fds"
ls "/proc/$pid/task" > "$dir/tids.tmp"
names=$(cat /proc/"$pid"/task/*/comm 2>/dev/null | tr '\n' ' ')
mv "$dir/tids.tmp" "$dir/tids"
status=0
wait "$pid" || status=$?
cat "$dir/log"
echo "proxy threads: $(tr '\n' ' ' < "$dir/tids")($names)"
[ "$status" -eq 0 ] || { echo "exit status $status, expected 0"; exit 1; }
grep -q "confine: [0-9]* proxy threads ([0-9]* alive at the end), [0-9]* spellings refused" "$dir/log" || { echo "no summary line"; exit 1; }
