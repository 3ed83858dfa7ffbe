#!/usr/bin/env python3
"""listenmem_test.py: listening sockets hold buffers only for the connections they have (guest: netfault.c listenmem).

usage: listenmem_test.py <user-listenmem|tap-burst> <proxy> <image directory>

Scenarios in network namespaces of their own, with netns_test.py's helpers (root; 77 without):
  user-listenmem  behind passt as root every TCP receive buffer is 4 MiB: three sockets listen
                  with backlog 32, the guest then mallocs and touches 320 of its 512 MiB (a
                  kernel that made every backlog listener at `listen` held 480 MiB by then),
                  and serves eight connections per port that the host opens together (5 MiB
                  each, and a port's closed ones may still wait for passt's last ACK while
                  the next port's come); the guest's window is still 4 MiB
  tap-burst       32 connections the host opens at once over a tap to a backlog of 32: all
                  accepted, none reset, although one listener waited before they came
"""

import re
import socket
import sys
import time

import netns_test as t

MIB = 320
CONNS = 8


def burst(addr, port, count, timeout=30):
    """Opens `count` connections to addr:port at once (non-blocking connects), sends each
    its name, then reads the echoes: the guest accepts them in the order their handshakes
    ended, not as they were opened. How many came back."""
    conns = []
    for _ in range(count):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((addr, port))
        conns.append(s)
    sent = []
    for i, s in enumerate(conns):
        s.settimeout(timeout)
        try:
            s.sendall(f"{port}:{i}".encode())
            sent.append(True)
        except OSError as e:
            print(f"connection {i} to {port}: {e}", flush=True)
            sent.append(False)
    echoed = 0
    for i, s in enumerate(conns):
        try:
            echoed += int(sent[i] and s.recv(64) == f"{port}:{i}".encode())
        except OSError as e:
            print(f"connection {i} to {port}: {e}", flush=True)
    for s in conns:
        s.close()
    return echoed


def summary(guest):
    """(KiB the listening sockets took, KiB the connections took) from the guest's last line."""
    line = next((x for x in guest.lines if "served" in x), "")
    m = re.search(r"grew by (\d+) KiB with the listening sockets, by (\d+) KiB more", line)
    t.check(m is not None, f"the guest's summary: {line!r}")
    return int(m.group(1)), int(m.group(2))


def listeners_line(guest):
    """(listeners armed after a SYN, most in one poll) from the kernel's HERMIT_VERBOSE line."""
    line = next((x for x in guest.lines if "listeners armed" in x), "")
    m = re.search(r"(\d+) listeners armed after a SYN took one, at most (\d+) in one poll", line)
    t.check(m is not None, f"the kernel's listener line: {line!r}")
    return int(m.group(1)), int(m.group(2))


def user_listenmem(proxy, images):
    ns, pcap = t.uplink_with_pcap()
    ports = [9200, 9201, 9202]
    guest = t.Guest(ns, proxy, images, "netfault", "listenmem", ports[0], len(ports), MIB, CONNS, HERMIT_NETIF="user",
                    HERMIT_APP_PORT=",".join(map(str, ports)), HERMIT_PASST_PCAP=pcap, HERMIT_VERBOSE="1")
    guest.wait_for("allocated and touched", 90)
    for port in ports:
        echoed = burst("127.0.0.1", port, CONNS)
        t.check(echoed == CONNS, f"port {port}: {echoed} of {CONNS} connections opened together echoed through passt"
                + ("" if echoed == CONNS else f"; guest: {guest.lines[-12:]}"))
    t.guest_passed(guest, "listening sockets, then most of the memory, then connections", 90)
    listening, connections = summary(guest)
    # One armed listener per socket: 4 MiB + 1 MiB each.
    t.check(listening <= len(ports) * 5 * 1024 + 1024,
            f"{len(ports)} listening sockets with backlog 32 took {listening} KiB (one connection's buffers each)")
    t.check(connections >= (CONNS - 1) * 5 * 1024,
            f"{CONNS} open connections took {connections} KiB more: memory follows the connections")
    t.check(connections <= CONNS * 5 * 1024 + 1024, f"... and not more than theirs ({CONNS} x 5 MiB)")
    armed, most = listeners_line(guest)
    t.check(armed >= len(ports) * CONNS, f"{armed} listeners armed as SYNs came (at most {most} in one poll)")
    window, expected = t.guest_window(t.read_pcap(pcap), ports[0]), t.window_behind_passt(4 << 20)
    t.check(window == expected, f"the guest's largest window behind passt: {window} bytes ({expected} expected: 4 MiB)")


def tap_burst(proxy, images):
    ns = t.Netns()
    ns.tap("tap0")
    ns.enter()
    guest = t.Guest(ns, proxy, images, "netfault", "listenmem", 9210, 1, 0, 32, HERMIT_IP=t.GUEST, HERMIT_VERBOSE="1")
    guest.wait_for("allocated and touched")
    time.sleep(0.2)
    echoed = burst(t.GUEST, 9210, 32)
    t.check(echoed == 32, f"{echoed} of 32 connections opened at once to a backlog of 32 echoed")
    t.guest_passed(guest, "a burst of 32 connections")
    armed, most = listeners_line(guest)
    t.check(armed >= 32 and most >= 2, f"{armed} listeners armed as SYNs came, {most} in one poll at most (a burst)")


SCENARIOS = {"user-listenmem": user_listenmem, "tap-burst": tap_burst}


def main():
    return t.run_scenario(SCENARIOS)


if __name__ == "__main__":
    sys.exit(main())
