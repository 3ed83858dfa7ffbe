"""hostile_corpus.py: the frames of net.hostile-frames (hostile_frames.py), class by class.

Each class is a function of a seeded random.Random that returns the frames to write to the
guest's tap: the guest is 10.0.5.2 at 02:00:00:00:05:02 (fe80::ff:fe00:502), its echo
server listens on PORT, CLOSED is a closed port, HOST the bridge's address (whose kernel
answers a stray SYN-ACK with a reset) and FAKE a host that answers nothing. Frames are
built by hand (struct), with checksums right unless a class means them wrong.
"""

import os
import socket
import struct

GUEST_MAC = bytes.fromhex("020000000502")
FAKE_MAC = bytes.fromhex("020000000599")
BCAST = b"\xff" * 6
GUEST = "10.0.5.2"  # netns_test.GUEST: the guest on the bridge
HOST = "10.0.5.1"  # netns_test.HOST: the bridge
FAKE = "10.0.5.99"  # a host that answers nothing (not even ARP)
GUEST6 = "fe80::ff:fe00:502"  # the guest's link-local address (EUI-64 of its MAC)
FAKE6 = "fe80::99"
PORT = 7777
CLOSED = 7000
SEED = int(os.environ.get("HOSTILE_SEED", "20261206"))
MUTATIONS = int(os.environ.get("HOSTILE_MUTATIONS", "3000"))


# ---- frames ------------------------------------------------------------------------------------

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def a4(text):
    return socket.inet_aton(text)


def a6(text):
    return socket.inet_pton(socket.AF_INET6, text)


def eth(payload, etype=0x0800, dst=GUEST_MAC, src=FAKE_MAC):
    return dst + src + struct.pack("!H", etype) + payload


def ipv4(payload, proto, src=HOST, dst=GUEST, ihl=5, total=None, frag=0, ttl=64, options=b"", check=None,
         ident=0x1234):
    header_len = ihl * 4
    opts = options.ljust(max(header_len - 20, 0), b"\0")[: max(header_len - 20, 0)]
    total = 20 + len(opts) + len(payload) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | (ihl & 0xF), 0, total & 0xFFFF, ident, frag, ttl, proto, 0, a4(src),
                    a4(dst)) + opts
    c = csum(h) if check is None else check
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def pseudo4(src, dst, proto, length):
    return a4(src) + a4(dst) + struct.pack("!BBH", 0, proto, length)


def pseudo6(src, dst, proto, length):
    return a6(src) + a6(dst) + struct.pack("!IxxxB", length, proto)


def tcp(sport, dport, flags, seq=1000, ack=0, doff=None, options=b"", payload=b"", pseudo=None, win=8192, urg=0):
    doff = 5 + (len(options) + 3) // 4 if doff is None else doff
    opts = options.ljust((len(options) + 3) // 4 * 4, b"\0")
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (doff & 0xF) << 4, flags, win, 0, urg) + opts + payload
    if pseudo:
        c = csum(pseudo(len(seg)) + seg)
        seg = seg[:16] + struct.pack("!H", c) + seg[18:]
    return seg


def tcp4(sport, dport, flags, src=HOST, dst=GUEST, **kw):
    seg = tcp(sport, dport, flags, pseudo=lambda n: pseudo4(src, dst, 6, n), **kw)
    return eth(ipv4(seg, 6, src=src, dst=dst))


def udp(sport, dport, payload, pseudo=None, length=None):
    length = 8 + len(payload) if length is None else length
    seg = struct.pack("!HHHH", sport, dport, length & 0xFFFF, 0) + payload
    if pseudo:
        c = csum(pseudo(len(seg)) + seg) or 0xFFFF
        seg = seg[:6] + struct.pack("!H", c) + seg[8:]
    return seg


def udp4(sport, dport, payload, src=HOST, dst=GUEST, **kw):
    return eth(ipv4(udp(sport, dport, payload, pseudo=lambda n: pseudo4(src, dst, 17, n), **kw), 17, src=src, dst=dst))


def icmp(kind, code, rest=b"\0\0\0\0", payload=b""):
    m = struct.pack("!BBH", kind, code, 0) + rest + payload
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def icmp4(kind, code, rest=b"\0\0\0\0", payload=b"", src=HOST, dst=GUEST, **kw):
    return eth(ipv4(icmp(kind, code, rest, payload), 1, src=src, dst=dst, **kw), **{})


def ipv6(payload, nh, src=FAKE6, dst=GUEST6, plen=None, hops=64):
    plen = len(payload) if plen is None else plen
    return struct.pack("!IHBB", 6 << 28, plen & 0xFFFF, nh, hops) + a6(src) + a6(dst) + payload


def icmp6(kind, code, body, src=FAKE6, dst=GUEST6, dst_mac=GUEST_MAC, chain=b"", chain_nh=None, hops=64):
    m = struct.pack("!BBH", kind, code, 0) + body
    c = csum(pseudo6(src, dst, 58, len(m)) + m)
    m = m[:2] + struct.pack("!H", c) + m[4:]
    return eth(ipv6(chain + m, 58 if chain_nh is None else chain_nh, src=src, dst=dst, hops=hops), 0x86DD,
               dst=dst_mac)


def arp(op=1, sha=FAKE_MAC, spa=FAKE, tha=b"\0" * 6, tpa=GUEST, htype=1, ptype=0x0800, hlen=6, plen=4, dst=BCAST,
        src=None):
    body = struct.pack("!HHBBH", htype, ptype, hlen, plen, op) + sha + a4(spa) + tha + a4(tpa)
    return eth(body, 0x0806, dst=dst, src=src or sha)


def ping4(ident=1, seq=1, size=56, **kw):
    return icmp4(8, 0, struct.pack("!HH", ident, seq), bytes(range(256)) * (size // 256) + bytes(size % 256), **kw)


# ---- the corpus, one class at a time ---------------------------------------------------------------

def c_ethernet(rng):
    good = ping4()
    frames = [good[:n] for n in range(1, 14)]  # shorter than an Ethernet header
    frames += [eth(b"", t) for t in (0x0800, 0x0806, 0x86DD, 0x8100, 0x88A8, 0x0000, 0xFFFF, 0x05DC)]
    frames += [GUEST_MAC + FAKE_MAC + b"\x81\x00\x00\x05" + good[12:],  # VLAN tag
               GUEST_MAC + FAKE_MAC + b"\x88\xa8\x00\x05\x81\x00\x00\x06" + good[12:],  # QinQ
               GUEST_MAC + FAKE_MAC + b"\x81\x00" + b"\x00" * 3,  # cut inside the tag
               GUEST_MAC + FAKE_MAC + struct.pack("!H", 46) + good[14:60],  # 802.3 length field
               BCAST + FAKE_MAC + good[12:], b"\x01\x00\x5e\x00\x00\x01" + FAKE_MAC + good[12:],
               GUEST_MAC + GUEST_MAC + good[12:],  # our own source address
               GUEST_MAC + BCAST + good[12:], GUEST_MAC + b"\x01\x00\x5e\x00\x00\x01" + good[12:]]
    return frames


def c_ipv4_header(rng):
    good = ping4()
    frames = [good[:n] for n in range(14, 42)]  # cut inside the IP or ICMP header
    body = icmp(8, 0, b"\0\1\0\1", b"x" * 32)
    for version in (0, 4, 6, 15):
        f = bytearray(eth(ipv4(body, 1)))
        f[14] = (version << 4) | 5
        frames.append(bytes(f))
    for ihl in range(0, 16):
        frames.append(eth(ipv4(body, 1, ihl=ihl)))  # IHL < 5, and options past the frame
        frames.append(eth(ipv4(b"", 1, ihl=ihl)))
    for opts in (b"\x07\x00", b"\x07\x01", b"\x07\xff\x04", b"\x44\x00\x05\x00", b"\x83\x03\x04", b"\x01" * 40,
                 b"\x94\x04\0\0", b"\x00\xff\xff", b"\x86\x02"):
        frames.append(eth(ipv4(body, 1, ihl=5 + (len(opts) + 3) // 4, options=opts)))
    for total in (0, 1, 19, 20, 27, 28, len(body) + 19, len(body) + 21, 1500, 65535):
        frames.append(eth(ipv4(body, 1, total=total)))
    frames.append(eth(ipv4(body, 1, check=0)))
    frames.append(eth(ipv4(body, 1, check=0xFFFF)))
    for src in ("255.255.255.255", "10.0.5.255", "224.0.0.1", "0.0.0.0", "127.0.0.1", GUEST):
        frames.append(eth(ipv4(body, 1, src=src)))
    for dst in ("255.255.255.255", "10.0.5.255", "224.0.0.1", "239.1.2.3", "127.0.0.1", "10.0.6.1"):
        frames.append(eth(ipv4(body, 1, dst=dst), dst=BCAST))
    for proto in (0, 2, 4, 41, 47, 50, 132, 253, 255):
        frames.append(eth(ipv4(bytes(rng.randrange(256) for _ in range(40)), proto)))
    frames.append(eth(ipv4(body, 1, ttl=0)))
    return frames


def c_ipv4_fragments(rng):
    body = icmp(8, 0, b"\0\2\0\1", b"y" * 64)
    seg = tcp(40000, PORT, 0x02, pseudo=lambda n: pseudo4(HOST, GUEST, 6, n))
    frames = []
    for frag in (0x2000, 0x2001, 0x0001, 0x1FFF, 0x3FFF, 0x4000 | 0x2000, 0x8000, 0xFFFF):
        frames.append(eth(ipv4(body, 1, frag=frag)))
        frames.append(eth(ipv4(seg, 6, frag=frag)))
    frames.append(eth(ipv4(seg[:8], 6, frag=0x2000)))  # a tiny first fragment: ports only
    frames.append(eth(ipv4(seg[8:], 6, frag=0x0001)))  # overlapping the TCP header
    for i in range(200):  # one datagram's fragments, never complete
        frames.append(eth(ipv4(b"z" * 8, 17, frag=0x2000 | (i * 3 % 8191))))
    # First fragments of 300 datagrams that never complete (the guest keeps 64 at most),
    # then pairs that overlap in part, a fragment past 64 KiB, an empty one and one of 9
    # bytes that is not the last.
    for ident in range(300):
        frames.append(eth(ipv4(b"f" * 1480, 17, frag=0x2000, ident=0x4000 + ident)))
    for ident in range(20):
        frames.append(eth(ipv4(b"a" * 1480, 17, frag=0x2000, ident=0x5000 + ident)))
        frames.append(eth(ipv4(b"b" * 800, 17, frag=180 + ident % 5, ident=0x5000 + ident)))
    frames.append(eth(ipv4(b"c" * 1480, 17, frag=0x1FFF, ident=0x6000)))
    frames.append(eth(ipv4(b"", 17, frag=0x2001, ident=0x6001)))
    frames.append(eth(ipv4(b"d" * 9, 17, frag=0x2002, ident=0x6002)))
    return frames


def hbh(nh, options):
    body = bytes([nh, 0]) + options
    body = body.ljust((len(body) + 7) // 8 * 8, b"\0")
    return bytes([nh, len(body) // 8 - 1]) + body[2:]


def c_ipv6(rng):
    echo = icmp6(128, 0, b"\0\1\0\1" + b"p" * 16)
    frames = [echo[:n] for n in range(14, 62)]
    m = echo[54:]
    for plen in (0, 1, 7, len(m) - 1, len(m) + 1, 1500, 65535):
        frames.append(eth(ipv6(m, 58, plen=plen), 0x86DD))
    for version in (0, 4, 7, 15):
        f = bytearray(echo)
        f[14] = (version << 4)
        frames.append(bytes(f))
    # Hop-by-hop options: long padding, unknown types that ask for an ICMP error, lengths past
    # the header, a jumbo payload option, and hop-by-hop where it must not be (not first).
    for opts in (b"\x01\xff" + b"\0" * 255, b"\xc2\x04\0\0\0\0", b"\x80\x02\0\0", b"\x01\x20", b"\x05\x02\0\0",
                 b"\xc2\x00", b"\x00" * 6, b"\x41\x01\0" * 2, b"\xff\xff"):
        frames.append(icmp6(128, 0, b"\0\1\0\2", chain=hbh(58, opts), chain_nh=0))
        frames.append(icmp6(128, 0, b"\0\1\0\3", chain=hbh(58, opts), chain_nh=0, dst="ff02::1",
                            dst_mac=b"\x33\x33\0\0\0\1"))
    frames.append(icmp6(128, 0, b"\0\1\0\4", chain=hbh(0, b"\x01\x02\0\0") + hbh(58, b"\x01\x02\0\0"), chain_nh=60))
    # Long chains of destination-options headers, and chains that name themselves again.
    for count in (2, 16, 100, 180):
        chain = b"".join(hbh(60, b"\x01\x04\0\0\0\0") for _ in range(count - 1)) + hbh(58, b"\x01\x04\0\0\0\0")
        frames.append(icmp6(128, 0, b"\0\1\0\5", chain=chain, chain_nh=60))
    frames.append(icmp6(128, 0, b"\0\1\0\6", chain=bytes([60, 0xFF]) + b"\x01\x04\0\0\0\0", chain_nh=60))
    # Routing headers (type 0 with segments left, type 2, a length past the packet).
    for rh in (bytes([58, 2, 0, 1, 0, 0, 0, 0]) + a6("fe80::1"), bytes([58, 2, 2, 1, 0, 0, 0, 0]) + a6("fe80::1"),
               bytes([58, 0xFF, 0, 5, 0, 0, 0, 0]), bytes([58, 0, 4, 0, 0, 0, 0, 0])):
        frames.append(icmp6(128, 0, b"\0\1\0\7", chain=rh, chain_nh=43))
    # Fragment headers: atomic, first of many, a later one, offsets past 64 KiB.
    for off_mf in (0x0000, 0x0001, 0x0008, 0xFFF9, 0xFFF8):
        frames.append(icmp6(128, 0, b"\0\1\0\x08", chain=struct.pack("!BBHI", 58, 0, off_mf, 7), chain_nh=44))
    frames.append(eth(ipv6(b"", 59), 0x86DD))  # no next header
    frames.append(eth(ipv6(b"\0" * 8, 0), 0x86DD))  # hop-by-hop cut short
    for nh in (6, 17, 58):  # transport headers cut short
        frames.append(eth(ipv6(b"\0" * 3, nh), 0x86DD))
    for src in ("ff02::1", "::", "::1", GUEST6):
        frames.append(icmp6(128, 0, b"\0\1\0\x09", src=src))
    tcp6 = tcp(40001, PORT, 0x02, pseudo=lambda n: pseudo6(FAKE6, GUEST6, 6, n))
    frames.append(eth(ipv6(tcp6, 6), 0x86DD))
    return frames


def ndp_opt(kind, length, body=b""):
    return bytes([kind, length]) + body


def c_icmpv6(rng):
    frames = []
    solicited = "ff02::1:ff00:502"
    smac = b"\x33\x33\xff\x00\x05\x02"
    target = a6(GUEST6)
    # Neighbour solicitations with options of length 0 (a parser that loops on them never
    # ends), lengths past the packet, and a broadcast link-layer address.
    for opts in (ndp_opt(1, 0), ndp_opt(1, 0, b"\0" * 6), ndp_opt(1, 255, FAKE_MAC), ndp_opt(1, 1, BCAST),
                 ndp_opt(1, 2, FAKE_MAC), ndp_opt(14, 1, b"\0" * 6), ndp_opt(99, 0) * 4, ndp_opt(1, 1, FAKE_MAC) * 40):
        frames.append(icmp6(135, 0, b"\0" * 4 + target + opts, dst=solicited, dst_mac=smac))
        frames.append(icmp6(135, 0, b"\0" * 4 + target + opts))
    frames.append(icmp6(135, 0, b"\0" * 4 + target, src="::", dst=solicited, dst_mac=smac))  # duplicate detection
    frames.append(icmp6(135, 0, b"\0" * 4 + target[:8]))  # cut inside the target
    frames.append(icmp6(135, 1, b"\0" * 4 + target))  # code 1
    # Unsolicited advertisements claiming the guest's own address (override set).
    for flags in (0x20, 0x60, 0xE0, 0x00):
        frames.append(icmp6(136, 0, bytes([flags, 0, 0, 0]) + target + ndp_opt(2, 1, FAKE_MAC), dst="ff02::1",
                            dst_mac=b"\x33\x33\0\0\0\1"))
    # Router advertisements with odd prefix options, MTU options, lengths 0 and past the end.
    pi = ndp_opt(3, 4, bytes([64, 0xC0]) + b"\xff" * 8 + b"\0" * 4 + a6("2001:db8::"))
    for opts in (pi, ndp_opt(3, 4, bytes([200, 0xC0]) + b"\0" * 28), ndp_opt(5, 1, b"\0\0" + struct.pack("!I", 68)),
                 ndp_opt(5, 1, b"\0\0" + struct.pack("!I", 0)), ndp_opt(3, 0), ndp_opt(25, 3, b"\0" * 22), pi[:10]):
        frames.append(icmp6(134, 0, bytes([64, 0, 0, 30]) + b"\0" * 8 + opts, dst="ff02::1",
                            dst_mac=b"\x33\x33\0\0\0\1"))
    # A redirect, MLD queries and reports, echo to all nodes, errors quoting garbage.
    frames.append(icmp6(137, 0, b"\0" * 4 + a6("fe80::1") + a6("2001:db8::1") + ndp_opt(4, 0)))
    frames.append(icmp6(130, 0, b"\0\0\0\0" + b"\0" * 16, dst="ff02::1", dst_mac=b"\x33\x33\0\0\0\1"))
    frames.append(icmp6(143, 0, b"\0\0\0\x40" + b"\x04\0\0\x01" + a6("ff02::fb") * 2))
    frames.append(icmp6(128, 0, b"\0\1\0\1" + b"q" * 64, dst="ff02::1", dst_mac=b"\x33\x33\0\0\0\1"))
    for kind, code in ((1, 0), (1, 4), (2, 0), (3, 0), (4, 0), (4, 1), (4, 2)):
        for quoted in (b"", b"\x60" + b"\0" * 10, ipv6(tcp(PORT, 40002, 0x12), 6, src=GUEST6, dst=FAKE6)[:48],
                       bytes(rng.randrange(256) for _ in range(60))):
            frames.append(icmp6(kind, code, struct.pack("!I", 1280 if kind == 2 else 7) + quoted))
    for kind in (0, 127, 139, 200, 255):
        frames.append(icmp6(kind, 0, b""))
    frames.append(eth(ipv6(b"\x80", 58), 0x86DD))  # an ICMPv6 message of one byte
    return frames


def prefix_info(prefix, length=64, flags=0xC0, valid=86400, preferred=3600):
    return ndp_opt(3, 4, struct.pack("!BBII4x", length, flags, valid, preferred) + a6(prefix))


def c_router_adverts(rng):
    """Router advertisements smoltcp's SLAAC takes (hop limit 255, from link-local
    addresses): a multicast prefix for addresses (smoltcp formed an address of it and
    panicked), more prefixes than it holds, in one advertisement and in many, lifetimes
    zero and infinite, prefix lengths other than 64, 100 routers, odd router lifetimes."""
    frames = []
    all_nodes = dict(dst="ff02::1", dst_mac=b"\x33\x33\0\0\0\1", hops=255)

    def ra(options, lifetime=1800, src=FAKE6, **kw):
        body = struct.pack("!BBHII", 64, 0, lifetime, 0, 0) + ndp_opt(1, 1, FAKE_MAC) + b"".join(options)
        return icmp6(134, 0, body, src=src, **(kw or all_nodes))

    for prefix in ("ff02::", "ff0e:1::", "ff00::"):
        frames.append(ra([prefix_info(prefix)]))
        frames.append(ra([prefix_info("2001:db8:7::"), prefix_info(prefix)], dst=GUEST6, dst_mac=GUEST_MAC,
                         hops=255))
    frames.append(ra([prefix_info(f"2001:db8:{0x100 + i:x}::") for i in range(40)]))
    for i in range(200):
        length = [64, 0, 48, 96, 128, 255][i % 6]
        valid = [0, 1, 0xFFFFFFFF, 7200, rng.randrange(1 << 32)][i % 5]
        frames.append(ra([prefix_info(f"2001:db8:{0x200 + i:x}::", length=length, valid=valid,
                                      preferred=min(valid, rng.randrange(1 << 32)))],
                         lifetime=[0, 1, 65535, 9000][i % 4]))
    for i in range(100):
        frames.append(ra([prefix_info(f"fd00:{i:x}::")], lifetime=[0, 1800, 65535][i % 3], src=f"fe80::{0x1000 + i:x}"))
    frames.append(ra([prefix_info("2001:db8:7::", valid=5, preferred=10)]))  # preferred above valid
    frames.append(ra([prefix_info("fe80::")]))  # link-local
    frames.append(ra([prefix_info("2001:db8:7::")], src="2001:db8::99"))  # not from a link-local address
    return frames


def c_tcp_header(rng):
    frames = []
    # Sources: the bridge's address (its host answers a stray SYN-ACK with a reset).
    for dport in (PORT, CLOSED):
        for doff in list(range(0, 5)) + [6, 8, 15]:
            for flags in (0x02, 0x10, 0x18, 0x04, 0x11):
                frames.append(tcp4(41000 + doff, dport, flags, doff=doff, payload=b"d" * 4))
        for opts in (b"\x02\x00", b"\x02\x01", b"\x02\x28" + b"\0" * 2, b"\x02\x04\x00\x00", b"\x02\x04\x00\x01",
                     b"\x02\x04\xff\xff", b"\x03\x03\xff", b"\x03\x00", b"\x03\x01", b"\x04\x02", b"\x04\x00",
                     b"\x05\x03\0", b"\x05\x0a" + b"\0" * 8, b"\x05\xff", b"\x08\x0a\0\0\0\1", b"\x08\x00",
                     b"\x01" * 40, b"\x00\x02\x04", b"\xfe\x00", b"\xfe\x01", b"\x22\x28", b"\x02",
                     b"\x01" * 39 + b"\x02",
                     b"\x03\x03\x0e\x02\x04\x00\x40\x04\x02\x08\x0a" + b"\xff" * 8):
            for flags in (0x02, 0x12, 0x10):
                frames.append(tcp4(42000, dport, flags, options=opts))
        for flags in (0x03, 0x06, 0x07, 0x3F, 0xFF, 0x00, 0x20, 0x01, 0x08, 0xC2, 0x12):
            frames.append(tcp4(43000 + flags, dport, flags, ack=rng.randrange(1 << 32), urg=0xFFFF,
                               payload=b"u" * 3))
        frames.append(tcp4(44000, dport, 0x18, payload=b"\0" * 1400, win=0))
    # From broadcast and multicast sources, to broadcast: no answer is due.
    for src in ("10.0.5.255", "255.255.255.255", "224.0.0.1", "0.0.0.0"):
        frames.append(tcp4(45000, PORT, 0x02, src=src))
        frames.append(tcp4(45000, CLOSED, 0x10, src=src))
    # To broadcast and multicast destinations (a SYN to the open port once made a listener
    # reset itself, and `accept` returned it as a connection from 0.0.0.0:0).
    for dst, mac in (("10.0.5.255", BCAST), ("255.255.255.255", BCAST), ("224.0.0.1", b"\x01\x00\x5e\0\0\1")):
        for dport, flags in ((PORT, 0x02), (CLOSED, 0x02), (CLOSED, 0x10)):
            seg = tcp(45001, dport, flags, pseudo=lambda n, d=dst: pseudo4(HOST, d, 6, n))
            frames.append(eth(ipv4(seg, 6, dst=dst), dst=mac))
    seg6 = tcp(45002, PORT, 0x02, pseudo=lambda n: pseudo6(FAKE6, "ff02::1", 6, n))
    frames.append(eth(ipv6(seg6, 6, dst="ff02::1"), 0x86DD, dst=b"\x33\x33\0\0\0\1"))
    # The TCP header cut short (the IP length says so), and a segment of its header only.
    for cut in range(0, 20):
        seg = tcp(46000, PORT, 0x02, pseudo=lambda n: pseudo4(HOST, GUEST, 6, n))[:cut]
        frames.append(eth(ipv4(seg, 6)))
    return frames


def c_tcp_floods(rng):
    frames = []
    for i in range(300):
        frames.append(tcp4(20000 + i, PORT, 0x02, seq=rng.randrange(1 << 32), options=b"\x02\x04\x05\xb4"))
        frames.append(tcp4(20000 + i, PORT, 0x02, src=FAKE, seq=rng.randrange(1 << 32), options=b"\x02\x04\x05\xb4"))
        frames.append(tcp4(20000 + i, CLOSED, 0x02, seq=rng.randrange(1 << 32)))
        frames.append(tcp4(21000 + i, PORT, 0x04, seq=rng.randrange(1 << 32)))
        frames.append(tcp4(21000 + i, CLOSED, 0x14, seq=rng.randrange(1 << 32), ack=rng.randrange(1 << 32)))
        frames.append(tcp4(22000 + i, PORT, 0x11, seq=rng.randrange(1 << 32), ack=rng.randrange(1 << 32)))
        frames.append(tcp4(22000 + i, PORT, 0x10, src=FAKE, seq=rng.randrange(1 << 32), ack=rng.randrange(1 << 32)))
    return frames


def c_udp(rng):
    frames = []
    for length in (0, 1, 7, 8, 9, 11, 13, 200, 65535):
        frames.append(udp4(5000, CLOSED, b"abcd", length=length))
    frames.append(udp4(5000, CLOSED, b""))
    f = bytearray(udp4(5000, CLOSED, b"abcd"))
    f[40] ^= 0xFF  # checksum wrong
    frames.append(bytes(f))
    for port in (53, 67, 68, 5353, 0, 65535):
        frames.append(udp4(53, port, bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))))
    for dst in ("10.0.5.255", "255.255.255.255", "224.0.0.251"):
        frames.append(eth(ipv4(udp(5000, CLOSED, b"x", pseudo=lambda n, d=dst: pseudo4(HOST, d, 17, n)), 17, dst=dst),
                          dst=BCAST))
    frames.append(udp4(5000, CLOSED, b"x", src="10.0.5.255"))
    # A DNS-looking answer with a compression pointer to itself (no DNS query is open).
    dns = b"\x12\x34\x81\x80\0\1\0\1\0\0\0\0" + b"\xc0\x0c" + b"\0\1\0\1"
    frames.append(udp4(53, 49152, dns))
    for cut in range(0, 8):
        frames.append(eth(ipv4(udp(5000, CLOSED, b"abcd")[:cut], 17)))
    return frames


def c_icmp(rng):
    frames = [eth(ipv4(icmp(8, 0)[:n], 1)) for n in range(0, 8)]
    frames.append(ping4(size=0))
    frames.append(ping4(size=1472))
    frames.append(ping4(dst="10.0.5.255"))
    frames.append(eth(ipv4(icmp(8, 0, b"\0\1\0\1", b"b" * 8), 1, dst="255.255.255.255"), dst=BCAST))
    frames.append(ping4(src="10.0.5.255"))
    flow = ipv4(tcp(PORT, 40003, 0x12), 6, src=GUEST, dst=HOST)
    quotes = [b"", b"\x45", flow[:20], flow[:28], flow, b"\x4f" + b"\0" * 19, b"\x46" + flow[1:24],
              ipv4(b"", 6, src=GUEST, dst=HOST, ihl=15)[:28], ipv4(udp(CLOSED, 5000, b"q"), 17, src=GUEST, dst=HOST),
              bytes(rng.randrange(256) for _ in range(40))]
    for kind, code, rest in ((3, 0, 0), (3, 1, 0), (3, 3, 0), (3, 4, 0), (3, 4, 1), (3, 4, 68), (3, 4, 0xFFFF),
                             (3, 13, 0), (3, 15, 0), (11, 0, 0), (11, 1, 0), (12, 0, 0xFF000000), (4, 0, 0),
                             (5, 1, int.from_bytes(a4(FAKE), "big")), (5, 0, 0)):
        for q in quotes:
            frames.append(icmp4(kind, code, struct.pack("!I", rest), q))
    for kind in (13, 15, 17, 0, 44, 255):
        frames.append(icmp4(kind, 0, b"\0" * 4, b"\0" * 12))
    return frames


def c_arp(rng):
    frames = []
    good = arp()
    frames += [good[:n] for n in range(14, 42)]
    for htype, ptype, hlen, plen in ((6, 0x0800, 6, 4), (1, 0x86DD, 6, 4), (1, 0x0800, 0, 4), (1, 0x0800, 1, 4),
                                     (1, 0x0800, 16, 4), (1, 0x0800, 255, 4), (1, 0x0800, 6, 0), (1, 0x0800, 6, 16),
                                     (1, 0x0800, 6, 255), (0, 0, 0, 0), (0xFFFF, 0xFFFF, 255, 255)):
        frames.append(arp(htype=htype, ptype=ptype, hlen=hlen, plen=plen))
    for op in (0, 2, 3, 4, 8, 0xFFFF):
        frames.append(arp(op=op))
    # Claims of the guest's own address: gratuitous request and reply, and probes for it
    # (the guest answers a probe, from a unicast sender only).
    frames.append(arp(op=1, spa=GUEST, tpa=GUEST))
    frames.append(arp(op=2, spa=GUEST, tpa=GUEST, tha=BCAST))
    frames.append(arp(op=2, spa=GUEST, tpa=HOST, tha=GUEST_MAC, dst=GUEST_MAC))
    frames.append(arp(op=1, spa="0.0.0.0", tpa=GUEST))
    frames.append(arp(op=1, spa="0.0.0.0", tpa=GUEST, sha=BCAST, src=FAKE_MAC))
    frames.append(arp(op=1, spa="0.0.0.0", tpa=GUEST, sha=b"\x01\0\x5e\0\0\1", src=FAKE_MAC))
    for spa in ("255.255.255.255", "10.0.5.255", "224.0.0.1", "127.0.0.1", "10.0.6.1"):
        frames.append(arp(spa=spa))
    frames.append(arp(sha=BCAST, src=FAKE_MAC))
    # Many senders: the neighbour cache turns over.
    for i in range(200):
        mac = bytes([2, 0, 0, 1, i >> 8, i & 0xFF])
        frames.append(arp(sha=mac, spa=f"10.0.5.{100 + i % 150}"))
    return frames


def c_oversize(rng):
    """Frames above the 1500-byte MTU (the tap's MTU is raised for them): whole IPv4 packets
    whose lengths agree with the frame, and garbage."""
    frames = []
    for size in (1515, 1518, 1522, 1600, 4000, 9000, 9018, 9100, 16384, 32768, 65535):
        payload = size - 14 - 20 - 8
        frames.append(ping4(size=payload))
        frames.append(tcp4(47000, CLOSED, 0x18, payload=b"o" * (size - 54)))
        frames.append(eth(bytes(rng.randrange(256) for _ in range(size - 14))))
    return frames


def c_zero(rng):
    frames = [tcp4(48000, PORT, flags) for flags in (0x10, 0x18, 0x11, 0x01, 0x00)]
    frames += [udp4(5000, CLOSED, b""), eth(ipv4(b"", 6)), eth(ipv4(b"", 17)), eth(ipv4(b"", 1)), eth(ipv4(b"", 0))]
    frames += [eth(ipv6(b"", 6), 0x86DD), eth(ipv6(b"", 17), 0x86DD), eth(ipv6(b"", 58), 0x86DD), eth(b"", 0x0800)]
    frames.append(ping4(size=0))
    return frames


def c_martians(rng):
    """Frames that claim addresses only the guest itself may use: loopback sources and
    destinations (127.0.0.0/8, ::1), the guest's own address as a source (LAND: a SYN from
    the guest's own address and port to itself), ARP and neighbour messages that say the
    guest's own or a loopback address is at another MAC, then traffic that the guest would
    answer to those addresses. None of it may make the guest send a loopback address, or a
    packet to its own address, out of its NIC (the sniffer's check)."""
    frames = [arp(spa="127.0.0.1", tpa=GUEST), arp(op=2, spa="127.0.0.1", tpa=GUEST, dst=GUEST_MAC),
              arp(spa="127.0.0.2", tpa="127.0.0.1"), arp(spa=GUEST, tpa=GUEST), arp(op=2, spa=GUEST, tpa=GUEST),
              arp(spa=FAKE, tpa="127.0.0.1"),
              icmp6(135, 0, b"\0" * 4 + a6(GUEST6) + ndp_opt(1, 1, FAKE_MAC), src="::1"),
              icmp6(136, 0, bytes([0x20, 0, 0, 0]) + a6("::1") + ndp_opt(2, 1, FAKE_MAC), src="::1"),
              icmp6(135, 0, b"\0" * 4 + a6(GUEST6) + ndp_opt(1, 1, FAKE_MAC), src=GUEST6)]
    for dport in (PORT, CLOSED):
        frames.append(tcp4(51000, dport, 0x02, dst="127.0.0.1"))
        frames.append(tcp4(51001, dport, 0x02, src="127.0.0.1"))
        frames.append(tcp4(51002, dport, 0x02, src="127.0.0.1", dst="127.0.0.1"))
        frames.append(tcp4(dport, dport, 0x02, src=GUEST))  # LAND
        frames.append(tcp4(51003, dport, 0x02, src=GUEST))
        frames.append(eth(ipv6(tcp(51004, dport, 0x02, pseudo=lambda n: pseudo6("::1", GUEST6, 6, n)), 6, src="::1"),
                          0x86DD))
        frames.append(eth(ipv6(tcp(51005, dport, 0x02, pseudo=lambda n: pseudo6(FAKE6, "::1", 6, n)), 6, dst="::1"),
                          0x86DD))
        frames.append(eth(ipv6(tcp(dport, dport, 0x02, pseudo=lambda n: pseudo6(GUEST6, GUEST6, 6, n)), 6,
                               src=GUEST6), 0x86DD))
    frames += [ping4(dst="127.0.0.1"), ping4(src="127.0.0.1"), ping4(src=GUEST), icmp6(128, 0, b"\0\1\0\1", src="::1"),
               icmp6(128, 0, b"\0\1\0\1", dst="::1"), icmp6(128, 0, b"\0\1\0\1", src=GUEST6),
               udp4(5000, CLOSED, b"x", src="127.0.0.1"), udp4(5000, CLOSED, b"x", dst="127.0.0.1")]
    return frames


def templates():
    return [ping4(), tcp4(49000, PORT, 0x02, options=b"\x02\x04\x05\xb4\x01\x03\x03\x07\x04\x02"),
            tcp4(49001, CLOSED, 0x18, payload=b"hello"), tcp4(49002, PORT, 0x11, ack=5), udp4(5000, CLOSED, b"data"),
            arp(), arp(op=2, dst=GUEST_MAC), icmp6(128, 0, b"\0\1\0\1" + b"e" * 16),
            icmp6(135, 0, b"\0" * 4 + a6(GUEST6) + ndp_opt(1, 1, FAKE_MAC)),
            eth(ipv6(tcp(49003, PORT, 0x02, pseudo=lambda n: pseudo6(FAKE6, GUEST6, 6, n)), 6), 0x86DD),
            icmp4(3, 3, b"\0" * 4, ipv4(udp(CLOSED, 5000, b"q"), 17, src=GUEST, dst=HOST))]


def fix_checksums(f):
    """Recomputes the IPv4 header checksum and the TCP/UDP/ICMP one of a mutated frame
    where its headers can be read, so that mutations get past the checksum checks."""
    f = bytearray(f)
    if len(f) < 34 or f[12:14] != b"\x08\x00":
        return bytes(f)
    ihl = (f[14] & 0xF) * 4
    if ihl < 20 or len(f) < 14 + ihl:
        return bytes(f)
    f[24:26] = b"\0\0"
    f[24:26] = struct.pack("!H", csum(bytes(f[14:14 + ihl])))
    l4, proto = 14 + ihl, f[23]
    seg = bytes(f[l4:])
    field = {6: 16, 17: 6, 1: 2}.get(proto)
    if field is None or len(seg) < field + 2:
        return bytes(f)
    seg = seg[:field] + b"\0\0" + seg[field + 2:]
    pseudo = bytes(f[26:34]) + struct.pack("!BBH", 0, proto, len(seg)) if proto != 1 else b""
    f[l4 + field:l4 + field + 2] = struct.pack("!H", csum(pseudo + seg))
    return bytes(f)


def mutate(rng, frame):
    f = bytearray(frame)
    for _ in range(rng.choice((1, 1, 2, 3, 4, 8))):
        op = rng.randrange(6)
        if op <= 2 and f:
            f[rng.randrange(len(f))] = rng.randrange(256)
        elif op == 3 and f:
            i = rng.randrange(len(f))
            f[i:i + 2] = rng.choice((b"\0\0", b"\xff\xff", b"\x80\x00", b"\x00\x01"))
        elif op == 4:
            del f[rng.randrange(14, max(len(f), 15)):]
        else:
            f += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    f = bytes(f)
    return fix_checksums(f) if rng.random() < 0.5 else f


def poisons_host(f):
    """Whether a frame is an ARP message that tells the guest the bridge's address is at
    another MAC: plain ARP spoofing, which any host on a segment falls for, and which would
    only cut the test's own checks off."""
    return len(f) >= 32 and f[12:14] == b"\x08\x06" and f[28:32] == a4(HOST)


def c_mutations(rng):
    base = templates()
    frames = []
    while len(frames) < MUTATIONS:
        f = mutate(rng, rng.choice(base))
        if not poisons_host(f) and len(f) >= 14:
            frames.append(f)
    return frames


CLASSES = [("ethernet", c_ethernet), ("ipv4-header", c_ipv4_header), ("ipv4-fragments", c_ipv4_fragments),
           ("ipv6", c_ipv6), ("icmpv6-ndp", c_icmpv6), ("router-adverts", c_router_adverts),
           ("tcp-header", c_tcp_header), ("tcp-floods", c_tcp_floods),
           ("udp", c_udp), ("icmp", c_icmp), ("arp", c_arp), ("martians", c_martians), ("zero-length", c_zero),
           ("oversize", c_oversize),
           ("vnet-header", None), ("mutations", c_mutations)]


def vnet_frames(rng):
    """(virtio-net header, frame) pairs for a socket with PACKET_VNET_HDR: partial checksums
    at every offset of the frame, at the wrong field, GSO with odd sizes. The host kernel
    refuses what it finds inconsistent; what it takes reaches the guest with the header."""
    pairs = []
    base = tcp4(50000, CLOSED, 0x18, payload=b"v" * 600)
    udpf = udp4(5000, CLOSED, b"w" * 100)
    for frame in (base, udpf, ping4()):
        for start in range(0, len(frame) - 2, 7):
            for off in (0, 6, 16, 40):
                pairs.append((struct.pack("<BBHHHH", 1, 0, 0, 0, start, off), frame))
    for gso_size in (1, 8, 63, 536, 1448, 9000, 65535):
        for hdr_len in (0, 54, 66, 200):
            pairs.append((struct.pack("<BBHHHH", 1, 1, hdr_len, gso_size, 34, 16), tcp4(50001, CLOSED, 0x18,
                                                                                       payload=b"g" * 3000)))
    pairs.append((struct.pack("<BBHHHH", 1, 3, 42, 100, 34, 6), udp4(5000, CLOSED, b"u" * 3000)))
    pairs.append((struct.pack("<BBHHHH", 2, 0, 0, 0, 0, 0), base))
    rng.shuffle(pairs)
    return pairs
