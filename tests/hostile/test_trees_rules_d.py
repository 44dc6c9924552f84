"""Hostile offline images: rules.d file names that augenrules reads and lbaudit skipped.

augenrules runs ``for rules in $(ls -1v rules.d | grep '\\.rules$')``: the shell splits the names on
its IFS (space, tab, newline) only.  lbaudit dropped every name holding any white space Python's
``\\s`` knows, so ``05-x<VT>.rules`` (or ``\\r``, ``\\f``, a no-break space), which the boot loads,
was never read: its ``never`` rules, which silence bind before the ``always`` rules see it, were
missing and the persistent rules passed.  The names below were checked against augenrules' loop
under dash.  Since audit 4.2 augenrules globs ``rules.d/*.rules`` and reads names with a space or
tab too; lbaudit tells the two apart by the image's augenrules script.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.test_offline_images import evaluate, status
from tests.hostile.test_offline_images import image as image  # noqa: F401 - the fixture, used by name

NEVER_BIND = "-a never,exit -F arch=b64 -S bind\n-a never,exit -F arch=b32 -S bind\n"
READ_BY_AUGENRULES = {"vertical-tab": "05-x\x0b.rules", "carriage-return": "05-x\r.rules",
                      "form-feed": "05-x\x0c.rules", "no-break-space": "05-x\u00a0y.rules"}


@pytest.mark.parametrize("kind", sorted(READ_BY_AUGENRULES))
def test_never_rules_in_a_name_with_other_white_space_are_read(image: Path, kind: str) -> None:
    (image / "etc/audit/rules.d" / READ_BY_AUGENRULES[kind]).write_text(NEVER_BIND)
    code, findings = evaluate(image)
    assert status(findings, "audit", "persistent rules b64") == "fail"
    assert status(findings, "audit", "persistent rules b32") == "fail"
    assert code == 1


# The two ways augenrules has listed rules.d, as their scripts say it (audit 4.1 and 4.2).
AUGENRULES_LS = 'for rules in $(ls -1v ${SourceRulesDir} | grep "\\.rules$") ; do\n\tcat ${SourceRulesDir}/"${rules}"\ndone\n'
AUGENRULES_GLOB = ('for rules in "${SourceRulesDir}"/*.rules ; do\n\t[ -e "${rules}" ] || continue\n'
                   "\tprintf '%s\\0' \"${rules}\"\ndone | sort -zV | xargs -0r cat --\n")


@pytest.mark.parametrize("name", ["05-x y.rules", "05-x\ty.rules"])
def test_control_case_a_name_the_shell_splits_is_not_read(image: Path, name: str) -> None:
    # only by the augenrules of audit 4.1 and before, which the image carries
    (image / "usr/sbin/augenrules").write_text("#!/bin/sh\n" + AUGENRULES_LS)
    (image / "etc/audit/rules.d" / name).write_text(NEVER_BIND)
    code, findings = evaluate(image)
    assert status(findings, "audit", "persistent rules b64") == "pass"
    assert code == 0


@pytest.mark.parametrize("name", ["05-x y.rules", "05-x\ty.rules"])
def test_audit_4_2_augenrules_reads_a_name_with_a_space(image: Path, name: str) -> None:
    """augenrules of audit 4.2 (upstream fc08f19a) globs rules.d/*.rules: the never rules load."""
    (image / "usr/sbin/augenrules").write_text("#!/bin/sh\n" + AUGENRULES_GLOB)
    (image / "etc/audit/rules.d" / name).write_text(NEVER_BIND)
    code, findings = evaluate(image)
    assert status(findings, "audit", "persistent rules b64") == "fail"
    assert code == 1


def test_a_name_with_a_space_and_no_augenrules_to_tell_is_not_vouched_for(image: Path) -> None:
    # read as 4.2 reads it, so the never rules fail the scope; the reason names the doubt
    (image / "etc/audit/rules.d" / "05-x y.rules").write_text(NEVER_BIND)
    code, findings = evaluate(image)
    assert status(findings, "audit", "persistent rules b64") == "fail"
    assert "white space in its name" in findings[("audit", "persistent rules b64")]["message"]
    assert code == 1
    (image / "etc/audit/rules.d" / "05-x y.rules").write_text("# nothing\n")
    code, findings = evaluate(image)
    assert status(findings, "audit", "persistent rules b64") == "not_reviewed"
    assert code == 3
