#!/usr/bin/env python3
"""ipv6_test.py: net.tap-ipv6, IPv6 over the tap as a user meets it: SLAAC from a router's advertisements, TCP and UDP both ways over global and link-local addresses, many hosts without waiting, an advertisement flood.

usage: ipv6_test.py <tap-ipv6|user-ipv6> <proxy> <image directory>

The namespace's bridge is the router: fe80::1 and 2001:db8:1::1/64, plus host addresses
2001:db8:1::11-16 and fe80::21-22 (all `nodad`, so nothing waits for duplicate detection),
and 2001:db8:9::7 on its loopback, beyond the link. A thread answers the guest's router
solicitations with an advertisement of 2001:db8:1::/64 (a raw ICMPv6 socket). The guest
(MAC 02:00:00:00:05:02, net6.c) first as a client: its address, as getsockname shows it,
must be the EUI-64 address of the prefix; 1 MiB echoed over the global and the link-local
address, UDP, then three rounds of connections to each host address and the one beyond the
link, each under LIMIT_MS (smoltcp alone solicits one neighbour a second). Then as a server:
ping -6 on both addresses, 1 MiB echoed over each, UDP, three rounds from each host address,
then a flood of hostile advertisements (more prefixes than smoltcp holds, zero and infinite
lifetimes, the guest's own prefix with lifetimes 0 and 60 s, prefix lengths other than 64,
a multicast prefix that crashed smoltcp, many routers), after which the guest still answers on both addresses. Root and iproute2 are
needed (exit 77 without); nothing leaves the namespace.

user-ipv6: behind passt (HERMIT_NETIF=user) in a namespace whose uplink has 2001:db8:77::2/64
and an IPv6 default route, the guest forms its address from passt's advertisement and, as a
client, echoes 1 MiB with a host server at 2001:db8:99::9 (on the namespace's loopback) and
exchanges UDP with it.
"""

import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_test as nt  # noqa: E402  (the namespaces, the guest, cleanup)

MAC = "02:00:00:00:05:02"
PREFIX = "2001:db8:1::"
ROUTER = "fe80::1"
HOST6 = "2001:db8:1::1"
GUEST6 = "2001:db8:1::ff:fe00:502"  # PREFIX + the EUI-64 interface identifier of MAC
GUEST_LL = "fe80::ff:fe00:502"
HOSTS = [f"2001:db8:1::{11 + i}" for i in range(6)] + ["fe80::21", "fe80::22"]
BEYOND = "2001:db8:9::7"
ROUNDS = 3
PORT = 9000
LIMIT_MS = int(os.environ.get("IPV6_LIMIT_MS", "500"))
MIB = 1 << 20


def eui64(mac, prefix):
    """The SLAAC address of `mac` in the /64 `prefix`, as the guest must form it."""
    b = bytes.fromhex(mac.replace(":", ""))
    iid = bytes([b[0] ^ 2]) + b[1:3] + b"\xff\xfe" + b[3:]
    return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, prefix)[:8] + iid)


def prefix_option(prefix, length=64, flags=0xC0, valid=86400, preferred=14400):
    return struct.pack("!BBBBII4x", 3, 4, length, flags, valid, preferred) + socket.inet_pton(socket.AF_INET6, prefix)


def advert(options, lifetime=1800, mac=b""):
    """A router advertisement (the kernel fills in its checksum): hop limit 64, `lifetime`
    as default router, the source link-layer option if `mac`, then `options`."""
    ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, lifetime, 0, 0)
    if mac:
        ra += bytes([1, 1]) + mac
    return ra + b"".join(options)


class Router:
    """Sends our advertisement from `source` (an address of br0) and answers every router
    solicitation with it, until closed."""

    def __init__(self, ns, source, options, lifetime=1800):
        self.index = socket.if_nametoindex("br0")
        words = ns.ip("-o", "link", "show", "br0").stdout.split()
        self.mac = bytes.fromhex(words[words.index("link/ether") + 1].replace(":", ""))
        self.ra = advert(options, lifetime, self.mac)
        self.sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
        self.sock.bind((source, 0, 0, self.index))
        group = socket.inet_pton(socket.AF_INET6, "ff02::2") + struct.pack("@I", self.index)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, group)
        self.solicitations = 0
        self.send(self.ra)
        threading.Thread(target=self.answer, daemon=True).start()

    def send(self, message):
        self.sock.sendto(message, ("ff02::1", 0, 0, self.index))

    def answer(self):
        while True:
            try:
                message, _ = self.sock.recvfrom(2048)
            except OSError:
                return
            if message[:1] == b"\x85":  # 133: a router solicitation
                self.solicitations += 1
                self.send(self.ra)


def servers(udp_addr=HOST6):
    """Host echo servers on every address of the namespace: TCP on PORT (a thread per
    connection; the peers seen are collected) and UDP on [HOST6]:PORT + 1."""
    peers = []
    listener = socket.socket(socket.AF_INET6)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("::", PORT))
    listener.listen(64)

    def echo(conn):
        nt.echo_handler(conn)
        conn.close()

    def serve():
        while True:
            conn, peer = listener.accept()
            peers.append(peer[0].split("%")[0])
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    # Bound to the address the guest sends to: answers from a socket bound to :: leave from
    # the address Linux picks for the guest, another one of the bridge's.
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp.bind((udp_addr, PORT + 1))

    def echo_udp():
        while True:
            data, peer = udp.recvfrom(2048)
            udp.sendto(data, peer)

    threading.Thread(target=serve, daemon=True).start()
    threading.Thread(target=echo_udp, daemon=True).start()
    return peers


def times_of(guest):
    return [int(line.split()[-2]) for line in guest.lines if "peer round" in line and line.endswith(" ms")]


def guest_as_client(ns, proxy, images, router):
    peers = servers()
    guest = nt.Guest(ns, proxy, images, "net6", "client", HOST6, PORT, MIB, "--", "client", ROUTER, PORT, MIB,
                     "--", "udp", HOST6, PORT + 1, 5, "--", "peers", PORT, ROUNDS, *HOSTS, BEYOND,
                     HERMIT_NETIF_MAC=MAC, HERMIT_VERBOSE="1")
    rc = guest.finish(120)
    print("\n".join(line for line in guest.lines if line.startswith("net6:") and "peer round" not in line), flush=True)
    nt.check(router.solicitations >= 1, f"the guest solicited a router ({router.solicitations} solicitations)")
    nt.check(guest.has(f"client local [{GUEST6}]:") and guest.has(f"peer [{HOST6}]:{PORT}"),
             f"the guest formed {GUEST6} from the advertised prefix (getsockname, getpeername)")
    nt.check(guest.has(f"client local [{GUEST_LL}]:") and guest.has(f"peer [{ROUTER}]:{PORT}"),
             "a connection to a link-local host leaves from the link-local address")
    nt.check(guest.has(f"client sent {MIB} bytes to {HOST6}, got {MIB} back") and
             guest.has(f"client sent {MIB} bytes to {ROUTER}, got {MIB} back"),
             "1 MiB echoed by the host over the global and the link-local address, checksums equal")
    nt.check(GUEST6 in peers and GUEST_LL in peers, f"the host saw the guest's addresses ({sorted(set(peers))[:4]})")
    nt.check(guest.has("udp client 2001:db8:1::1: 5 of 5 answered"), "UDP to the host: 5 of 5 echoed")
    times = times_of(guest)
    print(f"guest as client, ms per connection: {times}", flush=True)
    nt.check(rc == 0 and guest.has("all ") and len(times) == ROUNDS * (len(HOSTS) + 1),
             f"the guest echoed with each of {len(HOSTS)} hosts and {BEYOND} {ROUNDS} times ({rc}, {guest.lines[-3:]})")
    nt.check(max(times) < LIMIT_MS, f"each connection within {LIMIT_MS} ms (slowest {max(times)} ms)")
    verbose = [line for line in guest.lines if "solicitations of ours" in line]
    print(f"the guest's counters: {verbose}", flush=True)


def echo_once(addr, source, port):
    """64 bytes echoed by the guest from `source` (an address of br0), then closed; fails
    otherwise."""
    conn = socket.create_connection((addr, port), timeout=10,
                                    source_address=(source, 0, 0, socket.if_nametoindex("br0")))
    nt.echo_64(conn, source)


def ping(ns, addr, what):
    """Three echoes, then three of 4,000 bytes (IPv6 fragments both ways)."""
    for size in ([], ["-s", "4000"]):
        r = ns.run(["ping", "-6", "-c", "3", "-i", "0.2", "-w", "15", *size, addr], timeout=30)
        nt.check(r.returncode == 0 and " 0% packet loss" in r.stdout,
                 f"{' '.join(['ping -6', *size, addr])} ({what}): {r.stdout.strip().splitlines()[-2:]}")


def udp_to_guest(addr, port, count):
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.settimeout(5)
    answered = 0
    for i in range(count):
        data = f"to the guest {i}".encode()
        sock.sendto(data, (addr, port))
        try:
            back, peer = sock.recvfrom(2048)
        except OSError:
            continue
        answered += back == data and peer[0].split("%")[0] == addr.split("%")[0]
    sock.close()
    return answered


def flood(router):
    """Hostile advertisements: more prefixes than smoltcp holds, lifetimes zero and
    infinite (the guest's own prefix with zero too), prefix lengths other than 64, a multicast prefix (which made smoltcp panic),
    and advertisements from 20 more routers (one-shot raw sockets on fe80::100+i)."""
    sent = 0
    for i in range(40):
        options = [prefix_option(f"2001:db8:{0x100 + i:x}::", valid=0xFFFFFFFF, preferred=0xFFFFFFFF),
                   prefix_option(f"2001:db8:{0x200 + i:x}::", valid=0, preferred=0),
                   prefix_option(f"2001:db8:{0x300 + i:x}::", length=[0, 48, 96, 128, 200][i % 5])]
        router.send(advert(options))
        sent += 1
    router.send(advert([prefix_option("ff02::"), prefix_option("ff0e:1::")]))
    router.send(advert([prefix_option(PREFIX)] + [prefix_option(f"fd00:{i:x}::") for i in range(12)]))
    sent += 2
    for i in range(20):
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        sock.bind((f"fe80::{0x100 + i:x}", 0, 0, router.index))
        sock.sendto(advert([prefix_option(f"2001:db8:{0x400 + i:x}::")], lifetime=[0, 9000, 65535][i % 3]),
                    ("ff02::1", 0, 0, router.index))
        sock.close()
        sent += 1
    # Last, our own prefix with lifetimes 60 s and 0: raised to two hours (RFC 4862 5.5.3 e),
    # else the second took the guest's address away.
    router.send(advert([prefix_option(PREFIX, valid=60, preferred=60)]))
    router.send(advert([prefix_option(PREFIX, valid=0, preferred=0)]))
    return sent + 2


def guest_as_server(ns, proxy, images, router):
    port = PORT + 100
    conns = 2 + ROUNDS * len(HOSTS) + 1
    guest = nt.Guest(ns, proxy, images, "net6", "serve", port, conns, 6, HERMIT_NETIF_MAC=MAC)
    guest.wait_for("listening on port")
    ping(ns, GUEST6, "global")
    ping(ns, f"{GUEST_LL}%br0", "link-local")
    for addr in (GUEST6, f"{GUEST_LL}%br0"):
        got, same = nt.echo_both_ways(addr, port, MIB)
        nt.check(got == MIB and same, f"TCP echo host -> [{addr}]: 1 MiB sent, {got} bytes back, sha256 equal: {same}")
    answered = udp_to_guest(GUEST6, port + 1, 3) + udp_to_guest(f"{GUEST_LL}%br0", port + 1, 3)
    nt.check(answered == 6, f"UDP host -> guest over both addresses: {answered} of 6 echoed")
    times = []
    for _ in range(ROUNDS):
        for host in HOSTS:
            target = f"{GUEST_LL}%br0" if host.startswith("fe80") else GUEST6
            start = time.monotonic()
            echo_once(target, host, port)
            times.append(round((time.monotonic() - start) * 1000))
    print(f"guest as server, ms per connection: {times}", flush=True)
    nt.check(max(times) < LIMIT_MS, f"each connection within {LIMIT_MS} ms (slowest {max(times)} ms)")
    sent = flood(router)
    time.sleep(0.5)
    ping(ns, GUEST6, f"global, after {sent} hostile advertisements")
    ping(ns, f"{GUEST_LL}%br0", "link-local, after them")
    got, same = nt.echo_both_ways(GUEST6, port, 64 << 10)
    nt.check(got == 64 << 10 and same, f"TCP echo after the flood: {got} bytes back, sha256 equal: {same}")
    rc = guest.finish(60)
    accepted = [line for line in guest.lines if line.startswith("net6: accepted local")]
    print("\n".join(accepted[:2]), flush=True)
    # Linux picks the source of its own connections among the bridge's addresses; those of
    # the rounds are the hosts'.
    nt.check(any(f"local [{GUEST6}]:{port} peer [2001:db8:1::" in line for line in accepted) and
             any(f"local [{GUEST_LL}]:{port} peer [fe80::" in line for line in accepted) and
             all(any(f"peer [{host}]:" in line for line in accepted) for host in HOSTS),
             "accept, getsockname and getpeername give the v6 addresses of both ends, the hosts' of each round")
    panics = [line for line in guest.lines if "panic" in line.lower()]
    nt.check(rc == 0 and guest.has("all ") and not panics,
             f"the guest served {conns} connections and 6 datagrams and ended with status 0 ({rc}, {guest.lines[-2:]})")


def sysctl(ns, *settings):
    r = ns.run(["sysctl", "-qw", *settings])
    if r.returncode != 0:
        nt.fail(f"sysctl {settings}: {r.stderr.strip()}")


def tap_ipv6(proxy, images):
    ns = nt.Netns()
    ns.tap("tap0")
    # The bridge is the router: it takes no advertisement itself (its own would give it an
    # address of the prefix), and its addresses need no duplicate detection.
    sysctl(ns, "net.ipv6.conf.br0.accept_ra=0")
    for addr in [f"{ROUTER}/64", f"{HOST6}/64"] + [f"{h}/64" for h in HOSTS] + [f"fe80::{0x100 + i:x}/64"
                                                                                    for i in range(20)]:
        ns.ip("-6", "addr", "add", addr, "dev", "br0", "nodad")
    ns.ip("-6", "addr", "add", f"{BEYOND}/128", "dev", "lo")
    ns.enter()
    if eui64(MAC, PREFIX) != GUEST6:
        nt.fail(f"EUI-64 of {MAC}: {eui64(MAC, PREFIX)}")
    router = Router(ns, ROUTER, [prefix_option(PREFIX)])
    guest_as_client(ns, proxy, images, router)
    guest_as_server(ns, proxy, images, router)
    router.sock.close()


REMOTE = "2001:db8:99::9"


def user_ipv6(proxy, images):
    ns = nt.Netns(bridge=False)
    ns.uplink()
    ns.ip("-6", "addr", "add", "2001:db8:77::2/64", "dev", "up0", "nodad")
    ns.ip("-6", "route", "add", "default", "via", "2001:db8:77::1")
    ns.ip("-6", "addr", "add", f"{REMOTE}/128", "dev", "lo")
    ns.enter()
    servers(REMOTE)
    guest = nt.Guest(ns, proxy, images, "net6", "client", REMOTE, PORT, MIB, "whole", "--", "udp", REMOTE, PORT + 1, 5,
                     HERMIT_NETIF="user")
    rc = guest.finish(60)
    print("\n".join(line for line in guest.lines if line.startswith("net6:")), flush=True)
    nt.check(guest.has("client local [2001:db8:77:"), "the guest formed an address of passt's prefix 2001:db8:77::/64")
    nt.check(guest.has(f"client sent {MIB} bytes to {REMOTE}, got {MIB} back") and guest.has(" ok"),
             "1 MiB echoed by the host through passt, checksums equal")
    nt.check(rc == 0 and guest.has(f"udp client {REMOTE}: 5 of 5 answered") and guest.has("all "),
             f"UDP through passt: 5 of 5 echoed, status 0 ({rc}, {guest.lines[-2:]})")


def main():
    return nt.run_scenario({"tap-ipv6": tap_ipv6, "user-ipv6": user_ipv6})


if __name__ == "__main__":
    sys.exit(main())
