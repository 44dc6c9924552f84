"""A waiver whose subject glob continues a number waives more than the finding it names, and says so.

The defect: ``subject: "tcp 0.0.0.0:80*"`` (port 80, "whatever holds it", with the space before the
star left out) also waived ``tcp 0.0.0.0:8080 ...``, ``:800``, ``:8000``: every listener on a port
that starts with 80.  The run was compliant (exit 0) over a failure nobody approved, and nothing
said so: no warning in ``validate`` or ``evaluate``, as there is for a blanket waiver.  A glob means
what it says, so the match stands, but the waiver is now warned about by place, naming the longer
numbers it covers and how to write the port whole.  A star after a port that no longer port can
follow (``:8080*``, ports end at 65535) or one after a space is not warned about.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, snapshot

POLICY = """\
id: widened
version: "1"
owner: Tests <tests@example.test>
rules:
  - id: loopback-only
    check: net.bind_addresses
    params:
      allow: [loopback]
waivers:
  - rule: loopback-only
    subject: "{subject}"
    reason: CHG-12 the legacy web server on port 80
    approver: Dana Whitfield (CISO)
    expires: 2999-12-31
"""


def _files(tmp_path: Path, subject: str) -> tuple[Path, Path]:
    snap = tmp_path / "snap.json"
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 80), listener("0.0.0.0", 8080)]), snap)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(subject=subject), encoding="utf-8")
    return policy, snap


def _warning(policy: Path, subject: str, examples: str, tip: str) -> str:
    return (f"lbaudit: warning: {policy}:10:5: waivers[0] (loopback-only): subject {subject!r}: the * beside "
            f"'80' continues that number, so the waiver also waives every subject with a longer number there "
            f"({examples}, ...), not only 80; write the number whole, as the finding's subject shows it{tip}")


def test_a_port_glob_without_its_space_waives_8080_and_is_warned_about(tmp_path):
    policy, snap = _files(tmp_path, "tcp 0.0.0.0:80*")
    run = run_cli("evaluate", "--policy", policy, "--snapshot", snap, "-o", tmp_path / "e.json", "--color", "never")
    # the glob matches both listeners as written: the run is compliant, both failures waived
    assert run.returncode == 0, run.stderr
    assert "verdict: COMPLIANT (exit 0)" in run.stdout
    waived = [line.split(" | ")[3] for line in run.stdout.splitlines() if line.startswith("loopback-only | high | waived | ")]
    assert waived == ["tcp 0.0.0.0:80 owner unknown", "tcp 0.0.0.0:8080 owner unknown"]
    # ... and the widening is named where the policy is read (before: no warning at all)
    warning = _warning(policy, "tcp 0.0.0.0:80*", "800, 8080", " (a port ends at a space: 'tcp 0.0.0.0:80 *')")
    assert warning in run.stderr.splitlines(), run.stderr
    validate = run_cli("validate", policy)
    assert validate.returncode == 0, validate.stderr
    assert f"  {policy}:10:5: warning: " + warning.split(":10:5: ", 1)[1] in validate.stdout.splitlines()


def test_a_star_before_the_port_is_warned_about_too(tmp_path):
    policy, snap = _files(tmp_path, "tcp 0.0.0.0:*80 *")
    run = run_cli("evaluate", "--policy", policy, "--snapshot", snap, "-o", tmp_path / "e.json", "--color", "never")
    assert run.returncode == 0, run.stderr
    assert _warning(policy, "tcp 0.0.0.0:*80 *", "180, 8080", "") in run.stderr.splitlines(), run.stderr


@pytest.mark.parametrize("subject", ["tcp 0.0.0.0:80 *", "tcp 0.0.0.0:8080*"])
def test_control_a_port_written_whole_is_not_warned_about(tmp_path, subject):
    policy, snap = _files(tmp_path, subject)
    run = run_cli("evaluate", "--policy", policy, "--snapshot", snap, "-o", tmp_path / "e.json", "--color", "never")
    assert run.returncode == 1, run.stderr  # the other listener still fails
    assert "continues that number" not in run.stderr
