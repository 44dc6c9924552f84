#!/usr/bin/env python3
"""Does ``lbaudit evaluate`` stay flat in the number of listeners?  Issue 16's targets, measured.

This process opens N real TCP listeners on 127.0.0.1 (ephemeral ports, so they are found, owned by
this process, and judged by ``net.bind_addresses`` like any service's), then times
``lbaudit evaluate --policy policies/corp.yaml -q`` in a fresh process with them open, and the same
command with none of them open (the empty host), alternating the two so a loaded machine slows both
alike.  Prints the medians (wall and CPU time, peak memory), the median of the per-pair ratios
(target: at most 1.5x at 5,000) and the peak memory growth per listener (target: under 5 KiB), and
the floor: the same ratio and growth for a process that only parses the netlink dump into one
small record per socket.  With ``--baseline DIR`` another checkout runs beside this one, and the
paired ratios this / baseline are printed too.  Exit 1 when a target is missed.

RLIMIT_NOFILE is raised to what N listeners need (up to the hard limit; root may raise that too).

    python3 benchmarks/bench_listeners.py [--listeners 5000] [--runs 7] [--repo DIR] [--baseline DIR] [--python PATH]
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

from bench_startup import (  # sibling: run as python3 benchmarks/bench_listeners.py
    LBAUDIT,
    Run,
    compile_bytecode,
    env_for,
    in_checkout,
    run_ms,
)

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


def run_once(command: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """Wall and CPU milliseconds and peak resident KiB of one finished run of COMMAND (compliant,
    non-compliant or incomplete), timed as bench_startup times every command."""
    return run_ms(command, cwd, env, ok=(0, 1, 3))


# The floor of any collector of these listeners: the netlink dump parsed into one small record
# (a frozen dataclass) per socket, nothing else: no owner, no model, no judging, no file.
FLOOR = "from auditor.collect.sockets import read_sockets_netlink; read_sockets_netlink()"


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=int, default=5000, help="listeners to open (default 5000)")
    parser.add_argument("--runs", type=int, default=7, help="pairs of runs; medians are reported (default 7)")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose auditor is timed (default: this one)")
    parser.add_argument("--baseline", type=Path, help="another checkout (e.g. the code before a change): its runs "
                        "alternate with these, and the paired ratios this / baseline are printed")
    parser.add_argument("--python", default=sys.executable, help="interpreter with lbaudit's dependencies")
    args = parser.parse_args()

    checkouts = {"this": args.repo.resolve()}
    if args.baseline is not None:
        checkouts["baseline"] = args.baseline.resolve()
    for repo in checkouts.values():
        compile_bytecode(args.python, repo)  # as a wheel's installer does (bench_startup does the same)
    raise_fd_limit(args.listeners + 256)
    runs: dict[tuple[str, str], list[Run]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        evidence = {name: Path(tmp) / f"{name}.evidence.json" for name in checkouts}
        commands = {name: in_checkout([args.python, "-c", LBAUDIT, "evaluate", "--policy", "policies/corp.yaml",
                                       "-q", "-o", str(evidence[name])], repo) for name, repo in checkouts.items()}
        commands["floor"] = [args.python, "-c", FLOOR]
        where = {**checkouts, "floor": checkouts["this"]}
        for name, command in commands.items():
            run_once(command, where[name], env_for(where[name]))  # warm caches (page cache) outside the timing
        held: list[socket.socket] = []
        try:
            for _ in range(args.runs):
                for load in ("empty", "loaded"):
                    if load == "loaded":
                        held = open_listeners(args.listeners)
                    for name, command in commands.items():
                        runs.setdefault((name, load), []).append(run_once(command, where[name], env_for(where[name])))
                        if name in evidence:  # exit 1 is also Python's for a broken command line: the file proves a run
                            if not evidence[name].is_file():
                                raise SystemExit(f"{' '.join(command)}: wrote no evidence")
                            evidence[name].unlink()
                    for sock in held:
                        sock.close()
                    held = []
        finally:
            for sock in held:
                sock.close()

    def ratio(name: str, field: str) -> float:  # loaded / empty, median of the pairs
        return median([getattr(b, field) / getattr(a, field) for a, b in zip(runs[name, "empty"], runs[name, "loaded"])])

    def growth(name: str) -> float:  # KiB of peak memory per listener
        return (median([r.peak_kib for r in runs[name, "loaded"]]) - median([r.peak_kib for r in runs[name, "empty"]])) \
            / max(args.listeners, 1)

    print(f"{args.runs} pairs, medians; auditor from {checkouts['this']}; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    for name in commands:
        label = {"this": "evaluate -q", "baseline": "evaluate -q (baseline)", "floor": "floor: netlink parse only"}[name]
        for load in ("empty", "loaded"):
            measured = runs[name, load]
            what = f"{label}, {'empty host' if load == 'empty' else f'{args.listeners} more listeners'}"
            print(f"{what:58} {median([r.wall_ms for r in measured]):8.1f} ms wall {median([r.cpu_ms for r in measured]):8.1f} ms CPU "
                  f" peak {median([r.peak_kib for r in measured]) / 1024:6.1f} MiB")
    wall, cpu, kib = ratio("this", "wall_ms"), ratio("this", "cpu_ms"), growth("this")
    ratio_met, growth_met = wall <= RATIO_TARGET, kib < GROWTH_TARGET_KIB
    print(f"{'time ratio loaded / empty (paired), wall':58} {wall:8.2f} x   target <= {RATIO_TARGET}x: "
          f"{'met' if ratio_met else 'MISSED'}")
    print(f"{'time ratio loaded / empty (paired), CPU':58} {cpu:8.2f} x")
    print(f"{'memory growth per listener':58} {kib:8.2f} KiB target < {GROWTH_TARGET_KIB:.0f} KiB: "
          f"{'met' if growth_met else 'MISSED'}")
    # The floor as a ratio of the same empty evaluate: what the netlink parse alone adds to it.
    for field, unit in (("wall_ms", "wall"), ("cpu_ms", "CPU")):
        empty = median([getattr(r, field) for r in runs["this", "empty"]])
        added = median([getattr(b, field) - getattr(a, field)
                        for a, b in zip(runs["floor", "empty"], runs["floor", "loaded"])])
        print(f"{f'floor ratio (empty evaluate + the parse alone), {unit}':58} {(empty + added) / empty:8.2f} x")
    print(f"{'floor memory growth per listener (the parse alone)':58} {growth('floor'):8.2f} KiB")
    if "baseline" in checkouts:
        print(f"{'baseline: time ratio loaded / empty, wall / CPU':58} {ratio('baseline', 'wall_ms'):8.2f} x "
              f"{ratio('baseline', 'cpu_ms'):5.2f} x")
        print(f"{'baseline: memory growth per listener':58} {growth('baseline'):8.2f} KiB")
        for field, unit in (("wall_ms", "wall"), ("cpu_ms", "CPU")):
            paired = median([getattr(t, field) / getattr(b, field)
                             for t, b in zip(runs["this", "loaded"], runs["baseline", "loaded"])])
            print(f"{f'this / baseline with the listeners (paired), {unit}':58} {paired:8.2f} x")
    return 0 if ratio_met and growth_met else 1


if __name__ == "__main__":
    sys.exit(main())
