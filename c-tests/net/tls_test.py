#!/usr/bin/env python3
"""tls_test.py: TLS over a tap with OpenSSL 3.5 built unchanged from openssl-src's sources (c-tests/thirdparty): the openssl tool's server in the guest, curl's HTTPS client in the guest.

usage: tls_test.py openssl-tap <proxy> <third-party image directory> <state.cmake of fetch.cmake>

In a network namespace of its own (netns_test.py's helpers; root, 77 without), with a CA and
two server certificates the host's openssl makes for the run:
  - the guest runs `openssl s_server -WWW` with a host directory as its working directory; host
    curl fetches a 4 MiB file over TLS 1.3, verifying the guest's certificate (SHA-256
    compared), then a small file 10 times in a row;
  - a host HTTPS server (python's ssl) serves 10 MiB; the guest's curl downloads it to a host
    file verifying the host's certificate with --cacert (SHA-256 compared), uploads 5 MiB
    (the server's hash of what it received compared), and refuses the same server without the
    CA (curl's exit 60: the default CA bundle, Debian's, read from the host, does not hold it).
"""

import hashlib
import http.server
import os
import ssl
import subprocess
import sys
import threading

import netns_test as t
from curl_test import require_curl, scratch, sha256_file

GUEST_PORT = 4433
HOST_PORT = 8443
BIG = 4 << 20
DOWNLOAD = 10 << 20


def make_certificates(where):
    """A CA and certificates for the guest's and the host's addresses, made by the host's openssl."""

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=where)

    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=hermit test CA", "-keyout", "ca.key", "-out", "ca.pem")
    for name, addr in (("guest", t.GUEST), ("host", t.HOST)):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={addr}", "-keyout", f"{name}.key",
                "-out", f"{name}.csr")
        with open(os.path.join(where, f"{name}.ext"), "w") as f:
            f.write(f"subjectAltName=IP:{addr}\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem")


class HttpsFiles:
    """A host HTTPS server: GET /file gives `data`, POST /upload answers the body's SHA-256."""

    def __init__(self, where, data):
        self.data = data
        files = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path != "/file":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(files.data)))
                self.end_headers()
                self.wfile.write(files.data)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                answer = f"{hashlib.sha256(body).hexdigest()} {len(body)}\n".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.path.join(where, "host.pem"), os.path.join(where, "host.key"))
        self.server = http.server.ThreadingHTTPServer((t.HOST, HOST_PORT), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def guest_server(ns, proxy, images, where):
    data = os.urandom(BIG)
    with open(os.path.join(where, "big.bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(where, "hello.txt"), "w") as f:
        f.write("hello over TLS\n")
    guest = t.Guest(ns, proxy, images, "openssl", "s_server", "-accept", GUEST_PORT, "-cert", "guest.pem",
                    "-key", "guest.key", "-WWW", cwd=where)
    try:
        guest.wait_for("ACCEPT")
        url = f"https://{t.GUEST}:{GUEST_PORT}"
        out = os.path.join(where, "fetched.bin")
        r = ns.run(["curl", "-sS", "--max-time", "60", "--cacert", os.path.join(where, "ca.pem"), "-o", out,
                    "-w", "%{http_code} %{ssl_verify_result}", "-v", f"{url}/big.bin"], timeout=90)
        tls13 = "SSL connection using TLSv1.3" in r.stderr
        got = sha256_file(out) if os.path.exists(out) else None
        ok = r.returncode == 0 and r.stdout == "200 0" and tls13 and got == hashlib.sha256(data).hexdigest()
        t.check(ok, f"host curl fetched 4 MiB from the guest's s_server over TLS 1.3 with the certificate verified: "
                f"exit {r.returncode}, '{r.stdout}', TLS 1.3 {tls13}, SHA-256 equal {got == hashlib.sha256(data).hexdigest()}"
                + ("" if ok else f" ({r.stderr[-600:]})"))
        results = [ns.run(["curl", "-sS", "--max-time", "30", "--cacert", os.path.join(where, "ca.pem"),
                           f"{url}/hello.txt"], timeout=60) for _ in range(10)]
        t.check(all(r.returncode == 0 and r.stdout == "hello over TLS\n" for r in results),
                f"10 fetches in a row: {set((r.returncode, r.stdout, r.stderr[-100:]) for r in results)}")
    finally:
        # s_server serves until it is stopped.
        guest.proc.kill()
        guest.proc.wait(30)


def guest_client(ns, proxy, images, where):
    data = os.urandom(DOWNLOAD)
    files = HttpsFiles(where, data)
    base = f"https://{t.HOST}:{HOST_PORT}"
    ca = os.path.join(where, "ca.pem")
    out = os.path.join(where, "download.bin")
    guest = t.Guest(ns, proxy, images, "curl", "-q", "-sSf", "--cacert", ca, "-o", out, f"{base}/file")
    rc = guest.finish(120)
    got = sha256_file(out) if os.path.exists(out) else None
    t.check(rc == 0 and got == hashlib.sha256(data).hexdigest(),
            f"the guest's curl downloaded 10 MiB over HTTPS to a host file, verifying the host's certificate: "
            f"exit {rc}, SHA-256 equal {got == hashlib.sha256(data).hexdigest()} ({guest.lines[-3:]})")

    upload = os.path.join(where, "upload.bin")
    with open(upload, "wb") as f:
        f.write(os.urandom((5 << 20) + 321))
    answer = os.path.join(where, "answer.txt")
    guest = t.Guest(ns, proxy, images, "curl", "-q", "-sSf", "--cacert", ca, "--data-binary", f"@{upload}",
                    "-o", answer, f"{base}/upload")
    rc = guest.finish(120)
    said = open(answer).read().strip() if os.path.exists(answer) else None
    t.check(rc == 0 and said == f"{sha256_file(upload)} {(5 << 20) + 321}",
            f"the guest's curl uploaded 5 MiB over HTTPS, received whole: exit {rc}, server said {said!r}")

    guest = t.Guest(ns, proxy, images, "curl", "-q", "-sS", "-o", os.path.join(where, "refused.bin"), f"{base}/file")
    rc = guest.finish(120)
    said = [line for line in guest.lines if line.startswith("curl: (60)")]
    t.check(rc == 60 and len(said) == 1 and "issuer certificate" in said[0],
            f"without --cacert the guest's curl refuses the unknown CA (exit 60): exit {rc} ({said or guest.lines[:3]})")
    files.close()


def openssl_tap(proxy, images, state):
    require_curl(images, state, "openssl")
    require_curl(images, state, "curl")
    ns = t.tap_netns()
    where = scratch()
    make_certificates(where)
    guest_server(ns, proxy, images, where)
    guest_client(ns, proxy, images, where)


SCENARIOS = {"openssl-tap": openssl_tap}


def main():
    return t.run_scenario(SCENARIOS)


if __name__ == "__main__":
    sys.exit(main())
