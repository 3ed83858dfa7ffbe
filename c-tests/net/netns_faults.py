"""netns_faults.py: the fault and multiplexing scenarios of netns_test.py over a tap (guest: c-tests/net/netfault.c).

poll and select, non-blocking connects, resets, half-close, a full backlog, 1,000
connections in a row, a hostile guest's bad descriptor ring, and a peer that goes silent
(keep-alive) or never answers (the handshake's time-out; guest: c-tests/net/netkeep.c).
"""

import errno
import select
import socket
import time

from netns_test import GUEST, HOST, Guest, check, connect, fault_guest, guest_passed, serve_once, tap_netns


def tap_poll(proxy, images):
    """poll and select on three listeners and two connections: timeouts, exactly the ready
    descriptors, end of stream."""
    ns = tap_netns()
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
    ns = tap_netns()

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
    ns = tap_netns()
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
    ns = tap_netns()
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
    """Backlog 2: of five connections two are queued, the other three wait for room (neither
    refused nor connected, as on Linux); accepts make room and a waiting one gets in."""
    ns = tap_netns()
    guest = fault_guest(ns, proxy, images, "backlog", 9140)
    guest.wait_for("control on 9141")
    ctl = connect(GUEST, 9141)
    time.sleep(0.3)
    queued = []
    for number in (1, 2):
        s = connect(GUEST, 9140, timeout=10)
        s.sendall(str(number).encode())
        queued.append(s)
    waiting = []
    for _ in range(3):
        s = socket.socket()
        s.setblocking(False)
        check(s.connect_ex((GUEST, 9140)) == errno.EINPROGRESS, "a non-blocking connect is under way")
        waiting.append(s)
    _, writable, _ = select.select([], waiting, [], 0.5)
    check(not writable, f"beyond the backlog: {len(writable)} of 3 connected or refused within 0.5 s")
    ctl.sendall(b"go")
    ctl.settimeout(30)
    check(ctl.recv(1) == b"2", "the guest accepted the two queued connections")
    # Room again: the waiting SYNs come again (Linux's retransmission, 1 s after the first)
    # and get in. Each sends its "3" once connected, whichever the guest accepts first; the
    # guest's exit then resets those it did not accept, as Linux would.
    got_in, pending = 0, list(waiting)
    deadline = time.time() + 10
    while pending and guest.proc.poll() is None and time.time() < deadline:
        _, writable, _ = select.select([], pending, [], 0.2)
        for w in writable:
            pending.remove(w)
            if w.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                got_in += 1
                try:
                    w.send(b"3")
                except OSError:
                    pass  # reset by the guest's exit
    check(got_in >= 1, f"{got_in} of the 3 waiting connections got in after the accepts")
    guest_passed(guest, "backlog")
    check(guest.has("backlog: accepted 2 waiting connections, then 1 more"), "room again after the accepts")
    for s in queued + waiting + [ctl]:
        s.close()


def tap_many(proxy, images):
    """1,000 short connections from the host in a row: all echoed; the guest's descriptors and
    heap come back (it prints them; its checks compare)."""
    ns = tap_netns()
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
    ns = tap_netns()
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


def tap_keepalive(proxy, images):
    """A peer that goes silent is given up by keep-alive within seconds, and a SYN that is never
    answered ends connect with ETIMEDOUT after TCP_SYNCNT's time."""
    ns = tap_netns()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, 9195))
    listener.listen(1)
    listener.settimeout(60)
    guest = Guest(ns, proxy, images, "netkeep", "deadpeer", HOST, 9195)
    conn, _ = listener.accept()
    conn.sendall(b"hi")
    guest.wait_for("idle now")
    # The host goes silent: without its address it neither answers the probes nor resets.
    ns.ip("addr", "del", f"{HOST}/24", "dev", "br0")
    guest_passed(guest, "dead peer")
    check(guest.has("recv after the peer went silent: -1"), f"the guest gave the silent peer up: {guest.lines[-3:]}")
    conn.close()
    listener.close()
    ns.ip("addr", "add", f"{HOST}/24", "dev", "br0")
    # A destination beyond the gateway (the namespace forwards nothing): the SYNs are dropped.
    guest = Guest(ns, proxy, images, "netkeep", "syntimeout", "10.0.6.5", 9196)
    guest_passed(guest, "unanswered SYN")
    check(guest.has("connect with TCP_SYNCNT 2: -1"), f"connect timed out: {guest.lines[-3:]}")
