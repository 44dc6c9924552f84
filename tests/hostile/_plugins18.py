"""A plugin distribution written to a directory and ``lbaudit`` run in a process of its own with it
on ``PYTHONPATH``: what a plugin does to the process (its descriptors, working directory, umask,
environment, signal handlers) is the point of these tests, so the run is a real process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"  # a 10,001-port ephemeral pool

# lbaudit's main, with the plugin check's time limit shortened so that a test of it is quick.
MAIN = ("import sys; from auditor.engine import time_limit; time_limit.PLUGIN_CHECK_SECONDS = 0.5; "
        "import auditor.time_limit; auditor.time_limit.PLUGIN_LOAD_SECONDS = 0.5; "
        "from auditor.entry import main; sys.argv[0] = 'lbaudit'; sys.exit(main())")

POLICY = """id: hp
version: "1"
owner: Security <sec@example.com>
rules:
  - id: act
    check: hostplug.act
    params: {{mode: {mode}}}
  - id: eph
    check: net.ephemeral_port_range
    params: {{min_pool_size: 16384}}
"""


def write_plugin(site: Path, source: str, entry_points: str, module: str = "hostplug") -> Path:
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    return site


def write_policy(path: Path, mode: str) -> Path:
    path.write_text(POLICY.format(mode=mode), encoding="utf-8")
    return path


def run_lbaudit(site: Path, *args: object, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    env = {key: value for key, value in os.environ.items() if key != "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD"}
    env["PYTHONPATH"] = f"{REPO}{os.pathsep}{site}"
    return subprocess.run([sys.executable, "-c", MAIN, *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          timeout=timeout)
