#!/usr/bin/env python3
"""How fast is the history store at fleet scale?  Issue 11's targets, measured on SQLite.

Builds (or reuses, with --reuse) a store of --hosts hosts x --days daily runs (default 1,000 x 90 =
90,000 runs), every one recorded through ``HistoryStore.record`` with a real evidence document: two
evidence files from a real ``assess`` of policies/corp.yaml (one host snapshot with, one without a
wildcard redis listener), each run's copy with its own host name, machine id and times (the model
copied with those fields, its bytes written by the evidence writer's own format), a wildcard on
roughly one host-day in seven.  Then times, each in a fresh process (median of --runs):

* ``lbaudit history list --host HOST --limit 90`` (one host's 90 runs)        target < 1 s
* ``lbaudit history trend --days 90 --json`` (every host, per day and family)  target < 1 s
* ``lbaudit evaluate -q`` on a snapshot, with and without ``--record`` into that store, paired and
  alternating; and ``HistoryStore.record`` of one run in-process              target: adds < 50 ms

    python3 benchmarks/bench_history.py [--hosts 1000] [--days 90] [--store PATH] [--reuse] [--runs 7]

Exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
LBAUDIT = "import sys; sys.argv[0] = 'lbaudit'; from auditor.cli import main; main()"
START = datetime(2026, 8, 1, 2, 0, tzinfo=timezone.utc)


def templates():
    from auditor.engine.registry import load_registry
    from auditor.model.facts import ProcessInfo
    from auditor.pipeline import assess
    from auditor.policy.loader import load_policy
    from tests.factories import listener, snapshot

    registry = load_registry(plugins=False)
    policy = load_policy(REPO / "policies" / "corp.yaml", registry)
    base = [listener("0.0.0.0", 22, processes=[ProcessInfo(pid=401, name="sshd")]),
            listener("127.0.0.1", 5432, processes=[ProcessInfo(pid=812, name="postgres")])]
    redis = listener("0.0.0.0", 6379, processes=[ProcessInfo(pid=977, name="redis-server")])
    return [assess(policy, snapshot(listeners=listeners), registry, today=START.date(), started_at=START)
            for listeners in (base, [*base, redis])]


def build(store_path: Path, hosts: int, days: int) -> float:
    """Record hosts x days runs, one transaction per day (``HistoryStore.record_many``)."""
    from auditor.history.store import HistoryStore
    from auditor.storage.evidence import evidence_bytes

    clean, wildcard = templates()
    finished = START + timedelta(seconds=2)
    raw_templates = {id(t): evidence_bytes(t.model_copy(update={"run": t.run.model_copy(update={
        "finished_at": finished})})) for t in (clean, wildcard)}

    def stamp(moment: datetime) -> bytes:
        return moment.strftime('"%Y-%m-%dT%H:%M:%SZ"').encode()

    def variant(template, host: int, started: datetime):
        """The run's evidence and its bytes: the template's, with this host and these times."""
        name, machine_id = f"host{host:04d}.fleet.example", f"{host:032x}"
        provenance = template.snapshot.provenance.model_copy(update={
            "hostname": name, "machine_id": machine_id})
        evidence = template.model_copy(update={
            "snapshot": template.snapshot.model_copy(update={"provenance": provenance}),
            "run": template.run.model_copy(update={"started_at": started, "finished_at": started + timedelta(seconds=2),
                                                   "evaluated_on": started.date()})})
        raw = (raw_templates[id(template)]
               .replace(stamp(START), stamp(started))
               .replace(stamp(finished), stamp(started + timedelta(seconds=2)))
               .replace(b'"evaluated_on": "' + START.date().isoformat().encode(),
                        b'"evaluated_on": "' + started.date().isoformat().encode())
               .replace(b'"hostname": "web01.example.test"', b'"hostname": "' + name.encode() + b'"')
               .replace(b'"machine_id": "0123456789abcdef0123456789abcdef"',
                        b'"machine_id": "' + machine_id.encode() + b'"'))
        return evidence, raw

    # The byte-level copy is what the evidence writer writes for that evidence: checked, not assumed.
    for template, host, day in ((clean, 3, 5), (wildcard, 998, 89)):
        evidence, raw = variant(template, host, START + timedelta(days=day, seconds=host))
        assert raw == evidence_bytes(evidence), "the benchmark's evidence bytes drifted from the writer's format"

    store = HistoryStore.open(str(store_path))
    t0 = time.perf_counter()
    for day in range(days):
        batch = []
        for host in range(hosts):
            template = wildcard if (host + day) % 7 == 0 else clean
            evidence, raw = variant(template, host, START + timedelta(days=day, seconds=host))
            batch.append((raw, evidence, None))
        store.record_many(batch, trigger="timer")
        print(f"bench_history: day {day + 1}/{days}: {(day + 1) * hosts} runs, {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)
    store.close()
    return time.perf_counter() - t0


def run_ms(argv: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> float:
    """Wall time of ``lbaudit ARGV`` in a fresh process; its CPU time (user + system) is added to CPU_MS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", LBAUDIT, *argv], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    elapsed = (time.perf_counter() - t0) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_MS.append(((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000)
    if proc.returncode not in ok:
        raise SystemExit(f"lbaudit {' '.join(argv)}: exit {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return elapsed


CPU_MS: list[float] = []


def cpu_median(count: int) -> float:
    """The median CPU time of the last ``count`` runs (less sensitive than wall time to a loaded machine)."""
    return statistics.median(CPU_MS[-count:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--store", type=Path, help="Store file [default: a temporary directory, removed after].")
    parser.add_argument("--reuse", action="store_true", help="Use --store as it is (built by an earlier run).")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lbaudit-bench-history-"))
    store = args.store or work / "history.db"
    env = {**os.environ, "PYTHONPATH": str(REPO), "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("LBAUDIT_STORE", None)
    try:
        if not args.reuse:
            store.unlink(missing_ok=True)
            seconds = build(store, args.hosts, args.days)
            runs = args.hosts * args.days
            print(f"built {runs} runs ({args.hosts} hosts x {args.days} days) in {seconds:.0f} s "
                  f"({seconds / runs * 1000:.1f} ms a run, in-process), {store.stat().st_size / 2**20:.0f} MiB")
        last_day = (START + timedelta(days=args.days - 1)).date()
        since = (last_day - timedelta(days=89)).isoformat()
        host = f"host{args.hosts // 2:04d}.fleet.example"
        list_ms = statistics.median(run_ms(["history", "list", "--host", host, "--limit", "90", "--store", str(store)],
                                           env) for _ in range(args.runs))
        list_cpu = cpu_median(args.runs)
        trend_args = ["history", "trend", "--since", since, "--until", last_day.isoformat(), "--json",
                      "--store", str(store)]
        trend_ms = statistics.median(run_ms(trend_args, env) for _ in range(args.runs))
        trend_cpu = cpu_median(args.runs)
        trend = json.loads(subprocess.run([sys.executable, "-c", LBAUDIT, *trend_args], cwd=REPO, env=env,
                                          capture_output=True, check=True).stdout)
        from auditor.history.store import HistoryStore

        with HistoryStore.open(str(store)) as opened:
            t0 = time.perf_counter()
            listed = opened.list_runs(host=host, limit=90)
            list_query_ms = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            opened.trend(since=date.fromisoformat(since), until=last_day)
            trend_query_ms = (time.perf_counter() - t0) * 1000
        print(f"in-process queries: list {len(listed)} runs {list_query_ms:.0f} ms, trend {trend_query_ms:.0f} ms")
        print(f"history list --host (one host, {args.days} runs):   median {list_ms:6.0f} ms (CPU {list_cpu:.0f} ms)   target < 1000 ms")
        print(f"history trend over 90 days ({sum(d['runs'] for d in trend['by_day'])} runs): "
              f"median {trend_ms:6.0f} ms (CPU {trend_cpu:.0f} ms)   target < 1000 ms")

        # Recording: the same evaluate with and without --record, alternating, so load hits both alike.
        from auditor.storage.snapshot import write_snapshot
        from tests.factories import snapshot

        snap = work / "snapshot.json"
        write_snapshot(snapshot(listeners=[]), snap)
        base = ["evaluate", "--policy", "policies/corp.yaml", "--snapshot", str(snap), "-q"]
        plain, recorded, plain_cpu, recorded_cpu = [], [], [], []
        for index in range(args.runs):
            plain.append(run_ms([*base, "-o", str(work / f"p{index}.json")], env, (0, 1, 3)))
            plain_cpu.append(CPU_MS[-1])
            recorded.append(run_ms([*base, "-o", str(work / f"r{index}.json"), "--record", "--store", str(store)],
                                   env, (0, 1, 3)))
            recorded_cpu.append(CPU_MS[-1])
        added = statistics.median(r - p for r, p in zip(recorded, plain))
        added_cpu = statistics.median(r - p for r, p in zip(recorded_cpu, plain_cpu))
        print(f"evaluate -q: median {statistics.median(plain):.0f} ms; with --record: median "
              f"{statistics.median(recorded):.0f} ms; added (median of pairs) {added:.0f} ms wall, {added_cpu:.0f} ms CPU"
              "   target < 50 ms")

        from auditor.history.store import HistoryStore
        from auditor.storage.evidence import load_evidence

        evidence, raw = load_evidence(work / "p0.json")
        timings = []
        for index in range(args.runs):
            copy = evidence.model_copy(update={"run": evidence.run.model_copy(update={
                "started_at": evidence.run.started_at + timedelta(microseconds=index + 1)})})
            from auditor.storage.evidence import evidence_bytes

            data = evidence_bytes(copy)
            t0 = time.perf_counter()
            with HistoryStore.open(str(store)) as opened:
                opened.record(data, copy, trigger="manual")
            timings.append((time.perf_counter() - t0) * 1000)
        in_process = statistics.median(timings)
        print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"HistoryStore.open + record + close, in-process (SQLAlchemy already imported): median "
              f"{in_process:.1f} ms")
        missed = [name for name, value in (("list", list_ms), ("trend", trend_ms)) if value >= 1000]
        if added >= 50:
            missed.append("record (evaluate wall time)")
        if missed:
            print(f"bench_history: targets missed: {', '.join(missed)}")
            return 1
        return 0
    finally:
        if args.store is None:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
