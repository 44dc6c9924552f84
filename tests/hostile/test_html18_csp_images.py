"""The HTML report's Content-Security-Policy admits nothing the page does not use.

The defect: the policy said ``img-src data:`` although the page has no image (its charts are inline
SVG), so markup that ever slipped past escaping (a template extending ``report.html.j2``, a
reporter plugin reusing :func:`auditor.report.html.render_page`) could still show a picture carried
in a ``data:`` URL: a green "COMPLIANT" badge drawn over a failing report.  The module promised a
policy admitting "only that exact style and script ... and nothing from anywhere".  Now every
directive but the two hashes is ``'none'``, for the host report and the fleet overview alike.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.html_dom import Page

NON_COMPLIANT = 1


def _csp(page: Page) -> dict[str, str]:
    [meta] = [m for m in page.tags("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in meta.attrs["content"].split(";"))


def _only_the_page_itself(csp: dict[str, str]) -> None:
    assert csp.pop("style-src").startswith("'sha256-")
    assert csp.pop("script-src").startswith("'sha256-")
    assert {name: value for name, value in csp.items() if value != "'none'"} == {}
    assert csp["default-src"] == "'none'"


def test_the_host_report_admits_no_image(tmp_path: Path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(loopback_only_policy("csp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    result = run_cli("evaluate", "--policy", policy, "--snapshot", tmp_path / "snap.json",
                     "-o", tmp_path / "ev.json", "--format", "html", "-q")
    assert result.returncode == NON_COMPLIANT, result.stderr
    _only_the_page_itself(_csp(Page((tmp_path / "csp.html").read_text(encoding="utf-8"))))


def test_the_fleet_overview_admits_no_image(tmp_path: Path):
    fetch = tmp_path / "fetch"
    (fetch / "web01").mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="web01"),
                   fetch / "web01" / "snapshot.json")
    out = tmp_path / "out"
    result = run_cli("fleet", "evaluate", "--policy", REPO / "policies" / "corp.yaml", "--snapshots", fetch,
                     "--out-dir", out, "-q")
    assert json.loads((out / "fleet-summary.json").read_text())["hosts_total"] == 1, result.stderr
    _only_the_page_itself(_csp(Page((out / "fleet-summary.html").read_text(encoding="utf-8"))))
