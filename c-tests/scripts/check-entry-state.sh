#!/bin/sh
# check-entry-state.sh: every vCPU starts in exactly the original uhyve's register state.
# usage: check-entry-state.sh <prefix bin dir> <proxy> <entry.s> <scratch dir>
#
# Builds the minimal image c-tests/entry-state/entry.s (a few dozen instructions, no kernel),
# runs it on 1 and 2 vCPUs and compares the registers each vCPU reported with the contract in
# ARCHITECTURE.md ("The entry contract").
set -u
bin=$1
proxy=$2
src=$3
work=$4
rm -rf "$work"
mkdir -p "$work" || exit 1
"$bin/x86_64-hermit-as" "$src" -o "$work/entry.o" || { echo "FAIL: assembling $src" >&2; exit 1; }
"$bin/x86_64-hermit-ld" -N -Ttext=0x800000 -e _start "$work/entry.o" -o "$work/entry" 2>"$work/ld.log" ||
	{ cat "$work/ld.log" >&2; echo "FAIL: linking the image" >&2; exit 1; }

names="rax rbx rcx rdx rsi rdi rbp rsp r8 r9 r10 r11 r12 r13 r14 r15 rflags cr0 cr3 cr4 efer xcr0_not_read cs ds es fs gs ss gdt_base gdt_limit fcw mxcsr_not_read"
# The original uhyve: general registers zero but RIP/RFLAGS; KVM's reset CR0 (CD|NW|ET) plus PE|PG;
# CR4 = PAE; EFER = LME|LMA; CS 0x08, data segments 0x10;
# its GDT at 0x1000 with three entries; the x87 control word at its reset value. XCR0 and
# MXCSR cannot be read at CPL 0 on PVM hosts (KVM's emulator fails on xgetbv and stmxcsr).
expected() {
	case $1 in
	rflags) echo 2 ;;
	cr0) echo e0000011 ;;
	cr3) echo 10000 ;;
	cr4) echo 20 ;;
	efer) echo 500 ;;
	cs) echo 8 ;;
	ds | es | fs | gs | ss) echo 10 ;;
	gdt_base) echo 1000 ;;
	gdt_limit) echo 17 ;;
	fcw) echo 37f ;;
	*) echo 0 ;;
	esac
}

status=0
for cpus in 1 2; do
	HERMIT_CPUS=$cpus "$proxy" "$work/entry" >"$work/out$cpus.bin" 2>"$work/err$cpus.txt"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "FAIL: the image exited with $rc on $cpus vCPUs: $(cat "$work/err$cpus.txt")" >&2
		status=1
		continue
	fi
	size=$(wc -c <"$work/out$cpus.bin")
	if [ "$size" -ne $((cpus * 256)) ]; then
		echo "FAIL: $cpus vCPUs reported $size bytes, expected $((cpus * 256))" >&2
		status=1
		continue
	fi
	od -An -v -tx8 -w8 "$work/out$cpus.bin" | tr -d ' ' >"$work/values$cpus.txt"
	cpu=0
	while [ $cpu -lt $cpus ]; do
		i=0
		for name in $names; do
			line=$((cpu * 32 + i + 1))
			value=$(sed -n "${line}p" "$work/values$cpus.txt" | sed 's/^0*//')
			[ -n "$value" ] || value=0
			want=$(expected "$name")
			if [ "$value" = "$want" ]; then
				echo "vCPU $cpu of $cpus: $name = 0x$value"
			else
				echo "FAIL: vCPU $cpu of $cpus: $name = 0x$value, expected 0x$want" >&2
				status=1
			fi
			i=$((i + 1))
		done
		cpu=$((cpu + 1))
	done
done
[ $status -eq 0 ] && echo "entry state of every vCPU: OK"
exit $status
