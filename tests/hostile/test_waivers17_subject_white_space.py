"""A waiver subject that starts or ends with white space is refused at its line: it waives nothing.

No finding's subject starts or ends with white space (a listener's process name writes its spaces as
``\\x20``), so such a glob matches none, as a blank subject (refused already) matches none.  The
usual way to write one is YAML's ``|`` block, which keeps a final line break: ``subject: |`` over
``ephemeral port pool`` is ``"ephemeral port pool\\n"``.  It loaded, ``validate`` said ``ok``, the
failure it was written for failed, and ``evaluate`` said the waiver "matched no failing finding in
this run; remove it if what it waived is fixed", of a failure in that very run.  Now it is exit 2
at the subject's line, saying what is at fault and what was expected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

POLICY = """id: edges
version: "1"
owner: T
rules:
  - id: eph
    check: net.ephemeral_port_range
waivers:
  - rule: eph
    subject: {subject}
    reason: Pool widened in CHG-1
    approver: Jane Doe
    expires: 2099-01-01
"""


def _validate(tmp_path: Path, subject: str):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(subject=subject), encoding="utf-8")
    return run_cli("validate", "--no-plugins", policy)


@pytest.mark.parametrize(("subject", "said"), [
    ("|\n      ephemeral port pool", "'ephemeral port pool\\n' ends with a line break"),
    ('" ephemeral port pool"', "' ephemeral port pool' starts with white space"),
    ('"ephemeral port pool "', "'ephemeral port pool ' ends with white space"),
    ('"tcp 0.0.0.0:8080 *\\t"', "'tcp 0.0.0.0:8080 *\\t' ends with white space"),
])
def test_a_subject_with_white_space_at_an_end_is_refused(tmp_path, subject, said):
    """On main: exit 0, ``ok``; the waiver then waived nothing and was called fixed."""
    run = _validate(tmp_path, subject)
    out = (run.stdout + run.stderr).replace("\n", " ")
    assert run.returncode == 2, out
    assert f"policy.yaml:9:5: waivers[0].subject: {said}, and no finding's subject does, so it waives nothing" in out


@pytest.mark.parametrize("subject", ['"ephemeral port pool"', "|-\n      ephemeral port pool", '"tcp 0.0.0.0:8080 *"'])
def test_control_case_a_subject_without_it_loads(tmp_path, subject):
    run = _validate(tmp_path, subject)
    assert run.returncode == 0, run.stdout + run.stderr
