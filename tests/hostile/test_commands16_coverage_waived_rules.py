"""``lbaudit coverage`` does not count a rule every failing finding of which a blanket waiver waives.

The defect: a policy whose only listener rule had a waiver without a subject (every failing
finding of the rule waived until its expiry) was reported as covering CM-6, CM-7, SC-7 and SC-7(5)
"[rules: listeners]": a rule that cannot fail evidences nothing an auditor can rely on, and the
coverage share claimed it did.  Now such a rule is left out of the share while the waiver is
honoured (a subject of wildcards alone is the same blanket; an expired waiver and one naming a
subject are not), and the output names it and the waiver's expiry.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from tests.cli import run_cli

LISTENER_CONTROLS = ["CM-6", "CM-7", "SC-7", "SC-7(5)"]


def _policy(tmp_path, waiver: str):
    path = tmp_path / "policy.yaml"
    path.write_text(
        "id: waived\nversion: '1'\nowner: sec\nrules:\n"
        "  - id: listeners\n    check: net.bind_addresses\n    params: {allow: [loopback]}\n"
        "  - id: tw\n    check: net.time_wait\n    params: {max_time_wait_share: 0.5}\n"
        f"waivers:\n{waiver}", encoding="utf-8")
    return path


def _waiver(expires: date, subject: str | None = None) -> str:
    line = f"  - rule: listeners\n    reason: accepted\n    approver: bob\n    expires: {expires.isoformat()}\n"
    return line + (f"    subject: {json.dumps(subject)}\n" if subject is not None else "")


def _coverage(policy, *args):
    return run_cli("coverage", "--policy", policy, "--baseline", "moderate", *args,
                   env={"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"})


IN_A_MONTH = date.today() + timedelta(days=30)


@pytest.mark.parametrize("subject", [None, "*", "?*"], ids=["no-subject", "star", "wildcards"])
def test_a_rule_waived_wholesale_covers_nothing(tmp_path, subject):
    policy = _policy(tmp_path, _waiver(IN_A_MONTH, subject))

    run = _coverage(policy, "--json")

    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    covered = {c["id"]: c["rules"] for c in data["covered"]}
    # net.time_wait maps CM-6 too: that control stays covered, by tw alone
    assert covered.get("CM-6") == ["tw"]
    for control in ("CM-7", "SC-7", "SC-7(5)"):
        assert control not in covered
    not_covered = {c["id"]: c for c in data["not_covered"]}
    for control in ("CM-7", "SC-7", "SC-7(5)"):
        assert not_covered[control]["waived_rules"] == ["listeners"]
    assert data["waived_rules"] == [{"rule": "listeners", "expires": IN_A_MONTH.isoformat()}]

    text = _coverage(policy)
    assert text.returncode == 0, text.stderr
    assert "  CM-7      Least Functionality  [waived: listeners]\n" in text.stdout
    assert (f"Note: rule listeners is not counted: a waiver without a subject of its own waives every failing "
            f"finding of it until {IN_A_MONTH.isoformat()}, so it cannot fail\n") in text.stdout


@pytest.mark.parametrize("waiver", [
    _waiver(date.today() - timedelta(days=1)),  # expired: no longer honoured, the rule fails again
    _waiver(IN_A_MONTH, "tcp 0.0.0.0:8080 *"),  # one subject: the rest of the rule still judged
], ids=["expired", "one-subject"])
def test_control_a_rule_not_waived_wholesale_still_covers(tmp_path, waiver):
    run = _coverage(_policy(tmp_path, waiver), "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    covered = {c["id"]: c["rules"] for c in data["covered"]}
    assert {c: covered.get(c) for c in LISTENER_CONTROLS} == {
        "CM-6": ["listeners", "tw"], "CM-7": ["listeners"], "SC-7": ["listeners"], "SC-7(5)": ["listeners"]}
    assert data["waived_rules"] == []


def _waivers_file(tmp_path, waiver: str):
    path = tmp_path / "waivers.yaml"
    path.write_text(f"waivers:\n{waiver}", encoding="utf-8")
    return path


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_blanket_waiver_of_the_separate_waivers_file_is_seen(tmp_path, how):
    # the waivers evaluate applies besides the policy's (--waivers, LBAUDIT_WAIVERS, waivers: in the
    # configuration): coverage could not be told of them, and counted the rule they waive wholesale
    policy = _policy(tmp_path, "  []\n")
    waivers = _waivers_file(tmp_path, _waiver(IN_A_MONTH))
    if how == "option":
        run = _coverage(policy, "--json", "--waivers", waivers)
    else:
        run = run_cli("coverage", "--policy", policy, "--baseline", "moderate", "--json",
                      env={"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "LBAUDIT_WAIVERS": str(waivers)})
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert {c["id"] for c in data["covered"]} == {"CM-6", "SC-5"}  # tw's alone
    assert data["waived_rules"] == [{"rule": "listeners", "expires": IN_A_MONTH.isoformat()}]


def test_a_waivers_file_that_is_not_one_is_refused_naming_it(tmp_path):
    policy = _policy(tmp_path, "  []\n")
    bad = tmp_path / "waivers.yaml"
    bad.write_text("rules: []\n", encoding="utf-8")
    run = _coverage(policy, "--waivers", bad)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert str(bad) in run.stderr
    assert run.stdout == ""
