"""A finding's id from the evidence cannot take over an element of the HTML report's own.

The defect: each row of the table of every finding had ``id="f-{finding id}"``, and the page's own
controls are ``f-more``, ``f-shown``, ``f-status``...  A finding id is whatever the evidence file
says (``lbaudit report`` renders an evidence file alone, and nothing checks that an id is one the
engine makes), so an evidence whose failing finding has the id ``more`` rendered a row
``id="f-more"`` ahead of the "Show more" button: the page's script took the row for the button and
hid it ("1 findings." above an empty table).  Now a row carries an anchor only when its id is one
the engine makes (16 lowercase hex digits, which no id of the page's own is); every id on the page
is unique, and the failing row is shown.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.browser import dump_dom
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.html_dom import Page

NON_COMPLIANT = 1


def _edited_page(tmp_path: Path, finding_id: str) -> Path:
    policy = tmp_path / "policy.yaml"
    policy.write_text(loopback_only_policy("ids"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    result = run_cli("evaluate", "--policy", policy, "--snapshot", tmp_path / "snap.json", "-o", tmp_path / "ev.json", "-q")
    assert result.returncode == NON_COMPLIANT, result.stderr
    evidence = json.loads((tmp_path / "ev.json").read_text())
    [finding] = evidence["result"]["findings"]
    assert finding["status"] == "fail"
    finding["id"] = finding_id
    (tmp_path / "edited.json").write_text(json.dumps(evidence))
    out = tmp_path / "out"
    result = run_cli("report", tmp_path / "edited.json", "--format", "html", "--out-dir", out, "-q")
    assert result.returncode == 0, result.stderr
    return out / "ids.html"


@pytest.mark.parametrize("finding_id", ["more", "shown", "status", "text", "reset"])
def test_a_finding_id_never_gives_a_row_an_id_of_the_page(tmp_path: Path, finding_id: str):
    page = Page(_edited_page(tmp_path, finding_id).read_text(encoding="utf-8"))
    ids = Counter(e.attrs["id"] for e in page.elements if "id" in e.attrs)
    assert [i for i, n in ids.items() if n > 1] == []
    assert page.by_id(f"f-{finding_id}").tag != "tr"


@pytest.mark.integration  # starts Chromium
def test_the_failing_row_of_a_finding_called_more_is_shown(tmp_path: Path):
    page = Page(dump_dom(_edited_page(tmp_path, "more")).output)
    rows = [e for e in page.elements if e.tag == "tr" and "data-status" in e.attrs]
    assert [(r.attrs["data-status"], r.hidden) for r in rows] == [("fail", False)]
    assert page.by_id("f-more").tag == "button" and page.by_id("f-more").hidden
