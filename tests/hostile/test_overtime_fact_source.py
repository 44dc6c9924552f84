"""A scan of the host's offline image after a scan of the running host.  The image holds only the
listeners its configuration declares (a not_applicable gap on the list), so a wildcard redis of the
running host is absent from it, not closed: ``diff`` called it an improvement, the verdict
compliant, exit 0.  Now the change of where the facts come from is lost coverage (exit 1 unless
--allow-policy-change), listing the failures it stops judging, never as improvements."""

from __future__ import annotations

import json
from pathlib import Path

from auditor.model.facts import Gap, GapKind
from tests.cli import run_cli
from tests.hostile.overtime_scans import REDIS, evaluated_scan, web_listeners


def _evidence(tmp_path: Path, name: str, day: int, *, image: bool, redis: bool) -> Path:
    offline = dict(source="root", source_detail="/mnt/web01-image",
                   gaps=[Gap(section="sockets", field="listeners", kind=GapKind.NOT_APPLICABLE,
                             reason="an offline root directory has no live sockets: declared listeners only")])
    return evaluated_scan(tmp_path, name, day, web_listeners(redis=redis), expected_exit=1 if redis else 0,
                          **(offline if image else {}))


def test_the_offline_image_after_the_running_host_loses_coverage(tmp_path: Path):
    live = _evidence(tmp_path, "live", 0, image=False, redis=True)
    image = _evidence(tmp_path, "image", 1, image=True, redis=False)
    result = run_cli("diff", live, image, "--json")
    data = json.loads(result.stdout)
    assert (result.returncode, data["improvements"], data["lost_coverage"]) == (1, [], 1), result.stdout
    (change,) = data["policy_changes"]
    assert (change["kind"], change["subject"], change["loses_coverage"]) == (
        "facts_source_changed", "web01.example.test", True)
    assert change["detail"].startswith("facts of a running host (live) -> an offline root directory (root)")
    assert [(c["subject"], c["before"], c["after"]) for c in change["findings"]] == [(REDIS, "fail", None)]
    text = run_cli("diff", live, image)
    assert f"      no longer judged: {REDIS} (was fail)" in text.stdout.splitlines()
    assert run_cli("diff", live, image, "--allow-policy-change").returncode == 0


def test_control_case_the_running_host_after_its_image_is_a_note_and_a_closed_listener_an_improvement(tmp_path: Path):
    image = _evidence(tmp_path, "image", 0, image=True, redis=True)
    live = _evidence(tmp_path, "live", 1, image=False, redis=False)
    data = json.loads(run_cli("diff", image, live, "--json").stdout)
    assert (data["exit_code"], data["lost_coverage"]) == (0, 0)
    assert [(c["kind"], c["loses_coverage"]) for c in data["policy_changes"]] == [("facts_source_changed", False)]
    assert [(c["subject"], c["before"], c["after"]) for c in data["improvements"]] == [(REDIS, "fail", None)]
