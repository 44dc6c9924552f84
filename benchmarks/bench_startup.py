#!/usr/bin/env python3
"""How long do short lbaudit commands take to start?  Issue 16's targets, measured.

Times, each in a fresh process (subprocess, median of --runs): ``python3 -c pass`` (the floor),
reference floors that are not targets (``python3 -c "import click"`` and a one-command click
group's ``--help``, the floor of ``--help``; click and pydantic with one model; click and lbaudit's
pydantic models built, which evaluate validates its policy, facts and findings with),
``lbaudit --help``, ``lbaudit validate policies/corp.yaml`` and ``lbaudit evaluate --policy
policies/corp.yaml -q`` (this reads this host, as a user's run does).  Prints each median with its
ratio to the floor and the target: evaluate at most 12x the floor, --help and validate under 100 ms.
Exit 1 when a target is missed.

``lbaudit`` is run as its console script does (the ``lbaudit`` entry of [project.scripts] in the
checkout's pyproject.toml, e.g. ``from auditor.entry import main; main()``) with the ``auditor`` of
--repo first on the path, so two checkouts can be compared with one interpreter:

    python3 benchmarks/bench_startup.py [--runs 15] [--repo DIR] [--python PATH] [--baseline DIR] [--instructions]

With ``--baseline DIR`` (another checkout, e.g. ``git archive <commit> | tar -x -C DIR``) each run of
a command is paired with a run of the same command from DIR, alternating, so a loaded machine slows
both alike; the baseline's median and the median of the per-pair ratios (this / baseline) are printed too.
``--instructions`` also counts one process of each command (and of the baseline's) under valgrind's
cachegrind, which a shared machine's load does not change.
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
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
LBAUDIT = "<lbaudit>"  # replaced by each checkout's console script (console_script)
PYDANTIC_FLOOR = "import click, pydantic\nclass M(pydantic.BaseModel):\n    x: int\nM(x=1)"
# The floor of evaluate as long as its records are pydantic models: click, pydantic and lbaudit's
# models (policy, facts, outcome, findings, evidence) imported and built, nothing run.  The models
# are built on first use (defer_build), so the floor builds them as evaluate does.
# Built with pydantic's plugins off, as every lbaudit command builds them (auditor.plugins).
MODELS_FLOOR = ("import click, auditor.model.evidence as e, auditor.model.check as c\n"
                "from auditor.plugins import without_pydantic_plugins\n"
                "with without_pydantic_plugins():\n"
                "    e.Evidence.model_rebuild(force=True); c.Outcome.model_rebuild(force=True)")
# The floor of any click command line's --help: click imported, and the help of a group of one
# command formatted (which imports click's formatting: shutil, textwrap, gettext's locale).
CLICK_HELP_FLOOR = ("import click\n@click.group(help='g')\ndef g(): pass\n@g.command(help='c')\ndef c(): pass\n"
                    "g(['--help'], prog_name='g')")


class Run(NamedTuple):
    wall_ms: float
    cpu_ms: float  # user + system time of the process: what a loaded machine inflates least
    peak_kib: int


def run_ms(command: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...]) -> Run:
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        raise SystemExit(f"{' '.join(command)}: exit {code}: {err.decode()[-500:]}")
    return Run(elapsed, (usage.ru_utime + usage.ru_stime) * 1000, usage.ru_maxrss)


def instructions(command: list[str], cwd: Path, env: dict[str, str]) -> int:
    """Instructions of one process of COMMAND, counted by valgrind's cachegrind: the same count
    whatever the load (a child a run forks is counted apart; this is the process's own count)."""
    proc = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                           *command], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    found = [line for line in proc.stderr.splitlines() if "I   refs:" in line or "I refs:" in line]
    if not found:
        raise SystemExit(f"valgrind {' '.join(command)}: {proc.stderr[-500:]}")
    return int(found[-1].split(":")[-1].replace(",", ""))


def compile_bytecode(python: str, repo: Path) -> None:
    """Write the bytecode of REPO's auditor, as a wheel's installer does: a run that compiles every
    module (PYTHONDONTWRITEBYTECODE, a read-only checkout) is not what a user's install runs."""
    subprocess.run([python, "-m", "compileall", "-q", str(repo / "auditor")], check=True, stdout=subprocess.DEVNULL)


def console_script(repo: Path) -> str:
    """``python -c`` code that runs REPO's ``lbaudit`` as its console script does."""
    import re  # (tomllib is Python 3.11+; lbaudit supports 3.10)

    scripts = (repo / "pyproject.toml").read_text(encoding="utf-8").split("[project.scripts]\n", 1)[1]
    match = re.search(r'^lbaudit = "([^"]+)"', scripts, re.M)
    assert match is not None, f"{repo}/pyproject.toml: no lbaudit in [project.scripts]"
    target = match.group(1)
    module, _, function = target.partition(":")
    return f"import sys; sys.argv[0] = 'lbaudit'; from {module} import {function}; {function}()"


def in_checkout(command: list[str], repo: Path) -> list[str]:
    return [console_script(repo) if part == LBAUDIT else part for part in command]


def env_for(repo: Path) -> dict[str, str]:
    """The environment of a user's run: plugin autoload on (lbaudit's default), so the lookup of
    installed plugins is timed as it runs, with whatever distributions the interpreter has."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    env.pop("LBAUDIT_DISABLE_PLUGIN_AUTOLOAD", None)
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="runs per command; the median is reported (default 15)")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose auditor is timed (default: this one)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with lbaudit's dependencies")
    parser.add_argument("--baseline", type=Path, help="another checkout, timed in alternation with --repo")
    parser.add_argument("--instructions", action="store_true", help="also count the instructions of one process of "
                        "each command (and of the baseline's) with valgrind's cachegrind: the same whatever the load")
    args = parser.parse_args()

    repo = args.repo.resolve()
    baseline = args.baseline.resolve() if args.baseline else None
    with tempfile.TemporaryDirectory() as tmp:
        cases = [
            ("python3 -c pass", [args.python, "-c", "pass"], (0,), None),
            # Not targets: the floors of any click command line, and of --help with click.
            ("floor: import click", [args.python, "-c", "import click"], (0,), None),
            ("floor: a one-command click group's --help", [args.python, "-c", CLICK_HELP_FLOOR], (0,), None),
            # Not a target: the floor of any command that validates a document with pydantic models.
            ("floor: import click, pydantic + one model", [args.python, "-c", PYDANTIC_FLOOR], (0,), None),
            ("floor: import click + lbaudit's pydantic models", [args.python, "-c", MODELS_FLOOR], (0,), None),
            ("lbaudit --help", [args.python, "-c", LBAUDIT, "--help"], (0,), ("ms", 100.0)),
            ("lbaudit validate policies/corp.yaml", [args.python, "-c", LBAUDIT, "validate", "policies/corp.yaml"],
             (0,), ("ms", 100.0)),
            # 0, 1 (non-compliant) and 3 (incomplete) are all finished runs of this host.
            ("lbaudit evaluate --policy policies/corp.yaml -q",
             [args.python, "-c", LBAUDIT, "evaluate", "--policy", "policies/corp.yaml", "-q",
              "-o", str(Path(tmp) / "evidence.json")], (0, 1, 3), ("x+mib", (12.0, 40.0))),
        ]
        compile_bytecode(args.python, repo)
        if baseline is not None:
            compile_bytecode(args.python, baseline)
        floor: Run | None = None
        floor_instructions = 0
        missed = 0
        print(f"{args.runs} runs each, median; auditor from {repo}" + (f", paired with {baseline}" if baseline else ""))
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: wall times on a loaded machine "
              "grow; the ratios to the floor (measured alike) and the CPU times grow least")
        print(f"{'command':50} {'wall':>10} {'ratio':>7} {'cpu':>10} {'ratio':>7} {'peak':>9}  target")
        for label, command, ok, target in cases:
            this_command = in_checkout(command, repo)
            base_command = in_checkout(command, baseline) if baseline is not None else []
            run_ms(this_command, repo, env_for(repo), ok)  # warm the page cache outside the timing
            if baseline is not None:
                run_ms(base_command, baseline, env_for(baseline), ok)
            runs, base_runs = [], []
            for _ in range(args.runs):
                runs.append(run_ms(this_command, repo, env_for(repo), ok))
                if baseline is not None:
                    base_runs.append(run_ms(base_command, baseline, env_for(baseline), ok))
            this = Run(statistics.median(r.wall_ms for r in runs), statistics.median(r.cpu_ms for r in runs),
                       int(statistics.median(r.peak_kib for r in runs)))
            floor = floor or this  # the first case, python3 -c pass
            ratio, cpu_ratio = this.wall_ms / floor.wall_ms, this.cpu_ms / floor.cpu_ms
            verdict = ""
            if target is not None:
                kind, limit = target
                if kind == "ms":
                    met = this.wall_ms < limit
                    verdict = f"< {limit:.0f} ms: {'met' if met else 'MISSED'} (cpu {'met' if this.cpu_ms < limit else 'missed'})"
                elif kind == "x":
                    met = ratio <= limit
                    verdict = f"<= {limit:.0f}x: {'met' if met else 'MISSED'} (cpu {'met' if cpu_ratio <= limit else 'missed'})"
                else:  # "x+mib": a ratio and a peak memory
                    limit, mib = limit  # type: ignore[misc]
                    met = ratio <= limit and this.peak_kib < mib * 1024
                    verdict = (f"<= {limit:.0f}x and < {mib:.0f} MiB: {'met' if met else 'MISSED'} "
                               f"(cpu ratio {'met' if cpu_ratio <= limit else 'missed'})")
                missed += not met
            line = (f"{label:50} {this.wall_ms:7.1f} ms {ratio:6.1f}x {this.cpu_ms:7.1f} ms {cpu_ratio:6.1f}x "
                    f"{this.peak_kib / 1024:5.1f} MiB  {verdict}")
            if base_runs:
                pairs = statistics.median(r.wall_ms / b.wall_ms for r, b in zip(runs, base_runs))
                line += (f"  | baseline {statistics.median(b.wall_ms for b in base_runs):7.1f} ms, "
                         f"paired ratio {pairs:.2f}")
            print(line)
            if args.instructions:
                counted = instructions(this_command, repo, env_for(repo))
                floor_instructions = floor_instructions or counted
                line = f"{'':50} instructions {counted / 1e6:9,.1f} M {counted / floor_instructions:6.1f}x"
                if baseline is not None:
                    before = instructions(base_command, baseline, env_for(baseline))
                    line += f"  | baseline {before / 1e6:9,.1f} M, this / baseline {counted / before:.3f}"
                print(line)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
