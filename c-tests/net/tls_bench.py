"""tls_bench.py: the bench's TLS rows: OpenSSL's s_server in the guest on its tap against the same OpenSSL as a Linux process on the bridge's veth.

OpenSSL 3.5.5 from c-tests/thirdparty for both sides: the guest's `openssl` image
($OPENSSL_IMAGE) and the native build ($OPENSSL_NATIVE), given by run-benchmarks.sh. The
host's own openssl (`s_time`) and curl are the clients, in the tap's namespace. Rows: full
TLS 1.3 handshakes per second (RSA-2048 certificate, a new session each, `s_time -new`), and
a 64 MiB file over HTTPS (`s_server -WWW`, TLS_AES_256_GCM_SHA384) fetched by curl.
"""

import os
import re
import subprocess
import tempfile
import threading
import time

from netns_test import GUEST, Guest, check, wait_line

HANDSHAKE_SECONDS = 10
FILE_BYTES = 64 << 20


def certificate(where):
    """A self-signed RSA-2048 certificate (the clients do not verify it)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=bench",
                    "-keyout", "key.pem", "-out", "cert.pem"], check=True, capture_output=True, cwd=where)


def handshakes(ns, addr, port):
    """Full handshakes per second from the host's s_time (wall time around it)."""
    start = time.monotonic()
    r = ns.run(["openssl", "s_time", "-connect", f"{addr}:{port}", "-new", "-time", str(HANDSHAKE_SECONDS)],
               timeout=HANDSHAKE_SECONDS + 60)
    elapsed = time.monotonic() - start
    done = re.search(r"(\d+) connections in [\d.]+s", r.stdout)
    check(r.returncode == 0 and done is not None,
          f"s_time to {addr}: {done.group(0) if done else r.stdout[-300:] + r.stderr[-300:]}")
    return round(int(done.group(1)) / elapsed, 1)


def download(ns, addr, port):
    """MiB/s of curl fetching the file over HTTPS (certificate not verified)."""
    r = ns.run(["curl", "-sSk", "--max-time", "120", "-o", "/dev/null", "-w", "%{size_download} %{speed_download}",
                f"https://{addr}:{port}/big.bin"], timeout=180)
    size, speed = (r.stdout.split() + ["0", "0"])[:2]
    check(r.returncode == 0 and int(size) == FILE_BYTES,
          f"HTTPS download from {addr}: {size} bytes at {speed} bytes/s {r.stderr[-300:]}")
    return round(float(speed) / (1 << 20), 1)


def tls_rows(ns, peer, proxy, next_port):
    """[(label, key, unit, ours, linux)] for the bench's table, or [] (with a message) without
    the OpenSSL builds."""
    # Absolute: the servers run in the file's directory.
    image, native = (os.path.abspath(os.environ.get(name, "")) for name in ("OPENSSL_IMAGE", "OPENSSL_NATIVE"))
    if not (os.path.isfile(image) and os.access(native, os.X_OK)):
        print(f"tls_bench: no OpenSSL builds ('{image}', '{native}'): no TLS rows")
        return []
    with tempfile.TemporaryDirectory(prefix="hermit-tls-bench-") as where:
        certificate(where)
        with open(os.path.join(where, "big.bin"), "wb") as f:
            f.write(os.urandom(FILE_BYTES))
        server = ["s_server", "-cert", "cert.pem", "-key", "key.pem", "-WWW"]
        rates = {}
        for who, addr in (("ours", GUEST), ("linux", "10.0.5.9")):
            port = next_port()
            if who == "ours":
                proc = Guest(ns, proxy, os.path.dirname(image), os.path.basename(image), *server, "-accept", port,
                             cwd=where)
                proc.wait_for("ACCEPT")
                proc = proc.proc
            else:
                proc = peer.popen([native, *server, "-accept", str(port)], cwd=where)
                wait_line(proc, "ACCEPT")
                # It reports every connection: read on, or its pipe fills and it stops.
                threading.Thread(target=proc.stdout.read, daemon=True).start()
            try:
                rates[who] = (handshakes(ns, addr, port), download(ns, addr, port))
            finally:
                # s_server serves until it is stopped.
                proc.kill()
                proc.wait(30)
        return [("TLS 1.3 full handshakes per second (RSA-2048, s_time -new)", "net_tap_tls_handshakes", "1/s",
                 rates["ours"][0], rates["linux"][0]),
                (f"HTTPS download of {FILE_BYTES >> 20} MiB (s_server -WWW, curl)", "net_tap_https_download", "MiB/s",
                 rates["ours"][1], rates["linux"][1])]
