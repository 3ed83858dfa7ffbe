#!/bin/sh
# check-internal-error.sh: an instruction KVM cannot emulate (an AVX load from a guest-physical
# address that is not RAM, at CPL 0) ends the guest with a report that names the guest RIP and
# the instruction bytes, not a bare exit code. A hand-made image: entry at 0x800000.
# usage: check-internal-error.sh <proxy> <scratch directory>
set -eu
proxy=$1 dir=$2
mkdir -p "$dir"
cat > "$dir/emul.s" <<'ASM'
	.intel_syntax noprefix
	.globl _start
	.text
_start:
	mov eax, 0x10000000
	vmovdqu ymm0, [rax]
	hlt
ASM
as -o "$dir/emul.o" "$dir/emul.s"
printf "SECTIONS { . = 0x800000; .text : { *(.text) } }\n" > "$dir/emul.ld"
ld -N --no-warn-rwx-segments -T "$dir/emul.ld" -e _start -o "$dir/emul" "$dir/emul.o"
printf '\377' | dd of="$dir/emul" bs=1 seek=7 conv=notrunc 2>/dev/null
set +e
HERMIT_MEM=64M "$proxy" "$dir/emul" > "$dir/emul.out" 2>&1
code=$?
set -e
cat "$dir/emul.out"
[ "$code" -eq 1 ] || { echo "status $code, expected 1"; exit 1; }
grep -q "rip 0x800005" "$dir/emul.out" || { echo "no guest RIP in the report"; exit 1; }
grep -q "instruction bytes at rip: c5 fe 6f 00" "$dir/emul.out" || { echo "no instruction bytes in the report"; exit 1; }
grep -Eq "instruction emulator failed|not guest memory" "$dir/emul.out" || { echo "the cause is not named"; exit 1; }
echo "internal error reported with RIP and instruction bytes"
