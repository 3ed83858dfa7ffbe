#!/usr/bin/env python3
"""netns_test.py: end-to-end network tests of the proxy, only inside network namespaces they create.

usage: netns_test.py <scenario> <proxy> <image directory> [native netbench, for "bench"]

Each scenario makes a fresh namespace (`ip netns add hermit-<pid>-<n>`) with a bridge
`br0` (10.0.5.1/24) and the taps it needs, runs the proxy and the host-side tools (python
sockets, ping, curl) inside it, and deletes the namespace on every way out (the taps and
the bridge go with it; passt ends with the proxy's socket). No traffic leaves the namespace.
Needs root (network namespaces, taps) and iproute2; exits 77 (skipped) without them.

This file is the harness (namespaces, cleanup, the guest, host-side helpers) and the command
line; the scenarios live by subject in netns_tap.py (tap traffic), netns_faults.py (the fault
list), netns_user.py (passt), netns_qemu.py (QEMU), netns_capture.py (pcap files, jumbo frames,
offloads) and netns_bench.py (bench, bench-user, latency). They and the other scenario files
(hostile_frames.py, ipv6_test.py ...) `import netns_test`; the names that moved to them still
resolve here (`netns_test.read_pcap`, `netns_test.rate`, ...).
"""

import atexit
import hashlib
import importlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

# Run as a script this file is `__main__`, and the scenario modules `import netns_test`: both
# must be this one module object, or a second copy would keep NAMESPACES and DIRS_TO_REMOVE
# of its own and the cleanup here would miss what the scenarios made.
sys.modules.setdefault("netns_test", sys.modules[__name__])

SKIP = int(os.environ.get("NETNS_SKIP_STATUS", "77"))
SELF = os.path.abspath(__file__)
IP = shutil.which("ip") or "ip"
TUNSETIFF = 0x400454CA
IFF_TAP_NO_PI = 0x0002 | 0x1000
NAMESPACES = []
GUESTS = []  # every Guest of this run, for their output when a scenario raises
DIRS_TO_REMOVE = []  # removed at the end: /etc/netns/<namespace> (`ip netns exec` mounts its resolv.conf), temporary directories


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
    for path in DIRS_TO_REMOVE:
        shutil.rmtree(path, ignore_errors=True)
    DIRS_TO_REMOVE.clear()
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


def end_or_kill(proc, timeout):
    """Waits for a Linux-side helper of the benchmarks (a sink behind pasta); one that Debian
    12's pasta left hanging (its half-close bug) is killed: its row then has no Linux value
    instead of ending the whole benchmark. The helper runs in a session of its own
    (`start_new_session`), and the whole session is killed: pasta runs the sink as its child
    in a namespace of its own, and killing pasta alone left the sink behind."""
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        print(f"note: {proc.args[-5:]} did not end within {timeout} s: killed", flush=True)
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait()


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


def curl_until(ns, url, seconds, max_time):
    """curl `url` in `ns`, again every 0.5 s for up to `seconds` until it succeeds (passt
    accepts on 127.0.0.1 at once, and resets a connection the guest cannot take yet);
    returns the last result."""
    deadline = time.time() + seconds
    while True:
        r = ns.run(["curl", "-sS", "--max-time", str(max_time), url], timeout=30)
        if r.returncode == 0 or time.time() > deadline:
            return r
        time.sleep(0.5)


# ---- traffic (the guest's programs: netecho from netk, netbench) ---------------------------------

GUEST = "10.0.5.2"
HOST = "10.0.5.1"


class Guest:
    """A proxy running `program args` in the namespace; its output is collected by a thread."""

    def __init__(self, ns, proxy, images, program, *args, cwd=None, **env):
        env.setdefault("HERMIT_NETIF", "tap0")
        env.setdefault("HERMIT_CPUS", "2")
        self.proc = ns.popen([proxy, f"{images}/{program}", *map(str, args)], env=env_with(**env), cwd=cwd)
        self.program = program
        self.lines = []
        self.done = threading.Event()
        self.matched = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        GUESTS.append(self)

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


def ring_counts(guest):
    """(frames sent, frames received) of the proxy's HERMIT_VERBOSE line about the NIC's
    descriptor rings, or None if the guest did not use them."""
    for line in guest.lines:
        if line.startswith("proxy: network rings: "):
            words = line.split()
            return int(words[3]), int(words[words.index("received") - 2])
    return None


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


def echo_64(conn, source):
    """64 bytes echoed by the guest on `conn` (from the host address `source`), then closed;
    fails otherwise."""
    conn.sendall(b"x" * 64)
    got = b""
    while len(got) < 64:
        chunk = conn.recv(64 - len(got))
        if not chunk:
            break
        got += chunk
    conn.close()
    if got != b"x" * 64:
        fail(f"the guest echoed {len(got)} of 64 bytes to {source}")


def tap_netns():
    """A fresh namespace with tap0 on its bridge, entered by this process: the start of most
    tap scenarios."""
    ns = Netns()
    ns.tap("tap0")
    ns.enter()
    return ns


# ---- guests running netfault (c-tests/net/netfault.c): netns_faults.py, netns_user.py, others ----------

def fault_guest(ns, proxy, images, *args, **env):
    return Guest(ns, proxy, images, "netfault", *args, **env)


def guest_passed(guest, what, timeout=60):
    rc = guest.finish(timeout)
    check(rc == 0 and guest.has("checks passed"), f"{what}: the guest's checks ({rc}, {guest.lines[-4:]})")


# ---- a guest and a Linux process on one segment (the benchmarks, scratch harnesses) ------------------

def tap_and_peer():
    """A namespace with the bridge and tap0 for the guest, and a second namespace at 10.0.5.9
    on a veth to that bridge for the Linux process: the two connected the same way."""
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
    return ns, peer


# ---- the scenarios (in the order of the usage line): name -> module.function ------------------------

SCENARIO_HOMES = {
    "header-tap": "netns_tap.header_tap",
    "header-user": "netns_user.header_user",
    "bad-input": "netns_tap.bad_input",
    "tap-echo": "netns_tap.tap_echo",
    "tap-echo-many": "netns_tap.tap_echo_many",
    "tap-client": "netns_tap.tap_client",
    "tap-udp": "netns_tap.tap_udp",
    "tap-multicast": "netns_tap.tap_multicast",
    "tap-ifaddrs": "netns_tap.tap_ifaddrs",
    "tap-http": "netns_tap.tap_http",
    "tap-concurrent": "netns_tap.tap_concurrent",
    "tap-stream": "netns_tap.tap_stream",
    "tap-pingpong": "netns_tap.tap_pingpong",
    "tap-trade": "netns_tap.tap_trade",
    "tap-jumbo": "netns_capture.tap_jumbo",
    "tap-offload": "netns_capture.tap_offload",
    "two-guests": "netns_tap.two_guests",
    "user-http": "netns_user.user_http",
    "user-client": "netns_user.user_client",
    "user-stream": "netns_user.user_stream",
    "user-udp": "netns_user.user_udp",
    "user-dns": "netns_user.user_dns",
    "user-banner": "netns_user.user_banner",
    "addr-conflict": "netns_tap.addr_conflict",
    "tap-poll": "netns_faults.tap_poll",
    "tap-nbconnect": "netns_faults.tap_nbconnect",
    "tap-reset": "netns_faults.tap_reset",
    "tap-halfclose": "netns_faults.tap_halfclose",
    "tap-backlog": "netns_faults.tap_backlog",
    "tap-many": "netns_faults.tap_many",
    "tap-bad-ring": "netns_faults.tap_bad_ring",
    "tap-keepalive": "netns_faults.tap_keepalive",
    "qemu-tap-echo": "netns_qemu.qemu_tap_echo",
    "qemu-kvm-tap-echo": "netns_qemu.qemu_kvm_tap_echo",
    "qemu-user-http": "netns_qemu.qemu_user_http",
    "capture": "netns_capture.capture",
    "bench": "netns_bench.bench",
    "bench-user": "netns_bench.bench_user",
    "latency": "netns_bench.latency",
}
SCENARIO_MODULES = tuple(dict.fromkeys(home.split(".")[0] for home in SCENARIO_HOMES.values()))


def scenarios():
    """{scenario name: function}: imports the scenario modules (they import this one)."""
    found = {}
    for name, home in SCENARIO_HOMES.items():
        module, function = home.split(".")
        found[name] = getattr(importlib.import_module(module), function)
    return found


def __getattr__(name):
    """What moved from this file to the scenario modules (read_pcap, rate, BENCH_MTU ...) is
    looked up there, and SCENARIOS is {scenario name: function}, as before the split."""
    if name.startswith("__"):  # import machinery asks for __path__ & co.: not to import here
        raise AttributeError(name)
    if name == "SCENARIOS":
        return scenarios()
    for module in SCENARIO_MODULES:
        value = getattr(importlib.import_module(module), name, __getattr__)
        if value is not __getattr__:
            return value
    raise AttributeError(f"module 'netns_test' has no attribute {name!r}")


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


def prepare():
    """What every scenario needs before it starts (here and in the scenario files that import
    this one): root and iproute2, else the skip status (printed, and returned); the
    namespaces deleted however the run ends. None when ready."""
    if os.geteuid() != 0:
        print("SKIPPED: needs root (network namespaces and taps)")
        return SKIP
    if subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
        print("SKIPPED: no iproute2 with network namespaces")
        return SKIP
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return None


def show_guests():
    """After a scenario raised (a socket timed out, say): ends the guests still running (their
    proxies print the summaries they have at the end) and prints what each guest said last."""
    for guest in GUESTS:
        if guest.proc.poll() is None:
            guest.proc.terminate()
            try:
                guest.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                guest.proc.kill()
        guest.done.wait(5)
        print(f"guest {guest.program} ({len(guest.lines)} lines), its last:", flush=True)
        for line in guest.lines[-40:]:
            print(f"  {line}", flush=True)


def run_scenario(scenarios):
    """The main of a file of scenarios (this one and those that import it): argv is
    <scenario> <proxy> <image dir> [more paths]; its status."""
    if len(sys.argv) < 4 or sys.argv[1] not in scenarios:
        print(f"usage: {sys.argv[0]} <{'|'.join(scenarios)}> <proxy> <image dir>", file=sys.stderr)
        return 2
    skipped = prepare()
    if skipped is not None:
        return skipped
    try:
        scenarios[sys.argv[1]](*map(os.path.abspath, sys.argv[2:]))
    except Exception as error:  # noqa: BLE001  (any failure: the guests' side is what tells why)
        traceback.print_exc()
        show_guests()
        print(f"FAIL: {sys.argv[1]}: {error!r}", flush=True)
        return 1
    print("all checks passed")
    return 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--with-tap":
        return with_tap(sys.argv[2], sys.argv[3:])
    return run_scenario(scenarios())


if __name__ == "__main__":
    sys.exit(main())
