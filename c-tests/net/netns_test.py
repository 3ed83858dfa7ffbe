#!/usr/bin/env python3
"""netns_test.py: end-to-end network tests of the proxy, only inside network namespaces they create.

usage: netns_test.py <scenario> <proxy> <image directory> [native netbench, for "bench"]

Each scenario makes a fresh namespace (`ip netns add hermit-<pid>-<n>`) with a bridge
`br0` (10.0.5.1/24) and the taps it needs, runs the proxy and the host-side tools (python
sockets, ping, curl) inside it, and deletes the namespace on every way out (the taps and
the bridge go with it; passt ends with the proxy's socket). No traffic leaves the namespace.
Needs root (network namespaces, taps) and iproute2; exits 77 (skipped) without them.
"""

import atexit
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

SKIP = int(os.environ.get("NETNS_SKIP_STATUS", "77"))
SELF = os.path.abspath(__file__)
IP = shutil.which("ip") or "ip"
TUNSETIFF = 0x400454CA
IFF_TAP_NO_PI = 0x0002 | 0x1000
NAMESPACES = []


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)
    print(f"ok: {message}", flush=True)


def sh(*args, check_rc=True, **kw):
    """Runs a command on the host side; returns its CompletedProcess."""
    result = subprocess.run(list(args), capture_output=True, text=True, **kw)
    if check_rc and result.returncode != 0:
        fail(f"{' '.join(args)}: {result.stderr.strip()}")
    return result


class Netns:
    """A network namespace with loopback up and (unless `bridge` is false) a bridge br0 at
    10.0.5.1/24."""

    def __init__(self, bridge=True):
        self.name = f"hermit-{os.getpid()}-{len(NAMESPACES)}"
        sh("ip", "netns", "add", self.name)
        NAMESPACES.append(self.name)
        self.ip("link", "set", "lo", "up")
        if bridge:
            self.ip("link", "add", "br0", "type", "bridge")
            self.ip("addr", "add", "10.0.5.1/24", "dev", "br0")
            self.ip("link", "set", "br0", "up")

    def ip(self, *args, check_rc=True):
        return sh("ip", "-n", self.name, *args, check_rc=check_rc)

    def tap(self, name, bridge=True):
        self.ip("tuntap", "add", name, "mode", "tap")
        if bridge:
            self.ip("link", "set", name, "master", "br0")
        self.ip("link", "set", name, "up")

    def uplink(self):
        """A veth pair inside the namespace, one end with an address and the default route:
        the interface passt copies its addresses from (no dummy driver needed)."""
        self.ip("link", "add", "up0", "type", "veth", "peer", "name", "up1")
        self.ip("addr", "add", "192.168.77.2/24", "dev", "up0")
        self.ip("link", "set", "up0", "up")
        self.ip("link", "set", "up1", "up")
        self.ip("route", "add", "default", "via", "192.168.77.1")

    def wrap(self, argv):
        return [IP, "netns", "exec", self.name] + list(argv)

    def run(self, argv, **kw):
        return subprocess.run(self.wrap(argv), capture_output=True, text=True, **kw)

    def popen(self, argv, env=None, **kw):
        return subprocess.Popen(self.wrap(argv), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, **kw)

    def pids(self):
        """Processes in the namespace other than this script (and the `ip` that lists them)."""
        listing = subprocess.Popen(["ip", "netns", "pids", self.name], stdout=subprocess.PIPE, text=True)
        out = listing.communicate()[0].split()
        return [p for p in out if p.isdigit() and int(p) not in (os.getpid(), listing.pid)]

    def links(self):
        return sorted(line.split(":")[1].strip().split("@")[0] for line in self.ip("-o", "link").stdout.splitlines())

    def enter(self):
        """Moves this (python) process's later sockets into the namespace (setns)."""
        import ctypes
        fd = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET (os.setns is Python 3.12+)
            fail(f"setns: {os.strerror(ctypes.get_errno())}")
        os.close(fd)


def cleanup():
    for name in NAMESPACES:
        for pid in sh("ip", "netns", "pids", name, check_rc=False).stdout.split():
            if int(pid) == os.getpid():  # this script, after Netns.enter()
                continue
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        sh("ip", "netns", "del", name, check_rc=False)
    NAMESPACES.clear()


def on_signal(signum, _frame):
    cleanup()
    sys.exit(128 + signum)


def env_with(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERMIT_")}
    env.update(extra)
    return env


def wait_line(proc, pattern, timeout=60):
    """Reads the process's output until a line contains `pattern`; returns all lines read."""
    lines = []
    result = {}

    def reader():
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if pattern in line:
                result["found"] = True
                return

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    thread.join(timeout)
    if not result.get("found"):
        fail(f"no line with {pattern!r} within {timeout} s; output: {lines}")
    return lines


def gone_within(ns, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not ns.pids():
            return True
        time.sleep(0.05)
    return False


# ---- scenarios -------------------------------------------------------------------------------

def header_tap(proxy, images):
    """The header's addresses with a tap: the original's defaults, or HERMIT_IP & co."""
    ns = Netns()
    ns.tap("tap0")
    image = f"{images}/net_header"
    r = ns.run([proxy, image], env=env_with(HERMIT_NETIF="tap0"), timeout=60)
    check(r.returncode == 0 and "hcip 10.0.5.2 hcgateway 10.0.5.1 hcmask 255.255.255.0" in r.stdout,
          f"tap: default addresses in the header ({r.stdout.strip()!r} {r.stderr.strip()!r})")
    r = ns.run([proxy, image], env=env_with(HERMIT_NETIF="tap0", HERMIT_IP="10.0.5.7", HERMIT_MASK="255.255.0.0"),
               timeout=60)
    check(r.returncode == 0 and "hcip 10.0.5.7 hcgateway 10.0.5.1 hcmask 255.255.0.0" in r.stdout,
          f"tap: HERMIT_IP and HERMIT_MASK in the header ({r.stdout.strip()!r})")
    # Attached as @<fd>: the proxy takes over an open tap descriptor.
    r = ns.run(["python3", SELF, "--with-tap", "tap0", proxy, image], env=env_with(), timeout=60)
    check(r.returncode == 0 and "hcip 10.0.5.2" in r.stdout, f"tap as @<fd> ({r.stdout.strip()!r} {r.stderr.strip()!r})")
    check(ns.links() == ["br0", "lo", "tap0"], f"no interface added or removed ({ns.links()})")


def header_user(proxy, images):
    """User mode: passt starts, the header asks for DHCP, passt ends with the proxy."""
    ns = Netns()
    ns.uplink()
    image = f"{images}/net_header"
    r = ns.run([proxy, image], env=env_with(HERMIT_NETIF="user"), timeout=60)
    check(r.returncode == 0 and "hcip 0.0.0.0" in r.stdout,
          f"user: hcip 0.0.0.0 (DHCP from passt) ({r.stdout.strip()!r} {r.stderr.strip()!r})")
    check(gone_within(ns, 3), "user: passt ended with the proxy")
    r = ns.run([proxy, image], env=env_with(HERMIT_NETIF="user", HERMIT_IP="192.168.77.2"), timeout=60)
    check(r.returncode == 0 and "hcip 192.168.77.2" in r.stdout, "user: HERMIT_IP in the header")
    check(gone_within(ns, 3), "user: passt ended again")
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
        proc = ns.popen([proxy, image, "60"], env=env_with(HERMIT_NETIF="user", HERMIT_APP_PORT="18080"))
        wait_line(proc, "ready")
        busy = ns.run(["python3", "-c", "import socket;s=socket.socket();s.bind(('127.0.0.1',18080))"])
        check(busy.returncode != 0, "user: passt listens on the forwarded port")
        # `ip netns exec` runs the proxy as its child (exec): signal the proxy itself.
        proxy_pids = [p for p in ns.pids() if os.readlink(f"/proc/{p}/exe").endswith("/proxy")]
        check(len(proxy_pids) == 1, "user: one proxy in the namespace")
        os.kill(int(proxy_pids[0]), sig)
        proc.wait(timeout=10)
        check(gone_within(ns, 3), f"user: passt ended after {signal.Signals(sig).name} to the proxy")
        free = ns.run(["python3", "-c", "import socket;s=socket.socket();s.bind(('127.0.0.1',18080))"])
        check(free.returncode == 0, "user: the forwarded port is free again")


def bad_input(proxy, images):
    """Missing, busy and non-tap interfaces, bad values, no passt: a message, status 1, nothing left."""
    ns = Netns()
    ns.tap("tap0")
    before = ns.links()
    image = f"{images}/net_header"

    def refused(env, expect, what, argv=None):
        r = ns.run(argv or [proxy, image], env=env, timeout=60)
        check(r.returncode == 1 and expect in r.stderr and "ready" not in r.stdout,
              f"{what}: status 1 and {expect!r} ({r.returncode}, {r.stderr.strip()!r})")
        check(ns.links() == before and gone_within(ns, 3), f"{what}: nothing left behind")

    refused(env_with(HERMIT_NETIF="nosuchtap"), "no such network interface", "missing tap")
    refused(env_with(HERMIT_NETIF="br0"), "not a tap device", "not a tap")
    refused(env_with(HERMIT_NETIF="@57"), "not an open descriptor", "bad descriptor")
    refused(env_with(HERMIT_NETIF="tap0", HERMIT_IP="10.0.5"), "expected an IPv4 address", "bad HERMIT_IP")
    refused(env_with(HERMIT_NETIF="tap0", HERMIT_APP_PORT="8080"), "only with HERMIT_NETIF=user",
            "HERMIT_APP_PORT with a tap")
    refused(env_with(HERMIT_NETIF="tap0", HERMIT_NETIF_MAC="01:02:03"), "expected a unicast MAC", "bad MAC")
    refused(env_with(HERMIT_NETIF="user", PATH="/nonexistent"), "passt, which is not installed", "no passt")
    # A busy tap: another process has it attached (a tap without IFF_MULTI_QUEUE takes one).
    holder = ns.popen(["python3", SELF, "--with-tap", "tap0"], stdin=subprocess.PIPE)
    wait_line(holder, "held")
    r = ns.run([proxy, image], env=env_with(HERMIT_NETIF="tap0"), timeout=60)
    check(r.returncode == 1 and "busy" in r.stderr, f"busy tap: status 1 and 'busy' ({r.stderr.strip()!r})")
    holder.stdin.close()
    holder.wait(timeout=10)
    # No permission: a tap that belongs to another user, opened without CAP_NET_ADMIN.
    ns.ip("tuntap", "add", "tapx", "mode", "tap", "user", "0")
    r = ns.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", proxy, image],
               env=env_with(HERMIT_NETIF="tapx"), timeout=60)
    check(r.returncode == 1 and "no permission" in r.stderr,
          f"foreign tap: status 1 and 'no permission' ({r.stderr.strip()!r})")



# ---- traffic (the guest's programs: netecho from netk, netbench) ---------------------------------

GUEST = "10.0.5.2"
HOST = "10.0.5.1"


class Guest:
    """A proxy running `program args` in the namespace; its output is collected by a thread."""

    def __init__(self, ns, proxy, images, program, *args, **env):
        env.setdefault("HERMIT_NETIF", "tap0")
        env.setdefault("HERMIT_CPUS", "2")
        self.proc = ns.popen([proxy, f"{images}/{program}", *map(str, args)], env=env_with(**env))
        self.lines = []
        self.done = threading.Event()
        self.matched = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self.matched:
                self.lines.append(line.rstrip("\n"))
                self.matched.notify_all()
        with self.matched:
            self.done.set()
            self.matched.notify_all()

    def wait_for(self, pattern, timeout=60):
        deadline = time.time() + timeout
        with self.matched:
            while not any(pattern in line for line in self.lines):
                left = deadline - time.time()
                if left <= 0 or self.done.is_set():
                    fail(f"guest: no line with {pattern!r}; output: {self.lines[-20:]}")
                self.matched.wait(left)

    def finish(self, timeout=60):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail(f"guest did not end within {timeout} s; output: {self.lines[-20:]}")
        self.done.wait(5)
        return rc

    def has(self, pattern):
        return any(pattern in line for line in self.lines)


def connect(addr, port, timeout=30):
    deadline = time.time() + timeout
    while True:
        try:
            return socket.create_connection((addr, port), timeout=timeout)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def echo_both_ways(addr, port, size):
    """Sends `size` random bytes to an echo server while reading them back; compares digests."""
    data = os.urandom(size)
    sock = connect(addr, port)
    sock.settimeout(60)

    def writer():
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    back = hashlib.sha256()
    got = 0
    while True:
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        back.update(chunk)
        got += len(chunk)
    thread.join(10)
    sock.close()
    return got, back.hexdigest() == hashlib.sha256(data).hexdigest()


def tap_echo(proxy, images):
    """ping the guest's static address; 10 MB through its TCP echo server both ways."""
    ns = Netns()
    ns.tap("tap0")
    ns.enter()
    guest = Guest(ns, proxy, images, "netecho", "echo", 7777, 1)
    guest.wait_for("listening on port 7777")
    r = ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "5", GUEST], timeout=30)
    check(r.returncode == 0 and " 0% packet loss" in r.stdout, f"ping {GUEST}: {r.stdout.strip().splitlines()[-2:]}")
    got, same = echo_both_ways(GUEST, 7777, 10 << 20)
    check(got == 10 << 20 and same, f"TCP echo: 10 MiB sent, {got} bytes back, sha256 equal: {same}")
    check(guest.finish() == 0 and guest.has("echoed 10485760 bytes"), "the guest echoed 10485760 bytes and ended")


def serve_once(addr, port, handler):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((addr, port))
    listener.listen(1)
    listener.settimeout(60)
    result = {}

    def run():
        conn, peer = listener.accept()
        result["peer"] = peer
        result["value"] = handler(conn)
        conn.close()
        listener.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def echo_handler(conn):
    total = 0
    while True:
        chunk = conn.recv(1 << 16)
        if not chunk:
            return total
        conn.sendall(chunk)
        total += len(chunk)


def tap_client(proxy, images):
    """A guest client reaches a host server: 10 MB echoed, checksums compared by the guest."""
    ns = Netns()
    ns.tap("tap0")
    ns.enter()
    thread, result = serve_once(HOST, 9000, echo_handler)
    guest = Guest(ns, proxy, images, "netecho", "client", HOST, 9000, 10 << 20)
    rc = guest.finish()
    thread.join(10)
    check(rc == 0 and guest.has("got 10485760 back") and guest.has(" ok"),
          f"guest client: {guest.lines[-1:]}, host echoed {result.get('value')} bytes to {result.get('peer')}")


def tap_udp(proxy, images):
    """UDP both ways: the host's datagrams answered by the guest, the guest's by the host."""
    ns = Netns()
    ns.tap("tap0")
    ns.enter()
    guest = Guest(ns, proxy, images, "netbench", "udp-echo", 9001, 50)
    guest.wait_for("listening on udp port 9001")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(0.5)
    answered = 0
    for i in range(50):
        msg = f"host datagram {i}".encode()
        for _ in range(10):
            sock.sendto(msg, (GUEST, 9001))
            try:
                if sock.recv(2048) == msg:
                    answered += 1
                    break
            except socket.timeout:
                continue
    check(answered == 50, f"host to guest: {answered} of 50 datagrams answered")
    check(guest.finish() == 0 and guest.has("udp echoed 50 datagrams"), "the guest echoed 50 datagrams")
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((HOST, 9002))
    server.settimeout(60)
    stop = threading.Event()

    def answer():
        while not stop.is_set():
            try:
                data, peer = server.recvfrom(2048)
            except socket.timeout:
                return
            server.sendto(data, peer)

    threading.Thread(target=answer, daemon=True).start()
    guest = Guest(ns, proxy, images, "netbench", "udp-client", HOST, 9002, 50)
    rc = guest.finish()
    stop.set()
    check(rc == 0 and guest.has("50 of 50 answered"), f"guest to host: {guest.lines[-1:]}")


STREAM_BYTES = 16 << 20
# 16 MiB in 1 KiB writes must take at most this long each way (2.7 MiB/s). Before the stack
# sent all the window allowed per poll and batched its frames (one ~70 us host call per
# 1460-byte segment, two idle NETREADs per socket call), guest->host took 7.3 s at load 16 (and
# 64 MiB timed out after 120 s in the bench); since, 0.7-2.7 s guest->host and 0.3-0.7 s
# host->guest at load 9-16.
STREAM_SECONDS = 6.0
# netbench's FNV-1a of its pattern byte(i) = (i * 7 + 3) % 251 over STREAM_BYTES.
STREAM_FNV = "98bc5c8e"


def tap_stream(proxy, images):
    """TCP streams in 1 KiB writes over the tap, both ways, with checksums: each must be fast."""
    ns = Netns()
    ns.tap("tap0")
    ns.enter()

    def sink(conn):
        total = 0
        t0 = time.time()
        while True:
            chunk = conn.recv(1 << 16)
            if not chunk:
                break
            total += len(chunk)
        result["seconds"] = time.time() - t0
        conn.sendall(f"{total} 00000000\n".encode())
        return total

    # guest -> host: the guest's netbench writes 16 MiB in 1 KiB sends, the host counts.
    result = {}
    thread, served = serve_once(HOST, 9100, sink)
    guest = Guest(ns, proxy, images, "netbench", "source", HOST, 9100, STREAM_BYTES, 1024, "nocheck")
    rc = guest.finish(120)
    thread.join(10)
    seconds = result.get("seconds", 1e9)
    check(rc == 0 and served.get("value") == STREAM_BYTES and guest.has("source sent"),
          f"guest->host: {served.get('value')} of {STREAM_BYTES} bytes in 1 KiB writes ({guest.lines[-1:]})")
    check(seconds <= STREAM_SECONDS, f"guest->host: 16 MiB in 1 KiB writes took {seconds:.2f} s (at most {STREAM_SECONDS})")
    # host -> guest: 1 KiB sends from the host; the guest's sink reports bytes and checksum.
    guest = Guest(ns, proxy, images, "netbench", "sink", 9101, 1)
    guest.wait_for("listening on tcp port 9101")
    data = bytes(((i * 7 + 3) % 251) for i in range(STREAM_BYTES))
    sock = connect(GUEST, 9101)
    sock.settimeout(60)
    t0 = time.time()
    view = memoryview(data)
    for off in range(0, STREAM_BYTES, 1024):
        sock.sendall(view[off:off + 1024])
    sock.shutdown(socket.SHUT_WR)
    reply = sock.recv(64).decode()
    seconds = time.time() - t0
    sock.close()
    check(guest.finish(60) == 0 and reply.split() == [str(STREAM_BYTES), STREAM_FNV],
          f"host->guest: the guest counted and checksummed {reply.strip()!r} ({STREAM_BYTES} {STREAM_FNV} expected)")
    check(seconds <= STREAM_SECONDS, f"host->guest: 16 MiB in 1 KiB writes took {seconds:.2f} s (at most {STREAM_SECONDS})")


def tap_http(proxy, images):
    """The guest's HTTP server fetched by curl: the page and a 1 MB body."""
    ns = Netns()
    ns.tap("tap0")
    guest = Guest(ns, proxy, images, "netecho", "http", 8080, 2)
    guest.wait_for("listening on port 8080")
    r = ns.run(["curl", "-sS", "--max-time", "30", f"http://{GUEST}:8080/"], timeout=60)
    check(r.returncode == 0 and "Hello from the unikernel" in r.stdout, f"curl /: {r.stdout.strip()!r} {r.stderr.strip()!r}")
    r = ns.run(["curl", "-sS", "--max-time", "60", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                f"http://{GUEST}:8080/bytes/1000000"], timeout=90)
    check(r.returncode == 0 and r.stdout.strip() == "200 1000000", f"curl /bytes/1000000: {r.stdout.strip()!r}")
    check(guest.finish() == 0, "the HTTP server ended after two requests")


def two_guests(proxy, images):
    """Two proxies on one bridge: one guest's client reaches the other's echo server."""
    ns = Netns()
    ns.tap("tap0")
    ns.tap("tap1")
    server = Guest(ns, proxy, images, "netecho", "echo", 7777, 1, HERMIT_NETIF="tap0", HERMIT_IP="10.0.5.2")
    server.wait_for("listening on port 7777")
    client = Guest(ns, proxy, images, "netecho", "client", "10.0.5.2", 7777, 1 << 20, HERMIT_NETIF="tap1",
                   HERMIT_IP="10.0.5.3")
    rc = client.finish()
    check(rc == 0 and client.has("got 1048576 back") and client.has(" ok"), f"guest 10.0.5.3: {client.lines[-1:]}")
    check(server.finish() == 0 and server.has("echoed 1048576 bytes to 10.0.5.3"), f"guest 10.0.5.2: {server.lines[-1:]}")


def user_http(proxy, images):
    """HERMIT_NETIF=user: the guest gets its address from passt by DHCP, and curl on 127.0.0.1
    reaches the guest's HTTP server through HERMIT_APP_PORT."""
    ns = Netns()
    ns.uplink()
    ns.enter()
    guest = Guest(ns, proxy, images, "netecho", "http", 8080, 1, HERMIT_NETIF="user", HERMIT_APP_PORT="8080")
    guest.wait_for("listening on port 8080")
    # passt accepts on 127.0.0.1 at once, but resets the connection until the guest has its
    # DHCP address (it may listen before): try for up to 20 s.
    deadline = time.time() + 20
    while True:
        r = ns.run(["curl", "-sS", "--max-time", "10", "http://127.0.0.1:8080/"], timeout=30)
        if r.returncode == 0 or time.time() > deadline:
            break
        time.sleep(0.5)
    check(r.returncode == 0 and "Hello from the unikernel" in r.stdout,
          f"curl 127.0.0.1:8080 through passt: {r.stdout.strip()!r} {r.stderr.strip()!r}")
    check(guest.finish() == 0, "the guest's HTTP server ended")
    check(gone_within(ns, 3), "passt ended with the proxy")


def user_client(proxy, images):
    """HERMIT_NETIF=user: a guest client reaches a host server on 127.0.0.1 (passt maps the
    gateway address to the host's loopback)."""
    ns = Netns()
    ns.uplink()
    ns.enter()
    thread, result = serve_once("127.0.0.1", 9000, echo_handler)
    guest = Guest(ns, proxy, images, "netecho", "client", "192.168.77.1", 9000, 1 << 20, HERMIT_NETIF="user")
    rc = guest.finish()
    thread.join(10)
    check(rc == 0 and guest.has("got 1048576 back") and guest.has(" ok"),
          f"guest client through passt to 127.0.0.1:9000: {guest.lines[-3:]} (host saw {result})")
    check(gone_within(ns, 3), "passt ended with the proxy again")


# ---- benchmarks ------------------------------------------------------------------------------------

BENCH_BYTES = int(os.environ.get("NETBENCH_BYTES", 64 << 20))
CHUNKS = (1024, 16384, 65536)
CONNECTIONS = 500


def rate(lines, what):
    for line in lines:
        if what in line and "MiB/s" in line:
            return float(line.rsplit(",", 1)[1].split()[0])
    fail(f"no rate in {lines[-5:]}")


def bench(proxy, images, native):
    """TCP stream both ways at 1/16/64 KiB writes, 1-byte ping-pong and connection setup: the
    guest over its tap against a Linux process in a second namespace on the same bridge (veth),
    both talking to a native netbench at the bridge's address; then the guest in user mode
    (passt, loopback; no Linux column). Prints a table, the original netio's table, and
    "BENCH <native|hermit> <name> <value> <unit>" lines for run-benchmarks.sh."""
    ns = Netns()
    ns.tap("tap0")
    # No bridge of its own: a second 10.0.5.1 there answered the guest's ARP request for the
    # host through the veth (Linux answers for any of its addresses on any interface), and
    # the guest's connection went to the wrong namespace (the bench's first step hung).
    peer = Netns(bridge=False)
    ns.ip("link", "add", "vl0", "type", "veth", "peer", "name", "vl1", "netns", peer.name)
    ns.ip("link", "set", "vl0", "master", "br0")
    ns.ip("link", "set", "vl0", "up")
    peer.ip("addr", "add", "10.0.5.9/24", "dev", "vl1")
    peer.ip("link", "set", "vl1", "up")
    results = []  # (label, key, unit, ours, linux)
    port = [20000]

    def next_port():
        port[0] += 1
        return port[0]

    def native_in(where, *args):
        return where.popen([native, *map(str, args)])

    def field_after(text, word):
        return float(text.split(word, 1)[1].split()[0])

    for chunk in CHUNKS:
        kib = chunk // 1024
        # guest/Linux -> host
        p = next_port()
        sink = native_in(ns, "sink", p, 1, "nocheck")
        wait_line(sink, "listening")
        g = Guest(ns, proxy, images, "netbench", "source", HOST, p, BENCH_BYTES, chunk, "nocheck")
        check(g.finish(120) == 0, f"guest source {chunk}")
        ours = rate(g.lines, "source sent")
        sink.wait(30)
        p = next_port()
        sink = native_in(ns, "sink", p, 1, "nocheck")
        wait_line(sink, "listening")
        r = peer.run([native, "source", HOST, str(p), str(BENCH_BYTES), str(chunk), "nocheck"], timeout=120)
        sink.wait(30)
        results.append((f"TCP stream guest->host, {kib} KiB writes", f"net_tap_tx_{kib}k", "MiB/s", ours,
                        rate(r.stdout.splitlines(), "source sent")))
        # host -> guest/Linux
        p = next_port()
        g = Guest(ns, proxy, images, "netbench", "sink", p, 1, "nocheck")
        g.wait_for("listening")
        r = ns.run([native, "source", GUEST, str(p), str(BENCH_BYTES), str(chunk), "nocheck"], timeout=120)
        ours = rate(r.stdout.splitlines(), "source sent")
        check(g.finish(60) == 0, f"guest sink {chunk}")
        p = next_port()
        sink = native_in(peer, "sink", p, 1, "nocheck")
        wait_line(sink, "listening")
        r = ns.run([native, "source", "10.0.5.9", str(p), str(BENCH_BYTES), str(chunk), "nocheck"], timeout=120)
        sink.wait(30)
        results.append((f"TCP stream host->guest, {kib} KiB writes", f"net_tap_rx_{kib}k", "MiB/s", ours,
                        rate(r.stdout.splitlines(), "source sent")))
    # latency: 1-byte ping-pong from the host
    lat = {}
    for who, where, addr in (("ours", ns, GUEST), ("linux", peer, "10.0.5.9")):
        p = next_port()
        if who == "ours":
            server = Guest(ns, proxy, images, "netbench", "pong", p)
            server.wait_for("listening")
        else:
            server = native_in(peer, "pong", p)
            wait_line(server, "listening")
        r = ns.run([native, "ping", addr, str(p), "5000"], timeout=120)
        lat[who] = (field_after(r.stdout, "median"), field_after(r.stdout, "p99"))
        if who == "ours":
            server.finish(30)
        else:
            server.wait(30)
    results.append(("TCP 1-byte ping-pong, median", "net_tap_rtt_median", "us", lat["ours"][0], lat["linux"][0]))
    results.append(("TCP 1-byte ping-pong, p99", "net_tap_rtt_p99", "us", lat["ours"][1], lat["linux"][1]))
    # connection setup: the host connects and closes CONNECTIONS times in a row
    rates = {}
    for who, addr in (("ours", GUEST), ("linux", "10.0.5.9")):
        p = next_port()
        if who == "ours":
            server = Guest(ns, proxy, images, "netbench", "accepts", p, CONNECTIONS)
            server.wait_for("listening")
        else:
            server = native_in(peer, "accepts", p, CONNECTIONS)
            wait_line(server, "listening")
        r = ns.run([native, "connects", addr, str(p), str(CONNECTIONS)], timeout=120)
        check(r.returncode == 0, f"{CONNECTIONS} connections to {addr}: {r.stdout.strip()} {r.stderr.strip()}")
        rates[who] = field_after(r.stdout, "s,")
        if who == "ours":
            check(server.finish(60) == 0, "the guest accepted every connection")
        else:
            server.wait(30)
    results.append(("TCP connections set up and closed per second", "net_tap_connect", "1/s", rates["ours"],
                     rates["linux"]))
    # user mode: the guest behind passt, the host tool on loopback
    up = Netns()
    up.uplink()
    for chunk in CHUNKS:
        kib = chunk // 1024
        p = next_port()
        sink = native_in(up, "sink", p, 1, "nocheck")
        wait_line(sink, "listening")
        g = Guest(up, proxy, images, "netbench", "source", "192.168.77.1", p, BENCH_BYTES, chunk, "nocheck",
                  HERMIT_NETIF="user")
        check(g.finish(120) == 0, f"user-mode source {chunk}")
        sink.wait(30)
        results.append((f"user mode (passt) guest->host, {kib} KiB writes", f"net_user_tx_{kib}k", "MiB/s",
                        rate(g.lines, "source sent"), None))
        p = next_port()
        g = Guest(up, proxy, images, "netbench", "sink", p, 1, "nocheck", HERMIT_NETIF="user", HERMIT_APP_PORT=str(p))
        g.wait_for("listening")
        r = up.run([native, "source", "127.0.0.1", str(p), str(BENCH_BYTES), str(chunk), "nocheck"], timeout=120)
        results.append((f"user mode (passt) host->guest, {kib} KiB writes", f"net_user_rx_{kib}k", "MiB/s",
                        rate(r.stdout.splitlines(), "source sent"), None))
        g.finish(60)
    print("\n| Benchmark | HermitCore (tap) | Linux process (veth, same bridge) | ratio |")
    print("|---|---|---|---|")
    for label, key, unit, ours, linux in results:
        ratio = f"{ours / linux:.2f}" if linux else "-"
        print(f"| {label} ({unit}) | {ours} | {'-' if linux is None else linux} | {ratio} |")
    # The original netio's table (its packet sizes are the write sizes here, KiB = 1024 bytes).
    for who, column in (("HermitCore (tap)", 3), ("Linux process (veth)", 4)):
        print(f"\nnetio-style, {who}: TCP connection to the host, {BENCH_BYTES >> 20} MiB per size")
        for chunk in CHUNKS:
            kib = chunk // 1024
            row = {key: (r[3], r[4]) for r in results for key in [r[1]]}
            tx, rx = row[f"net_tap_tx_{kib}k"], row[f"net_tap_rx_{kib}k"]
            pick = 0 if column == 3 else 1
            print(f"Packet size {kib:2d}k bytes:  {tx[pick] * 1024:9.0f} KByte/s Tx,  {rx[pick] * 1024:9.0f} KByte/s Rx.")
    for label, key, unit, ours, linux in results:
        print(f"BENCH hermit {key} {ours} {unit}")
        if linux is not None:
            print(f"BENCH native {key} {linux} {unit}")

SCENARIOS = {
    "header-tap": header_tap,
    "header-user": header_user,
    "bad-input": bad_input,
    "tap-echo": tap_echo,
    "tap-client": tap_client,
    "tap-udp": tap_udp,
    "tap-http": tap_http,
    "tap-stream": tap_stream,
    "two-guests": two_guests,
    "user-http": user_http,
    "user-client": user_client,
    "bench": bench,
}


def with_tap(name, argv):
    """Attaches tap `name`, then runs argv with HERMIT_NETIF=@<fd>, or holds it until stdin ends."""
    import fcntl
    import struct
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TAP_NO_PI))
    if not argv:
        print("held", flush=True)
        sys.stdin.read()
        return 0
    os.set_inheritable(fd, True)
    os.environ["HERMIT_NETIF"] = f"@{fd}"
    os.execvp(argv[0], argv)
    return 1


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--with-tap":
        return with_tap(sys.argv[2], sys.argv[3:])
    if len(sys.argv) < 4 or sys.argv[1] not in SCENARIOS:
        print(f"usage: {sys.argv[0]} <{'|'.join(SCENARIOS)}> <proxy> <image dir>", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("SKIPPED: needs root (network namespaces and taps)")
        return SKIP
    if subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
        print("SKIPPED: no iproute2 with network namespaces")
        return SKIP
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    SCENARIOS[sys.argv[1]](*map(os.path.abspath, sys.argv[2:]))
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
