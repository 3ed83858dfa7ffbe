"""netns_user.py: the user-mode scenarios of netns_test.py: the guest behind passt (HERMIT_NETIF=user).

Each namespace has a veth uplink (192.168.77.2) whose addresses passt copies; passt maps
the gateway address to the host's loopback and forwards HERMIT_APP_PORT from 127.0.0.1.
"""

import os
import signal
import socket
import tempfile
import threading
import time

from netns_capture import guest_window, guest_windows, read_pcap, resent_to, tcp_mss_options, window_behind_passt
from netns_test import (DIRS_TO_REMOVE, Guest, Netns, check, connect, curl_until, echo_handler, env_with, fault_guest,
                        gone_within, guest_passed, serve_once, wait_line)


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


# The MTU the proxy gives the guest behind passt (proxy/src/net/passt.rs, MTU).
PASST_MTU = 16384


def uplink_with_pcap():
    """A namespace with an uplink, entered, and a path for passt's own capture
    (HERMIT_PASST_PCAP) in a directory of its own: as root passt writes it as nobody."""
    ns = Netns()
    ns.uplink()
    ns.enter()
    where = tempfile.mkdtemp(prefix="hermit-passt-")
    DIRS_TO_REMOVE.append(where)
    os.chmod(where, 0o777)
    return ns, os.path.join(where, "passt.pcap")


def user_http(proxy, images):
    """HERMIT_NETIF=user: the guest gets its address from passt by DHCP, and curl on 127.0.0.1
    reaches the guest's HTTP server through HERMIT_APP_PORT."""
    ns, pcap = uplink_with_pcap()
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
    # guest's window says so (less the kernel's margin for passt).
    window, expected = guest_window(read_pcap(pcap), 8080), window_behind_passt(4 << 20)
    check(window == expected, f"the guest's largest window behind passt: {window} bytes ({expected} expected: 4 MiB)")


def user_stream(proxy, images):
    """HERMIT_NETIF=user: 64 MiB from a host program to the guest at the MTU behind passt
    (PASST_MTU). Every byte arrives; the guest announced the MTU's MSS and passt sent it frames
    above 9000 bytes up to that MTU; no
    window the guest advertised lies between zero and its floor (a sixteenth of the 4 MiB
    buffer): passt copies each of the guest's windows onto its host socket (TCP_WINDOW_CLAMP),
    and after a small one Linux offered the host's sender windows below its 64 KiB MSS, and
    that sender paused for 205 ms at a time; and passt sent nothing twice: it had sent past
    the guest's edge, which the guest cut, and resent whole windows (ARCHITECTURE.md, "Host
    networking")."""
    ns, pcap = uplink_with_pcap()
    guest = Guest(ns, proxy, images, "netbench", "sink", 8081, 1, "nocheck", HERMIT_NETIF="user",
                  HERMIT_APP_PORT="8081", HERMIT_PASST_PCAP=pcap, HERMIT_VERBOSE="1")
    guest.wait_for("listening")
    size, chunk = 64 << 20, bytes(64 << 10)
    started = time.monotonic()
    with connect("127.0.0.1", 8081) as conn:
        for _ in range(size // len(chunk)):
            conn.sendall(chunk)
        conn.shutdown(socket.SHUT_WR)
        guest.wait_for("sink got", timeout=60)
    took = time.monotonic() - started
    got = next((line for line in guest.lines if "sink got" in line), "")
    check(guest.finish() == 0 and f"sink got {size} bytes" in got, f"through passt in {took:.2f} s: {got!r}")
    frames = read_pcap(pcap)
    mss = tcp_mss_options(frames, "192.168.77.2")
    check(mss and all(m == PASST_MTU - 40 for m in mss), f"the guest's MSS behind passt: {mss} ({PASST_MTU - 40} expected)")
    largest = max(len(f) for f in frames)
    check(14 + 9000 < largest <= 14 + PASST_MTU,
          f"passt's largest frame: {largest} bytes (above 9014, at most {14 + PASST_MTU})")
    windows = guest_windows(frames, 8081)
    small = [w for w in windows if 0 < w < 256 << 10]
    check(windows and not small,
          f"{len(windows)} windows of the guest, {windows.count(0)} of them zero, none between 0 and 256 KiB: {small[:8]}")
    resent = resent_to(frames, 8081)
    check(resent == 0, f"passt sent no segment to the guest twice ({resent} resent)")


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


def user_udp(proxy, images):
    """HERMIT_NETIF=user: the guest's datagrams to the gateway address reach a host server on
    127.0.0.1 (passt maps the gateway to the host's loopback) and the answers come back;
    datagrams up to passt's MTU go, longer ones fail with EMSGSIZE (passt takes no fragments)."""
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
                data, peer = server.recvfrom(65536)
            except OSError:
                return
            seen.append((peer, len(data)))
            server.sendto(data, peer)

    threading.Thread(target=answer, daemon=True).start()
    guest = Guest(ns, proxy, images, "netbench", "udp-client", "192.168.77.1", 9002, 50, HERMIT_NETIF="user")
    rc = guest.finish()
    check(rc == 0 and guest.has("50 of 50 answered"), f"guest to host through passt: {guest.lines[-2:]}")
    check(len(seen) >= 50, f"the host server saw {len(seen)} datagrams (from {seen[:1]})")
    check(gone_within(ns, 3), "passt ended with the proxy")
    # passt takes no IP fragments (it forwarded a first fragment as a datagram cut short):
    # datagrams up to the MTU behind it (16384 - 28 bytes) go, longer ones fail with EMSGSIZE.
    seen.clear()
    guest = Guest(ns, proxy, images, "netbench", "udp-client", "192.168.77.1", 9002, 3, 16356, HERMIT_NETIF="user")
    check(guest.finish() == 0 and guest.has("3 of 3 answered"), f"16,356-byte datagrams through passt: {guest.lines[-1:]}")
    guest = Guest(ns, proxy, images, "netbench", "udp-client", "192.168.77.1", 9002, 3, 16357, HERMIT_NETIF="user")
    check(guest.finish() == 1 and guest.has("sendto: Message too long"), f"a 16,357-byte datagram: {guest.lines[-1:]}")
    server.close()
    check({size for _, size in seen} == {16356}, f"the host server got only whole datagrams: sizes {sorted({s for _, s in seen})}")


def dns_answer(query, names):
    """The answer to the DNS query `query`: an A record from `names` (or an AAAA record for a
    name whose address is IPv6), no answer for the other type, NXDOMAIN for other names."""
    import struct
    labels, i = [], 12
    while query[i]:
        labels.append(query[i + 1:i + 1 + query[i]].decode())
        i += 1 + query[i]
    question = query[12:i + 5]
    qtype = struct.unpack("!H", query[i + 1:i + 3])[0]
    name = ".".join(labels).lower()
    addr = names.get(name)
    v6 = addr is not None and ":" in addr
    addr = addr if qtype == (28 if v6 else 1) else None
    flags = 0x8180 if addr or name in names else 0x8183
    header = query[:2] + struct.pack("!HHHHH", flags, 1, 1 if addr else 0, 0, 0)
    answer = b""
    if addr:
        packed = socket.inet_pton(socket.AF_INET6, addr) if v6 else socket.inet_aton(addr)
        answer = b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 60, len(packed)) + packed
    return header + question + answer, name


def dns_server(ns, names):
    """A tiny DNS server on the entered namespace `ns`'s 127.0.0.1:53, named in
    /etc/netns/<ns>/resolv.conf (which `ip netns exec` mounts for passt), answering `names`
    ({name: IPv4 address}); returns the list of names it is asked, filled as they come, and
    its socket (closing it ends the server)."""
    etc = f"/etc/netns/{ns.name}"
    os.makedirs(etc, exist_ok=True)
    DIRS_TO_REMOVE.append(etc)
    with open(f"{etc}/resolv.conf", "w") as f:
        f.write("nameserver 127.0.0.1\n")
    return udp_dns_server("127.0.0.1", names)


def udp_dns_server(addr, names):
    """A DNS server on `addr`:53 answering `names` (dns_answer); the names it is asked,
    filled as they come, and its socket (closing it ends the server)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((addr, 53))
    asked = []

    def serve():
        while True:
            try:
                query, peer = server.recvfrom(2048)
                reply, name = dns_answer(query, names)
            except (OSError, IndexError, UnicodeDecodeError):
                return
            asked.append(name)
            server.sendto(reply, peer)

    threading.Thread(target=serve, daemon=True).start()
    return asked, server


def user_dns(proxy, images):
    """HERMIT_NETIF=user: the guest resolves a name (getaddrinfo, gethostbyname; AF_UNSPEC for a
    name with only an IPv6 address) through passt with the namespace's resolver: a tiny DNS server on its 127.0.0.1:53 (named in
    /etc/netns/<ns>/resolv.conf, which `ip netns exec` mounts for passt). No real resolver."""
    ns = Netns()
    ns.uplink()
    ns.enter()
    asked, server = dns_server(ns, {"unikernel.hermit.test": "10.1.2.3", "six.hermit.test": "fd00::1234"})
    guest = Guest(ns, proxy, images, "netfault", "resolve", "unikernel.hermit.test", HERMIT_NETIF="user")
    rc = guest.finish()
    check(rc == 0 and guest.has("getaddrinfo unikernel.hermit.test: 10.1.2.3 port 80")
          and guest.has("gethostbyname unikernel.hermit.test: 10.1.2.3"), f"the guest resolved: {guest.lines[-4:]}")
    check("unikernel.hermit.test" in asked, f"the namespace's DNS server was asked {asked}")
    # AF_UNSPEC: a name with only an AAAA record gives its IPv6 address (before: EAI_NONAME).
    guest = Guest(ns, proxy, images, "netfault", "resolve-any", "six.hermit.test", HERMIT_NETIF="user")
    rc = guest.finish()
    server.close()
    check(rc == 0 and guest.has("getaddrinfo six.hermit.test: fd00::1234 port 80"), f"AF_UNSPEC, AAAA only: {guest.lines[-3:]}")


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
