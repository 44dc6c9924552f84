#!/usr/bin/env python3
"""Does our cost grow with TIME_WAIT sockets?  Time it with 0 and with 20,000 of them.

And with established connections: ``--established 10000`` (the default) also times everything with
that many open loopback connections (both ends in this process, closed with a reset so that they
leave no TIME_WAIT behind) before the TIME_WAIT phase.  Issue 16's target: both flat.

Measures (median of several runs) the sockets collection (``collect_live({"sockets"})``), a whole
``lbaudit evaluate --policy policies/corp.yaml``, ``ss -tanp`` and ``psutil.net_connections()``,
first with no extra TIME_WAIT sockets, then after opening and closing N loopback connections (the
client closes first, so the client side stays in TIME_WAIT for 60 s).  The goal: our cost with
20,000 TIME_WAIT sockets within 10% of the cost with none.

    python3 benchmarks/bench_collect.py [--time-wait 20000] [--runs 7]

Only loopback traffic; every loop is bounded; all sockets are closed at the end (the kernel drops
the TIME_WAIT entries by itself 60 s later).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import resource  # noqa: E402

import psutil  # noqa: E402  (after the path set-up, like the imports below)

from auditor.collect import (  # noqa: E402
    CollectContext,
    netlink,
    sockets,  # noqa: E402
)
from auditor.collect.sockets import collect_sockets  # noqa: E402

SAFE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
PER_LISTENER = 4000  # connections per destination port: stays clear of tcp_tw_reuse recycling ports
TIME_WAIT_SECONDS = 60  # Linux holds TIME_WAIT for a fixed 60 s
GOAL = 0.10


def sockstat_time_wait() -> int:
    with open("/proc/net/sockstat") as handle:
        for line in handle:
            if line.startswith("TCP:"):
                fields = line.split()
                return int(fields[fields.index("tw") + 1])
    raise RuntimeError("no TCP line in /proc/net/sockstat")


def median_ms(func: Callable[[], object], runs: int, budget: float = 1.0, max_runs: int = 101) -> float:
    """Median wall time in ms: at least ``runs`` runs, more (up to ``max_runs``) while the
    ``budget`` seconds last, so that millisecond-scale measurements are not one noisy sample."""
    func()  # warm-up: imports, caches, page cache
    samples: list[float] = []
    deadline = time.monotonic() + budget
    while len(samples) < runs or (len(samples) < max_runs and time.monotonic() < deadline):  # bounded
        start = time.perf_counter()
        func()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def make_time_wait(listeners: list[socket.socket], count: int) -> int:
    """Open and close ``count`` loopback connections, client first.  Returns how many were made."""
    made = 0
    for index in range(count):  # bounded
        listener = listeners[index // PER_LISTENER]
        client = socket.create_connection(listener.getsockname(), timeout=5)
        server, _ = listener.accept()
        client.close()
        server.settimeout(5)
        server.recv(1)  # the client's FIN has arrived, so the client side goes to TIME_WAIT
        server.close()
        made += 1
    return made


def raise_open_files(needed: int) -> None:
    """RLIMIT_NOFILE raised to ``needed`` (root may raise the hard limit too); refuse plainly if not."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, max(needed, hard) if hard != resource.RLIM_INFINITY else hard))
    except (ValueError, OSError) as exc:
        sys.exit(f"--established needs {needed} open files and the hard limit is {hard} ({exc}); use fewer")


class Established:
    """``count`` open loopback connections: this process holds the clients and a forked child the
    servers, so that each stays within one process's open-file limit (``fs.nr_open`` may be low)."""

    def __init__(self, count: int) -> None:
        raise_open_files(count + 1024)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4096)
        port = listener.getsockname()[1]
        self.release_read, self.release_write = os.pipe()
        self.child = os.fork()
        if self.child == 0:  # the servers' side: accept them all, hold them until released, then reset
            try:
                ends = [listener.accept()[0] for _ in range(count)]  # bounded
                os.read(self.release_read, 1)
                close_with_reset(ends)
            finally:
                os._exit(0)
        listener.close()
        self.clients = [socket.create_connection(("127.0.0.1", port), timeout=5)
                        for _ in range(count)]  # bounded; the child accepts them

    def close(self) -> None:
        close_with_reset(self.clients)
        os.write(self.release_write, b"x")
        os.waitpid(self.child, 0)


def close_with_reset(ends: list[socket.socket]) -> None:
    """Close without TIME_WAIT: SO_LINGER with a zero timeout makes close() send a reset."""
    linger_zero = (1).to_bytes(4, sys.byteorder) + (0).to_bytes(4, sys.byteorder)
    for end in ends:  # bounded
        end.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger_zero)
        end.close()


def wait_for_time_wait(minimum: int, timeout: float = 15.0) -> int:
    deadline = time.monotonic() + timeout
    while True:  # bounded by the deadline
        current = sockstat_time_wait()
        if current >= minimum or time.monotonic() > deadline:
            return current
        time.sleep(0.05)


def settle(limit: int, timeout: float = TIME_WAIT_SECONDS + 15) -> tuple[int, float]:
    """Wait (bounded) for earlier TIME_WAIT sockets, ours or other programs', to expire."""
    start = time.monotonic()
    while True:  # bounded by the timeout
        current = sockstat_time_wait()
        if current <= limit or time.monotonic() - start > timeout:
            return current, time.monotonic() - start
        time.sleep(1)


class Evaluate:
    """``lbaudit evaluate`` as a user runs it; skipped (with a note) if the CLI cannot evaluate yet."""

    def __init__(self, workdir: Path) -> None:
        self.argv = [sys.executable, "-m", "auditor.cli", "evaluate", "--policy", str(REPO / "policies" / "corp.yaml"),
                     "--output", str(workdir / "evidence.json")]
        self.note: str | None = None
        if not (REPO / "auditor" / "cli.py").exists() or not (REPO / "policies" / "corp.yaml").exists():
            self.note = "auditor/cli.py or policies/corp.yaml not present yet"
            return
        probe = self._run()
        if probe.returncode not in (0, 1, 3):  # 2 = usage or policy error: nothing was evaluated
            last = (probe.stderr.strip().splitlines() or ["(no message)"])[-1]
            self.note = f"lbaudit evaluate exited {probe.returncode}: {last.strip()}"

    def _run(self) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv, cwd=REPO, capture_output=True, text=True, timeout=120)

    def __call__(self) -> None:
        self._run()


def measurements(workdir: Path) -> tuple[dict[str, Callable[[], object]], list[str]]:
    notes = []
    funcs: dict[str, Callable[[], object]] = {}
    try:
        from auditor.collect.live import collect_live

        funcs["lbaudit collect_live({sockets})"] = lambda: collect_live(frozenset({"sockets"}))
    except ImportError as exc:
        ctx = CollectContext(sections=frozenset({"sockets"}))
        funcs["lbaudit collect_sockets()"] = lambda: collect_sockets(ctx)
        notes.append(f"collect_live not importable ({exc}); timed collect_sockets() instead")
    evaluate = Evaluate(workdir)
    if evaluate.note:
        notes.append(f"lbaudit evaluate skipped: {evaluate.note}")
    else:
        funcs["lbaudit evaluate (corp.yaml)"] = evaluate
    ss = shutil.which("ss", path=SAFE_PATH)
    if ss:
        funcs["ss -tanp"] = lambda: subprocess.run([ss, "-tanp"], stdout=subprocess.DEVNULL, check=True, timeout=60)
    else:
        notes.append("ss skipped: not installed (iproute2)")
    funcs["psutil.net_connections()"] = psutil.net_connections
    # What the collector asks the kernel for: LISTEN only, so it reads the listening hash alone.
    funcs["  part: TCP LISTEN-only dumps (ours)"] = lambda: [
        netlink.dump(family, socket.IPPROTO_TCP, states=sockets.TCP_LISTEN_ONLY) for family in (socket.AF_INET, socket.AF_INET6)]
    # The design we measured and dropped: every state but TIME_WAIT still walks the connection table.
    funcs["  ref: TCP dumps of all states but TIME_WAIT"] = lambda: [
        netlink.dump(family, socket.IPPROTO_TCP) for family in (socket.AF_INET, socket.AF_INET6)]
    return funcs, notes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-wait", type=int, default=20000, help="TIME_WAIT sockets to create (default 20000)")
    parser.add_argument("--runs", type=int, default=9, help="timed runs per measurement at least; the median is reported")
    parser.add_argument("--settle", type=int, default=1000,
                        help="wait (at most 75 s) until at most this many TIME_WAIT remain before a baseline")
    parser.add_argument("--established", type=int, default=10000,
                        help="established loopback connections to time with (default 10000; 0: skip)")
    parser.add_argument("--no-recheck", action="store_true",
                        help="skip the second baseline after our TIME_WAIT sockets expired (saves about 60 s)")
    args = parser.parse_args()

    ports = list(map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split()))
    buckets = int(open("/proc/sys/net/ipv4/tcp_max_tw_buckets").read())
    print(f"host: {os.uname().nodename} {os.uname().release}, {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    print(f"ip_local_port_range {ports[0]}-{ports[1]}, tcp_max_tw_buckets {buckets}, at least {args.runs} runs (median)")
    if args.time_wait > min(buckets, ports[1] - ports[0]):
        print(f"warning: {args.time_wait} TIME_WAIT sockets exceed what this host can hold; fewer will be measured")

    remaining, waited = settle(args.settle)
    print(f"waited {waited:.0f} s for earlier TIME_WAIT sockets to expire ({remaining} left)")

    # A-B-A: baseline, with TIME_WAIT, baseline again once they expired; the ratio is taken against
    # the mean of both baselines so that drift in the machine's load is not read as our cost.
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        listeners = []
        for _ in range(max(1, math.ceil(args.time_wait / PER_LISTENER))):
            listener = stack.enter_context(socket.socket())
            listener.bind(("127.0.0.1", 0))
            listener.listen(128)
            listeners.append(listener)
        funcs, notes = measurements(Path(tmp))

        tw_before = sockstat_time_wait()
        before = {name: median_ms(func, args.runs) for name, func in funcs.items()}

        established: dict[str, float] = {}
        if args.established:
            connections = Established(args.established)
            try:
                established = {name: median_ms(func, args.runs) for name, func in funcs.items()}
            finally:
                connections.close()

        start = time.monotonic()
        made = make_time_wait(listeners, args.time_wait)
        tw_loaded = wait_for_time_wait(tw_before + made)
        created_in = time.monotonic() - start
        loaded = {name: median_ms(func, args.runs) for name, func in funcs.items()}
        elapsed = time.monotonic() - start
        tw_end = sockstat_time_wait()

        after: dict[str, float] = {}
        tw_after = None
        if not args.no_recheck:
            tw_after, _ = settle(tw_before + args.settle)
            after = {name: median_ms(func, args.runs) for name, func in funcs.items()}

    print(f"\nTIME_WAIT (sockstat tw): {tw_before} before; {tw_loaded} with ours (made {made} in {created_in:.1f} s), "
          f"{tw_end} when that measurement ended {elapsed:.1f} s after the first was made"
          + (f"; {tw_after} after they expired" if tw_after is not None else ""))
    if elapsed > TIME_WAIT_SECONDS:
        print("warning: measurement outlasted TIME_WAIT (60 s); some sockets expired before the end")

    width = max(map(len, funcs)) + 2
    header = f"{'measurement':<{width}}{f'tw={tw_before}':>12}{f'tw={tw_loaded}':>14}"
    header += f"{f'tw={tw_after}':>12}" if after else ""
    print(f"\n{header}{'ratio':>8}   (ms, median)")
    verdicts = []
    for name in funcs:
        reference = (before[name] + after[name]) / 2 if after else before[name]
        ratio = loaded[name] / reference
        row = f"{name:<{width}}{before[name]:>12.2f}{loaded[name]:>14.2f}"
        row += f"{after[name]:>12.2f}" if after else ""
        print(f"{row}{ratio:>8.2f}")
        if name.startswith("lbaudit"):  # the goal is about what a user runs
            verdicts.append(f"{name}: {'met' if ratio <= 1 + GOAL else 'NOT met'} (ratio {ratio:.2f})")
    print("ratio = with / " + ("mean of the two baselines" if after else "baseline"))
    if established:
        print(f"\n{'measurement':<{width}}{'none':>12}{f'{args.established} established':>20}{'ratio':>8}   (ms, median)")
        for name in funcs:
            ratio = established[name] / before[name]
            print(f"{name:<{width}}{before[name]:>12.2f}{established[name]:>20.2f}{ratio:>8.2f}")
            if name.startswith("lbaudit"):
                verdicts.append(f"{name} with {args.established} established: "
                                f"{'met' if ratio <= 1 + GOAL else 'NOT met'} (ratio {ratio:.2f})")
    for note in notes:
        print(f"note: {note}")
    print(f"\ngoal, lbaudit with {made} TIME_WAIT" + (f" (and with {args.established} established connections)"
                                                    if established else "") + f" within {GOAL:.0%} of none:")
    for verdict in verdicts:
        print(f"  {verdict}")
    print("all sockets closed" + ("" if after else "; the kernel drops the TIME_WAIT entries within 60 s"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
