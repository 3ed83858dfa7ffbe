#!/bin/sh
# check-confine-mount.sh: runs the confine image in the file sandbox and checks on the host
# that it wrote only where it may. The tree: <dir>/rw (mounted read-write at /data, the
# proxy's working directory) with inside.txt and symbolic links that stay inside
# (inner-link) or point out (etc-link -> /etc, secret-link -> ../secret.txt, dir-link -> ..);
# <dir>/ro (mounted read-only at /ro); <dir>/secret.txt outside both.
# usage: check-confine-mount.sh <proxy> <confine image> <scratch directory> env|flag
set -eu
proxy=$1 image=$2 dir=$3 how=$4
rm -rf "$dir"
mkdir -p "$dir/rw" "$dir/ro/subdir"
echo inside > "$dir/rw/inside.txt"
echo readonly > "$dir/ro/readonly.txt"
echo secret > "$dir/secret.txt"
ln -s inside.txt "$dir/rw/inner-link"
ln -s /etc "$dir/rw/etc-link"
ln -s ../secret.txt "$dir/rw/secret-link"
ln -s .. "$dir/rw/dir-link"
cd "$dir/rw"
status=0
if [ "$how" = env ]; then
	HERMIT_VERBOSE=1 HERMIT_MOUNT="$dir/rw:/data,$dir/ro:/ro:ro" "$proxy" "$image" mount /data /ro \
		> "$dir/log" 2>&1 || status=$?
else
	HERMIT_VERBOSE=1 "$proxy" --mount "$dir/rw:/data" --mount="$dir/ro:/ro:ro" "$image" mount /data /ro \
		> "$dir/log" 2>&1 || status=$?
fi
cat "$dir/log"
[ "$status" -eq 0 ] || { echo "exit status $status, expected 0"; exit 1; }
grep -Eq "Landlock (Fully|Partially) enforced for 2 mount\(s\)" "$dir/log" || { echo "Landlock was not enforced"; exit 1; }
[ "$(cat "$dir/rw/new.txt")" = "written by the guest" ] || { echo "rw/new.txt is wrong"; exit 1; }
[ "$(cat "$dir/rw/relative.txt")" = "relative" ] || { echo "rw/relative.txt is wrong"; exit 1; }
[ "$(cat "$dir/secret.txt")" = "secret" ] || { echo "secret.txt changed"; exit 1; }
[ "$(cat "$dir/ro/readonly.txt")" = "readonly" ] || { echo "ro/readonly.txt changed"; exit 1; }
[ "$(ls "$dir/ro")" = "readonly.txt
subdir" ] || { echo "ro/ changed: $(ls "$dir/ro")"; exit 1; }
for f in "$dir/created-by-guest" /etc/created-by-guest "$dir/made-by-guest" "$dir/rw/guest-link"; do
	[ ! -e "$f" ] && [ ! -L "$f" ] || { echo "$f exists"; exit 1; }
done
echo "file sandbox ok ($how): inside written, outside and read-only trees untouched"
