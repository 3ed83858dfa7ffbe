#!/bin/sh
# run-benchmarks.sh: runs every benchmark natively on Linux and in the unikernel, one after the
# other, and prints both results and the ratio (unikernel / native).
# usage: run-benchmarks.sh <proxy> <hermit images dir> <native binaries dir> <scratch dir>
#        [<hermit third-party images dir> <native third-party binaries dir>]
set -eu
proxy=$1 hermit=$2 native=$3 scratch=$4
tp_hermit=${5:-} tp_native=${6:-}
mkdir -p "$scratch"
results="$scratch/results.txt"
: > "$results"
# Every run of the interleaved pairs, with its steal time (printed at the end).
runs="$scratch/runs.txt"
: > "$runs"

# run <where> <command...>: collects "RESULT name value unit" lines, tagged native/hermit;
# $suffix (if set) is appended to each name.
suffix=
run() {
	where=$1
	shift
	"$@" | awk -v where="$where" -v suffix="$suffix" '$1 == "RESULT" { print where, $2 suffix, $3, $4 }' >> "$results"
}

# steal_jiffies: the host's steal time so far (all CPUs, in USER_HZ ticks of /proc/stat).
steal_jiffies() {
	awk '$1 == "cpu" { print $9; exit }' /proc/stat
}

# one_run <side> <quoted command>: one run of an interleaved pair; its RESULT lines go to
# $tmp, and to $runs with the steal time the run saw (ms) and the load average before it, so
# that a slow run can be told from a host that took the CPUs away (issue 12's criteria).
one_run() {
	load=$(cut -d' ' -f1 /proc/loadavg)
	before=$(steal_jiffies)
	eval "$2" | awk '$1 == "RESULT" { print $2, $3, $4 }' > "$scratch/one-run.txt"
	stolen=$((($(steal_jiffies) - before) * 1000 / $(getconf CLK_TCK)))
	awk -v side="$1" '{ print side, $1, $2, $3 }' "$scratch/one-run.txt" >> "$tmp"
	awk -v side="$1" -v st="$stolen" -v avg="$load" \
		'{ printf "%-7s %-28s %14s %-10s steal %5d ms  load %s\n", side, $1, $2, $3, st, avg }' \
		"$scratch/one-run.txt" >> "$runs"
}

# interleaved <pairs> <native command...> -- <hermit command...>: runs the two commands
# alternately (native, hermit, native, ...) <pairs> times, so that both sides see the same
# host moments, and records per side and name the worst of the runs for names ending in
# _worst (the largest) or _min (the smallest), else the median of the runs' values.
interleaved() {
	pairs=$1
	shift
	nat="" her="" side=nat
	for arg in "$@"; do
		if [ "$arg" = "--" ]; then side=her; continue; fi
		if [ "$side" = nat ]; then nat="$nat '$arg'"; else her="$her '$arg'"; fi
	done
	tmp="$scratch/interleaved.txt"
	: > "$tmp"
	i=0
	while [ "$i" -lt "$pairs" ]; do
		one_run native "$nat"
		one_run hermit "$her"
		i=$((i + 1))
	done
	sort -k1,1 -k2,2 -k3,3g "$tmp" | awk -v suffix="$suffix" '
		{ k = $1 " " $2; v[k, ++n[k]] = $3; unit[k] = $4 }
		END {
			for (k in n) {
				split(k, part, " ")
				if (part[2] ~ /_worst$/) x = v[k, n[k]]
				else if (part[2] ~ /_min$/) x = v[k, 1]
				else x = v[k, int((n[k] + 1) / 2)]
				print part[1], part[2] suffix, x, unit[k]
			}
		}' | sort -k2,2 -k1,1r >> "$results"
}

# loaded <command...>: runs the command beside two busy loops per host core, with "_loaded"
# appended to the result names.
loaded() {
	loops=""
	for i in $(seq $(($(nproc) * 2))); do
		sh -c 'while :; do :; done' &
		loops="$loops $!"
	done
	suffix=_loaded
	"$@"
	suffix=
	kill $loops
}

# Host I/O: raw calls, stdio, and (when built) SQLite and gzip through the unchanged libraries.
host_io() {
	run native "$native/fileio" "$scratch/native-fileio.dat"
	run hermit "$proxy" "$hermit/fileio" "$scratch/hermit-fileio.dat"
	run native "$native/hostcalls" "$scratch/native-hostcalls.dat"
	run hermit "$proxy" "$hermit/hostcalls" "$scratch/hermit-hostcalls.dat"
	run native "$native/stdio" "$scratch/native-stdio.txt"
	run hermit "$proxy" "$hermit/stdio" "$scratch/hermit-stdio.txt"
	if [ -x "$tp_native/sqlite_main" ] && [ -f "$tp_hermit/sqlite_main" ]; then
		run native "$tp_native/sqlite_main" bench "$scratch/native.db"
		run hermit "$proxy" "$tp_hermit/sqlite_main" bench "$scratch/hermit.db"
	else
		echo "run-benchmarks: no sqlite_main (sources not fetched, or $tp_hermit/sqlite_main.missing): no SQLite results" >&2
	fi
	if [ -x "$tp_native/gzip_main" ] && [ -f "$tp_hermit/gzip_main" ]; then
		[ -f "$scratch/gzip-input.txt" ] || "$tp_native/gzip_main" gen "$scratch/gzip-input.txt" 50
		run native "$tp_native/gzip_main" bench "$scratch/gzip-input.txt" "$scratch/native.gz"
		run hermit "$proxy" "$tp_hermit/gzip_main" bench "$scratch/gzip-input.txt" "$scratch/hermit.gz"
	else
		echo "run-benchmarks: no gzip_main (third-party sources not fetched?): no gzip results" >&2
	fi
}

for bench in getpid compute; do
	run native "$native/$bench"
	run hermit "$proxy" "$hermit/$bench"
done
run native "$native/write" "$scratch/native-write.dat"
run hermit "$proxy" "$hermit/write" "$scratch/hermit-write.dat"
host_io
# The same under two busy loops per host core (names end in _loaded).
loaded host_io
rm -f "$scratch/gzip-input.txt"
run hermit "$proxy" "$hermit/boot"
run native "$native/spawn" hello 30 "$native/hello"
run hermit "$native/spawn" hello 30 "$proxy" "$hermit/hello"

# QEMU (HERMIT_ISLE=qemu) with KVM, if /dev/kvm works, and with TCG: proxy hello (median of 20),
# each beside a native run under the same name; the compute loops only under QEMU/KVM (TCG
# takes minutes for their 3 x 10^8 iterations).
for accel in kvm tcg; do
	[ "$accel" = tcg ] || [ -w /dev/kvm ] || continue
	kvm=1
	[ "$accel" = kvm ] || kvm=0
	suffix=_qemu_$accel
	run native "$native/spawn" hello 20 "$native/hello"
	run hermit env HERMIT_ISLE=qemu HERMIT_KVM=$kvm "$native/spawn" hello 20 "$proxy" "$hermit/hello"
	[ "$accel" = kvm ] || continue
	run native "$native/compute"
	run hermit env HERMIT_ISLE=qemu HERMIT_KVM=$kvm "$proxy" "$hermit/compute"
done
suffix=

# Threads. One-core runs: Linux pins the threads to CPU 0, HermitCore gets one vCPU.
run native "$native/sched" one
run hermit env HERMIT_CPUS=1 "$proxy" "$hermit/sched" one
run native "$native/sched" cross
run hermit env HERMIT_CPUS=2 "$proxy" "$hermit/sched" cross
# Wake-up latency of a blocked thread on the other core, while that core polls and once halted.
run native "$native/sched" wake
run hermit env HERMIT_CPUS=2 "$proxy" "$hermit/sched" wake
# Timer precision: how much longer than asked short sleeps take.
run native "$native/sched" sleep
run hermit "$proxy" "$hermit/sched" sleep
for mode in create parallel; do
	run native "$native/threads" $mode
	run hermit env HERMIT_CPUS=2 "$proxy" "$hermit/threads" $mode
done
run native "$native/malloc" big
run hermit "$proxy" "$hermit/malloc" big
run native "$native/malloc" threads
run hermit env HERMIT_CPUS=2 "$proxy" "$hermit/malloc" threads
run native "$native/memlib"
run hermit "$proxy" "$hermit/memlib"
# TCP over the loopback between two threads (Linux's loopback, the guest's own smoltcp loopback),
# with the two threads on one vCPU and on two (where every wake-up may cross cores).
run native "$native/netloop"
run hermit env HERMIT_CPUS=1 "$proxy" "$hermit/netloop"
suffix=_2cpus
run native "$native/netloop"
run hermit env HERMIT_CPUS=2 "$proxy" "$hermit/netloop"
suffix=
# A pipe ping-pong between two threads waiting in epoll_wait or poll, beside 0, 100 and 1,000
# idle descriptors, on one core (Linux pinned to CPU 0) and on two.
run native "$native/epoll" one
run hermit env HERMIT_CPUS=1 "$proxy" "$hermit/epoll" one
suffix=_2cpus
run native "$native/epoll" two
run hermit env HERMIT_CPUS=2 "$proxy" "$hermit/epoll" two
suffix=
# ZeroMQ (unchanged libzmq, zmq_main of c-tests/thirdparty) between two threads of one
# program, with its I/O thread: request/reply round trips and PUSH/PULL rates of 64-byte
# messages over inproc:// and tcp://127.0.0.1, on two vCPUs.
if [ -x "$tp_native/zmq_main" ] && [ -f "$tp_hermit/zmq_main" ]; then
	run native "$tp_native/zmq_main" bench
	run hermit env HERMIT_CPUS=2 "$proxy" "$tp_hermit/zmq_main" bench
else
	echo "run-benchmarks: no zmq_main (third-party sources not fetched?): no ZeroMQ results" >&2
fi
# OpenSSL 3.5.5 (unchanged, the same Configure options both sides; c-tests/thirdparty): the
# openssl tool's own `speed` on one CPU: AES-128-GCM, ChaCha20-Poly1305 and SHA-256 over 16 KiB
# blocks, RSA-2048 and Ed25519 signatures, each timed by alarm() for 1 s.
openssl_speed() {
	for alg in aes-128-gcm chacha20-poly1305 sha256; do
		"$@" speed -mr -seconds 1 -bytes 16384 -evp $alg 2>/dev/null
	done
	"$@" speed -mr -seconds 1 rsa2048 ed25519 2>/dev/null
}
openssl_results() {
	awk -F: '
		$1 == "+F" { name = tolower($3); gsub(/-/, "_", name); printf "RESULT openssl_%s %.1f MB/s\n", name, $4 / 1e6 }
		$1 == "+F2" && $3 == 2048 { printf "RESULT openssl_rsa2048_sign %.0f op/s\nRESULT openssl_rsa2048_verify %.0f op/s\n", $4, $5 }
		$1 == "+F6" && $4 == "Ed25519" { printf "RESULT openssl_ed25519_sign %.0f op/s\nRESULT openssl_ed25519_verify %.0f op/s\n", $5, $6 }'
}
if [ -x "$tp_native/openssl/apps/openssl" ] && [ -f "$tp_hermit/openssl" ]; then
	openssl_speed "$tp_native/openssl/apps/openssl" | openssl_results > "$scratch/openssl-native.txt"
	openssl_speed env HERMIT_CPUS=1 "$proxy" "$tp_hermit/openssl" | openssl_results > "$scratch/openssl-hermit.txt"
	run native cat "$scratch/openssl-native.txt"
	run hermit cat "$scratch/openssl-hermit.txt"
else
	echo "run-benchmarks: no openssl (third-party sources not fetched?): no OpenSSL results" >&2
fi
# Two spinning threads over one (50 runs per side, as 5 interleaved pairs of 10), and
# CoreMark-style integer work on 1, 2 and nproc threads (10 runs per side, as 10 pairs of 1):
# the worst and median of each side, measured at the same host moments.
interleaved 5 "$native/spin2" 10 -- env HERMIT_CPUS=2 "$proxy" "$hermit/spin2" 10
interleaved 10 "$native/cmark" 1 -- env HERMIT_CPUS=$(nproc) "$proxy" "$hermit/cmark" 1
# The original's basic rows, alone and beside two busy loops per host core (_loaded).
basic_rows() {
	run native "$native/basic"
	run hermit "$proxy" "$hermit/basic"
}
basic_rows
loaded basic_rows
run native "$native/noise" 10
run hermit env HERMIT_CPUS=1 "$proxy" "$hermit/noise" 10

# OpenMP: 1 and 2 threads (HermitCore with 2 vCPUs); STREAM's three arrays need 336 MB.
for threads in 1 2; do
	run native env OMP_NUM_THREADS=$threads "$native/stream"
	run hermit env HERMIT_CPUS=2 HERMIT_MEM=1G OMP_NUM_THREADS=$threads "$proxy" "$hermit/stream"
	run native env OMP_NUM_THREADS=$threads "$native/ompbench"
	run hermit env HERMIT_CPUS=2 OMP_NUM_THREADS=$threads "$proxy" "$hermit/ompbench"
done
# NPB-style kernels at 1 and 2 threads as 3 interleaved pairs each (medians; every run with
# its steal time in the list of interleaved runs).
for threads in 1 2; do
	interleaved 3 env OMP_NUM_THREADS=$threads "$native/npb" -- \
		env HERMIT_CPUS=2 OMP_NUM_THREADS=$threads "$proxy" "$hermit/npb"
done
run native env OMP_NUM_THREADS=2 "$native/pi"
run hermit env HERMIT_CPUS=2 OMP_NUM_THREADS=2 "$proxy" "$hermit/pi"

# Fortran with OpenMP (gfortran natively, x86_64-hermit-gfortran): Jacobi sweep, matrix multiply.
if "$native/fkernels" probe > /dev/null 2>&1 && [ -f "$hermit/fkernels" ]; then
	for threads in 1 2; do
		run native env OMP_NUM_THREADS=$threads "$native/fkernels"
		run hermit env HERMIT_CPUS=2 OMP_NUM_THREADS=$threads "$proxy" "$hermit/fkernels"
	done
else
	echo "run-benchmarks: no runnable native fkernels (it needs the host's libgomp.so.1): no Fortran results" >&2
fi

# Network (issue 13): the guest over a tap on a bridge (MTU 9000) and through passt, against
# the same netbench as a Linux process in a second namespace on that bridge (veth, MTU 9000)
# and behind pasta (c-tests/net/netns_test.py, only inside network namespaces it creates).
# Needs root, the netbench image beside the benchmark images (../tests) and the test script.
net_script=$(dirname "$0")/../net/netns_test.py
net_images=${NET_IMAGES:-$hermit/../tests}
if [ "$(id -u)" != 0 ]; then
	echo "run-benchmarks: *** NOT ROOT: no network benchmarks (they need network namespaces and taps) ***" >&2
elif [ ! -f "$net_script" ] || [ ! -f "$net_images/netbench" ] || [ ! -x "$native/netbench" ]; then
	echo "run-benchmarks: *** no network benchmarks: $net_script, $net_images/netbench or $native/netbench missing ***" >&2
else
	OPENSSL_IMAGE=$tp_hermit/openssl OPENSSL_NATIVE=$tp_native/openssl/apps/openssl \
		python3 "$net_script" bench "$proxy" "$net_images" "$native/netbench" | tee "$scratch/net.txt" |
		awk '$1 == "BENCH" { print $2, $3, $4, $5 }' >> "$results"
	grep -v '^BENCH\|^ok:' "$scratch/net.txt" || true
fi

echo
echo "Interleaved runs (native and HermitCore alternating), each with the host steal time it saw:"
cat "$runs"
echo
echo "Benchmarks on $(uname -n): $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
awk '
	{ key = $2; unit[key] = $4; value[$1 "," key] = $3; if (!(key in seen)) { seen[key] = 1; order[n++] = key } }
	END {
		printf "%-22s %14s %14s %10s  %s\n", "benchmark", "native Linux", "HermitCore", "ratio", "unit"
		for (i = 0; i < n; i++) {
			k = order[i]; nat = value["native," k]; her = value["hermit," k]
			ratio = (nat != "" && her != "" && nat + 0 != 0) ? sprintf("%.2f", her / nat) : "-"
			printf "%-22s %14s %14s %10s  %s\n", k, (nat == "" ? "-" : nat), (her == "" ? "-" : her), ratio, unit[k]
		}
	}' "$results"
