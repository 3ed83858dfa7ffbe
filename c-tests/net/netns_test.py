#!/usr/bin/env python3
"""netns_test.py: end-to-end network tests of the proxy, only inside network namespaces they create.

usage: netns_test.py <scenario> <proxy> <image directory>

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

SKIP = 77
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
    """A network namespace with a bridge br0 at 10.0.5.1/24 and loopback up."""

    def __init__(self):
        self.name = f"hermit-{os.getpid()}-{len(NAMESPACES)}"
        sh("ip", "netns", "add", self.name)
        NAMESPACES.append(self.name)
        self.ip("link", "set", "lo", "up")
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
        out = sh("ip", "netns", "pids", self.name, check_rc=False).stdout.split()
        return [p for p in out if p.isdigit()]

    def links(self):
        return sorted(line.split(":")[1].strip().split("@")[0] for line in self.ip("-o", "link").stdout.splitlines())

    def enter(self):
        """Moves this (python) process's later sockets into the namespace (setns)."""
        fd = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        os.setns(fd, os.CLONE_NEWNET)
        os.close(fd)


def cleanup():
    for name in NAMESPACES:
        for pid in sh("ip", "netns", "pids", name, check_rc=False).stdout.split():
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


SCENARIOS = {
    "header-tap": header_tap,
    "header-user": header_user,
    "bad-input": bad_input,
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
    SCENARIOS[sys.argv[1]](os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3]))
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
