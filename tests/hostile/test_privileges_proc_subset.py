"""A /proc mounted with ``subset=pid`` (systemd's ProcSubset=pid): it shows processes only, so
/proc/sys and /proc/net are absent.  Every running sysctl is then not_reviewed, and the reason must
say why: before, each key was reported as one "this kernel does not know", which sends an
administrator after the kernel instead of the mount.

A real /proc with subset=pid in a private mount namespace (and a network namespace of its own).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.cli import run_cli
from tests.privileges import CLONE_NEWNET, require_root, run_in_new_namespaces

REASON = ("/proc/sys: not present (this /proc shows processes only: mounted with subset=pid): no running sysctl "
          "can be read through it; the boot's sysctl configuration could not be read completely: /proc/cmdline: "
          "not found (the kernel command line may set sysctls)")  # a pid-only /proc has no cmdline either


def _evaluate(tmp_path: Path) -> tuple[int, dict[str, Any]]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent("""\
        id: subset
        version: '1'
        owner: tests
        rules:
          - id: tw
            check: net.time_wait
            params: {allowed_tw_reuse: [0, 2]}
        """))
    out = tmp_path / "evidence.json"
    result = run_cli("evaluate", "--policy", policy, "--output", out, "--quiet", env={"LBAUDIT_CONFIG": ""})
    findings = json.loads(out.read_text())["result"]["findings"]
    return result.returncode, {f["subject"]: f for f in findings}


@pytest.mark.live  # mounts a /proc with subset=pid in a private mount namespace
def test_running_sysctls_behind_a_pid_only_proc_are_not_reviewed_naming_the_mount(tmp_path):
    require_root()
    code, findings = run_in_new_namespaces(lambda: _evaluate(tmp_path), CLONE_NEWNET, "subset=pid")
    finding = findings["sysctl net.ipv4.tcp_tw_reuse"]
    assert (finding["status"], finding["reason"]) == ("not_reviewed", REASON)  # before: "this kernel does not know"
    assert code == 3
