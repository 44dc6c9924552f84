"""Waiver subjects full of brackets are read for a written character class in linear time.

``validate`` warns about a subject bracket written as a shell glob's class (``[0-9]``, ``[!x]``).  It
was found with ``\\[(?:[!^][^\\]]*|[^\\]]*[A-Za-z0-9]-[A-Za-z0-9][^\\]]*)\\]``, which reads the rest of
the subject from every "[": a subject of 1,024 "[" (the longest a subject may be) cost about 15 ms,
so a policy of such waivers (850 fit in the 1 MiB a policy may be) took 15 s and more to validate
and evaluate.  Now each
character is read once; what is warned about is unchanged (the tests of policy10_subject_classes).
"""

from __future__ import annotations

import time

from auditor.model.policy import MAX_WAIVER_GLOB
from tests.cli import run_cli

WAIVERS = 850  # as many as the 1 MiB a policy may be holds
HEAD = """\
id: brackets
version: "1"
owner: Sec
rules:
  - id: bind
    check: net.bind_addresses
waivers:
"""
WAIVER = """\
  - rule: bind
    subject: "{subject}"
    reason: CHG-{number} the exporter, scraped from the monitoring VLAN
    approver: Jane Doe
    expires: 2099-01-01
"""


def test_many_bracket_filled_subjects_validate_quickly(tmp_path):
    policy = tmp_path / "p.yaml"
    subjects = ["[" * (MAX_WAIVER_GLOB - 8) + f"{number:07d}]" for number in range(WAIVERS)]
    policy.write_text(HEAD + "".join(WAIVER.format(subject=s, number=n) for n, s in enumerate(subjects)))
    started = time.monotonic()
    validated = run_cli("validate", policy)
    took = time.monotonic() - started
    assert validated.returncode == 0, validated.stdout + validated.stderr
    # The digits are a class's text to no pattern ("0-9" is no range here): no warning of one.
    assert "character class" not in validated.stdout + validated.stderr
    assert took < 8, f"validate took {took:.1f} s"


def test_a_class_after_many_brackets_is_still_warned_about(tmp_path):
    policy = tmp_path / "p.yaml"
    subject = "[" * (MAX_WAIVER_GLOB - 8) + "[!x]*"
    policy.write_text(HEAD + WAIVER.format(subject=subject, number=1))
    validated = run_cli("validate", policy)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    said = validated.stdout + validated.stderr
    assert "[!x]', which is matched as written, not as a character class" in said, said
