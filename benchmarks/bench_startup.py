#!/usr/bin/env python3
"""How long do short lbaudit commands take to start?  Issue 16's targets, measured.

Times, each in a fresh process (subprocess, median of --runs): ``python3 -c pass`` (the floor),
``lbaudit --help``, ``lbaudit validate policies/corp.yaml`` and ``lbaudit evaluate --policy
policies/corp.yaml -q`` (this reads this host, as a user's run does).  Prints each median with its
ratio to the floor and the target: evaluate at most 12x the floor, --help and validate under 100 ms.
Exit 1 when a target is missed.

``lbaudit`` is run as its console script does (``from auditor.cli import main; main()``) with the
``auditor`` of --repo first on the path, so two checkouts can be compared with one interpreter:

    python3 benchmarks/bench_startup.py [--runs 15] [--repo DIR] [--python PATH] [--baseline DIR]

With ``--baseline DIR`` (another checkout, e.g. ``git archive <commit> | tar -x -C DIR``) each run of
a command is paired with a run of the same command from DIR, alternating, so a loaded machine slows
both alike; the baseline's median and the median of the per-pair ratios (this / baseline) are printed too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LBAUDIT = "import sys; sys.argv[0] = 'lbaudit'; from auditor.cli import main; main()"


def run_ms(command: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(command)}: exit {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return elapsed


def env_for(repo: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(repo), "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="runs per command; the median is reported (default 15)")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose auditor is timed (default: this one)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with lbaudit's dependencies")
    parser.add_argument("--baseline", type=Path, help="another checkout, timed in alternation with --repo")
    args = parser.parse_args()

    repo = args.repo.resolve()
    baseline = args.baseline.resolve() if args.baseline else None
    with tempfile.TemporaryDirectory() as tmp:
        cases = [
            ("python3 -c pass", [args.python, "-c", "pass"], (0,), None),
            ("lbaudit --help", [args.python, "-c", LBAUDIT, "--help"], (0,), ("ms", 100.0)),
            ("lbaudit validate policies/corp.yaml", [args.python, "-c", LBAUDIT, "validate", "policies/corp.yaml"],
             (0,), ("ms", 100.0)),
            # 0, 1 (non-compliant) and 3 (incomplete) are all finished runs of this host.
            ("lbaudit evaluate --policy policies/corp.yaml -q",
             [args.python, "-c", LBAUDIT, "evaluate", "--policy", "policies/corp.yaml", "-q",
              "-o", str(Path(tmp) / "evidence.json")], (0, 1, 3), ("x", 12.0)),
        ]
        floor = None
        missed = 0
        print(f"{args.runs} runs each, median; auditor from {repo}" + (f", paired with {baseline}" if baseline else ""))
        for label, command, ok, target in cases:
            if baseline is not None:  # warm the baseline's bytecode cache outside the timing
                run_ms(command, baseline, env_for(baseline), ok)
            times, base_times = [], []
            for _ in range(args.runs):
                times.append(run_ms(command, repo, env_for(repo), ok))
                if baseline is not None:
                    base_times.append(run_ms(command, baseline, env_for(baseline), ok))
            ms = statistics.median(times)
            floor = floor or ms
            ratio = ms / floor
            verdict = ""
            if target is not None:
                kind, limit = target
                met = (ms < limit) if kind == "ms" else (ratio <= limit)
                missed += not met
                verdict = f"target {'< %.0f ms' % limit if kind == 'ms' else '<= %.0fx' % limit}: {'met' if met else 'MISSED'}"
            line = f"{label:50} {ms:8.1f} ms {ratio:6.1f}x  {verdict}"
            if base_times:
                pairs = statistics.median(t / b for t, b in zip(times, base_times))
                line += f"  | baseline {statistics.median(base_times):8.1f} ms, paired ratio {pairs:.2f}"
            print(line)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
