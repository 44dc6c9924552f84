"""Hostile cases for the HTML fleet overview: host names and reasons come from the targets (the
directory Ansible fetched into, the host name a snapshot claims), so they render as text: markup
stays characters, and bidirectional overrides show as ``[U+202E]`` instead of reordering a name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.browser import dump_dom
from tests.cli import REPO, run_cli
from tests.factories import listener, snapshot
from tests.html_dom import Page

POLICY = REPO / "policies" / "corp.yaml"
# A host directory (no snapshot in it) whose name is markup, and which displays as "...exe.png"
IMG_HOST = "<img src=x onerror=\"document.body.setAttribute('data-pwned','host')\">\u202egnp.exe"
# The host name a snapshot claims, quoted in its host's reason
SCRIPT_HOSTNAME = "<script>document.body.setAttribute('data-pwned','reason')</script>"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> tuple[Path, object]:
    work = tmp_path_factory.mktemp("fleet-html-hostile")
    fetch = work / "fetch"
    (fetch / "good01").mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="good01"),
                   fetch / "good01" / "lbaudit.snapshot.json")
    (fetch / IMG_HOST).mkdir()
    write_snapshot(snapshot(listeners=[], hostname=SCRIPT_HOSTNAME), fetch / "claims.snapshot.json")
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", work / "out",
                     timeout=120)
    return work / "out", result


def _hosts(out: Path) -> dict:
    return {h["host"]: h for h in json.loads((out / "fleet-summary.json").read_text())["hosts"]}


def test_hostile_hosts_fail_alone_with_exit_2(hostile_run):
    out, result = hostile_run
    assert result.returncode == 2
    hosts = _hosts(out)
    assert hosts[IMG_HOST]["exit_code"] == 2 and "no *.snapshot.json" in hosts[IMG_HOST]["error"]
    assert hosts["claims.snapshot.json"]["exit_code"] == 2
    assert "cannot name a file" in hosts["claims.snapshot.json"]["error"]
    assert SCRIPT_HOSTNAME in hosts["claims.snapshot.json"]["error"]
    assert hosts["good01"]["error"] is None


def test_markup_and_bidi_in_host_names_and_reasons_are_shown_as_text(hostile_run):
    out, _ = hostile_run
    markup = (out / "fleet-summary.html").read_text(encoding="utf-8")
    assert "<img" not in markup and "<script>document" not in markup
    assert "\u202e" not in markup
    page = Page(markup)
    assert page.tags("img") == [] and len(page.tags("script")) == 1
    rows = {e.attrs.get("data-exit") for e in page.elements if e.tag == "tr" and "data-verdict" in e.attrs}
    assert rows == {"2", "3"}  # the two hostile hosts not evaluated (2); good01 incomplete without audit facts (3)
    shown = [e.words for e in page.elements if e.tag == "td" and "host" in e.attrs.get("class", "").split()]
    assert IMG_HOST.replace("\u202e", "[U+202E]") in shown
    reasons = [e.content for e in page.elements if e.tag == "td" and e.attrs.get("class") == "reason"]
    assert any(SCRIPT_HOSTNAME in r for r in reasons)  # as characters, in the text of its cell
    assert any("[U+202E]gnp.exe" in r for r in reasons)  # the directory's path, in the other reason


@pytest.mark.integration  # starts Chromium
def test_in_chromium_nothing_hostile_runs_or_loads(hostile_run):
    out, _ = hostile_run
    page = Page(dump_dom(out / "fleet-summary.html").output)
    [body] = page.tags("body")
    assert "data-pwned" not in body.attrs
    assert page.tags("img") == [] and len(page.tags("script")) == 1
    assert page.loads() == ["<a href='./good01.evidence.json'>"]


def test_two_snapshots_claiming_one_host_link_to_no_evidence(tmp_path: Path):
    fetch = tmp_path / "fetch"
    fetch.mkdir()
    for name in ("a", "b"):  # both say they are web01: one evidence file replaced the other
        write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="web01"),
                       fetch / f"{name}.snapshot.json")
    out = tmp_path / "out"
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out, timeout=120)
    assert result.returncode == 2
    page = Page((out / "fleet-summary.html").read_text(encoding="utf-8"))
    rows = [e for e in page.elements if e.tag == "tr" and "data-verdict" in e.attrs]
    assert [(r.attrs["data-exit"], r.attrs["data-verdict"]) for r in rows] == [("2", "not_evaluated")] * 2
    assert json.loads((out / "fleet-summary.json").read_text())["hosts_by_verdict"] == {"not_evaluated": 2}
    assert [e for e in page.tags("a") if not e.attrs["href"].startswith("#")] == []
    reasons = [e.words for e in page.elements if e.tag == "td" and e.attrs.get("class") == "reason"]
    assert reasons == ["host 'web01' appears 2 times"] * 2


@pytest.mark.parametrize("name", ["fleet-summary", "fleet.junit.xml.evidence"])
def test_a_host_named_as_the_fleets_own_file_fails_alone_and_replaces_nothing(tmp_path, name):
    """A host directory named after one of the run's own files: with --host-html, host
    ``fleet-summary`` would write ``fleet-summary.html``, which the overview, written after every
    host, replaced.  Such a host fails alone (exit 2, the reason names the file) and writes nothing;
    a name that only looks alike is judged as ever."""
    fetch = tmp_path / "fetch"
    for host in ("good01", name):
        (fetch / host).mkdir(parents=True)
        write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=host),
                       fetch / host / "lbaudit.snapshot.json")
    out = tmp_path / "out"
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out,
                     "--host-html", timeout=120)
    hosts = _hosts(out)
    assert hosts["good01"]["exit_code"] == 3  # incomplete: the fixture has no audit facts
    page = Page((out / "fleet-summary.html").read_text(encoding="utf-8"))
    rows = {e.attrs["data-exit"] for e in page.elements if e.tag == "tr" and "data-verdict" in e.attrs}
    if name == "fleet-summary":
        assert result.returncode == 2
        assert hosts[name]["exit_code"] == 2 and hosts[name]["verdict"] is None
        assert "its host HTML report would be the fleet's fleet-summary.html" in hosts[name]["error"]
        assert not (out / "fleet-summary.evidence.json").exists()
        assert rows == {"2", "3"}  # the page is the overview, not the host's report
    else:  # its files are fleet.junit.xml.evidence.evidence.json and .html: no clash
        assert result.returncode == 3
        assert hosts[name]["exit_code"] == 3
        assert (out / f"{name}.html").is_file() and rows == {"3"}
    assert (out / "fleet.junit.xml").read_text().startswith("<?xml")
