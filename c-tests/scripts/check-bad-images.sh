#!/bin/sh
# check-bad-images.sh: the proxy refuses files that are not HermitCore images, each with a
# message naming what is wrong, and exits 1 without running anything; --help documents the
# environment variables.
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
	env "$@" "$proxy" "$image" > "$dir/$name.out" 2>&1
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
expect qemu "not supported yet" "$good" HERMIT_ISLE=qemu
expect no-cpus "HERMIT_CPUS" "$good" HERMIT_CPUS=0
"$proxy" --help > "$dir/help.out"
for var in HERMIT_ISLE HERMIT_CPUS HERMIT_MEM HERMIT_VERBOSE; do
	grep -q "$var" "$dir/help.out" || { echo "FAIL --help does not document $var"; status=1; }
done
exit $status
