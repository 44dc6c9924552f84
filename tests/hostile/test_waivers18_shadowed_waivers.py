"""A waiver another one already covers is warned about, and a failure waived twice over is counted once.

A failing finding is waived by the first honoured waiver that matches it, in the order the run
applies them (the policy's, then those of ``--waivers``).  Two things went wrong when more than one
matched:

* a waiver that an earlier one of the same rule made dead, the same subject (or an earlier one of no
  subject, which matches every subject) honoured at least as long, loaded without a word: it can
  never waive anything while the earlier one is there, yet it read as granted (a copy left in the
  policy after the waiver moved to a waivers file, a second approval pasted under the first), and the
  run called it "applied", so no "matched no failing finding" warning ever said it was dead either;
* the HDF profile's waiver message summed what each waiver matched: one failure matched by three
  waivers was "3 findings waived by the policy"; the attestation (PDF and HTML) called the dead
  waiver "applied" to the failure another approval waived.

Now ``validate`` and ``evaluate`` warn at such a waiver, naming the earlier one (and ``evaluate`` at
one an earlier glob left nothing to waive in its run), HDF counts the
rule's waived findings, and the attestation calls such a waiver "superseded".  A waiver of the same subject that runs longer (a renewal, which takes over
when the first expires) is not warned about.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"  # a 10,001-port ephemeral pool: fails below

POLICY = """id: shadow
version: "1"
owner: T
rules:
  - id: eph
    check: net.ephemeral_port_range
    params: {min_pool_size: 16384}
waivers:
  - rule: eph
    subject: %s
    reason: Pool accepted in CHG-1
    approver: Alice Doe
    expires: 2099-06-30
"""
WAIVERS = """waivers:
  - rule: eph
    subject: ephemeral port pool
    reason: Pool accepted in CHG-2
    approver: Bob Roe
    expires: %s
"""


def _files(tmp_path: Path, policy_subject: str = "ephemeral port pool", file_expires: str = "2099-01-01"):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY % policy_subject, encoding="utf-8")
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVERS % file_expires, encoding="utf-8")
    return policy, waivers


def test_validate_warns_at_a_waiver_an_earlier_one_of_the_same_subject_outlasts(tmp_path):
    policy, waivers = _files(tmp_path)
    run = run_cli("validate", "--no-plugins", policy, "--waivers", waivers)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "waivers.yaml:2:5: warning: waivers[0] (eph): waives nothing: waivers[0] (" in run.stdout, run.stdout
    assert ("policy.yaml:9:5) is applied first and waives every failure this one names, as long or longer (until "
            "2099-06-30); remove one of them") in run.stdout, run.stdout


def test_a_waiver_of_no_subject_shadows_every_later_one_of_its_rule(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text((POLICY % "x").replace("    subject: x\n", ""), encoding="utf-8")
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVERS % "2099-01-01", encoding="utf-8")
    run = run_cli("validate", "--no-plugins", policy, "--waivers", waivers)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "waivers.yaml:2:5: warning: waivers[0] (eph): waives nothing: waivers[0] (" in run.stdout, run.stdout
    assert "policy.yaml:9:5) is applied first and waives every failure this one names" in run.stdout, run.stdout


def test_evaluate_warns_too_and_hdf_counts_the_failure_once(tmp_path):
    policy, waivers = _files(tmp_path)
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--no-plugins", "--policy", policy, "--waivers", waivers, "--target", f"root:{ROOT}",
                  "-o", evidence, "--color", "never")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "waivers.yaml:2:5: waivers[0] (eph): waives nothing: waivers[0] (" in run.stderr, run.stderr
    assert "every failing finding it matches" not in run.stderr, run.stderr  # said once, by the warning above
    findings = json.loads(evidence.read_bytes())["result"]["findings"]
    waived = [f for f in findings if f["status"] == "waived"]
    assert [f["waiver"]["approver"] for f in waived] == ["Alice Doe"]
    out = tmp_path / "out"
    run = run_cli("report", evidence, "--format", "hdf,html", "--out-dir", out)
    assert run.returncode == 0, run.stdout + run.stderr
    control = next(c for c in json.loads((out / "shadow.hdf.json").read_bytes())["profiles"][0]["controls"]
                   if c["id"] == "eph")
    assert control["waiver_data"]["message"] == "1 finding waived by the policy", control["waiver_data"]
    assert "superseded: subject ephemeral port pool, approved by Bob Roe" in control["waiver_data"]["justification"]
    rows = re.findall(r'<tr class="w-([a-z]+)">(.*?)</tr>', (out / "shadow.html").read_text(encoding="utf-8"))
    states = {("Alice" in cells, "Bob" in cells): state for state, cells in rows}
    assert states == {(True, False): "applied", (False, True): "superseded"}, rows


def test_control_case_a_renewal_that_runs_longer_is_not_warned_about(tmp_path):
    policy, waivers = _files(tmp_path, file_expires="2099-12-31")
    run = run_cli("validate", "--no-plugins", policy, "--waivers", waivers)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "waives nothing" not in run.stdout


def test_control_case_another_subject_is_not_warned_about(tmp_path):
    policy, waivers = _files(tmp_path, policy_subject="ephemeral port pool of netns x")
    run = run_cli("validate", "--no-plugins", policy, "--waivers", waivers)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "waives nothing" not in run.stdout


def test_evaluate_warns_at_a_waiver_an_earlier_glob_leaves_nothing_to_waive(tmp_path):
    """An earlier glob (``ephemeral*``) waived the failure a later waiver names exactly: no static
    rule can tell every glob that covers another, so ``evaluate`` says so from what the run waived,
    where it said nothing and the later waiver read as "applied"."""
    policy, waivers = _files(tmp_path, policy_subject="ephemeral*")
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--no-plugins", "--policy", policy, "--waivers", waivers, "--target", f"root:{ROOT}",
                  "-o", evidence, "--color", "never")
    assert run.returncode == 0, run.stdout + run.stderr
    assert ("waivers.yaml:2:5: waivers[0] (eph): every failing finding it matches (1) is waived by an earlier "
            "waiver, so it waives nothing in this run") in run.stderr, run.stderr
    assert "policy.yaml:9:5: waivers[0] (eph): every failing finding" not in run.stderr, run.stderr
