"""The same inputs give the same evidence bytes, apart from the documented time fields, whatever the
run's surroundings: working directory, how the policy is named, time zone, locale, hash seed, umask.

The policy's files were recorded by their path relative to the working directory (or absolute when
outside it): the same policy named ``policy.yaml``, ``/abs/policy.yaml`` or through a linked
directory gave other rule sources, other ``sources`` and so another policy SHA-256, and ``diff`` of
two runs said the policy had changed.  Now every file of a policy (and ``--waivers``) is recorded
relative to the directory of the policy given (``auditor/policy/loader.py`` ``_recorded``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, snapshot

NON_COMPLIANT = 1
TIME_FIELDS = ("started_at", "finished_at", "timings_ms")

BASE = """\
id: base
version: "1"
owner: Tests <tests@example.test>
description: the base of the policy under test
rules:
  - id: loopback-only
    check: net.bind_addresses
    params:
      allow: [loopback]
"""

CHILD = """\
id: child
version: "2"
owner: Tests <tests@example.test>
description: extends the base
extends: ../shared/base.yaml
rules:
  - id: loopback-only
    severity: critical
"""

WAIVERS = """\
waivers:
  - rule: loopback-only
    subject: "tcp 0.0.0.0:2222*"
    reason: a lab box
    approver: Tests <tests@example.test>
    expires: "2099-12-31"
"""


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "base.yaml").write_text(BASE)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "child.yaml").write_text(CHILD)
    (tmp_path / "policies" / "waivers.yaml").write_text(WAIVERS)
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22), listener("0.0.0.0", 2222)]), tmp_path / "snap.json")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "policies")
    return tmp_path


def _without_time(evidence: Path) -> dict:
    document = json.loads(evidence.read_text())
    for name in TIME_FIELDS:
        document["run"].pop(name)
    return document


def _evaluate(cwd: Path, policy: Path | str, waivers: Path | str, output: Path) -> dict:
    snapshot_file = next(p / "snap.json" for p in (cwd, *cwd.parents) if (p / "snap.json").exists())
    result = run_cli("evaluate", "--policy", policy, "--waivers", waivers, "--snapshot", snapshot_file, "-o", output,
                     "-q", cwd=cwd)
    assert result.returncode == NON_COMPLIANT, result.stderr
    return _without_time(output)


def test_the_policy_named_from_another_directory_or_through_a_link_is_the_same_policy(work: Path):
    relative = _evaluate(work, "policies/child.yaml", "policies/waivers.yaml", work / "a.json")
    absolute = _evaluate(work / "elsewhere", work / "policies" / "child.yaml", work / "policies" / "waivers.yaml",
                         work / "b.json")
    linked = _evaluate(work / "elsewhere", "../linked/child.yaml", "../linked/waivers.yaml", work / "c.json")
    policy = relative["policy"]
    # before: "policies/child.yaml:6", an absolute path from elsewhere, "../linked/child.yaml" through the link
    assert [s["path"] for s in policy["sources"]] == ["child.yaml", "../shared/base.yaml"]
    assert [r["source"] for r in policy["rules"]] == ["child.yaml:7"]
    assert relative["waiver_file"]["path"] == "waivers.yaml"
    assert absolute == relative and linked == relative  # before: three policy SHA-256s for one policy


def test_diff_of_the_same_policy_named_two_ways_sees_no_policy_change(work: Path):
    _evaluate(work, "policies/child.yaml", "policies/waivers.yaml", work / "a.json")
    _evaluate(work / "elsewhere", work / "policies" / "child.yaml", work / "policies" / "waivers.yaml",
              work / "b.json")
    result = run_cli("diff", work / "a.json", work / "b.json")
    assert result.returncode == 0, result.stderr
    assert "policy changes: 0 (0 losing coverage)" in result.stdout  # before: 1, policy_digest_changed
    assert "policy changed" not in result.stdout


def test_control_case_a_policy_that_differs_is_still_another_policy(work: Path):
    _evaluate(work, "policies/child.yaml", "policies/waivers.yaml", work / "a.json")
    (work / "policies" / "child.yaml").write_text(CHILD.replace("critical", "high"))
    _evaluate(work, "policies/child.yaml", "policies/waivers.yaml", work / "b.json")
    result = run_cli("diff", work / "a.json", work / "b.json")
    assert result.returncode == NON_COMPLIANT  # a lowered severity is a regression of the policy
    assert "note: the policy changed between the scans" in result.stdout


FORMATS = "sarif,junit,html,text,oscal,hdf,prometheus"
SURROUNDINGS = [
    {"TZ": "UTC", "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0"},
    {"TZ": "Pacific/Kiritimati", "LC_ALL": "C", "LANG": "C", "PYTHONHASHSEED": "1"},
    {"TZ": "America/St_Johns", "LC_ALL": "POSIX", "PYTHONHASHSEED": "random", "COLUMNS": "20"},
    {"TZ": "Asia/Kolkata", "LC_ALL": "xx_XX.UTF-8", "LANG": "xx_XX", "PYTHONIOENCODING": "latin-1",
     "PYTHONUTF8": "0", "TERM": "dumb"},
]


@pytest.mark.slow  # a real process per surrounding: the locale and hash seed are fixed at start-up
def test_control_case_time_zone_locale_hash_seed_and_umask_change_no_byte(work: Path):
    rendered: list[dict[str, bytes]] = []
    evidences = []
    for index, surrounding in enumerate(SURROUNDINGS):
        out = work / f"out{index}"
        out.mkdir(mode=0o700)
        env = {**os.environ, "PYTHONPATH": str(REPO), **surrounding}
        if "LANG" not in surrounding:
            env.pop("LANG", None)
        umask = "022" if index % 2 else "077"
        evaluate = subprocess.run(
            ["sh", "-c", f'umask {umask}; exec "$@"', "sh", sys.executable, "-m", "auditor.cli", "evaluate", "--policy",
             str(work / "policies" / "child.yaml"), "--waivers", str(work / "policies" / "waivers.yaml"),
             "--snapshot", str(work / "snap.json"), "-o", str(out / "ev.json"), "-q"],
            cwd=out, env=env, capture_output=True, timeout=120)
        assert evaluate.returncode == NON_COMPLIANT, evaluate.stderr
        evidences.append(_without_time(out / "ev.json"))
        # every format rendered from one evidence file, in this surrounding, beside it (the reports name
        # the evidence by its path from their directory)
        reports = work / "out0" / f"r{index}"
        report = subprocess.run(
            [sys.executable, "-m", "auditor.cli", "report", str(work / "out0" / "ev.json"), "--out-dir",
             str(reports), "--format", FORMATS, "--pdf", str(reports / "child.pdf")],
            cwd=out, env=env, capture_output=True, timeout=300)
        assert report.returncode == 0, report.stderr
        rendered.append({p.name: p.read_bytes() for p in sorted(reports.iterdir())})
    assert all(evidence == evidences[0] for evidence in evidences)
    assert len(rendered[0]) == 8
    assert all(files == rendered[0] for files in rendered)
