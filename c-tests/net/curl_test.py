#!/usr/bin/env python3
"""curl_test.py: the curl command-line tool, built unchanged from curl-sys's sources (c-tests/thirdparty), as a networked guest program.

usage: curl_test.py <curl-tap|curl-user> <proxy> <third-party image directory> <state.cmake of fetch.cmake>

Scenarios in network namespaces of their own, with netns_test.py's helpers (root; 77 without):
  curl-tap   over a tap: a host HTTP server serves 10 MiB of random bytes, which the guest's curl
             writes to a host file (through the proxy's host file calls): equal SHA-256; a 404
             with -f is curl's exit 22 and its message; uploads (--data-binary @file, -T) arrive
             whole at the host server; --compressed decodes a gzip body (curl's zlib); a refused
             port is curl's exit 7; four fresh guests in a row connect at once from ports of
             their own (the host holds the previous connections in TIME_WAIT)
  curl-user  behind passt (HERMIT_NETIF=user): the same download from a server on the host's
             127.0.0.1 through the gateway address, then through a name that the guest resolves
             with a DNS server of the test's own (as net.user-dns)
Each check reads what curl observed: its exit status, its messages, the file it wrote, what the
host server received. Without the third-party sources (or the curl image) the run fails loudly.
"""

import gzip
import hashlib
import http.server
import os
import re
import socket
import sys
import tempfile
import threading

import netns_test as t
from netns_user import dns_server

FILE_BYTES = 10 << 20
PORT = 8089


def require_curl(images, state, program="curl"):
    """The `program` image (curl's by default), or a loud failure naming why it is missing (as
    run-thirdparty.sh)."""
    image = os.path.join(images, program)
    text = open(state).read() if os.path.exists(state) else ""
    if "THIRDPARTY_AVAILABLE TRUE" not in text:
        reason = re.search(r'THIRDPARTY_REASON "(.*)"\)', text)
        print("*" * 80)
        print(f"*** THIRD-PARTY SOURCES UNAVAILABLE: the {program} tests cannot run.")
        print(f"*** {reason.group(1) if reason else 'no state file ' + state}")
        print("*** They are fetched from the crates registry by the build (cargo vendor); build with")
        print("*** the registry reachable, or run the suite without them: ctest -LE thirdparty")
        print("*" * 80)
        t.fail(f"no third-party sources, no {program} image")
    if not os.path.exists(image):
        t.fail(f"{image} was not built although the sources are there (see the build's c-thirdparty-images step)")


class Files:
    """A host HTTP server (python's http.server, one thread per connection): GET /file gives
    `data`, GET /compressed `text` gzip-encoded to a client that accepts gzip, POST or PUT
    /upload records the body's SHA-256 and length and answers the hash,
    anything else is a 404. `hosts` collects the Host headers of the requests."""

    def __init__(self, addr, port, data):
        self.data = data
        self.text = b"".join(b"line %d of the text curl gets gzip-encoded\n" % i for i in range(50000))
        self.uploads = []
        self.hosts = []
        files = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                files.hosts.append(self.headers.get("Host"))
                if self.path == "/compressed" and "gzip" in self.headers.get("Accept-Encoding", ""):
                    body = gzip.compress(files.text)
                    self.send_response(200)
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if self.path != "/file":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(files.data)))
                self.end_headers()
                self.wfile.write(files.data)

            def do_POST(self):
                files.hosts.append(self.headers.get("Host"))
                length = int(self.headers.get("Content-Length", "-1"))
                body = self.rfile.read(length) if length >= 0 else b""
                digest = hashlib.sha256(body).hexdigest()
                files.uploads.append((self.command, self.path, len(body), digest))
                answer = f"{digest}\n".encode()
                self.send_response(200 if self.path == "/upload" else 404)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_PUT = do_POST

        self.server = http.server.ThreadingHTTPServer((addr, port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def scratch():
    where = tempfile.mkdtemp(prefix="hermit-curl-")
    t.DIRS_TO_REMOVE.append(where)
    return where


def run_curl(ns, proxy, images, *args, **env):
    """curl -q (no .curlrc) with `args` in the guest; (exit status, its output lines)."""
    guest = t.Guest(ns, proxy, images, "curl", "-q", *args, **env)
    rc = guest.finish(120)
    return rc, guest.lines


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def download(ns, proxy, images, url, where, what, **env):
    """The guest's curl writes `url` to a host file: exit 0 and the server's bytes."""
    out = os.path.join(where, f"{what}.bin")
    rc, lines = run_curl(ns, proxy, images, "-sSf", "-o", out, url, **env)
    size = os.path.getsize(out) if os.path.exists(out) else None
    t.check(rc == 0 and size == FILE_BYTES,
            f"{what}: curl -sSf -o <host file> {url}: exit {rc}, {size} bytes ({lines[-3:]})")
    return out


def curl_tap(proxy, images, state):
    require_curl(images, state)
    ns = t.tap_netns()
    data = os.urandom(FILE_BYTES)
    files = Files(t.HOST, PORT, data)
    where = scratch()
    base = f"http://{t.HOST}:{PORT}"

    out = download(ns, proxy, images, f"{base}/file", where, "tap download")
    t.check(sha256_file(out) == hashlib.sha256(data).hexdigest(),
            "tap download: the host file's SHA-256 is the served one's")

    rc, lines = run_curl(ns, proxy, images, "-sSf", "-o", os.path.join(where, "missing.bin"), f"{base}/missing")
    t.check(rc == 22 and any("(22) The requested URL returned error: 404" in line for line in lines),
            f"404 with -f: curl's exit 22 and its message ({rc}, {lines[-3:]})")

    upload = os.path.join(where, "upload.bin")
    with open(upload, "wb") as f:
        f.write(os.urandom(FILE_BYTES // 2 + 12345))
    expected = sha256_file(upload)
    answer = os.path.join(where, "answer.txt")
    rc, lines = run_curl(ns, proxy, images, "-sSf", "--data-binary", f"@{upload}", "-o", answer, f"{base}/upload")
    got = files.uploads[-1] if files.uploads else None
    t.check(rc == 0 and got == ("POST", "/upload", FILE_BYTES // 2 + 12345, expected),
            f"upload (--data-binary @file): the host server received it whole ({rc}, {got}, {lines[-3:]})")
    with open(answer) as f:
        t.check(f.read().strip() == expected,
                "upload: curl wrote the server's answer (the body's hash) to the host file")

    rc, lines = run_curl(ns, proxy, images, "-T", upload, "-sSf", "-o", answer, f"{base}/upload")
    got = files.uploads[-1]
    t.check(rc == 0 and got[:3] == ("PUT", "/upload", FILE_BYTES // 2 + 12345) and got[3] == expected,
            f"upload (-T file): the host server received it whole ({rc}, {got}, {lines[-3:]})")

    # Fresh guests, one after another, against one server: each connects at once. The server
    # closes first (HTTP/1.0), so the host keeps each connection in TIME_WAIT; a guest that
    # boots with the previous one's port saw its SYN answered with an ACK, reset that, and
    # connected only when smoltcp sent the SYN again a second later (about every other run).
    ports, connects = [], []
    for _ in range(4):
        rc, lines = run_curl(ns, proxy, images, "-sSf", "-o", os.path.join(where, "again.bin"),
                             "-w", "connected %{time_connect} from %{local_port}\n", f"{base}/file")
        seen = [line.split() for line in lines if line.startswith("connected ")]
        t.check(rc == 0 and len(seen) == 1, f"download again: exit {rc} ({lines[-3:]})")
        connects.append(float(seen[0][1]))
        ports.append(int(seen[0][3]))
    t.check(len(set(ports)) > 1 and max(connects) < 0.5,
            f"fresh guests connect at once from ports of their own: ports {ports}, connect times {connects} s")

    text = os.path.join(where, "text.txt")
    rc, lines = run_curl(ns, proxy, images, "-sSf", "--compressed", "-o", text, f"{base}/compressed")
    with open(text, "rb") as f:
        t.check(rc == 0 and f.read() == files.text,
                f"--compressed: curl asked for gzip and wrote the text decoded ({len(files.text)} bytes) "
                f"({rc}, {lines[-3:]})")

    closed = socket.socket()
    closed.bind((t.HOST, 0))  # a port nobody listens on: the host answers the SYN with a reset
    port = closed.getsockname()[1]
    rc, lines = run_curl(ns, proxy, images, "-sS", f"http://{t.HOST}:{port}/")
    closed.close()
    t.check(rc == 7 and any("(7)" in line for line in lines),
            f"refused port {port}: curl's exit 7 ({rc}, {lines[-3:]})")
    files.close()


def curl_user(proxy, images, state):
    require_curl(images, state)
    ns = t.Netns()
    ns.uplink()
    ns.enter()
    asked, dns = dns_server(ns, {"files.hermit.test": "192.168.77.1"})
    data = os.urandom(FILE_BYTES)
    files = Files("127.0.0.1", PORT, data)
    where = scratch()
    digest = hashlib.sha256(data).hexdigest()

    out = download(ns, proxy, images, f"http://192.168.77.1:{PORT}/file", where, "user download", HERMIT_NETIF="user")
    t.check(sha256_file(out) == digest,
            "user download through the gateway address: the host file's SHA-256 is the served one's")

    out = download(ns, proxy, images, f"http://files.hermit.test:{PORT}/file", where, "user download by name",
                   HERMIT_NETIF="user")
    t.check(sha256_file(out) == digest, "user download by name: the host file's SHA-256 is the served one's")
    t.check("files.hermit.test" in asked and files.hosts[-1] == f"files.hermit.test:{PORT}",
            f"the name went to the namespace's DNS server ({asked}) and the request named it ({files.hosts[-1]})")
    dns.close()
    files.close()


SCENARIOS = {"curl-tap": curl_tap, "curl-user": curl_user}


def main():
    return t.run_scenario(SCENARIOS)


if __name__ == "__main__":
    sys.exit(main())
