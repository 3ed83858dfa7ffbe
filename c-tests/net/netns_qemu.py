"""netns_qemu.py: the scenarios of netns_test.py under QEMU (HERMIT_ISLE=qemu).

The same guests as under our hypervisor, over a tap and behind passt; the receive interrupt
comes through ivshmem. qemu-kvm-tap-echo needs a usable /dev/kvm (77 without).
"""

import os
import sys

from netns_test import GUEST, SKIP, Guest, Netns, check, curl_until, echo_both_ways, gone_within, ring_counts, tap_netns


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
    ns = tap_netns()
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


def qemu_kvm_tap_echo(proxy, images):
    """qemu-tap-echo under QEMU with KVM (skipped without a usable /dev/kvm)."""
    qemu_tap_echo(proxy, images, kvm=True)


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
