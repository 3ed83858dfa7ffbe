"""zeromq_tests.py: ZeroMQ 4.3.5's test suite (tests/ and unittests/), unchanged, each test program in a guest of its own.

usage: zeromq_tests.py <proxy> <directory of the test programs> <scratch directory>

Each program is a Unity test group that exits 0 when its tests passed and 77 when it skips
itself (the fuzzers without a corpus); it runs in a fresh guest with two vCPUs, two guests at
a time, in the scratch directory (ZeroMQ makes its ipc:// wildcard directories below the
current directory). The known failures below are allowed, each with its reason; any other
failure fails this test, and so does a known failure that passes (the list must stay true).
"""

import os
import re
import sys

import guests

# Programs that cannot pass here, and why.
KNOWN_FAILURES = {
    "test_fork": "forks a child process (fork fails with ENOSYS in a unikernel); the test's alarm ends it",
}

ENV = dict(os.environ, HERMIT_CPUS="2", HERMIT_MEM="512M")
SUMMARY = re.compile(r"^(\d+) Tests (\d+) Failures (\d+) Ignored", re.M)


def main():
    proxy, tests, scratch = sys.argv[1:4]
    programs = sorted(p for p in os.listdir(tests) if p.startswith(("test_", "unittest_")))
    if len(programs) < 90:
        print(f"only {len(programs)} test programs in {tests}: {programs}")
        return 1
    results = guests.run_each(
        programs, lambda p: guests.run(proxy, os.path.join(tests, p), env=ENV, cwd=scratch, timeout=150))
    passed = sorted(p for p, (status, _) in results.items() if status == 0)
    skipped = sorted(p for p, (status, _) in results.items() if status == 77)
    failed = sorted(p for p in programs if p not in passed and p not in skipped)
    unexpected = [p for p in failed if p not in KNOWN_FAILURES]
    now_passing = [p for p in KNOWN_FAILURES if p in passed]
    missing = [p for p in KNOWN_FAILURES if p not in results]
    cases = ignored = 0
    for program in passed:
        summary = SUMMARY.search(results[program][1])
        if summary:
            cases += int(summary.group(1))
            ignored += int(summary.group(3))
    for program in failed:
        status, output = results[program]
        reason = KNOWN_FAILURES.get(program)
        print(f"{'known failure' if reason else 'FAILED'}: {program} (status {status})" + (f": {reason}" if reason else ""))
        if not reason:
            lines = [line for line in output.splitlines() if ":PASS" not in line]
            print("    " + "\n    ".join(lines)[-3000:])
    for program in skipped:
        print(f"skipped by itself: {program}")
    for program in now_passing:
        print(f"PASSED, though listed as a known failure: {program} (update KNOWN_FAILURES)")
    for program in missing:
        print(f"listed as a known failure, but the suite has no such program: {program}")
    print(f"ZeroMQ tests: {len(passed)} of {len(programs)} programs passed ({cases} Unity tests, {ignored} of them "
          f"ignored by the suite), {len(skipped)} skipped themselves, {len(failed) - len(unexpected)} known failures, "
          f"{len(unexpected)} unexpected failures")
    return 1 if unexpected or now_passing or missing else 0


if __name__ == "__main__":
    sys.exit(main())
