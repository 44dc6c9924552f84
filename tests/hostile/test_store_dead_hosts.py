"""A host whose runs were all pruned disappeared from ``fleet report``, from the stale list too: a
retention prune (``history prune --older-than 30``) of a host that stopped reporting made the
fleet look compliant, the dead host gone without a word.  A pruned run leaves its link (the
run's id, host, policy and start time): the report now lists such a host as ``stale`` and "not
scanned for N days" with its last scan time, or as ``pruned`` while that scan is recent.  The
same for a host whose latest run was pruned while an older (attested) one is kept: the older
run's verdict is not the host's now.  The exit code stays the one stale hosts get (0 unless a
host regressed); the verdicts, the not-scanned list and the HTML overview say it."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import FIXED_TIME, listener, snapshot
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)

BIND_ONLY = ("id: bind-only\nversion: '1'\nowner: Sec\nrules:\n  - id: bind\n"
             "    check: net.bind_addresses\n    controls: [SC-7]\n")


def _policy(tmp_path: Path) -> Path:
    path = tmp_path / "bind-only.yaml"
    path.write_text(BIND_ONLY)
    return path


def _evaluate(tmp_path: Path, name: str, *extra: object, wildcard: bool = False, collected: datetime | None = None,
              expect: int = 0) -> Path:
    """``lbaudit evaluate --snapshot`` of host ``name``: compliant (nothing listening), or non-compliant
    (a listener on every address)."""
    path = tmp_path / f"{name}.snapshot.json"
    listeners = [listener("0.0.0.0", 6379)] if wildcard else []
    write_snapshot(snapshot(listeners=listeners, hostname=name, machine_id=name[0] * 32,
                            collected_at=collected or datetime.now(timezone.utc)), path)
    evidence = tmp_path / f"{name}.evidence.json"
    result = run_cli("evaluate", "--policy", _policy(tmp_path), "--snapshot", path, "-o", evidence, "-q", *extra)
    assert result.returncode == expect, result.stdout + result.stderr
    return evidence


def _backdated(evidence: Path, started: str) -> Path:
    """The evidence of a scan that ran at ``started`` (the host's last, weeks ago), to import."""
    document = json.loads(evidence.read_bytes())
    document["run"]["started_at"] = document["run"]["finished_at"] = started
    evidence.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))
    return evidence


def _report(store: str, *extra: object) -> tuple[int, dict]:
    result = run_cli("fleet", "report", "--store", store, "--json", *extra)
    assert result.stderr == "", result.stderr
    return result.returncode, json.loads(result.stdout)


def test_a_host_whose_every_run_was_pruned_is_stale_with_its_last_scan_time(tmp_path: Path, store_url: str):  # noqa: F811 - the fixture
    """The scheduled retention prune removes the runs of a host that stopped reporting weeks ago."""
    dead = _backdated(_evaluate(tmp_path, "dead", collected=FIXED_TIME), "2026-11-01T12:05:00Z")
    imported = run_cli("history", "import", dead, "--store", store_url)
    assert imported.stdout == f"{dead}: recorded as run 1\n", imported.stderr
    _evaluate(tmp_path, "alive", "--record", "--store", store_url)  # run 2, today
    pruned = run_cli("history", "prune", "--older-than", "20", "--store", store_url)
    assert (pruned.returncode, pruned.stdout.splitlines()[0]) == (0, "removed 1 runs (1)")
    days = (datetime.now(timezone.utc) - datetime(2026, 11, 1, 12, 5, tzinfo=timezone.utc)).days

    code, data = _report(store_url)
    # before: hosts_total 1, {"compliant": ["alive"]}, nothing stale: the fleet looked compliant
    assert (code, data["hosts_total"], data["hosts_by_verdict"]) == (0, 2, {"compliant": ["alive"], "stale": ["dead"]})
    assert data["not_scanned_for_days"] == {"days": 7, "hosts": [
        {"host": "dead", "policy": "bind-only", "last_run": 1, "last_started_at": "2026-11-01T12:05:00Z",
         "collected_at": None, "verdict": None, "days": days, "state": "pruned"}]}
    dead_row = next(row for row in data["hosts"] if row["host"] == "dead")
    assert (dead_row["verdict"], dead_row["run_id"], dead_row["error"]) == (
        None, 1, "its latest run (run 1, started 2026-11-01T12:05:00Z) was pruned: the store no longer holds its result")
    # as a stale run's, the policy's controls are not known to hold on it: none is satisfied fleet-wide
    sc7 = next(c for c in data["controls_by_share_satisfied"] if c["control"] == "SC-7")
    assert sc7 == {"control": "SC-7", "hosts_satisfied": 1, "hosts": 2, "share": 0.5}
    assert {c["hosts"] for c in data["controls_by_share_satisfied"]} == {2}

    text = run_cli("fleet", "report", "--store", store_url)
    assert text.returncode == 0
    assert "  stale: 1 (dead)\n" in text.stdout
    assert text.stdout.endswith(
        "not scanned for 7 days: 1\n"
        f"  dead: last run 2026-11-01T12:05:00Z ({days} days), run 1 pruned: its result is no longer in the store\n")


def test_a_host_pruned_within_stale_days_is_pruned_not_compliant(tmp_path: Path, store_url: str):  # noqa: F811 - the fixture
    _evaluate(tmp_path, "gone", "--record", "--store", store_url)
    assert run_cli("history", "prune", "--keep-last", "0", "--store", store_url).returncode == 0
    _evaluate(tmp_path, "alive", "--record", "--store", store_url)
    code, data = _report(store_url)
    assert (code, data["hosts_by_verdict"]) == (0, {"compliant": ["alive"], "pruned": ["gone"]})
    assert data["not_scanned_for_days"]["hosts"] == []  # scanned today: not "not scanned for 7 days"
    code, data = _report(store_url, "--stale-days", "0")
    assert (code, data["hosts_by_verdict"]) == (0, {"stale": ["alive", "gone"]})
    assert [(row["host"], row["state"], row["last_run"]) for row in data["not_scanned_for_days"]["hosts"]] == [
        ("alive", "run", 2), ("gone", "pruned", 1)]


def test_an_older_attested_run_kept_by_prune_is_not_the_hosts_verdict_now(tmp_path: Path):
    """Run 1 compliant (an OSCAL issued from it: prune keeps it), run 2 non-compliant and pruned:
    the report said "compliant" from run 1."""
    store = str(tmp_path / "history.db")
    _evaluate(tmp_path, "web", "--record", "--store", store, "--format", "oscal", "--out-dir", tmp_path / "oscal")
    _evaluate(tmp_path, "web", "--record", "--store", store, wildcard=True, expect=1)
    pruned = run_cli("history", "prune", "--older-than", "0", "--store", store)
    assert pruned.stdout.splitlines()[:2] == ["removed 1 runs (2)", "kept 1 attested runs (1); --force removes them"]
    code, data = _report(store)
    assert (code, data["hosts_by_verdict"], data["regressed_since_previous_run"]) == (0, {"pruned": ["web"]}, [])
    assert [(row["run_id"], row["verdict"]) for row in data["hosts"]] == [(2, None)]
    assert data["rules_failing_on_most_hosts"] == [] and data["controls_by_share_satisfied"] == []
    html = tmp_path / "fleet.html"  # no host judged at all: the overview still says so, and of which policy
    assert run_cli("fleet", "report", "--store", store, "--html", html).returncode == 0
    page = html.read_text()
    assert "HOSTS NOT JUDGED" in page and "bind-only" in page and "its latest run (run 2, started" in page


def test_the_html_overview_shows_the_dead_host_not_judged_and_not_scanned(tmp_path: Path):
    store = str(tmp_path / "history.db")
    dead = _backdated(_evaluate(tmp_path, "dead", collected=FIXED_TIME), "2026-11-01T12:05:00Z")
    assert run_cli("history", "import", dead, "--store", store).returncode == 0
    _evaluate(tmp_path, "alive", "--record", "--store", store)
    assert run_cli("history", "prune", "--older-than", "20", "--store", store).returncode == 0
    html = tmp_path / "fleet.html"
    result = run_cli("fleet", "report", "--store", store, "--html", html, "--json")
    assert result.returncode == 0, result.stderr
    page = html.read_text()
    # the verdict box: not "every host is compliant"
    assert "HOSTS NOT JUDGED" in page and "every host is compliant" not in page
    assert "its latest run (run 1, started 2026-11-01T12:05:00Z) was pruned" in page
    assert '<td class="mono host">dead</td><td>1</td><td>2026-11-01T12:05:00Z</td>' in page


def test_a_host_scanned_again_after_its_runs_were_pruned_is_judged_by_its_new_run(tmp_path: Path):
    store = str(tmp_path / "history.db")
    _evaluate(tmp_path, "web", "--record", "--store", store, wildcard=True, expect=1)
    assert run_cli("history", "prune", "--keep-last", "0", "--store", store).returncode == 0
    _evaluate(tmp_path, "web", "--record", "--store", store)
    code, data = _report(store)
    assert (code, data["hosts_by_verdict"], data["not_scanned_for_days"]["hosts"]) == (0, {"compliant": ["web"]}, [])
    assert [(row["run_id"], row["verdict"]) for row in data["hosts"]] == [(2, "compliant")]


def test_policy_filter_applies_to_pruned_links(tmp_path: Path):
    store = str(tmp_path / "history.db")
    _evaluate(tmp_path, "gone", "--record", "--store", store)
    assert run_cli("history", "prune", "--keep-last", "0", "--store", store).returncode == 0
    code, data = _report(store, "--policy", "bind-only")
    assert (code, data["hosts_by_verdict"]) == (0, {"pruned": ["gone"]})
    # a report of another policy id the store never held is refused, as before
    other = run_cli("fleet", "report", "--store", store, "--policy", "corp-baseline")
    assert other.returncode == 2 and "no policy 'corp-baseline' in the history store" in other.stderr
