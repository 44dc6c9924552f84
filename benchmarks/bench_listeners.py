#!/usr/bin/env python3
"""Does ``lbaudit evaluate`` stay flat in the number of listeners?  Issue 16's targets, measured.

This process opens N real TCP listeners on 127.0.0.1 (ephemeral ports, so they are found, owned by
this process, and judged by ``net.bind_addresses`` like any service's), then times
``lbaudit evaluate --policy policies/corp.yaml -q`` in a fresh process with them open, and the same
command with none of them open (the empty host), alternating the two so a loaded machine slows both
alike.  Prints the medians, the median of the per-pair ratios (target: at most 1.5x at 5,000) and
the peak memory growth per listener (target: under 5 KiB).  Exit 1 when a target is missed.

RLIMIT_NOFILE is raised to what N listeners need (up to the hard limit; root may raise that too).

    python3 benchmarks/bench_listeners.py [--listeners 5000] [--runs 7] [--repo DIR] [--python PATH]
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import sys
import tempfile
from pathlib import Path

from bench_startup import LBAUDIT, run_ms  # the sibling script: run as python3 benchmarks/bench_listeners.py

REPO = Path(__file__).resolve().parent.parent

GROWTH_TARGET_KIB = 5.0
RATIO_TARGET = 1.5


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        try:  # root may raise the hard limit; anyone else gets what the hard limit allows
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
            return
        except (ValueError, OSError):
            needed = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def open_listeners(count: int) -> list[socket.socket]:
    listeners = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        listeners.append(sock)
    return listeners


def run_once(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """Wall milliseconds and peak resident KiB of one finished run of COMMAND (compliant,
    non-compliant or incomplete), timed as bench_startup times every command."""
    run = run_ms(command, cwd, env, ok=(0, 1, 3))
    return run.wall_ms, run.peak_kib


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=int, default=5000, help="listeners to open (default 5000)")
    parser.add_argument("--runs", type=int, default=7, help="pairs of runs; medians are reported (default 7)")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose auditor is timed (default: this one)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with lbaudit's dependencies")
    args = parser.parse_args()

    repo = args.repo.resolve()
    env = {**os.environ, "PYTHONPATH": str(repo), "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"}
    raise_fd_limit(args.listeners + 256)
    with tempfile.TemporaryDirectory() as tmp:
        command = [args.python, "-c", LBAUDIT, "evaluate", "--policy", "policies/corp.yaml", "-q",
                   "-o", str(Path(tmp) / "evidence.json")]
        run_once(command, repo, env)  # warm caches (bytecode, page cache) outside the timing
        empty, loaded = [], []
        held: list[socket.socket] = []
        try:
            for _ in range(args.runs):
                empty.append(run_once(command, repo, env))
                held = open_listeners(args.listeners)
                loaded.append(run_once(command, repo, env))
                for sock in held:
                    sock.close()
                held = []
        finally:
            for sock in held:
                sock.close()
    empty_ms = statistics.median(t for t, _ in empty)
    loaded_ms = statistics.median(t for t, _ in loaded)
    ratio = statistics.median(b[0] / a[0] for a, b in zip(empty, loaded))
    empty_kib = statistics.median(m for _, m in empty)
    loaded_kib = statistics.median(m for _, m in loaded)
    growth = (loaded_kib - empty_kib) / max(args.listeners, 1)
    ratio_met = ratio <= RATIO_TARGET
    growth_met = growth < GROWTH_TARGET_KIB
    print(f"{args.runs} pairs, median; auditor from {repo}; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    print(f"{'evaluate -q, empty host':50} {empty_ms:8.1f} ms  peak {empty_kib / 1024:6.1f} MiB")
    print(f"{f'evaluate -q, {args.listeners} more listeners':50} {loaded_ms:8.1f} ms  peak {loaded_kib / 1024:6.1f} MiB")
    print(f"{'time ratio (paired)':50} {ratio:8.2f} x   target <= {RATIO_TARGET}x: {'met' if ratio_met else 'MISSED'}")
    print(f"{'memory growth per listener':50} {growth:8.2f} KiB target < {GROWTH_TARGET_KIB:.0f} KiB: "
          f"{'met' if growth_met else 'MISSED'}")
    return 0 if ratio_met and growth_met else 1


if __name__ == "__main__":
    sys.exit(main())
