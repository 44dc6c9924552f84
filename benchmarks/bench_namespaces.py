#!/usr/bin/env python3
"""What does each network namespace cost the netns collection?  Time it with 0, 10 and 50.

Creates N named namespaces (``ip netns add``), each with loopback up and a few listeners (held by
one helper process that enters each namespace in turn to open them), then times
``collect_netns`` (median of several runs): discovery, the one forked child that enters every
namespace (sock_diag dumps, counters, sysctls, rtnetlink), owner attribution and the NAT readers.
The cost per namespace is the growth over the run with none; the goal is under 5 ms.  With
``--time-wait N`` every namespace of the largest set also holds N loopback TIME_WAIT sockets, to
show that the cost does not grow with them.

    python3 benchmarks/bench_namespaces.py [--counts 0,10,50] [--runs 7] [--time-wait 2000]

Needs root.  Only loopback traffic inside the namespaces it creates; all are removed at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from auditor.collect import CollectContext  # noqa: E402
from auditor.collect.netns import collect_netns  # noqa: E402

GOAL_MS = 5.0
LISTENERS = 3

# One process holds every namespace's listeners: it setns()es into each, opens them, and waits.
HOLDER = r"""
import ctypes, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
names, per, time_wait = sys.argv[1].split(",") if sys.argv[1] else [], int(sys.argv[2]), int(sys.argv[3])
held = []
for name in names:
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:
        raise OSError(ctypes.get_errno(), "setns")
    os.close(fd)
    for _ in range(per):
        s = socket.socket(); s.bind(("0.0.0.0", 0)); s.listen(16); held.append(s)
    for _ in range(time_wait):  # the client closes first: its side stays in TIME_WAIT for 60 s
        c = socket.create_connection(held[-1].getsockname()); a, _ = held[-1].accept(); c.close(); a.close()
print("ready", flush=True)
sys.stdin.read()
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median_ms(runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time (this process and its children: the forked child
    that enters the namespaces, and the NAT readers) of collect_netns, in ms.  On a machine shared
    with other work, CPU time is the steadier measure of what a namespace costs."""
    ctx = CollectContext(sections=frozenset({"netns"}))
    walls, cpus = [], []
    for _ in range(runs):
        start, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
        facts, _gaps = collect_netns(ctx)
        walls.append((time.perf_counter() - start) * 1000)
        cpus.append((time.process_time() - cpu + _children_cpu() - children) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def measure(count: int, runs: int, time_wait: int) -> tuple[tuple[float, float], int]:
    names = [f"lbbench{os.getpid()}x{i}" for i in range(count)]
    holder = None
    try:
        for name in names:
            subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
            subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, timeout=10)
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, ",".join(names), str(LISTENERS), str(time_wait)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        facts, _ = collect_netns(CollectContext(sections=frozenset({"netns"})))
        assert facts is not None
        seen = sum(len(ns.listeners or []) for ns in facts.namespaces if ns.names and ns.names[0] in names)
        assert seen == count * LISTENERS, (seen, count)
        return median_ms(runs), len(facts.namespaces)
    finally:
        if holder is not None:
            holder.stdin.close()  # type: ignore[union-attr]
            holder.wait(timeout=30)
        for name in names:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="0,10,50")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--time-wait", type=int, default=0, help="TIME_WAIT sockets per namespace, largest set")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_namespaces: needs root (ip netns add, setns)", file=sys.stderr)
        return 2
    counts = [int(c) for c in args.counts.split(",")]
    results = {}
    for count in counts:
        results[count], total = measure(count, args.runs, 0)
        wall, cpu = results[count]
        print(f"{count:3d} namespaces created ({total} seen in all): collect_netns median wall {wall:7.1f} ms, "
              f"CPU {cpu:7.1f} ms")
    base = results[counts[0]]
    ok = True
    for count in counts[1:]:
        wall = (results[count][0] - base[0]) / (count - counts[0])
        cpu = (results[count][1] - base[1]) / (count - counts[0])
        ok &= cpu < GOAL_MS
        print(f"cost per namespace ({counts[0]} -> {count}): wall {wall:.2f} ms, CPU {cpu:.2f} ms (goal < {GOAL_MS} ms)")
    if args.time_wait:
        largest = counts[-1]
        with_tw, _ = measure(largest, args.runs, args.time_wait)
        print(f"{largest} namespaces with {args.time_wait} TIME_WAIT sockets each: wall {with_tw[0]:.1f} ms, "
              f"CPU {with_tw[1]:.1f} ms ({with_tw[1] / results[largest][1] - 1:+.1%} CPU against none)")
    print("goal met" if ok else "goal NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
