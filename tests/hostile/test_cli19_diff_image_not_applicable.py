"""``lbaudit diff`` of the running host's scan and then its offline image's, where a failure of the
running host is not applicable in the image.

An offline root directory has no live state: no TIME_WAIT sockets to count, no audit rules loaded,
no audit daemon running.  What failed on the running host there is "not applicable" in the image:
not judged, never fixed.  Before: a failure gone from the image was listed with the lost coverage of
``facts_source_changed`` ("no longer judged"), but one that turned not applicable was listed as an
*improvement* (``TIME_WAIT share of the ephemeral pool: fail -> not_applicable``), and with
``--allow-policy-change`` (the image scan on purpose) the diff read as a fix.  Now such a finding is
listed with the change that stopped it being judged (``was fail, now not_applicable``), never as an
improvement; a failure the image does judge again and pass is still one.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.model.facts import Gap, GapKind
from tests.cli import run_cli
from tests.hostile.overtime_scans import evaluated_scan

TIME_WAIT_POLICY = """id: time-wait
version: "1"
owner: Security <sec@example.test>
rules:
  - id: time-wait-headroom
    check: net.time_wait
    severity: medium
    params: {max_time_wait_share: 0.5}
"""
SHARE = "TIME_WAIT share of the ephemeral pool"


def _scan(tmp_path: Path, name: str, day: int, *, image: bool, time_wait: int | None) -> Path:
    # as `collect --root` records an image: no socket counts, which exist only on a running host
    offline = {"source": "root", "source_detail": "/mnt/web01-image",
               "gaps": [Gap(section="sockets", field="counts", kind=GapKind.NOT_APPLICABLE,
                            reason="socket counts (TIME_WAIT) exist only on a running host")]} if image else {}
    return evaluated_scan(tmp_path, name, day, [], expected_exit=(0, 1, 3), policy=TIME_WAIT_POLICY,
                          time_wait=time_wait, **offline)


def test_a_live_failure_not_applicable_in_the_image_is_not_an_improvement(tmp_path: Path):
    live = _scan(tmp_path, "live", 0, image=False, time_wait=25000)  # 25000 of a pool of 28232: fails
    image = _scan(tmp_path, "image", 1, image=True, time_wait=None)  # an image counts no sockets
    statuses = {f["subject"]: f["status"] for f in json.loads(live.read_text())["result"]["findings"]}
    assert statuses[SHARE] == "fail"
    statuses = {f["subject"]: f["status"] for f in json.loads(image.read_text())["result"]["findings"]}
    assert statuses[SHARE] == "not_applicable"

    for allow in ([], ["--allow-policy-change"]):
        data = json.loads(run_cli("diff", live, image, "--json", *allow).stdout)
        assert [c["subject"] for c in data["improvements"]] == [], data["improvements"]
        (change,) = [c for c in data["policy_changes"] if c["kind"] == "facts_source_changed"]
        assert change["loses_coverage"] is True
        assert [(c["subject"], c["before"], c["after"]) for c in change["findings"]] == [
            (SHARE, "fail", "not_applicable")]
    text = run_cli("diff", live, image)
    assert text.returncode == 1
    lines = text.stdout.splitlines()
    assert "improvements: 0" in lines, text.stdout
    assert f"      no longer judged: {SHARE} (was fail, now not_applicable)" in lines


def test_control_case_the_image_after_the_image_judges_as_before(tmp_path: Path):
    # two image scans: no change of where the facts come from, and nothing accounted to one
    first = _scan(tmp_path, "first", 0, image=True, time_wait=None)
    second = _scan(tmp_path, "second", 1, image=True, time_wait=None)
    data = json.loads(run_cli("diff", first, second, "--json").stdout)
    assert (data["exit_code"], data["improvements"], data["policy_changes"]) == (0, [], [])
