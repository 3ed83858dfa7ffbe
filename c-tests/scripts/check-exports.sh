#!/bin/sh
# check-exports.sh: libhermit.a defines exactly the reviewed allow-list of global symbols, nothing
# more, and the ones marked weak (POSIX threads) are weak.
# usage: check-exports.sh <nm> <libhermit.a> <abi-symbols.txt>
set -u
nm=$1
archive=$2
allowlist=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

"$nm" -g --defined-only "$archive" | awk 'NF == 3 { print $3 }' | sort -u >"$tmp/exported" || exit 1
grep -v '^[[:space:]]*#' "$allowlist" | awk 'NF { print $1 }' | sort -u >"$tmp/allowed"
extra=$(comm -23 "$tmp/exported" "$tmp/allowed")
missing=$(comm -13 "$tmp/exported" "$tmp/allowed")
status=0
if [ -n "$extra" ]; then
	echo "FAIL: libhermit.a exports symbols not on the allow-list:" $extra >&2
	status=1
fi
if [ -n "$missing" ]; then
	echo "FAIL: allow-listed symbols missing from libhermit.a:" $missing >&2
	status=1
fi
weak=$(grep -v '^[[:space:]]*#' "$allowlist" | awk '$2 == "weak" { print $1 }' | sort -u)
strong_weak=$("$nm" -g --defined-only "$archive" | awk 'NF == 3 && $2 != "W" && $2 != "V" { print $3 }' | sort -u | comm -12 - "$(printf '%s\n' $weak > "$tmp/weak"; echo "$tmp/weak")")
if [ -n "$strong_weak" ]; then
	echo "FAIL: symbols marked weak are strong in libhermit.a:" $strong_weak >&2
	status=1
fi
[ $status -eq 0 ] && echo "libhermit.a exports exactly the $(wc -l <"$tmp/allowed") allow-listed symbols"
exit $status
