#!/usr/bin/env python3
"""How long does a PDF attestation of a large run take, as a process?  Issue 16's PDF targets.

Builds evidence with 5,000 and 20,000 failing findings through the real engine (the fixture checks
of tests/evidence_fixtures.py, one failing finding per wildcard listener; not timed), writes it to a
file, then times the whole process a user runs:

    lbaudit report EVIDENCE --pdf OUT.pdf        (python -m auditor.cli, a fresh interpreter each run)

measuring wall time and peak resident memory (os.wait4) of each run, and prints each target beside
its measurement and the ratio:

    5,000 findings:   at most 1.5 s
    20,000 findings:  at most 4.5x the 5,000-finding time (linear), under 150 MiB

    python3 benchmarks/bench_pdf.py [--findings 5000 20000] [--runs 3] [--keep DIR] [--baseline CHECKOUT]
                                    [--instructions]

The median of ``--runs`` runs is reported (wall and CPU time: user + system, which a loaded machine
inflates least); two renderings of the same evidence must be identical.  The bytecode of each
checkout is compiled first, as a wheel's installer does (bench_startup.py does the same): a process
that compiles lbaudit's modules on every run (PYTHONDONTWRITEBYTECODE) is not what a user runs.
``--instructions`` also counts the instructions of one process per size (``valgrind --tool=cachegrind
--cache-sim=no``, the same count whatever the load of a shared machine; about 40x slower).
Beside the peak RSS it prints the floor: the peak of a process that reads the evidence (strict
parse, content digest, validated model) and renders nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_startup import compile_bytecode

REPO = Path(__file__).resolve().parent.parent

TARGET_5000_S = 1.5
TARGET_LINEAR_RATIO = 4.5
TARGET_RSS_MIB = 150


def run_once(evidence: Path, out: Path, checkout: Path = REPO) -> tuple[float, float, float]:
    """One ``lbaudit report --pdf`` process of ``checkout``: (seconds, peak RSS in MiB, CPU seconds)."""
    if out.exists():
        out.unlink()
    env = dict(os.environ, PYTHONPATH=str(checkout))
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "auditor.cli", "report", str(evidence), "--pdf", str(out)],
                            cwd=evidence.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"lbaudit report failed ({proc.returncode}): {proc.stderr.read().decode() if proc.stderr else ''}")
    # ru_maxrss is in KiB on Linux; CPU time (user + system) is what a loaded machine inflates least
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def instructions(evidence: Path, out: Path, checkout: Path = REPO) -> int:
    """Instructions of one ``lbaudit report --pdf`` process of ``checkout``, counted by cachegrind."""
    if out.exists():
        out.unlink()
    counts = out.with_suffix(".cachegrind")
    proc = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={counts}",
                           sys.executable, "-m", "auditor.cli", "report", str(evidence), "--pdf", str(out)],
                          cwd=evidence.parent, env=dict(os.environ, PYTHONPATH=str(checkout)),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    found = [line for line in proc.stderr.splitlines() if "I   refs:" in line or "I refs:" in line]
    if proc.returncode != 0 or not found:
        raise SystemExit(f"valgrind lbaudit report failed ({proc.returncode}): {proc.stderr[-500:]}")
    counts.unlink(missing_ok=True)
    return int(found[-1].split(":")[-1].replace(",", ""))


# The memory floor of the rendering: a process that imports the PDF reporter and reads the evidence
# (strictly parsed, digested, validated), then renders nothing.
READ_ONLY = ("import sys; from pathlib import Path; import auditor.report.pdf; "
             "from auditor.storage.evidence import load_evidence; load_evidence(Path(sys.argv[1]))")


def read_only_rss(evidence: Path) -> float:
    """Peak RSS (MiB) of reading ``evidence`` as ``lbaudit report`` does, without rendering it."""
    proc = subprocess.Popen([sys.executable, "-c", READ_ONLY, str(evidence)], env=dict(os.environ, PYTHONPATH=str(REPO)),
                            stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"reading {evidence} failed")
    return usage.ru_maxrss / 1024


# The evidence is built in a child process: Linux counts the memory a process had when it started
# the next program in that program's peak (``ru_maxrss`` survives exec), so a parent holding a
# 20,000-finding evidence made every measured child look at least as large as itself.
WRITE_EVIDENCE = """\
import json, sys
from pathlib import Path
from auditor.storage.evidence import evidence_bytes
from tests.evidence_fixtures import make_evidence
evidence = make_evidence(extra_listeners=int(sys.argv[1]))
Path(sys.argv[2]).write_bytes(evidence_bytes(evidence))
print(json.dumps([len(evidence.result.findings), sum(1 for f in evidence.result.findings if f.status.value == "fail")]))
"""


def write_evidence(findings: int, path: Path) -> tuple[int, int]:
    """Write the fixture evidence with ``findings`` extra listeners; (findings, failing) in it."""
    proc = subprocess.run([sys.executable, "-c", WRITE_EVIDENCE, str(findings), str(path)], cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, check=True)
    total, failing = json.loads(proc.stdout)
    return total, failing


def measure(findings: int, runs: int, folder: Path, baseline: Path | None = None, count: bool = False) -> dict:
    path = folder / f"evidence-{findings}.json"
    total, failing = write_evidence(findings, path)
    times, peaks, outputs, ratios, cpus, cpu_ratios = [], [], [], [], [], []
    for index in range(max(2, runs)):
        out = folder / f"report-{findings}-{index}.pdf"
        seconds, rss, cpu = run_once(path, out)
        times.append(seconds)
        peaks.append(rss)
        cpus.append(cpu)
        outputs.append(out.read_bytes())
        if baseline is not None:  # paired, side by side: the load of a shared machine hits both alike
            before, _, cpu_before = run_once(path, folder / f"baseline-{findings}.pdf", baseline)
            ratios.append(seconds / before)
            cpu_ratios.append(cpu / cpu_before)
    counted = instructions(path, folder / f"counted-{findings}.pdf") if count else None
    counted_before = instructions(path, folder / f"counted-baseline-{findings}.pdf", baseline) \
        if count and baseline is not None else None
    return {"findings": total, "failing": failing, "evidence_mb": path.stat().st_size / 1e6,
            "instructions": counted, "instructions_baseline": counted_before,
            "seconds": statistics.median(times), "min": min(times), "max": max(times), "rss": max(peaks),
            "cpu": statistics.median(cpus), "cpu_min": min(cpus),
            "pdf_mb": len(outputs[0]) / 1e6, "identical": all(o == outputs[0] for o in outputs),
            "read_only_rss": read_only_rss(path),
            "paired": statistics.median(ratios) if ratios else None,
            "paired_cpu": statistics.median(cpu_ratios) if cpu_ratios else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--findings", type=int, nargs="+", default=[5000, 20000],
                        help="failing findings to add, one measurement each (default 5000 20000)")
    parser.add_argument("--runs", type=int, default=3, help="processes timed per size (default 3, at least 2)")
    parser.add_argument("--baseline", type=Path, help="another checkout: alternate runs with it and print the "
                        "median of the paired time ratios (this / baseline)")
    parser.add_argument("--instructions", action="store_true", help="also count the instructions of one process "
                        "per size (and of the baseline's) with valgrind's cachegrind: the same whatever the load")
    parser.add_argument("--keep", type=Path, help="write the evidence and PDFs here instead of a temporary folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lbaudit-bench-pdf-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        compile_bytecode(sys.executable, REPO)
        if args.baseline is not None:
            compile_bytecode(sys.executable, args.baseline)
        results = {n: measure(n, args.runs, folder, args.baseline, args.instructions) for n in args.findings}

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"`lbaudit report E --pdf OUT` as a process, median of {max(2, args.runs)} runs, bytecode compiled")
    for n, r in results.items():
        print(f"{n:>6} extra listeners: {r['findings']} findings ({r['failing']} failing), evidence "
              f"{r['evidence_mb']:.1f} MB -> {r['seconds']:.2f} s (min {r['min']:.2f}, max {r['max']:.2f}; CPU "
              f"{r['cpu']:.2f} s, min {r['cpu_min']:.2f}), "
              f"peak RSS {r['rss']:.0f} MiB (floor: reading the evidence without rendering {r['read_only_rss']:.0f} "
              f"MiB), PDF {r['pdf_mb']:.2f} MB, deterministic: {'yes' if r['identical'] else 'NO'}")
        if r["instructions"] is not None:
            print(f"{'':>6}   instructions (cachegrind, one process): {r['instructions'] / 1e6:,.0f} M"
                  + (f"; baseline {r['instructions_baseline'] / 1e6:,.0f} M, this / baseline = "
                     f"{r['instructions'] / r['instructions_baseline']:.3f}" if r["instructions_baseline"] else ""))
        if r["paired"] is not None:
            print(f"{'':>6}   paired with {args.baseline}: this / baseline = {r['paired']:.2f} wall, "
                  f"{r['paired_cpu']:.2f} CPU (medians of pair ratios)")
    print(f"{'target':<44}{'target':>10}{'measured':>12}{'ratio':>8}")
    rows = []
    if 5000 in results:
        rows.append(("5,000 findings, seconds", TARGET_5000_S, results[5000]["seconds"]))
    if 5000 in results and 20000 in results:
        rows.append(("20,000 / 5,000 time (linear: at most)", TARGET_LINEAR_RATIO,
                     results[20000]["seconds"] / results[5000]["seconds"]))
    for n, r in results.items():
        rows.append((f"{n:,} findings, peak RSS MiB (under)", TARGET_RSS_MIB, r["rss"]))
    met = True
    for label, target, measured in rows:
        ok = measured <= target
        met &= ok
        print(f"{label:<44}{target:>10.2f}{measured:>12.2f}{measured / target:>8.2f}  {'met' if ok else 'NOT met'}")
    identical = all(r["identical"] for r in results.values())
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
