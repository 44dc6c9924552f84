"""Hostile corpus, waivers: a rule name that only looks right is named as what it is.

A waiver names its rule by id.  An id is ASCII (letters, digits, '.', '_', '-'); a waiver whose
rule was typed with a look-alike letter (Cyrillic ``і``, U+0456, in ``bіnd``) was refused with
"must start with a letter or digit and hold only letters, digits ...; found 'bіnd'": the character
at fault is a letter, the name printed reads ``bind``, and nothing said which character was wrong.
A rule named in the wrong case (``BIND``) was "no rule 'BIND' in this policy" without the
suggestion a misspelling gets (difflib compares case).  Both are exit 2 (never applied), but the
message sent the reader looking for a mistake they could not see.  Now the first character that is
not ASCII is named by its code point and Unicode name, and a rule differing only in case is
suggested.

Real policy and waivers files and ``lbaudit validate``, as a user runs it.
"""

from __future__ import annotations

from tests.cli import run_cli

POLICY = """\
id: lookalike
version: "1"
owner: Sec
rules:
  - id: bind
    check: net.bind_addresses
"""
WAIVERS = """\
waivers:
  - rule: {rule}
    subject: "tcp 0.0.0.0:22 *"
    reason: CHG-5
    approver: Jane Doe
    expires: 2099-01-01
"""


def _validate(tmp_path, rule: str) -> tuple[int, str]:
    (tmp_path / "p.yaml").write_text(POLICY)
    (tmp_path / "w.yaml").write_text(WAIVERS.format(rule=rule), encoding="utf-8")
    result = run_cli("validate", tmp_path / "p.yaml", "--waivers", tmp_path / "w.yaml")
    return result.returncode, result.stdout + result.stderr


def test_a_look_alike_letter_in_a_rule_name_is_named_by_its_code_point(tmp_path):
    code, said = _validate(tmp_path, "b\u0456nd")
    assert code == 2
    assert ("w.yaml:2:5: waivers[0].rule: must start with an ASCII letter or digit and hold only ASCII letters, "
            "digits, '.', '_' and '-' (at most 128 characters): character 2 is U+0456 CYRILLIC SMALL LETTER "
            "BYELORUSSIAN-UKRAINIAN I, which is not ASCII; found 'b\u0456nd'") in said


def test_a_rule_named_in_another_case_gets_the_suggestion(tmp_path):
    code, said = _validate(tmp_path, "BIND")
    assert code == 2
    assert "w.yaml:2:5: waivers[0].rule: no rule 'BIND' in this policy; did you mean 'bind'?" in said


def test_control_case_a_misspelling_still_gets_its_suggestion(tmp_path):
    code, said = _validate(tmp_path, "bnid")
    assert code == 2
    assert "waivers[0].rule: no rule 'bnid' in this policy; did you mean 'bind'?" in said
