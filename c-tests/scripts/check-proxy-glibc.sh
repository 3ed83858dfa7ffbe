#!/bin/sh
# check-proxy-glibc.sh: the proxy runs on any x86-64 Linux with glibc >= <version> (the test
# bundle's promise): it uses no symbol of a newer glibc and needs no shared library beyond
# glibc's own and libgcc_s.
# usage: check-proxy-glibc.sh <proxy> <oldest glibc to support, e.g. 2.34>
set -eu
proxy=$1 oldest=$2
versions=$(objdump -T "$proxy" | grep -o '(GLIBC_[0-9][0-9.]*)' | tr -d '()' | sed 's/^GLIBC_//' | sort -uV)
[ -n "$versions" ] || { echo "FAIL: no GLIBC_ symbol versions in $proxy (is it dynamically linked?)"; exit 1; }
status=0
for v in $versions; do
	if [ "$(printf '%s\n%s\n' "$oldest" "$v" | sort -V | tail -n1)" != "$oldest" ]; then
		echo "FAIL: needs glibc $v, newer than $oldest:"
		objdump -T "$proxy" | grep -F "(GLIBC_$v)" | awk '{ print "    " $NF }'
		status=1
	fi
done
for lib in $(objdump -p "$proxy" | awk '$1 == "NEEDED" { print $2 }'); do
	case $lib in
	libc.so.6 | libm.so.6 | libgcc_s.so.1 | ld-linux-x86-64.so.2) ;;
	*) echo "FAIL: needs $lib, which a host with glibc alone may not have"; status=1 ;;
	esac
done
[ "$status" -ne 0 ] || echo "$proxy needs glibc $(printf '%s\n' $versions | tail -n1) at most (allowed: $oldest)" \
	"and $(objdump -p "$proxy" | awk '$1 == "NEEDED" { printf "%s ", $2 }')"
exit $status
