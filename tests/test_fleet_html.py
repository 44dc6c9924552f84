"""The HTML fleet overview ``fleet evaluate --out-dir D`` writes as ``D/fleet-summary.html``: read back
with the HTML parser (and once in Chromium) and compared, row by row, with ``fleet-summary.json``."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from auditor.model.result import STATUS_ORDER
from auditor.report.fleet_html import render_fleet_html
from auditor.storage.snapshot import write_snapshot
from tests.browser import dump_dom
from tests.cli import REPO, run_cli
from tests.factories import listener, snapshot, sysctl_facts
from tests.html_dom import Page

POLICY = REPO / "policies" / "corp.yaml"
LABELS = {"compliant": "compliant", "non_compliant": "not compliant", "incomplete": "incomplete",
          None: "not evaluated"}


def _host(fetch: Path, name: str, **kw) -> None:
    (fetch / name).mkdir(parents=True)
    write_snapshot(snapshot(**kw), fetch / name / "lbaudit.snapshot.json")


@pytest.fixture(scope="module")
def fleet_run(tmp_path_factory) -> Path:
    """Four hosts (two failing different rules, one clean, one broken), signed: the out dir."""
    work = tmp_path_factory.mktemp("fleet-html")
    fetch = work / "fetch"
    _host(fetch, "db01", listeners=[listener("127.0.0.1", 5432)], hostname="db01")
    _host(fetch, "web01", listeners=[listener("0.0.0.0", 8080), listener("127.0.0.1", 9000)], hostname="web01")
    _host(fetch, "web02", listeners=[listener("0.0.0.0", 8080)], hostname="web02",
          sysctl=sysctl_facts(net__ipv4__ip_local_port_range="60000 60100"))
    _host(fetch, "edge01", listeners=[listener("127.0.0.1", 9000)], hostname="edge01",
          sysctl=sysctl_facts(net__ipv4__ip_local_port_range="60000 60100"))
    (fetch / "broken").mkdir()
    (fetch / "broken" / "lbaudit.snapshot.json").write_text('{"provenance": ')
    assert run_cli("keygen", "--out", work / "keys").returncode == 0
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", work / "out",
                     "--sign-key", work / "keys" / "lbaudit.key", "-j", "2")
    assert result.returncode == 2, result.stderr
    assert "fleet-summary.html" in result.stdout
    return work / "out"


def _summary(out: Path) -> dict:
    return json.loads((out / "fleet-summary.json").read_text())


def _page(out: Path) -> Page:
    return Page((out / "fleet-summary.html").read_text(encoding="utf-8"))


def _rows(page: Page, table_id: str) -> list[list[str]]:
    """The body rows of a table, each as the words of its cells."""
    start = page.elements.index(page.by_id(table_id))
    rows: list[list[str]] = []
    in_body = False
    for element in page.elements[start + 1:]:
        if element.tag in ("table", "section"):
            break
        in_body = in_body or element.tag == "tbody"
        if in_body and element.tag == "tr":
            rows.append([])
        elif in_body and element.tag == "td":
            rows[-1].append(element.words)
    return rows


def test_the_page_is_rendered_from_the_summary_json_alone(fleet_run: Path):
    # The written page is exactly what the JSON (and where the page lies) renders: no second evaluation.
    assert render_fleet_html(_summary(fleet_run), links_from=fleet_run) == (fleet_run / "fleet-summary.html").read_bytes()
    # ... and an edit of the record shows on the page rendered from it
    edited = _summary(fleet_run)
    edited["hosts"][1]["host"] = "renamed01"
    assert "renamed01" in render_fleet_html(edited, links_from=fleet_run).decode()


def test_run_header_says_policy_time_hosts_and_worst_exit(fleet_run: Path):
    summary, page = _summary(fleet_run), _page(fleet_run)
    evidence = json.loads((fleet_run / "db01.evidence.json").read_text())
    assert page.by_id("policy").words == f"{summary['policy']['id']} {summary['policy']['version']}"
    assert page.by_id("policy-sha256").words == summary["policy"]["sha256"] == evidence["policy_sha256"]
    assert page.by_id("ran").words == f"{summary['started_at']} to {summary['finished_at']}"
    assert page.by_id("hosts-total").words == "5" == str(summary["hosts_total"])
    assert page.by_id("exit-code").words == "2" == str(summary["exit_code"])
    assert page.by_id("verdict").words.startswith("HOSTS NOT JUDGED Fleet of 5 hosts, 4 judged")
    assert page.tags("title")[0].words == f"HOSTS NOT JUDGED: fleet of 5 hosts, {summary['policy']['id']} " \
                                          f"{summary['policy']['version']}"


def test_hosts_by_verdict_and_one_row_per_host_as_the_summary_says(fleet_run: Path):
    summary, page = _summary(fleet_run), _page(fleet_run)
    counts = {e.attrs["data-verdict"]: int(e.words.split()[0]) for e in page.elements
              if e.tag == "li" and "data-verdict" in e.attrs}
    assert counts == summary["hosts_by_verdict"]
    assert sum(counts.values()) == 5 and counts["not_evaluated"] == 1
    rows = [e for e in page.elements if e.tag == "tr" and "data-verdict" in e.attrs]
    cells = _rows(page, "host-table")
    assert len(rows) == len(cells) == len(summary["hosts"])
    for host, tr, row in zip(summary["hosts"], rows, cells):
        assert tr.attrs["data-exit"] == str(host["exit_code"])
        assert row[0] == host["host"]
        assert row[1] == LABELS[host["verdict"]]
        assert row[2] == str(host["exit_code"])
        assert row[3:9] == [str(host["counts"].get(s.value, 0)) for s in STATUS_ORDER]
        if host["error"] is None:
            assert row[9] == "evidence (signed)" and row[10] == ""
        else:
            assert row[9] == "" and row[10] == host["error"]
    broken = cells[[h["host"] for h in summary["hosts"]].index("broken")]
    assert broken[1:3] == ["not evaluated", "2"] and "not valid JSON" in broken[10]


def test_evidence_links_are_relative_and_reach_each_hosts_evidence(fleet_run: Path):
    summary, page = _summary(fleet_run), _page(fleet_run)
    links = [e.attrs["href"] for e in page.tags("a") if not e.attrs["href"].startswith("#")]
    written = [h for h in summary["hosts"] if h["evidence"]]
    assert links == [f"./{h['host']}.evidence.json" for h in written]
    for href, host in zip(links, written):
        assert os.path.samefile(fleet_run / href, host["evidence"])
    # the page loads nothing: its only outside references are those links, to files beside it
    assert page.loads() == [f"<a href={href!r}>" for href in links]
    assert len(page.tags("script")) == 1 and "src" not in page.tags("script")[0].attrs
    [csp] = [e.attrs["content"] for e in page.tags("meta") if e.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert csp.startswith("default-src 'none'; style-src 'sha256-") and "script-src 'sha256-" in csp


def test_rules_failing_on_most_hosts_and_controls_by_share_satisfied(fleet_run: Path):
    summary, page = _summary(fleet_run), _page(fleet_run)
    judged = [h for h in summary["hosts"] if h["verdict"] is not None]
    failing = Counter(rule for h in judged for rule in h["failing_rules"])
    expected_rules = sorted(failing.items(), key=lambda item: (-item[1], item[0]))
    assert [(r[0], int(r[1])) for r in _rows(page, "rule-table")] == expected_rules
    assert expected_rules[0][1] == 2  # two hosts fail the same rule: it comes first
    for _rule, n, share in _rows(page, "rule-table"):
        assert share == f"{100 * int(n) / len(judged):.0f}%"
    controls = _rows(page, "control-table")
    assert {c[0] for c in controls} == {cid for h in judged for cid in h["controls"]}
    for control, satisfied, total, share in controls:
        assert int(satisfied) == sum(1 for h in judged if h["controls"][control])
        assert int(total) == len(judged)
        assert share == f"{100 * int(satisfied) / int(total):.0f}%"
    shares = [int(c[1]) / int(c[2]) for c in controls]
    assert shares == sorted(shares)  # least satisfied first


@pytest.mark.integration  # starts Chromium
def test_in_chromium_the_overview_shows_every_host_and_loads_nothing(fleet_run: Path):
    summary = _summary(fleet_run)
    page = Page(dump_dom(fleet_run / "fleet-summary.html").output)
    hosts = [e.words for e in page.elements if e.tag == "td" and "host" in e.attrs.get("class", "").split()]
    assert hosts == [h["host"] for h in summary["hosts"]]
    assert len(page.tags("script")) == 1
    assert [e for e in page.loads() if not e.startswith("<a href='./")] == []


def test_host_html_writes_each_hosts_report_and_the_overview_links_it(tmp_path: Path):
    fetch = tmp_path / "fetch"
    _host(fetch, "db01", listeners=[listener("127.0.0.1", 5432)], hostname="db01")
    _host(fetch, "web01", listeners=[listener("0.0.0.0", 8080)], hostname="web01")
    assert run_cli("keygen", "--out", tmp_path / "keys").returncode == 0
    out = tmp_path / "out"
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out, "--host-html",
                     "--sign-key", tmp_path / "keys" / "lbaudit.key")
    assert result.returncode == 1, result.stderr
    summary = _summary(out)
    links = [e.attrs["href"] for e in _page(out).tags("a") if not e.attrs["href"].startswith("#")]
    assert links == ["./db01.evidence.json", "./db01.html", "./web01.evidence.json", "./web01.html"]
    for host in summary["hosts"]:
        assert os.path.samefile(out / f"{host['host']}.html", host["html"])
        # the very page `lbaudit report` renders from that (signed) evidence, in the same directory
        again = tmp_path / f"again-{host['host']}"
        again.mkdir()
        (again / Path(host["evidence"]).name).write_bytes(Path(host["evidence"]).read_bytes())
        (again / (Path(host["evidence"]).name + ".sig")).write_bytes(Path(host["evidence"] + ".sig").read_bytes())
        report = run_cli("report", again / Path(host["evidence"]).name, "--format", "html", "--out-dir", again)
        assert report.returncode == 0, report.stderr
        [page] = again.glob("*.html")
        assert page.read_bytes() == Path(host["html"]).read_bytes()
        assert "Signed." in Page(page.read_text()).by_id("signature-state").words


def test_fleet_report_html_from_the_store_shows_latest_runs_regressions_and_stale_hosts(tmp_path: Path):
    fetch = tmp_path / "fetch"
    _host(fetch, "db01", listeners=[listener("127.0.0.1", 5432)], hostname="db01")
    _host(fetch, "web01", listeners=[listener("0.0.0.0", 8080)], hostname="web01")
    store = tmp_path / "history.db"
    for round_ in (1, 2):
        if round_ == 2:  # db01 opens a wildcard listener before the second run
            write_snapshot(snapshot(listeners=[listener("127.0.0.1", 5432), listener("0.0.0.0", 6379)],
                                    hostname="db01"), fetch / "db01" / "lbaudit.snapshot.json")
        run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", tmp_path / f"out{round_}",
                "--record", "--store", store)
    html = tmp_path / "overview.html"
    result = run_cli("fleet", "report", "--store", store, "--stale-days", "0", "--json", "--html", html)
    assert result.returncode == 1, result.stderr  # db01 regressed
    data = json.loads(result.stdout)
    page = Page(html.read_text(encoding="utf-8"))
    rows = _rows(page, "host-table")
    assert [r[0] for r in rows] == [h["host"] for h in data["hosts"]] == ["db01", "web01"]
    for row, host in zip(rows, data["hosts"]):
        assert row[1:3] == [LABELS[host["verdict"]], str(host["exit_code"])]
        assert row[3:9] == [str(host["counts"].get(s.value, 0)) for s in STATUS_ORDER]
        assert row[9] == f"run {host['run_id']}"  # the store holds the evidence: its run, no file link
    summary2 = _summary(tmp_path / "out2")  # the latest runs are the second fleet run's
    assert [(h["host"], h["verdict"], h["counts"]) for h in summary2["hosts"]] == \
        [(h["host"], h["verdict"], h["counts"]) for h in data["hosts"]]
    assert page.by_id("policy-sha256").words == summary2["policy"]["sha256"]
    [regressed] = _rows(page, "regressed-table")
    assert regressed[0] == "db01" and "6379" in regressed[2] and "listeners-loopback-only" in regressed[2]
    assert [r[0] for r in _rows(page, "stale-table")] == ["db01", "web01"]
    assert [e for e in page.tags("a") if not e.attrs["href"].startswith("#")] == []
    # the overview is never written over the store it reads
    before = store.read_bytes()
    refused = run_cli("fleet", "report", "--store", store, "--html", store)
    assert refused.returncode == 2 and "history store" in refused.stderr
    assert store.read_bytes() == before


def test_fleet_report_html_of_a_store_with_several_policies_asks_for_one(tmp_path: Path):
    fetch = tmp_path / "fetch"
    _host(fetch, "db01", listeners=[listener("127.0.0.1", 5432)], hostname="db01")
    store = tmp_path / "history.db"
    for policy in (POLICY, REPO / "policies" / "ci-runner.yaml"):
        run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", policy, "--out-dir", tmp_path / policy.stem,
                "--record", "--store", store)
    html = tmp_path / "overview.html"
    refused = run_cli("fleet", "report", "--store", store, "--html", html)
    assert refused.returncode == 2 and "give --policy" in refused.stderr and not html.exists()
    policy_id = _summary(tmp_path / "corp")["policy"]["id"]
    chosen = run_cli("fleet", "report", "--store", store, "--html", html, "--policy", policy_id)
    assert chosen.returncode == 0, chosen.stderr
    assert Page(html.read_text()).by_id("policy").words.startswith(policy_id + " ")
