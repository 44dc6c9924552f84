"""``fleet report --html`` over a fleet whose only hosts are stale: its verdict box said COMPLIANT.

A host whose latest run judged facts collected longer ago than ``--stale-days`` is ``stale`` in the
report (its controls not known to hold, the host listed as not scanned for N days), but the HTML
overview's verdict box is drawn from the worst exit code of the hosts' rows, and a stale host's row
keeps the exit code of its run (0): the page's headline read "COMPLIANT", "every host is
compliant", above a table saying the host was not scanned for ten days.  (A pruned host's row has
exit 2, and its page said HOSTS NOT JUDGED.)  The box now says NOT SCANNED LATELY when no host fails
but some were not scanned within --stale-days; the command's exit code is unchanged (0: stale
hosts are listed, not failed).  Nor does the box say COMPLIANT over a row whose verdict is not
compliant, whatever exit code the row's record gives (a missed scan imported with exit 0).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.html_dom import Page

NOW = datetime.now(timezone.utc)


def _record(tmp_path: Path, collected_ago: timedelta, *hosts: str) -> Path:
    fetch = tmp_path / "fetch"
    for host in hosts:
        (fetch / host).mkdir(parents=True)
        write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=host, collected_at=NOW - collected_ago),
                       fetch / host / "lbaudit.snapshot.json")
    policy = tmp_path / "lo.yaml"
    policy.write_text(loopback_only_policy("lo"))
    store = tmp_path / "history.db"
    assert run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", policy, "--out-dir", tmp_path / "out",
                   "--record", "--store", store, "-q").returncode == 0
    return store


def _verdict_box(page: Page) -> str:
    """The page's title and verdict box: its word and its sentence."""
    title = page.tags("title")[0]  # the page's (the charts' titles follow)
    [word] = [e for e in page.tags("div") if e.attrs.get("class") == "verdict-word"]
    [sentence] = [e for e in page.tags("p") if e.attrs.get("class") == "verdict-sentence"]
    return f"{title.words} | {word.words} | {sentence.words}"


def _overview(tmp_path: Path, store: Path) -> tuple[int, dict, str]:
    html = tmp_path / "overview.html"
    result = run_cli("fleet", "report", "--store", store, "--json", "--html", html)
    return result.returncode, json.loads(result.stdout), _verdict_box(Page(html.read_text(encoding="utf-8")))


def test_a_fleet_of_stale_hosts_is_not_called_compliant(tmp_path: Path):
    code, data, box = _overview(tmp_path, _record(tmp_path, timedelta(days=10), "web01"))
    assert (code, data["hosts_by_verdict"]) == (0, {"stale": ["web01"]})
    # before: "COMPLIANT: fleet of 1 hosts, lo 1 | COMPLIANT | ...: every host is compliant (worst exit code 0)."
    assert box == ("NOT SCANNED LATELY: fleet of 1 hosts, lo 1 | NOT SCANNED LATELY | Fleet of 1 hosts, 1 judged: no "
                   "host fails, but 1 was not scanned for 7 days: whether it complies now is not known (worst exit "
                   "code 0).")


def test_a_fleet_scanned_lately_is_still_compliant(tmp_path: Path):
    code, data, box = _overview(tmp_path, _record(tmp_path, timedelta(minutes=5), "web01", "web02"))
    assert (code, data["hosts_by_verdict"]) == (0, {"compliant": ["web01", "web02"]})
    assert box.startswith("COMPLIANT: ") and box.endswith(": every host is compliant (worst exit code 0).")


def test_a_host_not_scanned_is_not_called_compliant_whatever_exit_code_its_record_gives(tmp_path: Path):
    """A record that a fleet run could not judge a host, imported from an export edited to say exit 0:
    the report lists the host not_scanned (exit 3), and its overview's verdict box, drawn from the
    rows' exit codes, said COMPLIANT, "every host is compliant"."""
    store = _record(tmp_path, timedelta(minutes=5), "web01")
    fetch = tmp_path / "fetch-none"
    fetch.mkdir()
    assert run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", tmp_path / "lo.yaml", "--out-dir",
                   tmp_path / "out2", "--record", "--store", store, "--expect-hosts", "web01", "-q").returncode == 2
    exported = run_cli("history", "export", "--with-evidence", "--store", store)
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    [missed] = [line for line in lines if line["record"] == "missed_scan"]
    missed["exit_code"] = 0
    edited = tmp_path / "edited.jsonl"
    edited.write_text("".join(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n" for line in lines))
    imported = tmp_path / "imported.db"
    assert run_cli("history", "import", "--export", edited, "--store", imported).returncode == 0
    code, data, box = _overview(tmp_path, imported)
    assert (code, data["hosts_by_verdict"]) == (3, {"not_scanned": ["web01"]})
    # before: "COMPLIANT: fleet of 1 hosts, lo | COMPLIANT | Fleet of 1 hosts, 0 judged: every host is compliant ..."
    assert box == ("HOSTS NOT JUDGED: fleet of 1 hosts, lo | HOSTS NOT JUDGED | Fleet of 1 hosts, 0 judged: at "
                   "least one host could not be judged; its row says why (worst exit code 0).")
