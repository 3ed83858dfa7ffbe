#!/usr/bin/env python3
"""neighbors_test.py: net.tap-peers, the guest talking with more hosts of its segment than smoltcp's first neighbour cache held.

usage: neighbors_test.py tap-peers <proxy> <image directory>

The namespace's bridge carries 12 more addresses (10.0.5.11-22, one MAC, as 12 hosts would
look to the guest's neighbour cache). The guest as a client (netfault peers) connects to each
address in turn, three rounds, with a short echo each; then, as a server (netecho echo), it
serves the same three rounds of connections from each address, which already know its MAC
address; the client also reaches 192.0.2.7 beyond the segment, through the gateway, right
after a host of the segment. Every connection must take less than 500 ms: smoltcp sends one ARP request a
second at most and forgot hosts beyond its 8 entries, so each connection had waited about a
second (src/net/neighbors.rs). Root and iproute2 are needed (exit 77 without); nothing leaves
the namespace.
"""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_test as nt  # noqa: E402  (the namespaces, the guest, cleanup)

HOSTS = [f"10.0.5.{11 + i}" for i in range(12)]
BEYOND = "192.0.2.7"  # on the namespace's loopback: reached through the gateway, 10.0.5.1
ROUNDS = 3
PORT = 9000
LIMIT_MS = 500


def echo_server():
    """A host echo server on every address of the namespace, one thread per connection."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", PORT))
    listener.listen(64)

    def serve():
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=nt.echo_handler, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()


def guest_as_client(ns, proxy, images):
    guest = nt.fault_guest(ns, proxy, images, "peers", PORT, ROUNDS, *HOSTS, BEYOND)
    rc = guest.finish(120)
    times = [int(line.split()[-2]) for line in guest.lines if "peer round" in line and line.endswith(" ms")]
    print(f"guest as client, ms per connection: {times}", flush=True)
    nt.check(rc == 0 and guest.has("checks passed") and len(times) == ROUNDS * (len(HOSTS) + 1),
             f"the guest echoed with each of {len(HOSTS)} hosts and {BEYOND} {ROUNDS} times ({rc}, {guest.lines[-3:]})")
    nt.check(max(times) < LIMIT_MS, f"each connection within {LIMIT_MS} ms (slowest {max(times)} ms)")


def guest_as_server(ns, proxy, images):
    guest = nt.Guest(ns, proxy, images, "netecho", "echo", PORT + 1, 1 + ROUNDS * len(HOSTS))
    guest.wait_for("listening on")
    nt.echo_64(nt.connect(nt.GUEST, PORT + 1), nt.HOST)  # from the bridge's own address first
    times = []
    for _ in range(ROUNDS):
        for host in HOSTS:
            start = time.monotonic()
            nt.echo_64(socket.create_connection((nt.GUEST, PORT + 1), timeout=10, source_address=(host, 0)), host)
            times.append(round((time.monotonic() - start) * 1000))
    print(f"guest as server, ms per connection: {times}", flush=True)
    nt.check(max(times) < LIMIT_MS, f"each connection within {LIMIT_MS} ms (slowest {max(times)} ms)")
    rc = guest.finish(60)
    served = [line.split()[-1].split(":")[0] for line in guest.lines if line.startswith("netecho: echoed 64 bytes to")]
    nt.check(rc == 0 and all(served.count(host) == ROUNDS for host in HOSTS),
             f"the guest echoed 64 bytes to each host {ROUNDS} times ({rc}, {guest.lines[-3:]})")


def tap_peers(proxy, images):
    ns = nt.Netns()
    ns.tap("tap0")
    for host in HOSTS:
        ns.ip("addr", "add", f"{host}/24", "dev", "br0")
    ns.ip("addr", "add", f"{BEYOND}/32", "dev", "lo")
    ns.enter()
    echo_server()
    guest_as_client(ns, proxy, images)
    guest_as_server(ns, proxy, images)


def main():
    return nt.run_scenario({"tap-peers": tap_peers})


if __name__ == "__main__":
    sys.exit(main())
