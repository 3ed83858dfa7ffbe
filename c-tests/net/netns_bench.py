"""netns_bench.py: the benchmark modes of netns_test.py: bench, bench-user and latency, against a Linux process.

The guest over its tap against a Linux process in a second namespace on the same bridge
(tap_and_peer), and behind passt against a Linux process behind pasta.
"""

import os
import shutil
import threading
import time

from netns_test import GUEST, HOST, Guest, Netns, check, end_or_kill, fail, tap_and_peer, wait_line
from tls_bench import tls_rows


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
    """TCP stream both ways at 1/16/64 KiB writes, 1-byte ping-pong, connection setup,
    concurrent requests and TLS (tls_bench.py): the
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
    p = next_port()

    def connects(addr):
        r = ns.run([native, "connects", addr, str(p), str(CONNECTIONS)], timeout=120)
        check(r.returncode == 0, f"{CONNECTIONS} connections to {addr}: {r.stdout.strip()} {r.stderr.strip()}")
        return r.stdout

    rates = rates_of_both(ns, peer, proxy, images, native, ("netbench", "accepts", p, CONNECTIONS), connects,
                          "the guest accepted every connection")
    results.append(("TCP connections set up and closed per second", "net_tap_connect", "1/s", rates["ours"],
                     rates["linux"]))
    results.append(concurrent_row(ns, peer, proxy, images, native, next_port()))
    results += tls_rows(ns, peer, proxy, next_port)
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


def rates_of_both(ns, peer, proxy, images, native, server, measure, answered):
    """{"ours": rate, "linux": rate}: `server` (program, arguments) in a guest on the tap, then
    the `native` program with the same arguments in the Linux namespace, each measured by
    `measure(address)` (its output; the rate is the number after "s,"); `answered`: the
    guest's clean end."""
    program, *args = server
    rates = {}
    for who, addr in (("ours", GUEST), ("linux", "10.0.5.9")):
        if who == "ours":
            proc = Guest(ns, proxy, images, program, *args)
            proc.wait_for("listening")
        else:
            proc = peer.popen([native, *map(str, args)])
            wait_line(proc, "listening")
        rates[who] = field_after(measure(addr), "s,")
        if who == "ours":
            check(proc.finish(60) == 0, answered)
        else:
            proc.wait(30)
    return rates


# Concurrent requests: clients, requests each, bytes per answer (netserve).
CONCURRENT = (64, 50, 10000)


def concurrent_row(ns, peer, proxy, images, native, port):
    """Requests per second of CONCURRENT host clients (native netserve load, in threads) to an
    epoll server, netserve in the guest against the same program in the Linux namespace. Each
    server answers two rounds and the second counts: the first grows the guest's heap by its
    connections' buffers (1 MiB each way with the tap's offloads), whose fresh huge pages cost
    this host 2-7 ms each ("Cold huge pages" in ARCHITECTURE.md)."""
    clients, each, size = CONCURRENT
    serve = os.path.join(os.path.dirname(native), "netserve")

    def load(addr):
        for _ in range(2):
            r = ns.run([serve, "load", addr, str(port), str(clients), str(each), str(size)], timeout=120)
            check(r.returncode == 0, f"{clients} concurrent clients of {addr}: {r.stdout.strip()} {r.stderr.strip()[-300:]}")
        return r.stdout

    rates = rates_of_both(ns, peer, proxy, images, serve, ("netserve", "serve", port, 2 * clients * each), load,
                          "the guest answered every request")
    return (f"TCP requests of {size} bytes per second, {clients} concurrent clients", "net_tap_requests", "1/s",
            rates["ours"], rates["linux"])


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
