#!/usr/bin/env python3
"""thread-probe.py: who took the host CPUs from a benchmark run: per-thread CPU, run-queue waits, preemptions and KVM events.

usage: thread-probe.py [--notrace] [--autogroup NICE] -- <command...>

Runs the command (a native program, or the proxy with an image; the environment passes
through) and prints its output, then for every thread of that process: CPU time, time spent
runnable but waiting in the host's run queue, voluntary and involuntary context switches
(sampled from /proc/<pid>/task/*/schedstat and status every 50 ms; a thread that ends
between two samples keeps its last values). Unless --notrace, as root, it also records
sched_switch, sched_wakeup and the kvm events in an ftrace instance of its own
(/sys/kernel/tracing/instances/thread-probe) and prints what ran on each host CPU during the
run, which tasks preempted the command's threads, and the command's KVM events by thread
(IPIs are writes to MSR 0x830, EOIs to 0x80b, the TSC deadline 0x6e0).
The probe's own sampler shows up as a python3 task beside the command (about 20 wake-ups
a second).

--autogroup NICE sets the nice value of the command's autogroup first (run it in a session
of its own, `setsid -w`): with sched_autogroup_enabled=1, `nice` only ranks tasks inside one
session, so it gives no priority over other sessions' builds.
"""
import collections
import os
import re
import subprocess
import sys
import threading
import time

TRACE = "/sys/kernel/tracing/instances/thread-probe"
SWITCH = re.compile(r"prev_comm=(.*) prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*) next_pid=(\d+)")
LINE = re.compile(r"^\s*(.+?)-(\d+)\s+\[(\d+)\].*?\s(\d+\.\d+): (\w+): (.*)$")


def write(path, value):
    with open(path, "w") as f:
        f.write(value)


def start_trace():
    if not os.path.isdir(TRACE):
        os.mkdir(TRACE)
    write(TRACE + "/tracing_on", "0")
    write(TRACE + "/trace", "")
    write(TRACE + "/buffer_size_kb", "16384")
    write(TRACE + "/trace_clock", "mono")
    for event in ("sched/sched_switch", "sched/sched_wakeup", "kvm"):
        write(TRACE + "/events/" + event + "/enable", "1")
    write(TRACE + "/tracing_on", "1")


def read_task(pid, tid):
    """One thread's counters, or None if it has ended."""
    d = f"/proc/{pid}/task/{tid}"
    try:
        comm = open(d + "/comm").read().strip()
        run, wait, _ = (int(v) for v in open(d + "/schedstat").read().split()[:3])
        status = open(d + "/status").read()
    except OSError:
        return None
    vol = int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
    invol = int(re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
    return comm, run, wait, vol, invol


def sample(pid, last, done):
    while not done.is_set():
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                counters = read_task(pid, tid)
                if counters:
                    last[int(tid)] = counters
        except OSError:
            pass
        done.wait(0.05)


def report_trace(tids, t0, t1):
    """Per host CPU, seconds each task ran in [t0, t1]; preemptions of our threads; KVM events."""
    ran = collections.defaultdict(float)
    current = {}
    preempted = collections.Counter()
    kvm = collections.Counter()

    def name(comm, pid):
        return comm + ("*" if pid in tids else "")

    with open(TRACE + "/trace") as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            comm, pid, cpu, ts, event, rest = m.groups()
            cpu, pid, ts = int(cpu), int(pid), float(ts)
            if event == "sched_switch":
                s = SWITCH.match(rest)
                if not s:
                    continue
                prev, prev_pid, state, nxt, next_pid = s.groups()
                if cpu in current:
                    task, since = current[cpu]
                    ran[cpu, task] += max(0.0, min(ts, t1) - max(since, t0))
                current[cpu] = (name(nxt, int(next_pid)), ts)
                if int(prev_pid) in tids and state.startswith("R") and t0 <= ts <= t1:
                    preempted[name(prev, int(prev_pid)), name(nxt, int(next_pid))] += 1
            elif event.startswith("kvm") and pid in tids and t0 <= ts <= t1:
                detail = " " + " ".join(rest.split()[:2]) if event == "kvm_msr" else ""
                kvm[comm, event + detail] += 1
    for cpu, (task, since) in current.items():
        ran[cpu, task] += max(0.0, t1 - max(since, t0))
    print("PROBE host CPU time by task during the run (s; * = the command's threads):")
    for cpu in sorted({c for c, _ in ran}):
        tasks = sorted(((s, t) for (c, t), s in ran.items() if c == cpu and s >= 0.001), reverse=True)
        print(f"PROBE  cpu{cpu}: " + ", ".join(f"{t} {s:.3f}" for s, t in tasks[:15]))
    print("PROBE preemptions (victim<-by): " + ", ".join(f"{a}<-{b} {n}" for (a, b), n in preempted.most_common(20)))
    print("PROBE kvm events: " + ", ".join(f"{a} {b} {n}" for (a, b), n in kvm.most_common(30)))


def main():
    args = sys.argv[1:]
    trace, autogroup = True, None
    while args and args[0] != "--":
        if args[0] == "--notrace":
            trace, args = False, args[1:]
        elif args[0] == "--autogroup" and len(args) > 1:
            autogroup, args = args[1], args[2:]
        else:
            sys.exit(__doc__)
    args = args[1:]
    if not args:
        sys.exit(__doc__)
    if autogroup is not None:
        write("/proc/self/autogroup", autogroup)
    if trace:
        start_trace()
    t0 = time.monotonic()
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    last, done = {}, threading.Event()
    sampler = threading.Thread(target=sample, args=(child.pid, last, done))
    sampler.start()
    out = child.stdout.read()
    child.wait()
    t1 = time.monotonic()
    done.set()
    sampler.join()
    if trace:
        write(TRACE + "/tracing_on", "0")
    sys.stdout.write(out)
    print(f"PROBE wall {t1 - t0:.3f} s, exit status {child.returncode}")
    print("PROBE %-16s %7s %9s %10s %6s %6s" % ("thread", "tid", "cpu_ms", "rqwait_ms", "vol", "invol"))
    for tid in sorted(last):
        comm, run, wait, vol, invol = last[tid]
        print("PROBE %-16s %7d %9.1f %10.2f %6d %6d" % (comm, tid, run / 1e6, wait / 1e6, vol, invol))
    if trace:
        report_trace(set(last), t0, t1)
    return child.returncode


if __name__ == "__main__":
    sys.exit(main())
