"""A plugin whose import never ends.

A plugin's check and its reporter's rendering have time limits (tests/hostile/test_plugins_hang.py,
test_plugins_reporter_limits.py), but the import of its entry point, where its module's top-level
code runs, had none: a module that looped or waited at import held every command that loads plugins
(``evaluate``, ``list-checks``, ``report``) forever, with nothing saying which plugin it was.  Now
the import has a limit too (``auditor.time_limit.PLUGIN_LOAD_SECONDS``, shortened here): past it the
command is a registry error (exit 2) naming the entry point, as for a plugin that fails to import.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.hostile._plugins18 import ROOT, run_lbaudit, write_plugin, write_policy

pytestmark = pytest.mark.slow  # a real lbaudit process per case

HANGING_MODULE = """
import time

while True:
    try:
        time.sleep(3600)
    except Exception:
        pass
"""


@pytest.mark.parametrize("group, command", [("lbaudit.checks", "list-checks"), ("lbaudit.checks", "evaluate"),
                                            ("lbaudit.reporters", "evaluate")])
def test_a_plugin_whose_import_never_ends_is_exit_2_naming_it(tmp_path: Path, group: str, command: str) -> None:
    site = write_plugin(tmp_path / "site", HANGING_MODULE, f"[{group}]\nhangimp = hostplug:REPORTER\n")
    args: list[object] = [command]
    if command == "evaluate":
        policy = write_policy(tmp_path / "p.yaml", "x")
        if group == "lbaudit.reporters":  # no rule of the plugin's: only the evidence's record of reporters loads it
            policy.write_text(policy.read_text().split("  - id: act")[0]
                              + "  - id: eph\n    check: net.ephemeral_port_range\n")
        args += ["--policy", policy, "--root", ROOT, "-o", tmp_path / "e.json", "-q"]
    started = time.monotonic()
    result = run_lbaudit(site, *args, cwd=tmp_path, timeout=25)  # before: held forever (TimeoutExpired)
    assert time.monotonic() - started < 20
    assert result.returncode == 2, result.stderr
    assert b"'hangimp'" in result.stderr and b"did not finish" in result.stderr, result.stderr
    assert not (tmp_path / "e.json").exists()
