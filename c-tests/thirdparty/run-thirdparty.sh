#!/bin/sh
# run-thirdparty.sh: one third-party test (a CTest command), run under the proxy and checked
# on the host with the host's own tools.
# Exit status 77 (CTest: skipped) when SQLite could not be built for lack of POSIX functions.
# usage: run-thirdparty.sh lua|sqlite|gzip|curl|cares|libevent|zeromq <proxy> <images dir> <state.cmake> <scratch dir> <source dir>
set -eu
what=$1 proxy=$2 images=$3 state=$4 scratch=$5 src=$6

if ! grep -q 'THIRDPARTY_AVAILABLE TRUE' "$state" 2>/dev/null; then
	echo "********************************************************************************"
	echo "*** THIRD-PARTY SOURCES UNAVAILABLE: this test cannot run."
	[ -f "$state" ] && sed -n 's/.*THIRDPARTY_REASON "\(.*\)")/*** \1/p' "$state"
	echo "*** They are fetched from the crates registry by the build (cargo vendor); build with"
	echo "*** the registry reachable, or run the suite without them: ctest -LE thirdparty"
	echo "********************************************************************************"
	exit 1
fi
rm -rf "$scratch"
mkdir -p "$scratch"

case $what in
lua)
	"$proxy" "$images/lua_main" "$src/checks.lua" "$scratch"
	;;
sqlite)
	if [ -f "$images/sqlite_main.missing" ]; then
		echo "********************************************************************************"
		echo "*** SKIPPED: sqlite_main could not be built, the hermit C library lacks:"
		echo "***   $(cat "$images/sqlite_main.missing")"
		echo "********************************************************************************"
		exit 77
	fi
	command -v sqlite3 >/dev/null || { echo "the host's sqlite3 shell is missing (apt-get install sqlite3)"; exit 1; }
	db=$scratch/test.db
	"$proxy" "$images/sqlite_main" build "$db" "$src/sqlite-queries.sql" "$scratch/guest.txt"
	# A second process, the host's sqlite3 shell, reopens the database: the same rows.
	sqlite3 "$db" < "$src/sqlite-queries.sql" > "$scratch/host.txt"
	if ! cmp -s "$scratch/guest.txt" "$scratch/host.txt"; then
		echo "the guest's and the host's sqlite3 query results differ:"
		diff "$scratch/guest.txt" "$scratch/host.txt" || true
		exit 1
	fi
	grep -qx ok "$scratch/host.txt" || { echo "PRAGMA integrity_check did not say ok"; exit 1; }
	head -1 "$scratch/host.txt" | grep -q '^99900|' || { echo "unexpected row count: $(head -1 "$scratch/host.txt")"; exit 1; }
	echo "sqlite: the host's sqlite3 read the same $(wc -l < "$scratch/host.txt") result lines"
	;;
gzip)
	data=$scratch/data.txt
	"$proxy" "$images/gzip_main" gen "$data" 50
	[ "$(wc -c < "$data")" -ge 52428800 ] || { echo "the generated file is short"; exit 1; }
	"$proxy" "$images/gzip_main" compress "$data" "$scratch/guest.gz"
	gzip -dc "$scratch/guest.gz" | cmp - "$data"
	gzip -c6 "$data" > "$scratch/host.gz"
	"$proxy" "$images/gzip_main" decompress "$scratch/host.gz" "$scratch/back.txt"
	cmp "$scratch/back.txt" "$data"
	echo "gzip: $(wc -c < "$data") bytes, compressed by the guest to $(wc -c < "$scratch/guest.gz")," \
		"decompressed by gzip -d byte-identical; gzip's output decompressed by the guest byte-identical"
	;;
curl)
	# What the tool says it was built with (the network runs: net.curl-tap, net.curl-user).
	[ -f "$images/curl" ] || { echo "$images/curl was not built although the sources are there"; exit 1; }
	"$proxy" "$images/curl" --version > "$scratch/version.txt"
	cat "$scratch/version.txt"
	grep -q '^curl 8\.22\.0[- ]' "$scratch/version.txt" || { echo "not curl 8.22.0"; exit 1; }
	grep -q '^Protocols:.* http\( \|$\)' "$scratch/version.txt" || { echo "http is not among the protocols"; exit 1; }
	grep -q '^Features:.* libz\( \|$\)' "$scratch/version.txt" || { echo "libz is not among the features"; exit 1; }
	;;
cares)
	# c-ares in one guest against the driver's own DNS responder thread (cares_main.c): A and
	# AAAA answers, a truncated UDP answer retried over TCP, NXDOMAIN, a silent server's timeout.
	for prog in cares_main adig ahost; do
		[ -f "$images/$prog" ] || { echo "$images/$prog was not built although the sources are there"; exit 1; }
	done
	"$proxy" "$images/cares_main" selftest > "$scratch/out.txt" || { cat "$scratch/out.txt"; echo "cares_main failed"; exit 1; }
	cat "$scratch/out.txt"
	grep -qx 'getaddrinfo a.test AF_INET: 192.0.2.1 192.0.2.2' "$scratch/out.txt"
	grep -qx 'getaddrinfo a.test AF_INET6: 2001:db8::1' "$scratch/out.txt"
	grep -qx 'query big.test A: 192.0.2.10 192.0.2.11 192.0.2.12 192.0.2.13' "$scratch/out.txt"
	grep -qx 'big.test: 1 UDP and 1 TCP queries' "$scratch/out.txt"
	grep -qx 'query nx.test A: Domain name not found' "$scratch/out.txt"
	grep -qx 'getaddrinfo nx.test: Domain name not found' "$scratch/out.txt"
	grep -qx 'query a.test A via a silent server: Timeout while contacting DNS servers' "$scratch/out.txt"
	grep -qx 'c-ares 1.34.9 selftest: ok' "$scratch/out.txt"
	;;
libevent)
	# libevent's regression suite and test programs, each test in a guest of its own
	# (libevent_regress.py: the known failures and why).
	[ -f "$images/libevent/regress" ] || { echo "$images/libevent/regress was not built although the sources are there"; exit 1; }
	python3 "$src/libevent_regress.py" "$proxy" "$images/libevent"
	;;
zeromq)
	# ZeroMQ's test suite, each test program in a guest of its own (zeromq_tests.py: the
	# known failures and why); the programs stay in the build tree ($HERMIT_ZEROMQ_TESTS).
	[ -f "${HERMIT_ZEROMQ_TESTS:-}/test_pair_tcp" ] || { echo "ZeroMQ's tests were not built in '${HERMIT_ZEROMQ_TESTS:-}' although the sources are there"; exit 1; }
	python3 "$src/zeromq_tests.py" "$proxy" "$HERMIT_ZEROMQ_TESTS" "$scratch"
	;;
*)
	echo "unknown test $what"
	exit 2
	;;
esac
rm -rf "$scratch"
