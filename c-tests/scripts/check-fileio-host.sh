#!/bin/sh
# check-fileio-host.sh: runs the fileio image and checks on the host what it wrote: 1 MiB of
# its pattern followed by the line "end 42".
# usage: check-fileio-host.sh <proxy> <fileio image> <scratch directory>
set -eu
proxy=$1 image=$2 dir=$3
mkdir -p "$dir"
file="$dir/fileio-host.dat"
rm -f "$file"
"$proxy" "$image" "$file" "$dir/missing" > "$dir/fileio-host.log" 2>&1 || {
	cat "$dir/fileio-host.log"; echo "fileio failed"; exit 1; }
size=$(stat -c %s "$file")
[ "$size" -eq $((1048576 + 7)) ] || { echo "size $size, expected 1048583"; exit 1; }
for offset in 0 1 4095 4096 12345 1048575; do
	got=$(od -An -tu1 -j "$offset" -N1 "$file" | tr -d ' ')
	want=$(( (offset * 7 + (offset >> 12)) & 255 ))
	[ "$got" -eq "$want" ] || { echo "byte $offset is $got, expected $want"; exit 1; }
done
[ "$(tail -c 7 "$file")" = "end 42" ] || { echo "the appended line is missing"; exit 1; }
echo "host file ok: $size bytes, pattern and appended line verified"
