#!/bin/sh
# check-layout.sh: a linked image has the original HermitCore layout (libhermit-abi.md §1 facts 2-6, §6.2).
# usage: check-layout.sh <readelf> <image>
set -u
readelf=$1
image=$2
status=0
fail() {
	echo "FAIL: $*" >&2
	status=1
}

symbols=$("$readelf" -sW "$image") || exit 1
# expect_symbol <name> <address>: the symbol (local or global) is at exactly this address.
expect_symbol() {
	want=$(printf '%016x' "$2")
	got=$(printf '%s\n' "$symbols" | awk -v name="$1" '$8 == name { print $2; exit }')
	if [ "$got" != "$want" ]; then
		fail "symbol $1 at ${got:-<missing>}, expected $want"
	fi
}

# The kernel header at 0x800000 (offsets of §6.2).
expect_symbol _start 0x800000
expect_symbol kernel_start 0x800000
while read -r name offset; do
	expect_symbol "$name" $((0x800000 + offset))
done <<'TABLE'
base 0x08
limit 0x10
cpu_freq 0x18
boot_processor 0x1C
cpu_online 0x20
possible_cpus 0x24
phy_rcce_internals 0x28
current_boot_id 0x30
isle 0x34
image_size 0x38
phy_isle_locks 0x40
heap_phy_start_address 0x48
header_phy_start_address 0x50
heap_size 0x58
header_size 0x5C
possible_isles 0x60
heap_start_address 0x64
header_start_address 0x6C
disable_x2apic 0x74
single_kernel 0x78
mb_info 0x7C
hbmem_base 0x84
hbmem_size 0x8C
uhyve 0x94
uartport 0x98
cmdline 0xA0
cmdsize 0xA8
hcip 0xB0
hcgateway 0xB4
hcmask 0xB8
host_logical_addr 0xBC
boot_pml4 0x1000
boot_pdpt 0x2000
boot_pgd 0x3000
boot_pgt 0x4000
kmessages 0x5000
TABLE

# ELF header: static executable for HermitCore.
header=$("$readelf" -hW "$image") || exit 1
printf '%s\n' "$header" | grep -q 'Type:[[:space:]]*EXEC' || fail "not ET_EXEC"
printf '%s\n' "$header" | grep -q 'OS/ABI:[[:space:]]*<unknown: ff>' || fail "EI_OSABI is not 0xff"
printf '%s\n' "$header" | grep -q 'Entry point address:[[:space:]]*0x800000$' || fail "entry point is not 0x800000"
printf '%s\n' "$header" | grep -q 'Machine:[[:space:]]*Advanced Micro Devices X86-64' || fail "not x86-64"

segments=$("$readelf" -lW "$image") || exit 1
printf '%s\n' "$segments" | grep -q 'INTERP' && fail "image has a PT_INTERP"
printf '%s\n' "$segments" | grep -q 'DYNAMIC' && fail "image has a PT_DYNAMIC"
first_load=$(printf '%s\n' "$segments" | awk '$1 == "LOAD" { print $3; exit }')
[ "$first_load" = "0x0000000000800000" ] || fail "first PT_LOAD at $first_load, expected 0x800000"
"$readelf" -dW "$image" | grep -q 'There is no dynamic section' || fail "image has a dynamic section"

# .mboot is the first section at 0x800000 and .kmsg follows at +0x5000 inside it.
sections=$("$readelf" -SW "$image") || exit 1
printf '%s\n' "$sections" | grep -Eq '\] \.mboot +PROGBITS +0000000000800000 ' ||
	fail ".mboot is not at 0x800000"

[ $status -eq 0 ] && echo "layout of $image: OK"
exit $status
