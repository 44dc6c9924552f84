"""Captured Windows and macOS bundles the tests replay (tests/fixtures/bundles, see its README), and
the one-rule policy the platform tests judge them with."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable

BUNDLES = Path(__file__).resolve().parent / "fixtures" / "bundles"

# Only loopback listeners allowed: a listener the parsers miss or misread changes this rule's verdict.
LOOPBACK_ONLY = """\
id: loopback-only
version: "1"
owner: Security Engineering
rules:
  - id: listeners
    check: net.bind_addresses
    params:
      allow: [loopback]
"""

CORP = BUNDLES.parents[2] / "policies" / "corp.yaml"


def replay_edited(tmp_path: Path, name: str, edit: Callable[[Path], None], policy: Path | str = CORP, *,
                  evidence_expected: bool = True) -> tuple[int, dict[tuple[str, str], dict[str, Any]], str]:
    """``lbaudit evaluate --target replay:DIR`` of a copy of bundle ``name`` that ``edit`` changed
    first, judged by ``policy`` (a path, or the text of one): (exit code, its findings by (rule id,
    subject), its standard error).  Never a traceback; the evidence must be written unless
    ``evidence_expected`` is False (then no file gives no findings)."""
    from tests.cli import run_cli

    directory = tmp_path / name
    shutil.copytree(BUNDLES / name, directory)
    edit(directory)
    if isinstance(policy, str):
        (tmp_path / "policy.yaml").write_text(policy)
        policy = tmp_path / "policy.yaml"
    out = tmp_path / "evidence.json"
    result = run_cli("evaluate", "--policy", policy, "--target", f"replay:{directory}", "--output", out, "-q",
                     "--no-plugins", cwd=tmp_path, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    assert out.exists() or not evidence_expected, result.stderr
    found = {}
    if out.exists():
        found = {(f["rule_id"], f["subject"]): f for f in json.loads(out.read_text())["result"]["findings"]}
    return result.returncode, found, result.stderr
