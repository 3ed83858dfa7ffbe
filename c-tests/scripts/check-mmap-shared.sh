#!/bin/sh
# check-mmap-shared.sh: runs posix_mmap_shared and checks on the host the files it wrote through
# MAP_SHARED mappings: stores written back by msync and munmap, and by exit for a mapping never
# unmapped.
# usage: check-mmap-shared.sh <proxy or "native"> <posix_mmap_shared image or program> <scratch directory>
set -eu
proxy=$1 image=$2 dir=$3
rm -rf "$dir"
mkdir -p "$dir"
prefix="$dir/shared"
if [ "$proxy" = native ]; then
	"$image" "$prefix" > "$dir/run.log" 2>&1 || { cat "$dir/run.log"; echo "posix_mmap_shared failed"; exit 1; }
else
	"$proxy" "$image" "$prefix" > "$dir/run.log" 2>&1 || { cat "$dir/run.log"; echo "posix_mmap_shared failed"; exit 1; }
fi
cat "$dir/run.log"
fail() { echo "host check failed: $*"; exit 1; }
# The expected .data: the alphabet repeated over 10000 bytes, then the program's changes.
python3 - "$prefix.data" "$prefix.exit" <<'PY' || fail "file contents differ (above)"
import sys
data = bytearray(ord("a") + i % 26 for i in range(10000))
for offset, text in ((1, b"N"), (100, b"HELLO"), (200, b"Y"), (300, b"W"), (4106, b"Z"), (5000, b"X"), (9000, b"abc")):
    data[offset:offset + len(text)] = text
data += b"TAIL"
made = bytearray(8192)
made[0:18] = b"stored before exit"
made[8191:] = b"E"
ok = True
for path, want in ((sys.argv[1], data), (sys.argv[2], made)):
    got = open(path, "rb").read()
    if got != want:
        first = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]), min(len(got), len(want)))
        print(f"{path}: {len(got)} bytes, expected {len(want)}; first difference at {first}")
        ok = False
sys.exit(0 if ok else 1)
PY
echo "host side ok: stores written back by msync, munmap and exit"
