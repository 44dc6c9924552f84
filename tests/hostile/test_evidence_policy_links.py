"""The same policy named through a link to its file is the same policy, with the same evidence.

The policy file itself was recorded (rule sources, ``sources``, so ``policy_sha256``) under the name
it was given by, a link's name included, while every other file of it (what it extends, the waivers
file) was recorded from the link's target: ``/etc/lbaudit/policy.yaml -> ../policies/corp-v3.yaml``
gave rules of "policy.yaml:7" beside ``../shared/base.yaml`` (relative to the target's directory, not
to the link's), another policy SHA-256 than the same file named directly, and ``diff`` of two runs
said "the policy changed" with no rule, check or waiver differing.  Now the policy file is recorded
by the name of the file it is (``auditor/policy/loader.py`` ``_recorded``).
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, snapshot
from tests.hostile.test_determinism import BASE, CHILD, WAIVERS

NON_COMPLIANT = 1


def _work(tmp_path: Path) -> Path:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "base.yaml").write_text(BASE)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "corp-v3.yaml").write_text(CHILD)
    (tmp_path / "policies" / "waivers.yaml").write_text(WAIVERS)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "policy.yaml").symlink_to("../policies/corp-v3.yaml")
    (tmp_path / "etc" / "waivers.yaml").symlink_to("../policies/waivers.yaml")
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22), listener("0.0.0.0", 2222)]), tmp_path / "snap.json")
    return tmp_path


def _evaluate(work: Path, policy: str, waivers: str, output: str) -> dict:
    result = run_cli("evaluate", "--policy", policy, "--waivers", waivers, "--snapshot", "snap.json", "-o", output,
                     "-q", cwd=work)
    assert result.returncode == NON_COMPLIANT, result.stderr
    document = json.loads((work / output).read_text())
    for name in ("started_at", "finished_at", "timings_ms"):
        document["run"].pop(name)
    return document


def test_a_policy_named_through_a_link_to_its_file_is_recorded_as_that_file(tmp_path):
    work = _work(tmp_path)
    direct = _evaluate(work, "policies/corp-v3.yaml", "policies/waivers.yaml", "a.json")
    linked = _evaluate(work, "etc/policy.yaml", "etc/waivers.yaml", "b.json")
    # before: "policy.yaml" and "policy.yaml:7" through the link, beside "../shared/base.yaml"
    assert [s["path"] for s in linked["policy"]["sources"]] == ["corp-v3.yaml", "../shared/base.yaml"]
    assert [r["source"] for r in linked["policy"]["rules"]] == ["corp-v3.yaml:7"]
    assert linked["waiver_file"]["path"] == "waivers.yaml"
    assert linked["policy_sha256"] == direct["policy_sha256"]
    assert linked == direct


def test_diff_of_the_policy_named_directly_and_through_a_link_sees_no_policy_change(tmp_path):
    work = _work(tmp_path)
    _evaluate(work, "policies/corp-v3.yaml", "policies/waivers.yaml", "a.json")
    _evaluate(work, "etc/policy.yaml", "etc/waivers.yaml", "b.json")
    result = run_cli("diff", work / "a.json", work / "b.json")
    assert result.returncode == 0, result.stderr
    assert "policy changes: 0 (0 losing coverage)" in result.stdout  # before: 1, policy_digest_changed
    assert "policy changed" not in result.stdout
