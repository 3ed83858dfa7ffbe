#!/bin/sh
# check-bad-images.sh: the proxy refuses files that are not HermitCore images, each with a
# message naming what is wrong, and exits 1 at once without running anything (FIFOs and
# devices without reading them); more vCPUs than host CPUs give a warning, more than four
# per host CPU a refusal; --help documents the environment variables. Images whose kernel
# speaks another revision of the extension protocol (a stamp in the header extension at
# image + 0x160: "HRSk" and the revision), or that are this project's but carry no stamp (built
# before it existed), are refused before they boot, never left to hang; over the original
# protocol (HERMIT_UHYVE_COMPAT=1) they run. Hand-made hostile images (hostile-elves.py) and
# absurd HERMIT_* values get a message and status 1 as well.
# usage: check-bad-images.sh <proxy> <a good image> <scratch directory>
set -eu
proxy=$1 good=$2 dir=$3
mkdir -p "$dir"
status=0
# expect <name> <output pattern> <image> [VAR=value...]
expect() {
	name=$1 pattern=$2 image=$3
	shift 3
	set +e
	timeout 10 env "$@" "$proxy" "$image" > "$dir/$name.out" 2>&1
	code=$?
	set -e
	if [ "$code" -ne 1 ] || ! grep -q "$pattern" "$dir/$name.out"; then
		echo "FAIL $name: status $code, output:"; cat "$dir/$name.out"; status=1
	else
		echo "ok   $name: $(cat "$dir/$name.out")"
	fi
}
printf 'this is a text file, not an image\n' > "$dir/text"
expect text "not an ELF file" "$dir/text"
printf '.globl _start\n_start: ret\n' > "$dir/elf32.s"
as --32 -o "$dir/elf32.o" "$dir/elf32.s" && ld -m elf_i386 -o "$dir/elf32" "$dir/elf32.o"
expect elf32 "32-bit ELF file" "$dir/elf32"
expect linux "this is a Linux program" /bin/true
head -c 4000 "$good" > "$dir/truncated"
expect truncated "truncated" "$dir/truncated"
expect missing "cannot read" "$dir/does-not-exist"
cp "$good" "$dir/old-abi" && printf '\102' | dd of="$dir/old-abi" bs=1 seek=7 conv=notrunc 2>/dev/null
expect old-abi "pre-2018 HermitCore ABI" "$dir/old-abi"
expect bad-memory "HERMIT_MEM" "$good" HERMIT_MEM=lots
# Hand-made images that break one rule each: segments outside memory or the file, sizes
# near 2^64, no or too many program headers, an entry the boot page tables do not map.
mkdir -p "$dir/elves"
python3 "$(dirname "$0")/hostile-elves.py" "$dir/elves" > "$dir/elves/list"
while read -r name mem message; do
	expect "elf-$name" "$message" "$dir/elves/$name" HERMIT_MEM="$mem"
done < "$dir/elves/list"
[ "$(wc -l < "$dir/elves/list")" -ge 14 ] || { echo "FAIL hostile-elves.py wrote no images"; status=1; }
# The header page's place in the file: the first PT_LOAD segment (it starts at _start).
header=$(($(readelf -lW "$good" | awk '$1 == "LOAD" { print $2; exit }')))
stamp=$((header + 0x160))
[ "$(dd if="$good" bs=1 skip=$stamp count=4 2>/dev/null)" = HRSk ] \
	|| { echo "FAIL the image carries no protocol stamp at file offset $stamp"; status=1; }
cp "$good" "$dir/other-revision" && printf '\001' | dd of="$dir/other-revision" bs=1 seek=$((stamp + 4)) conv=notrunc 2>/dev/null
expect other-revision "the image's kernel speaks revision 1 of this project's extension protocol" "$dir/other-revision"
cp "$good" "$dir/unstamped" && head -c 8 /dev/zero | dd of="$dir/unstamped" bs=1 seek=$stamp conv=notrunc 2>/dev/null
expect unstamped "built by an older build of this project" "$dir/unstamped"
# Over the original protocol the proxy writes no extension block: the stale image runs.
set +e
timeout 60 env HERMIT_UHYVE_COMPAT=1 "$proxy" "$dir/unstamped" > "$dir/unstamped-compat.out" 2>&1
code=$?
set -e
if [ "$code" -ne 0 ] || ! grep -q "Hello World" "$dir/unstamped-compat.out"; then
	echo "FAIL unstamped-compat: status $code, output:"; cat "$dir/unstamped-compat.out"; status=1
else
	echo "ok   unstamped-compat: runs over the original protocol"
fi
expect unknown-isle "unknown monitor; supported: uhyve (the default) and qemu" "$good" HERMIT_ISLE=baremetal
expect no-cpus "HERMIT_CPUS" "$good" HERMIT_CPUS=0
expect memory-petabyte "HERMIT_MEM=\"1P\"" "$good" HERMIT_MEM=1P
expect memory-negative "HERMIT_MEM=\"-5\"" "$good" HERMIT_MEM=-5
expect port-twice "port 80 is listed twice" "$good" HERMIT_NETIF=user HERMIT_APP_PORT=80,80
expect port-zero "expected port numbers 1-65535" "$good" HERMIT_NETIF=user HERMIT_APP_PORT=0,70000
expect affinity-backwards "runs backwards" "$good" HERMIT_CPU_AFFINITY=5-1
expect netif-not-tap "not an open descriptor of a tap" "$good" HERMIT_NETIF=@0
long=$(head -c 100000 /dev/zero | tr '\0' 7)
expect long-value "(100000 bytes): expected a number" "$good" HERMIT_CPUS="$long"
rm -f "$dir/fifo" && mkfifo "$dir/fifo"
expect fifo "is a FIFO; an image must be a regular file" "$dir/fifo"
expect dev-zero "is a character device; an image must be a regular file" /dev/zero
expect directory "is a directory; an image must be a regular file" "$dir"
head -c $((33 << 20)) /dev/zero > "$dir/huge" && cat "$good" >> "$dir/huge"
expect larger-than-memory "more than guest memory" "$dir/huge" HERMIT_MEM=32M
# Arguments beyond 2 MiB (Linux's default ARG_MAX; a larger stack limit lets the proxy
# itself receive them) are refused, not cut.
big=$(head -c 100000 /dev/zero | tr '\0' x)
set +e
(
	ulimit -s 65536
	set --
	while [ $# -lt 30 ]; do set -- "$@" "$big"; done
	exec timeout 10 "$proxy" "$good" "$@"
) > "$dir/args-too-long.out" 2>&1
code=$?
set -e
if [ "$code" -ne 1 ] || ! grep -q "more than the 2097152 a program can receive" "$dir/args-too-long.out"; then
	echo "FAIL args-too-long: status $code, output:"; head -c 300 "$dir/args-too-long.out"; status=1
else
	echo "ok   args-too-long: $(cat "$dir/args-too-long.out")"
fi
host_cpus=$(nproc)
expect too-many-cpus "more than 4 vCPUs per host CPU .*are accepted" "$good" HERMIT_CPUS=$((4 * host_cpus + 1))
# More vCPUs than host CPUs: a warning, and the program runs.
set +e
timeout 60 env HERMIT_CPUS=$((host_cpus + 1)) "$proxy" "$good" > "$dir/more-cpus.out" 2>&1
code=$?
set -e
if [ "$code" -ne 0 ] || ! grep -q "warning: HERMIT_CPUS=$((host_cpus + 1)) is more than" "$dir/more-cpus.out" \
	|| ! grep -q "Hello World" "$dir/more-cpus.out"; then
	echo "FAIL more-cpus: status $code, output:"; cat "$dir/more-cpus.out"; status=1
else
	echo "ok   more-cpus: $(head -1 "$dir/more-cpus.out")"
fi
"$proxy" --help > "$dir/help.out"
for var in HERMIT_ISLE HERMIT_CPUS HERMIT_MEM HERMIT_VERBOSE; do
	grep -q "$var" "$dir/help.out" || { echo "FAIL --help does not document $var"; status=1; }
done
exit $status
