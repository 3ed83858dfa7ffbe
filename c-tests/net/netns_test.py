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
import tempfile
import threading
import time

SKIP = int(os.environ.get("NETNS_SKIP_STATUS", "77"))
SELF = os.path.abspath(__file__)
IP = shutil.which("ip") or "ip"
TUNSETIFF = 0x400454CA
IFF_TAP_NO_PI = 0x0002 | 0x1000
NAMESPACES = []
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
    # No permission: a tap that belongs to another user, opened without CAP_NET_ADMIN. That
    # user runs copies of the proxy and the image: the build tree may lie in a directory only
    # root can enter (a clone in a `mktemp -d` directory, mode 0700).
    ns.ip("tuntap", "add", "tapx", "mode", "tap", "user", "0")
    shared = tempfile.mkdtemp(prefix="hermit-netns-")
    atexit.register(shutil.rmtree, shared, True)
    os.chmod(shared, 0o755)
    other_proxy, other_image = shutil.copy(proxy, shared), shutil.copy(image, shared)
    os.chmod(other_image, 0o644)
    r = ns.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", other_proxy,
                other_image], env=env_with(HERMIT_NETIF="tapx"), timeout=60)
    check(r.returncode == 1 and "no permission" in r.stderr,
          f"foreign tap: status 1 and 'no permission' ({r.stderr.strip()!r})")



# ---- traffic (the guest's programs: netecho from netk, netbench) ---------------------------------

GUEST = "10.0.5.2"
HOST = "10.0.5.1"


class Guest:
    """A proxy running `program args` in the namespace; its output is collected by a thread."""

    def __init__(self, ns, proxy, images, program, *args, cwd=None, **env):
        env.setdefault("HERMIT_NETIF", "tap0")
        env.setdefault("HERMIT_CPUS", "2")
        self.proc = ns.popen([proxy, f"{images}/{program}", *map(str, args)], env=env_with(**env), cwd=cwd)
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


def ring_counts(guest):
    """(frames sent, frames received) of the proxy's HERMIT_VERBOSE line about the NIC's
    descriptor rings, or None if the guest did not use them."""
    for line in guest.lines:
        if line.startswith("proxy: network rings: "):
            words = line.split()
            return int(words[3]), int(words[words.index("received") - 2])
    return None


def tap_echo(proxy, images):
    """ping the guest's static address; 10 MB through its TCP echo server both ways, over
    the NIC's descriptor rings (the proxy's HERMIT_VERBOSE counters say so)."""
    ns = Netns()
    ns.tap("tap0")
    ns.enter()
    guest = Guest(ns, proxy, images, "netecho", "echo", 7777, 1, HERMIT_VERBOSE="1")
    guest.wait_for("listening on port 7777")
    r = ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "5", GUEST], timeout=30)
    check(r.returncode == 0 and " 0% packet loss" in r.stdout, f"ping {GUEST}: {r.stdout.strip().splitlines()[-2:]}")
    got, same = echo_both_ways(GUEST, 7777, 10 << 20)
    check(got == 10 << 20 and same, f"TCP echo: 10 MiB sent, {got} bytes back, sha256 equal: {same}")
    check(guest.finish() == 0 and guest.has("echoed 10485760 bytes"), "the guest echoed 10485760 bytes and ended")
    counts = ring_counts(guest)
    # 10 MiB each way is more than 160 frames each way, even of 64 KiB (TCP segmentation
    # offload: see tap-offload).
    check(counts is not None and min(counts) > 160 and " 0 dropped" in next(
        l for l in guest.lines if l.startswith("proxy: network rings:")),
        f"the frames went through the descriptor rings, none dropped (sent, received: {counts})")


PINGPONG_ROUNDS = int(os.environ.get("PINGPONG_ROUNDS", 20000))


def pingpong(ns, proxy, images, port, rounds, **env):
    """`rounds` 1-byte TCP round trips to a new guest's pong, each within 5 s; their times (us)."""
    guest = Guest(ns, proxy, images, "netbench", "pong", port, **env)
    guest.wait_for("listening")
    t0 = time.perf_counter()
    try:
        sock = socket.create_connection((GUEST, port), timeout=5)
    except OSError as e:
        fail(f"no connection to the guest on port {port} within 5 s ({e})")
    setup = time.perf_counter() - t0
    check(setup < 0.9, f"connected within 0.9 s (no SYN retransmitted): {setup:.3f} s")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(5)
    times = []
    for i in range(rounds):
        b = bytes([i & 0xff])
        t0 = time.perf_counter()
        try:
            sock.sendall(b)
            r = sock.recv(1)
        except OSError as e:
            fail(f"round {i} of {PINGPONG_ROUNDS} stalled ({e}); worst before: {max(times, default=0):.1f} us")
        if r != b:
            fail(f"round {i}: sent {b!r}, got {r!r}")
        times.append((time.perf_counter() - t0) * 1e6)
    sock.close()
    check(guest.finish() == 0 and guest.has(f"pong answered {rounds} bytes"), "the guest answered every round")
    if "HERMIT_VERBOSE" in env:
        rings = ring_counts(guest)
        check((rings is None) == (env.get("HERMIT_NET_RING") == "0"), f"descriptor rings as asked: {rings}")
    return sorted(times)


def tap_pingpong(proxy, images):
    """Many 1-byte TCP round trips to a guest pong over the tap, each within 5 s: a lost
    receive wake-up (a frame that waits in the proxy while the guest sleeps) would stall a
    round until the host's retransmissions stop. Two guests in a row at the same address
    (each with a new MAC), as the bench runs them: the host must reach the second at once,
    not its predecessor's MAC (a connection then took seconds, and a ping-pong stalled).
    The first uses the batched calls (HERMIT_NET_RING=0), the second the descriptor rings.
    Prints the median and worst round."""
    ns = Netns()
    ns.tap("tap0")
    ns.enter()
    # The first guest with the batched calls (no rings), the second over the rings.
    pingpong(ns, proxy, images, 7780, 100, HERMIT_NET_RING="0", HERMIT_VERBOSE="1")
    times = pingpong(ns, proxy, images, 7781, PINGPONG_ROUNDS)
    print(f"ok: {PINGPONG_ROUNDS} rounds, median {times[len(times) // 2]:.1f} us, "
          f"p99 {times[len(times) * 99 // 100]:.1f} us, max {times[-1]:.1f} us")


def thread_cpus(pid):
    """{thread name: (CPU it last ran on, the CPUs it may run on)} of process `pid`."""
    found = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                status = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        cpu = int(stat[stat.rindex(")") + 2:].split()[36])
        allowed = next(l.split(":", 1)[1].strip() for l in status.splitlines() if l.startswith("Cpus_allowed_list"))
        found[name if tid != str(pid) else "vcpu0"] = (cpu, allowed)
    return found


def tap_trade(proxy, images):
    """The poller's trade of CPUs with two vCPUs on a 2-CPU host, and its end: a 1-byte
    ping-pong whose host peer (this process, pinned to the CPU of the busy vCPU) answers
    slowly beside it makes the poller take that CPU and move both vCPU threads off it; when
    the guest then spins on two threads, it must get both CPUs back at once (the proxy's
    count of trades given back because the guest got busy, and both vCPU threads allowed
    every CPU again 50 ms into the spin; the host CPUs its threads ran on are printed).
    Then the trade for a guest->host stream read beside the sending vCPU, with two vCPUs
    and with one (`stream_trade`)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) != 2:
        print(f"skipped: needs a host with 2 CPUs for 2 vCPUs (this one has {len(cpus)})")
        sys.exit(SKIP)
    ns = Netns()
    ns.tap("tap0")
    ns.enter()
    for attempt in range(3):
        port = 7790 + attempt
        guest = Guest(ns, proxy, images, "netbench", "pong-spin", port, 300, HERMIT_CPUS="2", HERMIT_VERBOSE="1")
        guest.wait_for("listening")
        sock = socket.create_connection((GUEST, port), timeout=5)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(5)
        traded = set()
        for i in range(3000):
            if i % 500 == 0:
                threads = thread_cpus(guest.proc.pid)
                # Beside the busy vCPU: its answers wait for that CPU.
                os.sched_setaffinity(0, {threads["vcpu0"][0]})
                traded |= {threads[n][1] for n in ("vcpu0", "vcpu1") if threads[n][1] != f"{cpus[0]}-{cpus[1]}"}
            sock.sendall(b"x")
            if sock.recv(1) != b"x":
                fail(f"round {i}: no answer")
        os.sched_setaffinity(0, set(cpus))
        sock.close()
        guest.wait_for("pong answered 3000 bytes")
        time.sleep(0.05)
        spinning = thread_cpus(guest.proc.pid)
        print(f"while the guest spins: {spinning}")
        rc = guest.finish()
        check(rc == 0, "the guest ended well")
        line = next((l for l in guest.lines if "trades of CPUs with a vCPU" in l), "")
        words = line.split("trades of CPUs with a vCPU")[0].split()
        trades = int(words[-1]) if words else 0
        given = int(line.split(" given back as the guest got busy")[0].split()[-1].lstrip("(")) if trades else 0
        print(f"attempt {attempt}: {trades} trades, {given} given back as the guest got busy, vCPU threads "
              f"restricted to {sorted(traded)} while the ping-pong ran")
        if trades == 0:
            continue
        check(given >= 1, "the trade was given back when the guest turned busy")
        allowed = {n: spinning[n][1] for n in ("vcpu0", "vcpu1") if n in spinning}
        check(len(allowed) == 2 and all(a == f"{cpus[0]}-{cpus[1]}" for a in allowed.values()),
              f"both vCPU threads may run on every CPU while the guest spins: {allowed}")
        check(bool(traded), "the trade moved the vCPU threads off the poller's CPU during the ping-pong")
        # Where the host ran the spinning threads is its scheduler's business (both vCPU
        # threads may stay on one CPU that other processes leave freer): printed only.
        for l in guest.lines:
            if "spin thread" in l:
                print(l)
        break
    else:
        fail("no trade in 3 ping-pongs with the peer beside the busy vCPU")
    for vcpus in ("2", "1"):
        stream_trade(ns, proxy, images, cpus, vcpus)


def stream_trade(ns, proxy, images, cpus, vcpus):
    """The trade for a guest->host stream: this process reads what the guest sends while
    it keeps to the CPU of the sending vCPU (vCPU 0's thread), so the two share that CPU
    and the vCPU waits for it; the poller must take that CPU (its count of trades for a
    starved stream) and the stream must arrive whole."""
    for attempt in range(3):
        port = 7800 + attempt + (10 if vcpus == "1" else 0)
        listener = socket.create_server((HOST, port))
        guest = Guest(ns, proxy, images, "netbench", "source", HOST, port, 256 << 20, 1024, "nocheck",
                      HERMIT_CPUS=vcpus, HERMIT_VERBOSE="1")
        listener.settimeout(30)
        conn, _ = listener.accept()
        listener.close()
        buf = bytearray(1 << 16)
        total = 0
        last_pin = 0
        while True:
            if total - last_pin >= 16 << 20 or total == 0:
                # Beside the sending vCPU, wherever it runs now.
                os.sched_setaffinity(0, {thread_cpus(guest.proc.pid)["vcpu0"][0]})
                last_pin = total or 1
            n = conn.recv_into(buf)
            if n == 0:
                break
            total += n
        conn.sendall(f"{total} 0".encode())
        conn.close()
        os.sched_setaffinity(0, set(cpus))
        rc = guest.finish()
        check(rc == 0 and guest.has("source sent") and total == 256 << 20,
              f"{vcpus} vCPU(s): the stream arrived whole ({total} bytes)")
        line = next((l for l in guest.lines if "for a starved stream" in l), "")
        trades = int(line.split(" for a starved stream")[0].split("(")[-1]) if line else 0
        print(f"{vcpus} vCPU(s), attempt {attempt}: {trades} trades for a starved stream; {line.strip()}")
        if trades > 0:
            check(True, f"{vcpus} vCPU(s): the poller traded CPUs with the vCPU that shared its CPU with the reader")
            return
    fail(f"{vcpus} vCPU(s): no trade in 3 streams read beside the sending vCPU")


def offload_counts(guest):
    """(GSO frames sent, bad headers refused, GSO frames received, partial checksums received)
    of the proxy's HERMIT_VERBOSE ring line, or None if offloads were not on."""
    line = next((l for l in guest.lines if l.startswith("proxy: network rings:")), "")
    if "; offloads: " not in line:
        return None
    words = line.split("; offloads: ", 1)[1].split()
    return int(words[0]), int(words[4]), int(words[8]), int(words[12])


def tcp_mss_options(frames, src_ip):
    """The MSS options of the TCP SYNs (and SYN-ACKs) that `src_ip` sent, from a pcap."""
    import struct
    found = []
    for f in frames:
        if len(f) < 54 or f[12:14] != bytes([8, 0]) or f[23] != 6 or f[26:30] != socket.inet_aton(src_ip):
            continue
        l4 = 14 + (f[14] & 0xF) * 4
        if not f[l4 + 13] & 0x02:
            continue
        at, end = l4 + 20, l4 + (f[l4 + 12] >> 4) * 4
        while at < end and f[at] != 0:
            if f[at] == 1:
                at += 1
                continue
            if f[at] == 2 and f[at + 1] == 4:
                found.append(struct.unpack_from(">H", f, at + 2)[0])
            at += max(f[at + 1], 2)
    return found


def jumbo_tap():
    """A namespace (entered) whose bridge and tap0 have an MTU of 9000."""
    ns = Netns()
    ns.tap("tap0")
    ns.ip("link", "set", "tap0", "mtu", "9000")
    ns.ip("link", "set", "br0", "mtu", "9000")
    ns.enter()
    return ns


def tap_offload(proxy, images):
    """Tap offloads (IFF_VNET_HDR, TSO and checksum offload) over a tap of MTU 9000: the guest
    echoes 10 MiB both ways intact; the proxy's counters show 64 KiB GSO frames both ways
    and no refused header; the capture shows the guest's TCP segments larger than the MTU
    (the host cut them), while its SYN-ACK advertised the MTU's MSS (8960), not smoltcp's
    64 KiB one. Then with HERMIT_NET_OFFLOAD=0 the same echo moves MTU-sized frames only."""
    ns = jumbo_tap()
    pcap = f"/tmp/hermit-offload-{os.getpid()}.pcap"
    try:
        for offload in ("1", "0"):
            guest = Guest(ns, proxy, images, "netecho", "echo", 7777, 1, HERMIT_VERBOSE="1", HERMIT_CAPTURE_NET=pcap,
                          HERMIT_NET_OFFLOAD=offload)
            guest.wait_for("listening on port 7777")
            got, same = echo_both_ways(GUEST, 7777, 10 << 20)
            check(got == 10 << 20 and same, f"TCP echo (offloads {offload}): 10 MiB sent, {got} bytes back, "
                  f"sha256 equal: {same}")
            check(guest.finish() == 0 and guest.has("echoed 10485760 bytes"), "the guest echoed and ended")
            counts = offload_counts(guest)
            frames = read_pcap(pcap)
            ours = [f for f in frames if f[12:14] == bytes([8, 0]) and f[26:30] == socket.inet_aton(GUEST)]
            largest = max((len(f) for f in ours), default=0)
            mss = tcp_mss_options(frames, GUEST)
            if offload == "1":
                check(counts is not None and counts[0] > 0 and counts[2] > 0 and counts[1] == 0,
                      f"offloads on: GSO frames sent and received, no header refused: {counts}")
                check(9014 < largest <= 14 + 65535, f"the guest sent TCP segments above the MTU: {largest} bytes")
                received = max((len(f) for f in frames if f[30:34] == socket.inet_aton(GUEST)), default=0)
                check(received > 9014, f"the host sent GSO frames to the guest: {received} bytes")
            else:
                check(counts is None, "HERMIT_NET_OFFLOAD=0: no offloads")
                check(1514 < largest <= 9014, f"offloads off: the guest's frames fit the MTU: {largest} bytes")
            check(mss == [8960], f"the guest's SYN-ACK advertised the MTU's MSS: {mss}")
            os.unlink(pcap)
    finally:
        if os.path.exists(pcap):
            os.unlink(pcap)


def tap_jumbo(proxy, images):
    """A tap and bridge with MTU 9000: the guest takes the tap's MTU (NETMTU), echoes 10 MiB
    both ways intact, and both it and the host send frames larger than 1514 bytes (seen in
    the HERMIT_CAPTURE_NET pcap). Without offloads (HERMIT_NET_OFFLOAD=0: no frame is larger
    than the MTU; tap-offload has them)."""
    ns = jumbo_tap()
    pcap = f"/tmp/hermit-jumbo-{os.getpid()}.pcap"
    try:
        guest = Guest(ns, proxy, images, "netecho", "echo", 7777, 1, HERMIT_CAPTURE_NET=pcap, HERMIT_NET_OFFLOAD="0")
        guest.wait_for("listening on port 7777")
        got, same = echo_both_ways(GUEST, 7777, 10 << 20)
        check(got == 10 << 20 and same, f"TCP echo with MTU 9000: 10 MiB sent, {got} bytes back, sha256 equal: {same}")
        check(guest.finish() == 0, "the guest ended")
        frames = read_pcap(pcap)
        ours = bytes([8, 0]), socket.inet_aton(GUEST)
        mac = next((f[6:12] for f in frames if (f[12:14], f[26:30]) == ours), b"")
        sent = max((len(f) for f in frames if f[6:12] == mac), default=0)
        received = max((len(f) for f in frames if f[6:12] != mac), default=0)
        check(1514 < sent <= 9014 and 1514 < received <= 9014,
              f"jumbo frames both ways: the largest {sent} bytes from the guest, {received} to it")
    finally:
        if os.path.exists(pcap):
            os.unlink(pcap)


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
    # passt's own capture (HERMIT_PASST_PCAP); as root passt writes it as nobody.
    where = tempfile.mkdtemp(prefix="hermit-passt-")
    DIRS_TO_REMOVE.append(where)
    os.chmod(where, 0o777)
    pcap = os.path.join(where, "passt.pcap")
    guest = Guest(ns, proxy, images, "netecho", "http", 8080, 1, HERMIT_NETIF="user", HERMIT_APP_PORT="8080",
                  HERMIT_PASST_PCAP=pcap)
    guest.wait_for("listening on port 8080")
    r = curl_until(ns, "http://127.0.0.1:8080/", 20, 10)
    check(r.returncode == 0 and "Hello from the unikernel" in r.stdout,
          f"curl 127.0.0.1:8080 through passt: {r.stdout.strip()!r} {r.stderr.strip()!r}")
    check(guest.finish() == 0, "the guest's HTTP server ended")
    check(gone_within(ns, 3), "passt ended with the proxy")
    # As root the proxy gives passt's end of the socket pair 4 MiB (8 MiB as Linux counts),
    # so it asks the kernel for 4 MiB receive buffers (header extension net_tcp_buffer): the
    # guest's window says so.
    window = guest_window(read_pcap(pcap), 8080)
    check(window == 4 << 20, f"the guest's largest window behind passt: {window} bytes (4 MiB expected)")


def user_client(proxy, images):
    """HERMIT_NETIF=user: a guest client reaches a host server on 127.0.0.1 (passt maps the
    gateway address to the host's loopback). The client reads the whole echo before it closes:
    after a guest's FIN, Debian 12's passt (0.0~git20230309) no longer consumes what the guest
    acknowledges, sends it again and never sends the host's FIN (README, user-mode networking)."""
    ns = Netns()
    ns.uplink()
    ns.enter()
    thread, result = serve_once("127.0.0.1", 9000, echo_handler)
    guest = Guest(ns, proxy, images, "netecho", "client", "192.168.77.1", 9000, 1 << 20, "whole", HERMIT_NETIF="user")
    rc = guest.finish()
    thread.join(10)
    check(rc == 0 and guest.has("got 1048576 back") and guest.has(" ok"),
          f"guest client through passt to 127.0.0.1:9000: {guest.lines[-3:]} (host saw {result})")
    check(gone_within(ns, 3), "passt ended with the proxy again")


def addr_conflict(proxy, images):
    """HERMIT_IP already used on the tap's segment (the proxy's ARP probes before boot): by the
    namespace itself, and by a running guest; a message, status 1, nothing left behind, and
    the guest that had the address first keeps working."""
    ns = Netns()
    ns.tap("tap0")
    ns.tap("tap1")
    ns.ip("addr", "add", "10.0.5.77/24", "dev", "br0")
    ns.enter()
    image = f"{images}/net_header"
    before = ns.links()
    for ip in ("10.0.5.1", "10.0.5.77"):
        r = ns.run([proxy, image], env=env_with(HERMIT_NETIF="tap0", HERMIT_IP=ip), timeout=60)
        check(r.returncode == 1 and f"HERMIT_IP={ip}: the address is already used on tap0" in r.stderr
              and "ready" not in r.stdout, f"{ip} (the namespace's): status 1 ({r.returncode}, {r.stderr.strip()!r})")
        check(ns.links() == before and gone_within(ns, 3), f"{ip}: nothing left behind")
    first = Guest(ns, proxy, images, "netecho", "echo", 7777, 1, HERMIT_NETIF="tap0", HERMIT_IP="10.0.5.2")
    first.wait_for("listening on port 7777")
    started = time.time()
    r = ns.run([proxy, image], env=env_with(HERMIT_NETIF="tap1", HERMIT_IP="10.0.5.2"), timeout=60)
    check(r.returncode == 1 and "HERMIT_IP=10.0.5.2: the address is already used on tap1" in r.stderr
          and "ready" not in r.stdout, f"a second guest with 10.0.5.2: status 1 ({r.stderr.strip()!r})")
    r = ns.run([proxy, image], env=env_with(HERMIT_NETIF="tap1", HERMIT_IP="10.0.5.3"), timeout=60)
    check(r.returncode == 0 and "hcip 10.0.5.3" in r.stdout, "a free address boots (no false conflict)")
    got, same = echo_both_ways(GUEST, 7777, 1 << 20)
    check(got == 1 << 20 and same, f"the first guest still serves 10.0.5.2 ({got} bytes echoed)")
    check(first.finish() == 0, f"the first guest ended normally ({time.time() - started:.1f} s)")


# ---- the fault and multiplexing list over a tap (guest: c-tests/net/netfault.c) --------------

def fault_guest(ns, proxy, images, *args, **env):
    return Guest(ns, proxy, images, "netfault", *args, **env)


def guest_passed(guest, what, timeout=60):
    rc = guest.finish(timeout)
    check(rc == 0 and guest.has("checks passed"), f"{what}: the guest's checks ({rc}, {guest.lines[-4:]})")


def tap_poll(proxy, images):
    """poll and select on three listeners and two connections: timeouts, exactly the ready
    descriptors, end of stream."""
    ns = Netns()
    ns.tap("tap0")
    ns.enter()
    guest = fault_guest(ns, proxy, images, "poll", 9100)
    guest.wait_for("connect to 9101")
    c1 = connect(GUEST, 9101)
    guest.wait_for("send hello there and connect to 9102")
    c1.sendall(b"hello")
    time.sleep(0.2)
    c2 = connect(GUEST, 9102)
    guest.wait_for("close both")
    c1.close()
    c2.close()
    guest_passed(guest, "poll/select")
    check(guest.has("select: hello and the connection on 9102 seen") and guest.has("poll: end of stream on both"),
          f"guest saw: {[line for line in guest.lines if 'timeouts' in line]}")


def tap_nbconnect(proxy, images):
    """Non-blocking connects from the guest: to a listening host port and to a closed one."""
    ns = Netns()
    ns.tap("tap0")
    ns.enter()

    def greet(conn):
        data = conn.recv(64)
        conn.sendall(b"ok")
        return data

    thread, result = serve_once(HOST, 9110, greet)
    guest = fault_guest(ns, proxy, images, "nbconnect", HOST, 9110, 9111)
    guest_passed(guest, "non-blocking connect")
    thread.join(10)
    check(result.get("value") == b"nb hello", f"the host got {result.get('value')!r} from {result.get('peer')}")
    check(guest.has("9111: EINPROGRESS, revents 0x") and guest.has("SO_ERROR ECONNREFUSED"),
          "the guest saw the closed port refuse")


def reset(conn):
    """Closes `conn` with a reset (SO_LINGER on, 0 s)."""
    import struct
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def tap_reset(proxy, images):
    """The host resets three connections: the guest's blocked recv, then its blocked send, fail
    with ECONNRESET; a reset seen by poll is POLLERR and SO_ERROR ECONNRESET."""
    ns = Netns()
    ns.tap("tap0")
    ns.enter()
    guest = fault_guest(ns, proxy, images, "reset", 9120)
    guest.wait_for("listening on 9120")
    c = connect(GUEST, 9120)
    c.sendall(b"abc")
    guest.wait_for("got abc; reset now")
    time.sleep(0.2)
    reset(c)
    guest.wait_for("blocked recv:")
    c = connect(GUEST, 9120)
    guest.wait_for("sending until the reset")
    got = len(c.recv(1000))
    time.sleep(0.5)
    reset(c)
    c = connect(GUEST, 9120)
    guest.wait_for("waiting in poll for the reset")
    time.sleep(0.2)
    reset(c)
    guest_passed(guest, "resets")
    check(got > 0 and guest.has("blocked recv: ECONNRESET") and guest.has("blocked send after")
          and guest.has("SO_ERROR ECONNRESET, then end of stream"),
          f"the guest saw the three resets ({[line for line in guest.lines if 'blocked' in line or 'poll:' in line]})")


def tap_halfclose(proxy, images):
    """Half-close both ways: the host's FIN, then the guest's, each followed by an answer."""
    ns = Netns()
    ns.tap("tap0")
    ns.enter()
    guest = fault_guest(ns, proxy, images, "halfclose", 9130)
    guest.wait_for("listening on 9130")
    c = connect(GUEST, 9130)
    c.sendall(b"question")
    c.shutdown(socket.SHUT_WR)
    c.settimeout(30)
    answer = b""
    while chunk := c.recv(64):
        answer += chunk
    c.close()
    check(answer == b"answer", f"after its half-close the host read {answer!r} and the end of stream")
    c = connect(GUEST, 9130)
    c.settimeout(30)
    greeting = b""
    while chunk := c.recv(64):
        greeting += chunk
    c.sendall(b"reply")
    c.close()
    check(greeting == b"greeting", f"the host read {greeting!r} and the guest's end of stream, then replied")
    guest_passed(guest, "half-close")


def tap_backlog(proxy, images):
    """Backlog 2: of five connections two are queued, three refused; one accepted makes room."""
    ns = Netns()
    ns.tap("tap0")
    ns.enter()
    guest = fault_guest(ns, proxy, images, "backlog", 9140)
    guest.wait_for("control on 9141")
    ctl = connect(GUEST, 9141)
    time.sleep(0.3)
    queued, refused = [], 0
    for _ in range(5):
        s = socket.socket()
        s.settimeout(10)
        try:
            s.connect((GUEST, 9140))
            queued.append(s)
            s.sendall(str(len(queued)).encode())
        except ConnectionRefusedError:
            refused += 1
            s.close()
    check(len(queued) == 2 and refused == 3, f"backlog 2: {len(queued)} connected, {refused} refused")
    ctl.sendall(b"go")
    ctl.settimeout(30)
    check(ctl.recv(1) == b"2", "the guest accepted the two queued connections")
    late = connect(GUEST, 9140)
    late.sendall(b"3")
    guest_passed(guest, "backlog")
    check(guest.has("backlog: accepted 2 waiting connections, then 1 more"), "room again after the accepts")
    for s in queued + [late, ctl]:
        s.close()


def tap_many(proxy, images):
    """1,000 short connections from the host in a row: all echoed; the guest's descriptors and
    heap come back (it prints them; its checks compare)."""
    ns = Netns()
    ns.tap("tap0")
    ns.enter()
    total = 1000
    guest = fault_guest(ns, proxy, images, "many", 9150, total)
    guest.wait_for("listening on 9150")
    echoed = 0
    started = time.time()
    for i in range(total):
        c = connect(GUEST, 9150)
        c.settimeout(30)
        msg = f"connection {i}".encode()
        c.sendall(msg)
        if c.recv(64) == msg:
            echoed += 1
        c.close()
    elapsed = time.time() - started
    check(echoed == total, f"{echoed} of {total} connections echoed in {elapsed:.1f} s")
    guest_passed(guest, "1,000 connections")
    import re
    summary = [line for line in guest.lines if "served" in line]
    numbers = re.search(r"served (\d+) connections; descriptors first (\d+) last (\d+) highest (\d+), a new socket "
                        r"gets (\d+); heap in use (\d+) bytes after 100, (\d+) after", summary[0] if summary else "")
    check(numbers is not None, f"the guest's summary: {summary}")
    served, first, last, highest, probe, heap_100, heap_end = map(int, numbers.groups())
    check(served == total and first == last == highest == probe,
          f"no descriptor leaked: first {first}, last {last}, highest {highest}, next {probe}")
    check(heap_end <= heap_100 + 64 * 1024, f"no memory leaked: heap {heap_100} bytes after 100, {heap_end} after {total}")


def tap_bad_ring(proxy, images):
    """A hostile guest announces descriptor rings whose receive consumer index is far ahead of
    the proxy's producer: the proxy's receive thread finds it and ends the run as for a bad
    hypercall: the message, status 1 and, with HERMIT_VERBOSE, the summaries and the kernel log."""
    ns = Netns()
    ns.tap("tap0")
    ns.enter()
    # Without the fast channel no poller reads the tap: the receive thread finds the ring
    # (it looks at once, the guest may not even have printed what the setup returned).
    guest = Guest(ns, proxy, images, "hostile", "bad-rx-ring", HERMIT_VERBOSE="1", HERMIT_FASTCALL="0")
    rc = guest.finish(30)
    bad = [line for line in guest.lines if "bad network ring" in line]
    check(rc == 1, f"status 1 (got {rc}; {guest.lines[-6:]})")
    check(not guest.has("accepted a bad receive ring") and not guest.has("ring setup returned -"),
          f"the ring was taken, the guest stopped: {guest.lines[-6:]}")
    check(len(bad) == 1 and bad[0].startswith("proxy: bad network ring: receive consumer index 1000")
          and bad[0].endswith("; stopping the guest"), f"one clear message: {bad}")
    check(guest.has("--- kernel log (.kmsg) ---") and guest.has("--- end of kernel log ---"),
          "the kernel log was printed, as for other fatal guest errors")
    check(guest.has("proxy: network rings: 0 frames sent"), "the rings' summary was printed")
    # With the fast channel its poller may find the ring first (it reads the tap while it
    # polls): the same ending.
    guest = Guest(ns, proxy, images, "hostile", "bad-rx-ring", HERMIT_VERBOSE="1")
    rc = guest.finish(30)
    bad = [line for line in guest.lines if "bad network ring" in line]
    check(rc == 1 and len(bad) == 1 and bad[0].startswith("proxy: bad network ring: receive consumer index 1000")
          and guest.has("--- end of kernel log ---"), f"with the fast channel too: {rc} {bad}")


def user_udp(proxy, images):
    """HERMIT_NETIF=user: the guest's datagrams to the gateway address reach a host server on
    127.0.0.1 (passt maps the gateway to the host's loopback) and the answers come back."""
    ns = Netns()
    ns.uplink()
    ns.enter()
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 9002))
    server.settimeout(60)
    seen = []

    def answer():
        while True:
            try:
                data, peer = server.recvfrom(2048)
            except OSError:
                return
            seen.append(peer)
            server.sendto(data, peer)

    threading.Thread(target=answer, daemon=True).start()
    guest = Guest(ns, proxy, images, "netbench", "udp-client", "192.168.77.1", 9002, 50, HERMIT_NETIF="user")
    rc = guest.finish()
    server.close()
    check(rc == 0 and guest.has("50 of 50 answered"), f"guest to host through passt: {guest.lines[-2:]}")
    check(len(seen) >= 50, f"the host server saw {len(seen)} datagrams (from {seen[:1]})")
    check(gone_within(ns, 3), "passt ended with the proxy")


def dns_answer(query, names):
    """The answer to the DNS query `query`: A records from `names`, else NXDOMAIN."""
    import struct
    labels, i = [], 12
    while query[i]:
        labels.append(query[i + 1:i + 1 + query[i]].decode())
        i += 1 + query[i]
    question = query[12:i + 5]
    qtype = struct.unpack("!H", query[i + 1:i + 3])[0]
    name = ".".join(labels).lower()
    addr = names.get(name) if qtype == 1 else None
    flags = 0x8180 if addr or name in names else 0x8183
    header = query[:2] + struct.pack("!HHHHH", flags, 1, 1 if addr else 0, 0, 0)
    answer = b""
    if addr:
        answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(addr)
    return header + question + answer, name


def user_dns(proxy, images):
    """HERMIT_NETIF=user: the guest resolves a name (getaddrinfo, gethostbyname) through passt
    with the namespace's resolver: a tiny DNS server on its 127.0.0.1:53 (named in
    /etc/netns/<ns>/resolv.conf, which `ip netns exec` mounts for passt). No real resolver."""
    ns = Netns()
    ns.uplink()
    ns.enter()
    etc = f"/etc/netns/{ns.name}"
    os.makedirs(etc, exist_ok=True)
    DIRS_TO_REMOVE.append(etc)
    with open(f"{etc}/resolv.conf", "w") as f:
        f.write("nameserver 127.0.0.1\n")
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 53))
    asked = []

    def serve():
        while True:
            try:
                query, peer = server.recvfrom(2048)
                reply, name = dns_answer(query, {"unikernel.hermit.test": "10.1.2.3"})
            except (OSError, IndexError, UnicodeDecodeError):
                return
            asked.append(name)
            server.sendto(reply, peer)

    threading.Thread(target=serve, daemon=True).start()
    guest = Guest(ns, proxy, images, "netfault", "resolve", "unikernel.hermit.test", HERMIT_NETIF="user")
    rc = guest.finish()
    server.close()
    check(rc == 0 and guest.has("getaddrinfo unikernel.hermit.test: 10.1.2.3 port 80")
          and guest.has("gethostbyname unikernel.hermit.test: 10.1.2.3"), f"the guest resolved: {guest.lines[-4:]}")
    check("unikernel.hermit.test" in asked, f"the namespace's DNS server was asked {asked}")


def user_banner(proxy, images):
    """HERMIT_NETIF=user: a guest server that speaks first on a forwarded port (as SMTP) is
    reached: the proxy gives the guest the handshake's last ACK that Debian 12's passt holds
    back until the host sends (proxy/src/net/handshake.rs)."""
    ns = Netns()
    ns.uplink()
    ns.enter()
    guest = fault_guest(ns, proxy, images, "banner", 2525, HERMIT_NETIF="user", HERMIT_APP_PORT="2525")
    guest.wait_for("listening on 2525")
    # passt accepts on 127.0.0.1 at once but resets until the guest has its DHCP address.
    deadline = time.time() + 20
    banner = b""
    c = None
    while not banner and time.time() < deadline:
        try:
            c = socket.create_connection(("127.0.0.1", 2525), timeout=5)
            banner = c.recv(64)
        except OSError:
            banner = b""
        if not banner:
            if c:
                c.close()
            time.sleep(0.5)
    check(banner == b"220 hermit ready\r\n", f"the guest's banner arrived first: {banner!r}")
    c.sendall(b"QUIT\r\n")
    bye = c.recv(64)
    c.close()
    check(bye == b"221 bye\r\n", f"the guest answered QUIT: {bye!r}")
    guest_passed(guest, "banner")
# ---- under QEMU (HERMIT_ISLE=qemu; the receive interrupt comes through ivshmem) ----------------------

def qemu_env(kvm):
    return {"HERMIT_ISLE": "qemu", "HERMIT_KVM": "1" if kvm else "0"}


def need_kvm(kvm):
    if kvm and not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIPPED: no usable /dev/kvm for QEMU/KVM")
        sys.exit(SKIP)


def qemu_tap_echo(proxy, images, kvm=False):
    """Under QEMU: ping the guest; 1 MiB through its TCP echo server both ways, digests
    compared, over the NIC's descriptor rings (the same code as under our hypervisor)."""
    need_kvm(kvm)
    ns = Netns()
    ns.tap("tap0")
    ns.enter()
    guest = Guest(ns, proxy, images, "netecho", "echo", 7777, 1, HERMIT_VERBOSE="1", **qemu_env(kvm))
    guest.wait_for("listening on port 7777", timeout=120)
    r = ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "5", GUEST], timeout=60)
    check(r.returncode == 0 and " 0% packet loss" in r.stdout, f"ping {GUEST}: {r.stdout.strip().splitlines()[-2:]}")
    got, same = echo_both_ways(GUEST, 7777, 1 << 20)
    check(got == 1 << 20 and same, f"TCP echo: 1 MiB sent, {got} bytes back, sha256 equal: {same}")
    check(guest.finish(120) == 0 and guest.has("echoed 1048576 bytes"), "the guest echoed 1048576 bytes and ended")
    counts = ring_counts(guest)
    # 1 MiB each way is at least 16 frames each way, even of 64 KiB (the tap's offloads).
    check(counts is not None and min(counts) >= 16, f"the frames went through the descriptor rings: {counts}")


def qemu_user_http(proxy, images):
    """Under QEMU, HERMIT_APP_PORT alone (user mode implied, as the original's QEMU user net):
    curl on 127.0.0.1 reaches the guest's HTTP server through passt."""
    ns = Netns()
    ns.uplink()
    ns.enter()
    env = qemu_env(False)
    env.update(HERMIT_NETIF="", HERMIT_APP_PORT="8080")
    guest = Guest(ns, proxy, images, "netecho", "http", 8080, 1, **env)
    guest.wait_for("listening on port 8080", timeout=120)
    r = curl_until(ns, "http://127.0.0.1:8080/", 40, 20)
    check(r.returncode == 0 and "Hello from the unikernel" in r.stdout,
          f"curl 127.0.0.1:8080 through passt under QEMU: {r.stdout.strip()!r} {r.stderr.strip()!r}")
    check(guest.finish(120) == 0, "the guest's HTTP server ended")
    check(gone_within(ns, 3), "passt and QEMU ended with the proxy")


def read_pcap(path):
    """The frames of a classic pcap file (link type Ethernet), with python's struct only."""
    import struct
    with open(path, "rb") as f:
        data = f.read()
    magic, major, minor, _zone, _sigfigs, snaplen, link = struct.unpack_from("<IHHiIII", data, 0)
    check(magic == 0xA1B2C3D4 and (major, minor) == (2, 4) and link == 1,
          f"{os.path.basename(path)}: a pcap file of Ethernet frames (snaplen {snaplen})")
    frames, offset = [], 24
    while offset + 16 <= len(data):
        _sec, _usec, incl, orig = struct.unpack_from("<IIII", data, offset)
        frames.append((data[offset + 16:offset + 16 + incl], orig))
        offset += 16 + incl
    check(offset == len(data) and all(len(f) == n for f, n in frames), f"{len(frames)} whole records")
    return [f for f, _ in frames]


def guest_frames(frames, port):
    """The guest's ARP request for the host and its TCP SYN to the host's `port`; a frame from
    the host to the guest (the SYN-ACK)."""
    import struct
    arp = syn = synack = False
    for f in frames:
        if len(f) < 14:
            continue
        kind = struct.unpack_from(">H", f, 12)[0]
        if kind == 0x0806 and len(f) >= 42:
            op = struct.unpack_from(">H", f, 20)[0]
            if op == 1 and socket.inet_ntoa(f[28:32]) == GUEST and socket.inet_ntoa(f[38:42]) == HOST:
                arp = True
        elif kind == 0x0800 and len(f) >= 54 and f[23] == 6:
            ihl = (f[14] & 0xF) * 4
            src, dst = socket.inet_ntoa(f[26:30]), socket.inet_ntoa(f[30:34])
            sport, dport = struct.unpack_from(">HH", f, 14 + ihl)
            flags = f[14 + ihl + 13]
            if src == GUEST and dst == HOST and dport == port and flags & 0x12 == 0x02:
                syn = True
            if src == HOST and dst == GUEST and sport == port and flags & 0x12 == 0x12:
                synack = True
    return arp, syn, synack


def guest_window(frames, port):
    """The largest receive window the guest advertised on its TCP connections from `port`
    (its SYN-ACK's window scale applied to the segments after it)."""
    import struct
    shift, largest = None, 0
    for f in frames:
        if len(f) < 54 or struct.unpack_from(">H", f, 12)[0] != 0x0800 or f[23] != 6:
            continue
        tcp = 14 + (f[14] & 0xF) * 4
        sport, = struct.unpack_from(">H", f, tcp)
        if sport != port:
            continue
        flags, window = f[tcp + 13], struct.unpack_from(">H", f, tcp + 14)[0]
        if flags & 0x12 == 0x12:
            shift = 0
            options, at = f[tcp + 20:tcp + (f[tcp + 12] >> 4) * 4], 0
            while at < len(options) and options[at] != 0:
                if options[at] == 1:
                    at += 1
                    continue
                if options[at] == 3 and at + 2 < len(options):
                    shift = options[at + 2]
                at += max(options[at + 1], 2) if at + 1 < len(options) else len(options)
        elif shift is not None:
            largest = max(largest, window << shift)
    return largest


def capture(proxy, images):
    """HERMIT_CAPTURE_NET: under uhyve with 1 (the original's qemu-vlan0.pcap in the working
    directory; only where /dev/kvm works), under QEMU/TCG with a path; the guest's ARP request
    and TCP SYN and the host's SYN-ACK are in the file. Each run has a namespace of its own: in
    a shared one the host's retransmissions to the first guest's connection reached the second
    guest (same address and port), which learned the host's MAC address from them and had no
    ARP request to make."""
    scratch = f"/tmp/hermit-capture-{os.getpid()}"
    os.makedirs(scratch, exist_ok=True)
    try:
        runs = [("uhyve", "1", 9100), ("qemu", f"{scratch}/qemu.pcap", 9101)]
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            print("note: no usable /dev/kvm: the capture runs under QEMU/TCG only", flush=True)
            runs = runs[1:]
        for monitor, value, port in runs:
            ns = Netns()
            ns.tap("tap0")
            ns.enter()
            thread, result = serve_once(HOST, port, echo_handler)
            env = {"HERMIT_CAPTURE_NET": value}
            if monitor == "qemu":
                env.update(qemu_env(False))
            guest = Guest(ns, proxy, images, "netecho", "client", HOST, port, 1000, cwd=scratch, **env)
            rc = guest.finish(120)
            thread.join(10)
            check(rc == 0 and guest.has("got 1000 back"), f"{monitor}: the guest client ran ({guest.lines[-1:]})")
            path = f"{scratch}/qemu-vlan0.pcap" if value == "1" else value
            check(os.path.exists(path), f"{monitor}: {path} written")
            arp, syn, synack = guest_frames(read_pcap(path), port)
            check(arp and syn and synack,
                  f"{monitor}: the guest's ARP request ({arp}), its SYN ({syn}) and the host's SYN-ACK ({synack})")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# ---- benchmarks ------------------------------------------------------------------------------------

BENCH_BYTES = int(os.environ.get("NETBENCH_BYTES", 64 << 20))
CHUNKS = (1024, 16384, 65536)
BENCH_MTU = int(os.environ.get("NETBENCH_MTU", 9000))
CONNECTIONS = 500


def rate(lines, what):
    for line in lines:
        if what in line and "MiB/s" in line:
            return float(line.rsplit(",", 1)[1].split()[0])
    fail(f"no rate in {lines[-5:]}")


def rate_or_none(lines, what, who):
    for line in lines:
        if what in line and "MiB/s" in line:
            return float(line.rsplit(",", 1)[1].split()[0])
    print(f"note: no rate from {who} ({lines[-2:]}); its column stays empty")
    return None


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


def field_after(text, word):
    """The number after the first `word` in `text`."""
    return float(text.split(word, 1)[1].split()[0])


def user_rows(proxy, images, native, next_port):
    """The user-mode rows of the bench: (label, key, unit, ours, linux) for TCP streams both
    ways at 1/16/64 KiB writes."""
    # The guest behind passt against the same netbench behind pasta (passt's namespace twin,
    # same Debian package), root kept (--runas 0: as root pasta would switch to nobody, who
    # cannot map the user namespace). Both connected the same way: guest->host the program
    # connects to the gateway address, which both translate to the host's loopback;
    # host->guest the host tool connects to the namespace's own address (the uplink's
    # 192.168.77.2, which both copy), so that both translate every segment between a host
    # socket and the guest's TCP. A connection from 127.0.0.1 Debian 12's pasta splices into
    # its namespace socket to socket instead (splice(2), no translation; passt has no such
    # path): kept as separate, labelled rows.
    up = Netns()
    up.uplink()
    pasta = ["pasta", "--runas", "0", "--config-net", "--quiet"] if shutil.which("pasta") else None
    results, spliced = [], []
    for chunk in CHUNKS:
        kib = chunk // 1024
        p = next_port()
        sink = up.popen([native, "sink", str(p), "1", "nocheck"])
        wait_line(sink, "listening")
        g = Guest(up, proxy, images, "netbench", "source", "192.168.77.1", p, BENCH_BYTES, chunk, "nocheck",
                  HERMIT_NETIF="user")
        check(g.finish(120) == 0, f"user-mode source {chunk}")
        sink.wait(30)
        linux = None
        if pasta:
            p = next_port()
            sink = up.popen([native, "sink", str(p), "1", "nocheck"], start_new_session=True)
            wait_line(sink, "listening")
            r = up.run(pasta + ["--", native, "source", "192.168.77.1", str(p), str(BENCH_BYTES), str(chunk),
                                "nocheck"], timeout=120)
            end_or_kill(sink, 30)
            # Debian 12's pasta now and then resets the source's connection itself ("send:
            # Connection reset by peer"; seen 1 in 5 quiet runs): no Linux value then.
            linux = rate_or_none(r.stdout.splitlines(), "source sent", "pasta source->sink")
        results.append((f"user mode (passt; Linux: pasta) guest->host, {kib} KiB writes", f"net_user_tx_{kib}k",
                        "MiB/s", rate(g.lines, "source sent"), linux))
        row = {}
        for dest in ("192.168.77.2", "127.0.0.1"):
            p = next_port()
            g = Guest(up, proxy, images, "netbench", "sink", p, 1, "nocheck", HERMIT_NETIF="user",
                      HERMIT_APP_PORT=str(p))
            g.wait_for("listening")
            r = up.run([native, "source", dest, str(p), str(BENCH_BYTES), str(chunk), "nocheck"], timeout=120)
            ours = rate(r.stdout.splitlines(), "source sent")
            g.finish(60)
            linux = None
            if pasta:
                p = next_port()
                server = up.popen(pasta + ["-t", str(p), "--", native, "sink", str(p), "1", "nocheck"],
                                  start_new_session=True)
                wait_line(server, "listening")
                r = up.run([native, "source", dest, str(p), str(BENCH_BYTES), str(chunk), "nocheck"], timeout=120)
                end_or_kill(server, 30)
                # Debian 12's pasta now and then loses the sink's answer after the source's
                # half-close (its passt twin's half-close bug, README): no Linux value then.
                linux = rate_or_none(r.stdout.splitlines(), "source sent", f"pasta host->sink via {dest}")
            row[dest] = (ours, linux)
        results.append((f"user mode (passt; Linux: pasta) host->guest, {kib} KiB writes, from 192.168.77.2",
                        f"net_user_rx_{kib}k", "MiB/s", *row["192.168.77.2"]))
        spliced.append((f"user mode host->guest, {kib} KiB writes, from 127.0.0.1 (passt translates; "
                        "Linux: pasta splices, not translated)", f"net_user_rx_lo_{kib}k", "MiB/s",
                        *row["127.0.0.1"]))
    return results + spliced


def bench(proxy, images, native):
    """TCP stream both ways at 1/16/64 KiB writes, 1-byte ping-pong and connection setup: the
    guest over its tap against a Linux process in a second namespace on the same bridge (veth),
    both talking to a native netbench at the bridge's address; then the guest in user mode
    behind passt against the Linux process behind pasta, each translated by its daemon (the
    host tool connects to the namespace's address; from 127.0.0.1 pasta splices: separate
    rows). Prints a table, the original netio's table, and
    "BENCH <native|hermit> <name> <value> <unit>" lines for run-benchmarks.sh."""
    ns, peer = tap_and_peer()
    # Jumbo frames on the whole segment, for both: the guest takes the tap's MTU (NETMTU,
    # at most 9000); Linux segments by the MTU too, or sends 64 KiB through the veth with GSO.
    for where, link in ((ns, "tap0"), (ns, "vl0"), (ns, "br0"), (peer, "vl1")):
        where.ip("link", "set", link, "mtu", str(BENCH_MTU))
    results = []  # (label, key, unit, ours, linux)
    port = [20000]

    def next_port():
        port[0] += 1
        return port[0]

    def native_in(where, *args):
        return where.popen([native, *map(str, args)])

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
    results += user_rows(proxy, images, native, next_port)
    print("\n| Benchmark | HermitCore (tap, passt) | Linux process (veth on the same bridge, pasta) | ratio |")
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


def bench_user(proxy, images, native):
    """The user-mode rows of `bench` alone (guest behind passt, Linux process behind pasta)."""
    port = [22000]

    def next_port():
        port[0] += 1
        return port[0]

    print("| Benchmark | HermitCore (passt) | Linux process (pasta) | ratio |")
    print("|---|---|---|---|")
    for label, key, unit, ours, linux in user_rows(proxy, images, native, next_port):
        ratio = f"{ours / linux:.2f}" if linux else "-"
        print(f"| {label} ({unit}) | {ours} | {'-' if linux is None else linux} | {ratio} |")


def thread_stats(pid):
    """{thread name: (run ns, wait ns, timeslices, voluntary switches, involuntary switches)} of
    process `pid` (several threads of one name are added up)."""
    stats = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                run, wait, slices = map(int, f.read().split())
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        row = (run, wait, slices, int(fields["voluntary_ctxt_switches"]), int(fields["nonvoluntary_ctxt_switches"]))
        old = stats.get(name, (0,) * 5)
        stats[name] = tuple(a + b for a, b in zip(old, row))
    return stats


def latency(proxy, images, native, *others):
    """Request/response latency and connection rate only, A/B: 1-byte ping-pong (median, p99)
    and connections per second, for each `proxy images` pair given (ours first, then e.g. a
    baseline tree) and the Linux process, interleaved run by run (LATENCY_RUNS pairs, default
    3; the guests get LATENCY_CPUS vCPUs, default 2), with the load and, per round, the proxy threads' CPU time, run-queue wait and context
    switches (/proc/<pid>/task/*/schedstat and status, sampled every 50 ms while the rounds
    run: the guest ends with its connection)."""
    pairs = [(proxy, images)] + [(os.path.abspath(others[i]), os.path.abspath(others[i + 1]))
                                 for i in range(0, len(others) - 1, 2)]
    runs = int(os.environ.get("LATENCY_RUNS", 3))
    rounds = int(os.environ.get("LATENCY_ROUNDS", 5000))
    conns = int(os.environ.get("LATENCY_CONNECTIONS", CONNECTIONS))
    cpus = os.environ.get("LATENCY_CPUS", "2")
    ns, peer = tap_and_peer()
    port = [21000]

    def next_port():
        port[0] += 1
        return port[0]

    who_all = [f"tree{i}" for i in range(len(pairs))] + ["linux"]
    results = {who: {"median": [], "p99": [], "conn": []} for who in who_all}
    for run in range(runs):
        for i, who in enumerate(who_all):
            load = os.getloadavg()[0]
            p = next_port()
            if who == "linux":
                server = peer.popen([native, "pong", str(p)])
                wait_line(server, "listening")
                r = ns.run([native, "ping", "10.0.5.9", str(p), str(rounds)], timeout=120)
                server.wait(30)
                per_round = ""
            else:
                g = Guest(ns, pairs[i][0], pairs[i][1], "netbench", "pong", p, HERMIT_CPUS=cpus)
                g.wait_for("listening")
                before = thread_stats(g.proc.pid)
                # The guest ends with the connection, its threads with it: the last sample
                # taken while the ping ran stands for the end.
                samples = [before]
                running = threading.Event()
                running.set()

                def sample():
                    while running.is_set():
                        try:
                            now = thread_stats(g.proc.pid)
                        except OSError:
                            return
                        if len(now) >= len(samples[-1]):
                            samples.append(now)
                        time.sleep(0.05)

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                r = ns.run([native, "ping", GUEST, str(p), str(rounds)], timeout=120)
                running.clear()
                sampler.join(5)
                after = samples[-1]
                g.finish(30)
                per_round = "; per round (up to the last sample): " + ", ".join(
                    f"{name} {(after[name][0] - before.get(name, (0,) * 5)[0]) / rounds / 1000:.1f} us run "
                    f"{(after[name][1] - before.get(name, (0,) * 5)[1]) / rounds / 1000:.1f} us wait "
                    f"{(after[name][3] - before.get(name, (0,) * 5)[3]) / rounds:.2f}+"
                    f"{(after[name][4] - before.get(name, (0,) * 5)[4]) / rounds:.2f} cs"
                    for name in sorted(after))
            median, p99 = field_after(r.stdout, "median"), field_after(r.stdout, "p99")
            results[who]["median"].append(median)
            results[who]["p99"].append(p99)
            print(f"run {run} {who}: ping-pong median {median} us p99 {p99} us (load {load:.1f}){per_round}", flush=True)
            p = next_port()
            if who == "linux":
                server = peer.popen([native, "accepts", str(p), str(conns)])
                wait_line(server, "listening")
                r = ns.run([native, "connects", "10.0.5.9", str(p), str(conns)], timeout=120)
                server.wait(30)
            else:
                g = Guest(ns, pairs[i][0], pairs[i][1], "netbench", "accepts", p, conns, HERMIT_CPUS=cpus)
                g.wait_for("listening")
                r = ns.run([native, "connects", GUEST, str(p), str(conns)], timeout=120)
                check(g.finish(60) == 0, f"{who}: the guest accepted every connection")
            check(r.returncode == 0, f"{who}: {conns} connections: {r.stdout.strip()} {r.stderr.strip()}")
            rate_now = field_after(r.stdout, "s,")
            results[who]["conn"].append(rate_now)
            print(f"run {run} {who}: {rate_now:.0f} connections/s (load {os.getloadavg()[0]:.1f})", flush=True)
    for who in who_all:
        label = "Linux process" if who == "linux" else f"{who} ({pairs[int(who[4:])][0]})"
        med = sorted(results[who]["median"])
        p99 = sorted(results[who]["p99"])
        conn = sorted(results[who]["conn"])
        print(f"{label}: ping-pong median min {med[0]} median {med[len(med) // 2]} us; p99 min {p99[0]} median "
              f"{p99[len(p99) // 2]} us; connections/s max {conn[-1]:.0f} median {conn[len(conn) // 2]:.0f}")


SCENARIOS = {
    "header-tap": header_tap,
    "header-user": header_user,
    "bad-input": bad_input,
    "tap-echo": tap_echo,
    "tap-client": tap_client,
    "tap-udp": tap_udp,
    "tap-http": tap_http,
    "tap-stream": tap_stream,
    "tap-pingpong": tap_pingpong,
    "tap-trade": tap_trade,
    "tap-jumbo": tap_jumbo,
    "tap-offload": tap_offload,
    "two-guests": two_guests,
    "user-http": user_http,
    "user-client": user_client,
    "user-udp": user_udp,
    "user-dns": user_dns,
    "user-banner": user_banner,
    "addr-conflict": addr_conflict,
    "tap-poll": tap_poll,
    "tap-nbconnect": tap_nbconnect,
    "tap-reset": tap_reset,
    "tap-halfclose": tap_halfclose,
    "tap-backlog": tap_backlog,
    "tap-many": tap_many,
    "tap-bad-ring": tap_bad_ring,
    "qemu-tap-echo": qemu_tap_echo,
    "qemu-kvm-tap-echo": lambda proxy, images: qemu_tap_echo(proxy, images, kvm=True),
    "qemu-user-http": qemu_user_http,
    "capture": capture,
    "bench": bench,
    "bench-user": bench_user,
    "latency": latency,
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


def run_scenario(scenarios):
    """The main of a file of scenarios (this one and those that import it): argv is
    <scenario> <proxy> <image dir> [more paths]; its status."""
    if len(sys.argv) < 4 or sys.argv[1] not in scenarios:
        print(f"usage: {sys.argv[0]} <{'|'.join(scenarios)}> <proxy> <image dir>", file=sys.stderr)
        return 2
    skipped = prepare()
    if skipped is not None:
        return skipped
    scenarios[sys.argv[1]](*map(os.path.abspath, sys.argv[2:]))
    print("all checks passed")
    return 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--with-tap":
        return with_tap(sys.argv[2], sys.argv[3:])
    return run_scenario(SCENARIOS)


if __name__ == "__main__":
    sys.exit(main())
