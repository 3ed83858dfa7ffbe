"""netns_capture.py: the pcap files of netns_test.py: their parsing, HERMIT_CAPTURE_NET, jumbo frames and offloads.

read_pcap and the frame helpers need python's struct only; the scenarios capture, tap-jumbo
and tap-offload check what the proxy's (or QEMU's) capture holds.
"""

import os
import shutil
import socket

from netns_qemu import qemu_env
from netns_test import GUEST, HOST, Guest, Netns, check, echo_both_ways, echo_handler, serve_once, tap_netns


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
    """The largest receive window the guest's stack offered on its TCP connections from `port`
    (its SYN-ACK's window scale applied to the segments after it), with the one unit added
    back that the kernel holds back from every window it sends (src/net/window.rs)."""
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
        elif shift is not None and window > 0:
            largest = max(largest, (window + 1) << shift)
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
            ns = tap_netns()
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
