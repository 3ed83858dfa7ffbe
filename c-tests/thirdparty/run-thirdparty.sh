#!/bin/sh
# run-thirdparty.sh: one third-party test (a CTest command), run under the proxy and checked
# on the host with the host's own tools.
# Exit status 77 (CTest: skipped) when SQLite could not be built for lack of POSIX functions.
# usage: run-thirdparty.sh lua|sqlite|gzip|curl|cares|libevent|zeromq|openssl <proxy> <images dir> <state.cmake> <scratch dir> <source dir>
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
	# Again in write-ahead-log mode with memory-mapped I/O: SQLite maps its -shm index and the
	# database with MAP_SHARED.
	db=$scratch/wal.db
	"$proxy" "$images/sqlite_main" build-wal "$db" "$src/sqlite-queries.sql" "$scratch/guest-wal.txt"
	[ "$(sqlite3 "$db" 'PRAGMA journal_mode')" = wal ] || { echo "the database is not in WAL mode"; exit 1; }
	sqlite3 "$db" < "$src/sqlite-queries.sql" > "$scratch/host-wal.txt"
	if ! cmp -s "$scratch/guest-wal.txt" "$scratch/host-wal.txt" || ! cmp -s "$scratch/host.txt" "$scratch/host-wal.txt"; then
		echo "the WAL database's query results differ (guest, host, and the first database's):"
		diff "$scratch/guest-wal.txt" "$scratch/host-wal.txt" || true
		diff "$scratch/host.txt" "$scratch/host-wal.txt" || true
		exit 1
	fi
	echo "sqlite: WAL mode with mmap_size, the same result lines in the guest and on the host"
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
	# What the tool says it was built with (the network runs: net.curl-tap, net.curl-user,
	# net.openssl-tap).
	[ -f "$images/curl" ] || { echo "$images/curl was not built although the sources are there"; exit 1; }
	"$proxy" "$images/curl" --version > "$scratch/version.txt"
	cat "$scratch/version.txt"
	grep -q '^curl 8\.22\.0[- ]' "$scratch/version.txt" || { echo "not curl 8.22.0"; exit 1; }
	grep -q '^Protocols:.* http\( \|$\)' "$scratch/version.txt" || { echo "http is not among the protocols"; exit 1; }
	grep -q '^Features:.* libz\( \|$\)' "$scratch/version.txt" || { echo "libz is not among the features"; exit 1; }
	grep -q '^Protocols:.* https\( \|$\)' "$scratch/version.txt" || { echo "https is not among the protocols"; exit 1; }
	grep -q ' OpenSSL/3\.5\.5 ' "$scratch/version.txt" || { echo "not linked with OpenSSL 3.5.5"; exit 1; }
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
openssl)
	# The openssl tool in the guest, checked by the host's own openssl (Debian's 3.0): digests,
	# ciphers and signatures made on one side and checked on the other, a certificate made
	# with the host's openssl.cnf (OPENSSLDIR /usr/lib/ssl), and `speed`, timed by alarm().
	ossl=$images/openssl
	[ -f "$ossl" ] || { echo "$ossl was not built although the sources are there"; exit 1; }
	command -v openssl >/dev/null || { echo "the host's openssl is missing (apt-get install openssl)"; exit 1; }
	"$proxy" "$ossl" version | tee "$scratch/version.txt"
	grep -q '^OpenSSL 3\.5\.5 ' "$scratch/version.txt" || { echo "not OpenSSL 3.5.5"; exit 1; }
	data=$scratch/data.bin
	head -c 3000000 /dev/urandom > "$data"
	guest=$("$proxy" "$ossl" dgst -sha256 -r "$data" | cut -d' ' -f1)
	host=$(sha256sum "$data" | cut -d' ' -f1)
	[ "$guest" = "$host" ] || { echo "SHA-256: the guest says $guest, sha256sum $host"; exit 1; }
	"$proxy" "$ossl" enc -aes-256-cbc -pbkdf2 -pass pass:hermit -in "$data" -out "$scratch/guest.enc"
	openssl enc -d -aes-256-cbc -pbkdf2 -pass pass:hermit -in "$scratch/guest.enc" | cmp - "$data"
	openssl enc -chacha20 -pbkdf2 -pass pass:hermit -in "$data" -out "$scratch/host.enc"
	"$proxy" "$ossl" enc -d -chacha20 -pbkdf2 -pass pass:hermit -in "$scratch/host.enc" -out "$scratch/back.bin"
	cmp "$scratch/back.bin" "$data"
	# An RSA key and a signature from the guest, verified by the host.
	"$proxy" "$ossl" genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$scratch/rsa.pem"
	openssl pkey -in "$scratch/rsa.pem" -check -noout
	openssl pkey -in "$scratch/rsa.pem" -pubout -out "$scratch/rsa.pub"
	"$proxy" "$ossl" dgst -sha256 -sign "$scratch/rsa.pem" -out "$scratch/guest.sig" "$data"
	openssl dgst -sha256 -verify "$scratch/rsa.pub" -signature "$scratch/guest.sig" "$data"
	# An Ed25519 key and a signature from the host, verified by the guest; a bad one refused.
	openssl genpkey -algorithm ED25519 -out "$scratch/ed.pem"
	openssl pkey -in "$scratch/ed.pem" -pubout -out "$scratch/ed.pub"
	head -c 4096 "$data" > "$scratch/msg.bin"
	openssl pkeyutl -sign -rawin -inkey "$scratch/ed.pem" -in "$scratch/msg.bin" -out "$scratch/host.sig"
	"$proxy" "$ossl" pkeyutl -verify -rawin -pubin -inkey "$scratch/ed.pub" -in "$scratch/msg.bin" \
		-sigfile "$scratch/host.sig" | grep -qx 'Signature Verified Successfully'
	printf 'x' | dd of="$scratch/msg.bin" bs=1 seek=100 conv=notrunc 2>/dev/null
	if "$proxy" "$ossl" pkeyutl -verify -rawin -pubin -inkey "$scratch/ed.pub" -in "$scratch/msg.bin" \
		-sigfile "$scratch/host.sig" > "$scratch/bad.txt" 2>&1; then
		echo "the guest verified a signature of a changed message"; exit 1
	fi
	grep -q 'Signature Verification Failure' "$scratch/bad.txt"
	# A self-signed certificate made with the host's openssl.cnf, checked by the host.
	"$proxy" "$ossl" req -x509 -new -key "$scratch/rsa.pem" -subj /CN=hermit.test -days 2 -out "$scratch/cert.pem"
	openssl x509 -in "$scratch/cert.pem" -noout -subject | grep -qx 'subject=CN = hermit.test'
	openssl verify -CAfile "$scratch/cert.pem" "$scratch/cert.pem"
	# speed times each test with alarm(): on one vCPU it never ended before the scheduler fix.
	HERMIT_CPUS=1 timeout 60 "$proxy" "$ossl" speed -seconds 1 -bytes 16384 sha256 > "$scratch/speed.txt"
	grep -Eq '^sha256 +[0-9.]+k$' "$scratch/speed.txt" || { cat "$scratch/speed.txt"; echo "no sha256 rate"; exit 1; }
	echo "openssl: SHA-256, AES-256-CBC and ChaCha20 with PBKDF2, RSA-2048 and Ed25519 signatures" \
		"agree with the host's openssl both ways; a certificate made in the guest verifies; speed: $(tail -1 "$scratch/speed.txt")"
	;;
*)
	echo "unknown test $what"
	exit 2
	;;
esac
rm -rf "$scratch"
