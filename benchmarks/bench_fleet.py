#!/usr/bin/env python3
"""A fleet without a fleet: generate N hosts' snapshots and time ``lbaudit fleet evaluate``.

Each generated host has its own listeners (1-40, loopback, wildcard and specific addresses, some
inside the ephemeral pool), its own ephemeral port range and TIME_WAIT settings, in Ansible's fetch
layout (``DIR/<host>/lbaudit.snapshot.json``).  Measured:

* ``lbaudit fleet evaluate --snapshots DIR --policy policies/corp.yaml --sign-key K --record --store
  SQLITE`` over all N hosts, as one process (the command users run); target under 60 s for 1,000 hosts
  on the 2-core machine;
* a separate ``lbaudit evaluate --snapshot S -q`` process, for a sample of hosts (its median); the
  target: fleet evaluate's per-host cost under a tenth of it;
* with ``--postgres URL`` the same fleet run recorded into that PostgreSQL store; ``--postgres auto``
  starts a throwaway server for it (initdb in a temporary directory, a unix socket only, as the
  history tests start theirs: tests/history/conftest.py) and removes it afterwards.

    python3 benchmarks/bench_fleet.py [--hosts 1000] [--jobs N] [--sample 5] [--postgres URL|auto] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from auditor import __version__  # noqa: E402
from auditor.model.facts import (  # noqa: E402
    Facts,
    HostSnapshot,
    Listener,
    Provenance,
    SocketCounts,
    SocketFacts,
    SysctlFacts,
    SysctlSetting,
)
from auditor.storage.snapshot import write_snapshot  # noqa: E402

GOAL_SECONDS = 60.0
GOAL_RATIO = 0.10


def host_snapshot(index: int, rng: random.Random) -> HostSnapshot:
    low = rng.choice([32768, 32768, 32768, 1024, 49152, 60000])
    high = rng.choice([60999, 60999, 65535, low + 100, low + 5000])
    listeners = []
    for _ in range(rng.randint(1, 40)):
        address = rng.choice(["127.0.0.1", "127.0.0.1", "::1", "0.0.0.0", "::", "10.0.0.%d" % rng.randint(1, 254)])
        listeners.append(Listener(protocol=rng.choice(["tcp", "tcp", "udp"]), family="ipv6" if ":" in address else "ipv4",
                                  address=address, port=rng.choice([22, 80, 443, 5432, 8080, rng.randint(1024, 65535)])))
    sysctl = {
        "net.ipv4.ip_local_port_range": f"{low} {high}",
        "net.ipv4.ip_local_reserved_ports": rng.choice(["", "8080", "5432,8080"]),
        "net.ipv4.tcp_fin_timeout": str(rng.choice([15, 30, 60])),
        "net.ipv4.tcp_tw_reuse": str(rng.choice([0, 1, 2])),
        "net.ipv4.tcp_max_tw_buckets": str(rng.choice([8192, 262144])),
        "net.ipv4.ip_unprivileged_port_start": "1024",
        "net.ipv6.bindv6only": "0",
    }
    time_wait = rng.choice([0, 10, 500, 20000])
    return HostSnapshot(
        provenance=Provenance(source="live", hostname=f"host{index:04d}.fleet.test", machine_id=f"{index:032x}",
                              os="Debian GNU/Linux 12 (bookworm)", kernel="6.1.0", arch="x86_64",
                              collected_at="2026-11-01T12:00:00Z", effective_uid=0, effective_user="root",
                              privileged=True, tool_version=__version__),
        facts=Facts(sockets=SocketFacts(listeners=listeners, counts=SocketCounts(
                        time_wait=time_wait, tcp_by_state={"TIME_WAIT": time_wait})),
                    sysctl=SysctlFacts(runtime={k: SysctlSetting(value=v, origin="/proc/sys/" + k.replace(".", "/"))
                                                for k, v in sysctl.items()})),
        gaps=[],
    )


def generate(directory: Path, hosts: int) -> None:
    rng = random.Random(13)
    for index in range(hosts):
        host = directory / f"host{index:04d}"
        host.mkdir()
        write_snapshot(host_snapshot(index, rng), host / "lbaudit.snapshot.json")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CPU: dict[str, float] = {}  # CPU seconds (user + sys, the process and its workers) of the last run


def lbaudit(*args: object) -> tuple[float, int]:
    """Run lbaudit; its wall time (the CPU time it and its workers used is left in CPU["last"])."""
    t0, c0 = time.perf_counter(), _children_cpu()
    done = subprocess.run([sys.executable, "-m", "auditor.cli", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    elapsed = time.perf_counter() - t0
    CPU["last"] = _children_cpu() - c0
    if done.returncode not in (0, 1, 3):
        sys.exit(f"lbaudit {' '.join(map(str, args))} exited {done.returncode}:\n{done.stderr}")
    return elapsed, done.returncode


SERVER_CPU: dict[str, Any] = {}  # --postgres auto: start() and server() measure the server's CPU seconds


def _watch_server_cpu(pid_file: Path) -> None:
    """The postmaster's exited backends add their CPU time to its cutime/cstime (it reaps them)."""
    pid = int(pid_file.read_text().split()[0])
    ticks = os.sysconf("SC_CLK_TCK")

    def used() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(fields[i]) for i in (11, 12, 13, 14)) / ticks  # utime stime cutime cstime

    SERVER_CPU["start"] = lambda: SERVER_CPU.__setitem__("at", used())
    SERVER_CPU["server"] = lambda: time.sleep(1) or used() - SERVER_CPU["at"]  # backends exit just after


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--sample", type=int, default=5, help="separate evaluate processes timed")
    parser.add_argument("--postgres", help="also record into this PostgreSQL store (postgresql+psycopg://...), "
                        "or 'auto': a throwaway server started for the run")
    parser.add_argument("--keep", type=Path, help="work here (kept) instead of a temporary directory")
    args = parser.parse_args()
    if args.postgres != "auto":
        return measure(args)
    from tests.history.conftest import PostgresServer, _pg_bin

    bin_dir = _pg_bin()
    if bin_dir is None:
        sys.exit("--postgres auto: PostgreSQL is not installed (apt-get install postgresql)")
    server = PostgresServer(bin_dir)
    try:
        server.start()
        args.postgres = server.url(server.create_database())
        _watch_server_cpu(server.data / "postmaster.pid")
        return measure(args)
    finally:
        server.stop()


def measure(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="lbaudit-bench-fleet-") as temporary:
        work = args.keep or Path(temporary)
        work.mkdir(exist_ok=True)
        fetched = work / "fetched"
        fetched.mkdir()
        t0 = time.perf_counter()
        generate(fetched, args.hosts)
        print(f"generated {args.hosts} host snapshots in {time.perf_counter() - t0:.1f} s")
        lbaudit("keygen", "--out", work / "keys")
        policy = REPO / "policies" / "corp.yaml"
        jobs = ["--jobs", args.jobs] if args.jobs else []
        results: dict[str, float] = {}
        cpu: dict[str, float] = {}
        stores = [("SQLite", str(work / "history.db"))] + ([("PostgreSQL", args.postgres)] if args.postgres else [])
        for name, store in stores:
            if name == "PostgreSQL" and SERVER_CPU:
                SERVER_CPU["start"]()
            elapsed, code = lbaudit("fleet", "evaluate", "--snapshots", fetched, "--policy", policy, "--out-dir",
                                    work / f"out-{name}", "--sign-key", work / "keys" / "lbaudit.key", "--record",
                                    "--store", store, "-q", *jobs)
            results[name] = elapsed
            cpu[name] = CPU["last"]
            print(f"fleet evaluate --sign-key --record ({name}), {args.hosts} hosts: {elapsed:.1f} s wall, "
                  f"{cpu[name]:.1f} s CPU ({cpu[name] / args.hosts * 1000:.1f} ms CPU per host; exit {code}; "
                  f"load average {os.getloadavg()[0]:.1f})")
            if name == "PostgreSQL" and SERVER_CPU:
                print(f"  the PostgreSQL server's own CPU (its backends; not in the CPU time above): "
                      f"{SERVER_CPU['server']():.1f} s")
        separate, separate_cpu = [], []
        for i in range(args.sample):
            separate.append(lbaudit("evaluate", "--policy", policy, "--snapshot",
                                    fetched / f"host{i:04d}" / "lbaudit.snapshot.json", "-o", work / f"alone{i}.json",
                                    "-q")[0])
            separate_cpu.append(CPU["last"])
        per_process = statistics.median(separate_cpu)
        print(f"separate lbaudit evaluate --snapshot process: {statistics.median(separate) * 1000:.0f} ms wall, "
              f"{per_process * 1000:.0f} ms CPU (median of {args.sample})")
        cores = len(os.sched_getaffinity(0))
        ok = True
        for name, _ in stores:
            ratio = cpu[name] / args.hosts / per_process
            print(f"{name}: per-host CPU cost of fleet evaluate / separate process: {ratio:.3f} (goal < {GOAL_RATIO}); "
                  f"CPU time / {cores} CPUs (the wall time on an idle machine, at best): {cpu[name] / cores:.1f} s")
            ok = ok and min(results[name], cpu[name] / cores) < GOAL_SECONDS * args.hosts / 1000 and ratio < GOAL_RATIO
        print(f"load average {os.getloadavg()[0]:.1f} on {cores} CPUs at the end")
        print("goals met" if ok else "goals NOT met")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
