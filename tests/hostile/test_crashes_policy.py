"""Policy texts the structured fuzz (scripts/fuzz_inputs.py) crashed lbaudit with.

A YAML double-quoted string may write a UTF-16 surrogate as an escape (``"\\ud800"``); PyYAML reads
it as a lone surrogate, a character no UTF-8 file can hold.  Pydantic refused it in some fields,
but a text it kept (an exception's ``user`` pattern, a rule's title) reached the policy digest, whose
UTF-8 encoding raised UnicodeEncodeError: exit 70, with nothing said about the policy.  An emoji
written as the surrogate pair JSON uses (``"\\ud83d\\ude00"``) is two lone surrogates to YAML, which
has ``\\U0001F600`` for it.  Each is refused where it is written (exit 2, file:line:column) by the one
reader of policy, waivers and configuration YAML, and nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import snapshot
from tests.hostile.test_input_loaders import POLICY, hostile_values, mutated

POLICY_DOC = yaml.safe_load(POLICY)

USAGE = 2

HEAD = 'id: fuzzed\nversion: "1"\nowner: Security Engineering\n'
RULE = "rules:\n  - id: listeners\n    check: net.bind_addresses\n"


def _evaluate(directory: Path, policy: str, *extra: str):
    (directory / "policy.yaml").write_text(policy, encoding="utf-8")
    (directory / "snap.json").write_bytes(snapshot_bytes(snapshot()))
    return run_cli("evaluate", "--no-plugins", "--policy", "policy.yaml", "--snapshot", "snap.json",
                   "-o", "ev.json", "--color", "never", *extra, cwd=directory, env={"LBAUDIT_CONFIG": ""}, timeout=60)


@pytest.mark.parametrize("policy, where, escape", [
    # the fuzz's find: an exception's user pattern with a surrogate escape before it
    (HEAD + RULE + '    params:\n      exceptions:\n        - match: {user: "\\ud80010??"}\n'
     '          allow: [private]\n          reason: app tier\n', "policy.yaml:9:25", "\\ud800"),
    (HEAD + RULE + '    title: "listeners \\udfff"\n', "policy.yaml:7:12", "\\udfff"),
    (HEAD + 'description: "\\ud83d\\ude00 baseline"\n' + RULE, "policy.yaml:4:14", "\\ud83d"),
    (HEAD + RULE + '    params:\n      "allow\\udc80": [loopback]\n', "policy.yaml:8:7", "\\udc80"),
])
def test_a_lone_surrogate_escape_in_the_policy_is_exit_2_where_it_is_written(tmp_path, policy, where, escape):
    run = _evaluate(tmp_path, policy)
    assert run.returncode == USAGE, (run.returncode, run.stderr)
    assert "internal error" not in run.stderr
    assert f"{where}: lone surrogate '{escape}' in a string" in run.stderr, run.stderr
    assert "write the character itself or \\UXXXXXXXX" in run.stderr, run.stderr
    assert not (tmp_path / "ev.json").exists()


def test_a_surrogate_pair_in_a_waivers_file_is_exit_2_naming_its_line(tmp_path):
    (tmp_path / "waivers.yaml").write_text(
        'waivers:\n  - rule: listeners\n    subject: "tcp \\ud83d\\ude00"\n    reason: migration\n'
        "    approver: CISO\n    expires: 2027-03-31\n", encoding="ascii")
    run = _evaluate(tmp_path, HEAD + RULE, "--waivers", "waivers.yaml")
    assert run.returncode == USAGE, (run.returncode, run.stderr)
    assert "waivers.yaml:3:14: lone surrogate '\\ud83d' in a string" in run.stderr, run.stderr
    assert not (tmp_path / "ev.json").exists()


def test_an_astral_character_written_as_yaml_escapes_it_still_loads(tmp_path):
    """YAML's own escape of a character beyond U+FFFF, and the character itself, are text as before."""
    run = _evaluate(tmp_path, HEAD + RULE + '    title: "listeners \\U0001F600 \U0001F600"\n')
    assert run.returncode in (0, 1, 3), (run.returncode, run.stderr)
    evidence = json.loads((tmp_path / "ev.json").read_text(encoding="utf-8"))
    assert [rule["title"] for rule in evidence["policy"]["rules"]] == ["listeners \U0001F600 \U0001F600"]


# Text the fuzz found YAML escapes make: surrogates (lone, paired, reversed), astral characters,
# bidi and other format characters, NUL; written by a dumper that escapes everything non-ASCII.
escaped_texts = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010), max_size=4),
    st.sampled_from(["\ud800", "\udfff", "\ud83d\ude00", "\ude00\ud83d", "\U0001F600", "\u202e", "\ufeff",
                     "\u200b", "\x00", "\x85", "\u2028", "x" * 100_000]),
)


@pytest.mark.slow  # hypothesis: evaluates each mutated policy (about 0.1 s each)
@settings(max_examples=30, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(document=mutated(POLICY_DOC, values=st.one_of(escaped_texts, hostile_values), rounds=2),
       prefix=escaped_texts)
def test_a_policy_whose_texts_are_yaml_escapes_is_judged_or_refused_where_written(tmp_path_factory, document, prefix):
    """Any text of the policy, escaped as YAML escapes it: exit 2 naming the file, or a judgement."""
    work = tmp_path_factory.mktemp("escaped-policy")
    if isinstance(document, dict) and isinstance(document.get("description", ""), str):
        document["description"] = prefix + str(document.get("description", ""))
    try:
        text = yaml.safe_dump(document, allow_unicode=False, width=10**9)
    except yaml.YAMLError:
        return
    run = _evaluate(work, text)
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr, run.stderr[-2000:]
    assert run.returncode in (0, 1, 3, USAGE), (run.returncode, run.stderr[-1500:])
    if run.returncode == USAGE:
        assert "policy.yaml" in run.stderr.splitlines()[0], run.stderr[:500]
        assert not (work / "ev.json").exists()
