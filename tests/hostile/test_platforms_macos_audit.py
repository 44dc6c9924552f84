"""Hostile macOS audit(4) configurations: the network class audited for login sessions only.

The kernel preselects the events of a process whose audit user id is unset (AU_DEFAUDITID: every
daemon launchd starts at boot, sshd, cupsd, mDNSResponder...) with the non-attributable mask
(``naflags:``), not with ``flags:`` (``audit_nae_mask`` in audit_syscall_enter / audit_commit,
OpenBSM and XNU alike).  ``flags:lo,aa,+nt`` with the stock ``naflags:lo,aa`` records the sockets
of logged-in users and none of the daemons that hold the listeners: never a pass.

Each case copies the ``macos-audited`` fixture bundle, edits ``audit_control``, and replays it with
``lbaudit evaluate --target replay:DIR`` in-process, asserting the exact status and exit code.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import orjson
import pytest

from tests.bundles import BUNDLES, CORP, replay_edited
from tests.cli import run_cli

NETWORK_CLASS = ("socket-audit", "audit(4) network class")


def replay(tmp_path: Path, edit) -> tuple[int, dict]:
    return replay_edited(tmp_path, "macos-audited", lambda directory: edit(directory / "audit_control"))[:2]

def _set_naflags(line: str | None):
    def edit(path: Path) -> None:
        kept = [x for x in path.read_text().splitlines() if not x.startswith("naflags:")]
        path.write_text("\n".join(kept + ([line] if line is not None else [])) + "\n")
    return edit


def test_control_case_network_class_in_both_masks_passes(tmp_path):
    code, found = replay(tmp_path, _set_naflags("naflags:lo,aa,+nt"))
    assert found[NETWORK_CLASS]["status"] == "pass"
    assert found[NETWORK_CLASS]["observed"] == {"flags": ["lo", "aa", "+nt"], "naflags": ["lo", "aa", "+nt"],
                                                 "audit_user": [{"name": "root", "always": ["lo"], "never": ["no"]}]}


@pytest.mark.parametrize("line, shown", [
    ("naflags:lo,aa", "naflags:lo,aa does not"),  # the stock OpenBSM audit_control
    ("naflags:lo,aa,^nt", "naflags:lo,aa,^nt does not"),
    ("naflags:-nt", "naflags:-nt does not"),  # failures only
    ("naflags:", "no naflags: value (an empty non-attributable mask) does not"),
    (None, "no naflags: value (an empty non-attributable mask) does not"),  # auditd leaves the mask empty
])
def test_network_class_only_for_login_sessions_fails(tmp_path, line, shown):
    code, found = replay(tmp_path, _set_naflags(line))
    assert code == 1
    finding = found[NETWORK_CLASS]
    assert finding["status"] == "fail"  # was pass: judged on flags: alone
    assert shown in finding["message"]
    assert "every daemon launchd starts" in finding["message"]


def test_a_snapshot_without_naflags_is_not_reviewed_never_passed(tmp_path):
    # A snapshot written before naflags was recorded: the daemons' mask is unknown.
    directory = tmp_path / "macos-audited"
    shutil.copytree(BUNDLES / "macos-audited", directory)
    snapshot = tmp_path / "s.json"
    assert run_cli("collect", "--replay", directory, "--output", snapshot, "-q", timeout=60).returncode == 0
    data = orjson.loads(snapshot.read_bytes())
    del data["facts"]["audit"]["macos"]["naflags"]
    snapshot.write_bytes(orjson.dumps(data))
    out = tmp_path / "evidence.json"
    result = run_cli("evaluate", "--policy", CORP, "--snapshot", snapshot, "--output", out, "-q", "--no-plugins",
                     timeout=60)
    assert result.returncode == 1, result.stderr
    found = {(f["rule_id"], f["subject"]): f for f in json.loads(out.read_text())["result"]["findings"]}
    assert found[NETWORK_CLASS]["status"] == "not_reviewed"
    assert "the naflags: line (the mask of daemons no login is attributed to) was not recorded" in (
        found[NETWORK_CLASS]["reason"])
