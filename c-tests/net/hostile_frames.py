#!/usr/bin/env python3
"""hostile_frames.py: net.hostile-frames, a corpus of hostile frames against the guest's receive path.

usage: hostile_frames.py <proxy> <image directory> [offload modes, default "1,0"]

A guest serves TCP echo on tap0 (static 10.0.5.2, MAC 02:00:00:00:05:02) in a namespace of
its own (netns_test.Netns). From inside the namespace a raw AF_PACKET socket on tap0 writes
frames straight to the tap's reader, the proxy: truncated and inconsistent Ethernet, IPv4,
IPv6, TCP, UDP, ICMP and ARP headers, fragments, extension-header chains, router advertisements
for SLAAC (multicast prefixes, floods of prefixes and routers), option lengths
0, 1 and past the header, floods, frames above the MTU, virtio-net headers with odd
checksum and segmentation fields, and a few thousand randomly mutated copies of valid
frames (fixed seed, printed; HOSTILE_SEED and HOSTILE_MUTATIONS change them, and
HOSTILE_CLASSES=a,b runs only those classes; the corpus is hostile_corpus.py). After each
class the guest must answer a ping and a TCP echo; a sniffer on tap0 counts what it sent
back (no class may make it answer more than twice per frame). At the end the guest ends
with status 0 having echoed every check. Run with the tap's offloads (64 KiB ring buffers,
virtio-net headers) and without (1536-byte buffers: frames above the MTU are cut; the
capture must hold no received frame longer than a buffer). Root and iproute2 are needed
(exit 77 without), and nothing leaves the namespace.
"""

import os
import random
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_test as nt  # noqa: E402  (the namespaces, the guest, cleanup)
from hostile_corpus import CLASSES, GUEST, GUEST6, GUEST_MAC, MUTATIONS, PORT, SEED, a4, a6, vnet_frames  # noqa: E402

SOL_PACKET = 263
PACKET_VNET_HDR = 15
RING_BUF = 1536  # the ring buffer of a 1500-byte MTU without offloads


# ---- sending, sniffing, checking ----------------------------------------------------------------

def martian(f):
    """Whether a frame the guest sent carries a loopback address (127.0.0.0/8, ::1), is a
    packet to the guest's own address (neither may leave the guest), or an IPv4 packet to a
    broadcast or multicast address (here only an answer to such a source could be one: a
    frame that makes every host on the segment answer)."""
    if f[12:14] == b"\x08\x00" and len(f) >= 34:
        to_all = f[30:34] in (a4("10.0.5.255"), a4("255.255.255.255")) or 224 <= f[30] <= 239
        return f[26] == 127 or f[30] == 127 or f[30:34] == a4(GUEST) or to_all
    if f[12:14] == b"\x08\x06" and len(f) >= 42:
        return f[28] == 127 or f[38] == 127
    if f[12:14] == b"\x86\xdd" and len(f) >= 54:
        return a6("::1") in (f[22:38], f[38:54]) or f[38:54] == a6(GUEST6)
    return False


class Sniffer:
    """Counts the frames the guest sends out of tap0 (from its MAC)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        self.sock.bind(("tap0", 0))
        self.sock.settimeout(0.2)
        self.count = 0
        self.martians = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                data, addr = self.sock.recvfrom(70000)
            except socket.timeout:
                continue
            except OSError:
                return
            if addr[2] != socket.PACKET_OUTGOING and data[6:12] == GUEST_MAC:
                self.count += 1
                if martian(data):
                    self.martians.append(data[:80].hex())

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


def send_all(sock, frames):
    """Writes the frames to tap0, paced so that the tap's queue does not overflow; how many
    the host kernel took, and how many it refused (too short or too long for it)."""
    sent = refused = 0
    for i, f in enumerate(frames):
        try:
            sock.send(f)
            sent += 1
        except OSError:
            refused += 1
        if i % 32 == 31:
            time.sleep(0.002)
    return sent, refused


def send_vnet(pairs):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    sock.bind(("tap0", 0))
    sent = refused = 0
    for i, (hdr, frame) in enumerate(pairs):
        try:
            sock.send(hdr + frame)
            sent += 1
        except OSError:
            refused += 1
        if i % 32 == 31:
            time.sleep(0.002)
    sock.close()
    return sent, refused


def healthy(ns, what, patience):
    """The guest answers a ping, then one of 3,000 bytes (IP fragments both ways: its
    reassembly still works), and echoes 4 KiB on a new connection within `patience`
    seconds; fails the test otherwise. Returns the seconds it took."""
    start = time.time()
    deadline = start + patience
    for size in ("56", "3000"):
        while True:
            r = ns.run(["ping", "-c", "1", "-W", "2", "-s", size, GUEST], timeout=30)
            if r.returncode == 0:
                break
            if time.time() > deadline:
                neigh = ns.ip("neigh", "show", GUEST, check_rc=False).stdout.strip()
                nt.fail(f"after {what}: the guest no longer answers ping -s {size} (status {r.returncode}, "
                        f"{r.stdout.strip().splitlines()[-2:]}, {r.stderr.strip()!r}; "
                        f"the namespace's neighbour entry: {neigh!r})")
    data = os.urandom(4096)
    while True:
        try:
            s = socket.create_connection((GUEST, PORT), timeout=5)
            break
        except OSError as e:
            if time.time() > deadline:
                nt.fail(f"after {what}: no TCP connection to the guest's echo server within {patience} s ({e})")
            time.sleep(0.5)
    s.settimeout(max(deadline - time.time(), 5))
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        back = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            back += chunk
    except OSError as e:
        nt.fail(f"after {what}: the echo broke off ({e})")
    finally:
        s.close()
    if back != data:
        nt.fail(f"after {what}: the echo returned {len(back)} bytes, not the 4096 sent")
    return time.time() - start


def read_pcap_lengths(path):
    """(length on the wire, source MAC) of each record of a pcap file."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    at = 24
    while at + 16 <= len(data):
        incl, orig = struct.unpack_from("<II", data, at + 8)
        out.append((orig, data[at + 16 + 6:at + 16 + 12]))
        at += 16 + incl
    return out


def run_mode(ns, proxy, images, offload):
    rng = random.Random(SEED + int(offload))
    only = os.environ.get("HOSTILE_CLASSES")
    classes = [(n, f) for n, f in CLASSES
               if (n != "vnet-header" or offload == "1") and (not only or n in only.split(","))]
    checks = len(classes) + 1
    pcap = f"/tmp/hermit-hostile-{os.getpid()}.pcap"
    env = dict(HERMIT_VERBOSE="1", HERMIT_NETIF_MAC="02:00:00:00:05:02", HERMIT_NET_OFFLOAD=offload)
    if offload == "0":
        env["HERMIT_CAPTURE_NET"] = pcap
    guest = nt.Guest(ns, proxy, images, "netecho", "echo", PORT, checks, **env)
    try:
        guest.wait_for(f"listening on port {PORT}")
        healthy(ns, "boot", 30)
        raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        raw.bind(("tap0", 0))
        sniffer = Sniffer()
        totals = {}
        for name, make in classes:
            before = sniffer.count
            if name == "oversize":
                ns.ip("link", "set", "tap0", "mtu", "65521")
            if name == "vnet-header":
                pairs = vnet_frames(rng)
                sent, refused = send_vnet(pairs)
            else:
                frames = make(rng)
                sent, refused = send_all(raw, frames)
            if name == "oversize":
                time.sleep(0.5)
                ns.ip("link", "set", "tap0", "mtu", "1500")
            # A SYN flood from a host that never answers holds listeners in SYN_RECEIVED
            # until they give up (20 s): the echo may take that long to be accepted again.
            took = healthy(ns, name, 45 if name in ("tcp-floods", "mutations", "martians") else 15)
            time.sleep(0.3)
            answers = sniffer.count - before
            totals[name] = sent
            print(f"class {name}: {sent} frames sent ({refused} refused by the host kernel), {answers} frames "
                  f"from the guest; ping and echo answered after {took:.1f} s", flush=True)
            if sniffer.martians:
                nt.fail(f"{name}: the guest sent {len(sniffer.martians)} frames with a loopback address, to its own "
                        f"address or to a broadcast address out of its NIC, the first: {sniffer.martians[0]}")
            if answers > 2 * sent + 40:
                nt.fail(f"{name}: the guest sent {answers} frames for {sent} received")
        sniffer.close()
        raw.close()
        rc = guest.finish(60)
        echoed = sum(1 for line in guest.lines if "netecho: echoed 4096 bytes" in line)
        nt.check(rc == 0 and echoed == checks,
                 f"offloads {offload}: the guest withstood {sum(totals.values())} hostile frames, answered {checks} "
                 f"echo checks and ended with status 0 (status {rc}, {echoed} echoes)")
        panics = [line for line in guest.lines if "panic" in line.lower()]
        nt.check(not panics, f"offloads {offload}: no panic in the guest's output {panics[:3]}")
        if offload == "0":
            longest = max((n for n, src in read_pcap_lengths(pcap) if src != GUEST_MAC), default=0)
            nt.check(0 < longest <= RING_BUF, f"the proxy gave the guest no frame longer than its ring buffer of "
                     f"{RING_BUF} bytes (longest received frame in the capture: {longest})")
    except SystemExit:
        notes = [line for line in guest.lines if "netecho" in line or "WARN" in line or "ERROR" in line]
        print(f"the guest's output: {notes[-15:]}", flush=True)
        raise
    finally:
        if guest.proc.poll() is None:
            guest.proc.kill()
        if os.path.exists(pcap):
            os.unlink(pcap)


def main():
    if len(sys.argv) < 3:
        print(f"usage: {sys.argv[0]} <proxy> <image dir> [offload modes]", file=sys.stderr)
        return 2
    skipped = nt.prepare()
    if skipped is not None:
        return skipped
    proxy, images = map(os.path.abspath, sys.argv[1:3])
    modes = sys.argv[3].split(",") if len(sys.argv) > 3 else ["1", "0"]
    print(f"seed {SEED}, {MUTATIONS} mutations per mode (HOSTILE_SEED, HOSTILE_MUTATIONS)", flush=True)
    ns = nt.tap_netns()
    for offload in modes:
        run_mode(ns, proxy, images, offload)
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
