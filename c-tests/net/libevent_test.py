#!/usr/bin/env python3
"""libevent_test.py: libevent's http-server sample (libevent-sys's sources, unchanged; c-tests/thirdparty) serving host files from the guest to host curl over a tap.

usage: libevent_test.py libevent-tap <proxy> <third-party image directory> <state.cmake of fetch.cmake>

In a network namespace of its own (netns_test.py's helpers; root, 77 without): the guest runs
http-server on port 8080 with a host directory as its document root and plain socket
descriptors (HERMIT_SOCKET_FD_BIT=0: libevent indexes a table by descriptor); host curl
fetches a 4 MiB file (SHA-256 compared), a small one 20 times in a row, 8 at once, a missing
one (404) and the directory's listing.
"""

import concurrent.futures
import hashlib
import os
import sys
import tempfile

import netns_test as t
from curl_test import require_curl

PORT = 8080


def fetch(ns, path, out=None):
    """curl's exit status, HTTP status code and body (or the file it wrote) for `path`."""
    args = ["curl", "-sS", "--max-time", "30", "-w", "%{http_code}", "-o", out or "/dev/stdout",
            f"http://{t.GUEST}:{PORT}/{path}"]
    r = ns.run(args, timeout=60)
    code = r.stdout[-3:] if len(r.stdout) >= 3 else ""
    return r.returncode, code, r.stdout[:-3]


def libevent_tap(proxy, images, state):
    require_curl(images, state, "libevent/http-server")
    ns = t.tap_netns()
    with tempfile.TemporaryDirectory() as root:
        data = os.urandom(4 << 20)
        with open(os.path.join(root, "big.bin"), "wb") as f:
            f.write(data)
        with open(os.path.join(root, "hello.txt"), "w") as f:
            f.write("hello from the host\n")
        guest = t.Guest(ns, proxy, images, "libevent/http-server", "-p", PORT, root, HERMIT_SOCKET_FD_BIT="0")
        try:
            guest.wait_for("Listening on")
            out = os.path.join(root, "fetched.bin")
            rc, code, _ = fetch(ns, "big.bin", out)
            got = open(out, "rb").read() if os.path.exists(out) else b""
            t.check(rc == 0 and code == "200" and hashlib.sha256(got).digest() == hashlib.sha256(data).digest(),
                    f"4 MiB file: curl {rc}, HTTP {code}, {len(got)} bytes, SHA-256 equal: {got == data}")
            results = [fetch(ns, "hello.txt") for _ in range(20)]
            t.check(all(r == (0, "200", "hello from the host\n") for r in results),
                    f"20 fetches of a small file in a row: {set(results)}")
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                results = list(pool.map(lambda _: fetch(ns, "hello.txt"), range(8)))
            t.check(all(r == (0, "200", "hello from the host\n") for r in results),
                    f"8 fetches at once: {set(results)}")
            rc, code, _ = fetch(ns, "missing.txt")
            t.check(rc == 0 and code == "404", f"a missing file: curl {rc}, HTTP {code}")
            rc, code, body = fetch(ns, "")
            t.check(rc == 0 and code == "200" and "hello.txt" in body and "big.bin" in body,
                    f"the directory's listing: curl {rc}, HTTP {code}, {body[:200]!r}")
        finally:
            # The sample serves until it is stopped.
            guest.proc.kill()
            guest.proc.wait(30)


SCENARIOS = {"libevent-tap": libevent_tap}


def main():
    return t.run_scenario(SCENARIOS)


if __name__ == "__main__":
    sys.exit(main())
