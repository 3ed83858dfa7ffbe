#!/usr/bin/env python3
"""cares_test.py: c-ares (c-ares-sys's sources, unchanged; c-tests/thirdparty) resolving names in the guest through a DNS server of the test's own.

usage: cares_test.py <cares-tap|cares-user> <proxy> <third-party image directory> <state.cmake of fetch.cmake>

Scenarios in network namespaces of their own, with netns_test.py's helpers (root; 77 without):
  cares-tap   over a tap: a DNS server of the test on the host side of the tap (10.0.5.1:53);
              cares_main's ares_getaddrinfo, c-ares's ahost and adig ask it for a known name
              (its address), a second one, and an unknown one (NXDOMAIN)
  cares-user  behind passt (HERMIT_NETIF=user): the same through the gateway address, which
              passt maps to the namespace's loopback: the test's DNS server on 127.0.0.1:53
Each check reads what the program printed and which names the server was asked. The names'
addresses are of the documentation range (192.0.2.0/24): nothing connects to them.
"""

import re
import sys

import netns_test as t
from curl_test import require_curl
from netns_user import dns_server, udp_dns_server

NAMES = {"one.hermit.test": "192.0.2.7", "two.hermit.test": "192.0.2.8"}
# The namespace's gateway (Netns.uplink): passt maps it to the namespace's own loopback, where
# the test's DNS server listens (as net.user-client reaches a host server there).
GATEWAY = "192.168.77.1"


class Run:
    """A guest program run to its end: its exit status and output lines."""

    def __init__(self, ns, proxy, images, *argv, **env):
        guest = t.Guest(ns, proxy, images, *argv, **env)
        self.rc = guest.finish(120)
        self.lines = guest.lines

    def has(self, pattern):
        """Whether a line matches the regular expression `pattern`."""
        return any(re.search(pattern, line) for line in self.lines)


def resolve_all(ns, proxy, images, server, asked, **env):
    g = Run(ns, proxy, images, "cares_main", "resolve", server, "one.hermit.test", "two.hermit.test",
                "missing.hermit.test", **env)
    t.check(g.rc == 0 and g.has(r"^one\.hermit\.test 192\.0\.2\.7$") and g.has(r"^two\.hermit\.test 192\.0\.2\.8$")
            and g.has(r"^missing\.hermit\.test Domain name not found$"),
            f"cares_main resolve through {server}: the two addresses and NXDOMAIN ({g.rc}, {g.lines[-4:]})")
    t.check({"one.hermit.test", "two.hermit.test", "missing.hermit.test"} <= set(asked),
            f"the test's DNS server was asked each name ({asked})")

    g = Run(ns, proxy, images, "ahost", "-s", server, "-t", "a", "two.hermit.test", **env)
    t.check(g.rc == 0 and g.has(r"^two\.hermit\.test\s+192\.0\.2\.8$"), f"ahost -s {server}: ({g.rc}, {g.lines[-3:]})")

    g = Run(ns, proxy, images, "adig", f"@{server}", "one.hermit.test", **env)
    t.check(g.rc == 0 and g.has(r"status: NOERROR") and g.has(r"^one\.hermit\.test\.\s+60\s+IN\s+A\s+192\.0\.2\.7$"),
            f"adig @{server}: the answer section ({g.rc}, {g.lines[-6:]})")
    g = Run(ns, proxy, images, "adig", f"@{server}", "missing.hermit.test", **env)
    t.check(g.has(r"status: NXDOMAIN"), f"adig @{server} of an unknown name: NXDOMAIN ({g.rc}, {g.lines[-6:]})")


def cares_tap(proxy, images, state):
    require_curl(images, state, "cares_main")
    ns = t.tap_netns()
    asked, server = udp_dns_server(t.HOST, NAMES)
    resolve_all(ns, proxy, images, t.HOST, asked)
    server.close()


def cares_user(proxy, images, state):
    require_curl(images, state, "cares_main")
    ns = t.Netns()
    ns.uplink()
    ns.enter()
    asked, server = dns_server(ns, NAMES)
    resolve_all(ns, proxy, images, GATEWAY, asked, HERMIT_NETIF="user")
    server.close()


SCENARIOS = {"cares-tap": cares_tap, "cares-user": cares_user}


def main():
    return t.run_scenario(SCENARIOS)


if __name__ == "__main__":
    sys.exit(main())
