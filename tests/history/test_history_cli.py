"""``evaluate --record`` and ``lbaudit history ...`` end to end, on SQLite and on a real PostgreSQL.

The scans are real ``lbaudit evaluate`` runs over snapshot files of one host, before and after a
wildcard listener (redis on 0.0.0.0:6379) opened; every assertion is about what those evidence
files say.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter

import pytest
import sqlalchemy as sa

from auditor.history import open_store
from auditor.history.store import control_family
from tests.cli import run_cli
from tests.history.scans import CORP, record_scan, statuses_in, write_scan_snapshot

SINCE = "2000-01-01"


def _two_scans(tmp_path, store_url):
    before, _ = record_scan(tmp_path, store_url, "before", wildcard_redis=False)
    after, _ = record_scan(tmp_path, store_url, "after", wildcard_redis=True, trigger="timer")
    return before, after


def _tamper_evidence(store_url, run_id: int, position: int = 200) -> None:
    """Change one byte of a stored evidence document, as someone with write access to the store would."""
    with open_store(store_url) as store, store.engine.begin() as conn:
        sha = conn.execute(sa.text("SELECT evidence_sha256 FROM runs WHERE id = :id"), {"id": run_id}).scalar()
        row = conn.execute(sa.text("SELECT content FROM evidence WHERE sha256 = :sha"), {"sha": sha}).one()
        raw = bytearray(zlib.decompress(row.content))
        raw[position] = ord("X") if raw[position] != ord("X") else ord("Y")
        conn.execute(sa.text("UPDATE evidence SET content = :c WHERE sha256 = :sha"),
                     {"c": zlib.compress(bytes(raw)), "sha": sha})


def test_diff_of_the_last_two_runs_names_the_new_listener_and_exits_1(tmp_path, store_url):
    _two_scans(tmp_path, store_url)
    text = run_cli("history", "diff", "--store", store_url)
    assert text.returncode == 1, text.stderr
    assert "runs: 1 -> 2" in text.stdout
    assert "regressions: 1" in text.stdout and "tcp 0.0.0.0:6379 redis-server" in text.stdout
    as_json = run_cli("history", "diff", "--store", store_url, "--json")
    assert as_json.returncode == 1
    document = json.loads(as_json.stdout)
    assert document["runs"] == {"before": 1, "after": 2, "passed_over": []} and document["exit_code"] == 1
    assert [(c["subject"], c["before"], c["after"]) for c in document["regressions"]] == [
        ("tcp 0.0.0.0:6379 redis-server pid 977", None, "fail")]
    # The other way round (the same facts' time, run 2 evaluated later) the listener would read as
    # gone, an improvement: refused (exit 2); the same run: no change.
    back = run_cli("history", "diff", "2", "1", "--store", store_url, "--json")
    assert (back.returncode, back.stdout) == (2, "") and "BEFORE is the later scan" in back.stderr
    assert run_cli("history", "diff", "1", "1", "--store", store_url).returncode == 0


def test_trend_json_counts_match_the_evidence(tmp_path, store_url):
    before, after = _two_scans(tmp_path, store_url)
    result = run_cli("history", "trend", "--since", SINCE, "--json", "--store", store_url)
    assert result.returncode == 0, result.stderr
    trend = json.loads(result.stdout)
    expected = Counter(statuses_in(before)) + Counter(statuses_in(after))
    summed: Counter = Counter()
    for day in trend["by_day"]:
        summed.update({k: v for k, v in day.items() if k not in ("day", "runs", "non_compliant_runs", "incomplete_runs")
                       and v})
    assert summed == expected
    assert sum(day["runs"] for day in trend["by_day"]) == 2
    results = [json.loads(path.read_bytes())["result"] for path in (before, after)]
    assert sum(day["incomplete_runs"] for day in trend["by_day"]) == sum(not r["complete"] for r in results)
    assert sum(day["non_compliant_runs"] for day in trend["by_day"]) == sum(
        r["verdict"] == "non_compliant" for r in results)
    families: Counter = Counter()
    for path in (before, after):
        for finding in json.loads(path.read_bytes())["result"]["findings"]:
            for family in {control_family(c) for c in finding["controls"]}:
                families[(family, finding["status"])] += 1
    assert {(row["family"], status): n for row in trend["by_family"] for status, n in row.items()
            if status != "family" and n} == dict(families)
    assert families[("SC", "fail")] == 1  # the redis listener, under SC-7
    # the CSV has the same rows as the JSON
    csv_out = run_cli("history", "trend", "--since", SINCE, "--csv", "--by", "family", "--store", store_url)
    lines = csv_out.stdout.splitlines()
    assert lines[0] == "family,pass,fail,error,not_reviewed,not_applicable,waived"
    assert len(lines) == 1 + len(trend["by_family"])


def test_verify_passes_and_fails_after_one_stored_evidence_byte_changes(tmp_path, store_url):
    _two_scans(tmp_path, store_url)
    good = run_cli("history", "verify", "--store", store_url)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "2 runs in 1 chains" in good.stdout
    _tamper_evidence(store_url, 1)
    bad = run_cli("history", "verify", "--store", store_url, "--json")
    assert bad.returncode == 10
    report = json.loads(bad.stdout)
    assert report["ok"] is False and report["first_break"]["run_id"] == 1
    assert report["first_break"]["kind"] == "evidence_digest"
    text = run_cli("history", "verify", "--store", store_url)
    assert text.returncode == 10 and "FIRST BREAK: run 1" in text.stdout
    # the altered evidence is never handed out as if it were the recorded one
    shown = run_cli("history", "show", "1", "--evidence", "--store", store_url)
    assert shown.returncode == 2 and "was altered" in shown.stderr


def test_verify_finds_a_removed_run_and_a_record_that_disagrees_with_its_evidence(tmp_path, store_url):
    for name, wildcard in (("a", False), ("b", True), ("c", False)):
        record_scan(tmp_path, store_url, name, wildcard_redis=wildcard)
    with open_store(store_url) as store, store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE runs SET verdict = 'compliant' WHERE id = 3"))
        for table in ("findings", "family_counts"):
            conn.execute(sa.text(f"DELETE FROM {table} WHERE run_id = 2"))
        conn.execute(sa.text("DELETE FROM runs WHERE id = 2"))
    result = run_cli("history", "verify", "--store", store_url, "--json")
    assert result.returncode == 10
    breaks = {(b["run_id"], b["kind"]) for b in json.loads(result.stdout)["breaks"]}
    assert breaks == {(3, "chain_link"), (3, "record_mismatch")}


def test_record_keeps_the_evidence_byte_for_byte_and_the_run_facts(tmp_path, store_url):
    before, after = _two_scans(tmp_path, store_url)
    shown = run_cli("history", "show", "2", "--evidence", "--store", store_url)
    assert shown.returncode == 0 and shown.stdout.encode() == after.read_bytes()
    run = json.loads(run_cli("history", "show", "2", "--json", "--store", store_url).stdout)
    evidence = json.loads(after.read_bytes())
    assert run["trigger"] == "timer" and run["verdict"] == evidence["result"]["verdict"] == "non_compliant"
    assert run["host"] == {"hostname": "web01.example.test", "machine_id": "0123456789abcdef0123456789abcdef",
                           "inventory_name": None}
    assert run["policy"] == {"id": "corp-baseline", "version": evidence["policy"]["version"],
                             "sha256": evidence["policy_sha256"]}
    assert run["snapshot_sha256"] == evidence["facts_sha256"]
    first = json.loads(run_cli("history", "show", "1", "--json", "--store", store_url).stdout)
    assert first["prev_evidence_sha256"] is None and run["prev_evidence_sha256"] == first["evidence_sha256"]
    assert sorted((f["id"], f["status"], f["severity"], f["rule"]) for f in run["findings"]) == sorted(
        (f["id"], f["status"], f["severity"], f["rule_id"]) for f in evidence["result"]["findings"])
    # the policy is stored once for both runs
    with open_store(store_url) as store, store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM policies")).scalar() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM hosts")).scalar() == 1
    # re-rendered from the store alone: the stored evidence is a valid input to lbaudit report
    copy = tmp_path / "from-store.json"
    copy.write_bytes(shown.stdout.encode())
    assert run_cli("report", copy, "--format", "sarif", "--out-dir", tmp_path / "re").returncode == 0


def test_list_filters_and_plain_text_when_piped(tmp_path, store_url):
    _two_scans(tmp_path, store_url)
    record_scan(tmp_path, store_url, "db", wildcard_redis=False, hostname="db01.example.test",
                machine_id="fedcba9876543210fedcba9876543210")
    listed = run_cli("history", "list", "--store", store_url)
    lines = listed.stdout.splitlines()
    assert listed.returncode == 0 and lines[0].split()[:3] == ["run", "started", "(UTC)"]
    assert len(lines) == 4 and "\x1b" not in listed.stdout and "│" not in listed.stdout  # aligned text, no box
    assert [line.split()[0] for line in lines[1:]] == ["3", "2", "1"]

    def ids(*args):
        result = run_cli("history", "list", "--json", "--store", store_url, *args)
        assert result.returncode == 0, result.stderr
        return [r["id"] for r in json.loads(result.stdout)]

    assert ids("--host", "web01.example.test") == [2, 1]
    assert ids("--host", "fedcba9876543210fedcba9876543210") == [3]
    assert ids("--verdict", "non_compliant") == [2]
    assert ids("--policy", "corp-baseline", "--limit", "1") == [3]
    # a policy the store never recorded is exit 2 (tests/hostile/test_store_unknown_filters.py), not an empty list
    assert run_cli("history", "list", "--policy", "no-such-policy", "--store", store_url).returncode == 2
    assert ids("--since", "2999-01-01") == [] and ids("--until", "2000-01-01") == []
    # with two hosts, diff must be told which one
    ambiguous = run_cli("history", "diff", "--store", store_url)
    assert ambiguous.returncode == 2 and "give --host and --policy" in ambiguous.stderr
    assert run_cli("history", "diff", "--host", "web01.example.test", "--store", store_url).returncode == 1


def test_import_backfills_in_scan_order_and_skips_what_is_recorded(tmp_path, store_url):
    before, after = _two_scans(tmp_path, tmp_path / "elsewhere.db")
    result = run_cli("history", "import", after, before, "--host", "web-01", "--json", "--store", store_url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"file": str(before), "run": 1, "recorded": True},
                                         {"file": str(after), "run": 2, "recorded": True}]
    again = run_cli("history", "import", before, "--store", store_url)
    assert again.returncode == 0 and "already recorded as run 1" in again.stdout
    runs = json.loads(run_cli("history", "list", "--json", "--host", "web-01", "--store", store_url).stdout)
    assert [r["host"]["inventory_name"] for r in runs] == ["web-01", "web-01"]
    assert run_cli("history", "verify", "--store", store_url).returncode == 0
    assert run_cli("history", "diff", "--store", store_url).returncode == 1


def test_export_writes_json_lines_oldest_first(tmp_path, store_url):
    before, after = _two_scans(tmp_path, store_url)
    result = run_cli("history", "export", "--with-evidence", "--store", store_url)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == [1, 2]
    assert lines[0]["evidence"].encode() == before.read_bytes() and lines[1]["evidence"].encode() == after.read_bytes()
    assert len(lines[1]["findings"]) == len(json.loads(after.read_bytes())["result"]["findings"])
    only = run_cli("history", "export", "--verdict", "non_compliant", "--json", "--store", store_url)
    assert [json.loads(line)["id"] for line in only.stdout.splitlines()] == [2]


def test_prune_keeps_attested_runs_removes_orphans_and_the_chain_still_verifies(tmp_path, store_url):
    for index in range(4):
        extra = ("--format", "oscal", "--out-dir", str(tmp_path / "reports")) if index == 1 else ()
        record_scan(tmp_path, store_url, f"scan{index}", wildcard_redis=index % 2 == 1, extra=extra)
    listed = json.loads(run_cli("history", "list", "--json", "--store", store_url).stdout)
    assert [r["attested"] for r in listed] == [False, False, True, False]  # newest first: run 2 has the OSCAL

    dry = run_cli("history", "prune", "--keep-last", "1", "--dry-run", "--json", "--store", store_url)
    assert dry.returncode == 0
    assert json.loads(dry.stdout) == {"dry_run": True, "pruned": [1, 3], "kept_attested": [2],
                                      "orphan_evidence_removed": 2, "dated_ahead": [], "evaluated_later": [], "missed_scans_removed": 0}
    assert len(json.loads(run_cli("history", "list", "--json", "--store", store_url).stdout)) == 4

    done = run_cli("history", "prune", "--keep-last", "1", "--store", store_url)
    assert done.returncode == 0 and "removed 2 runs (1, 3)" in done.stdout and "kept 1 attested" in done.stdout
    assert [r["id"] for r in json.loads(run_cli("history", "list", "--json", "--store", store_url).stdout)] == [4, 2]
    with open_store(store_url) as store, store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM evidence")).scalar() == 2
    assert run_cli("history", "verify", "--store", store_url).returncode == 0
    # a run recorded after the prune links to the newest run, and the chain still holds
    record_scan(tmp_path, store_url, "scan4", wildcard_redis=False)
    assert run_cli("history", "verify", "--store", store_url).returncode == 0

    forced = run_cli("history", "prune", "--older-than", "0", "--keep-last", "1", "--force", "--json",
                     "--store", store_url)
    assert json.loads(forced.stdout)["pruned"] == [2, 4]
    assert run_cli("history", "verify", "--store", store_url).returncode == 0


def test_report_marks_the_recorded_run_attested(tmp_path, store_url):
    before, _ = record_scan(tmp_path, store_url, "one", wildcard_redis=False)
    result = run_cli("report", before, "--format", "oscal", "--out-dir", tmp_path / "out", "--store", store_url)
    assert result.returncode == 0, result.stderr
    assert "attested: run 1" in result.stdout
    run = json.loads(run_cli("history", "show", "1", "--json", "--store", store_url).stdout)
    oscal = next((tmp_path / "out").glob("*oscal*"))
    from auditor.model.base import sha256_hex

    assert [(a["kind"], a["document_sha256"]) for a in run["attestations"]] == [("oscal", sha256_hex(oscal.read_bytes()))]
    prune = run_cli("history", "prune", "--keep-last", "0", "--json", "--store", store_url)
    assert json.loads(prune.stdout)["kept_attested"] == [1]


def test_signed_runs_are_verified_with_the_public_key(tmp_path, store_url):
    keys = tmp_path / "keys"
    assert run_cli("keygen", "--out", keys).returncode == 0
    key, pub = keys / "lbaudit.key", keys / "lbaudit.pub"
    record_scan(tmp_path, store_url, "signed", wildcard_redis=False, extra=("--sign-key", str(key)))
    run = json.loads(run_cli("history", "show", "1", "--json", "--store", store_url).stdout)
    assert run["signature"]["state"] == "signed" and len(run["signature"]["key"]) == 64
    ok = run_cli("history", "verify", "--pubkey", pub, "--store", store_url)
    assert ok.returncode == 0 and "1 signatures verified" in ok.stdout
    other = tmp_path / "other"
    assert run_cli("keygen", "--out", other).returncode == 0
    wrong = run_cli("history", "verify", "--pubkey", other / "lbaudit.pub", "--json", "--store", store_url)
    assert wrong.returncode == 11 and json.loads(wrong.stdout)["first_break"]["kind"] == "signature"


@pytest.mark.parametrize("trigger", ["manual", "timer", "cron", "ci", "fleet"])
def test_every_trigger_is_recorded(tmp_path, trigger):
    store = str(tmp_path / "h.db")
    record_scan(tmp_path, store, "t", wildcard_redis=False, trigger=trigger)
    assert json.loads(run_cli("history", "list", "--json", "--store", store).stdout)[0]["trigger"] == trigger


def test_the_store_comes_from_LBAUDIT_STORE(tmp_path):
    store = tmp_path / "env.db"
    snap = write_scan_snapshot(tmp_path / "s.json", wildcard_redis=False)
    snap_run = run_cli("evaluate", "--policy", CORP, "--snapshot", snap, "-o", tmp_path / "e.json", "-q", "--record",
                       env={"LBAUDIT_STORE": str(store)})
    assert snap_run.returncode in (0, 3), snap_run.stderr
    assert store.is_file() and oct(store.stat().st_mode & 0o777) == "0o600"
    assert len(json.loads(run_cli("history", "list", "--json", env={"LBAUDIT_STORE": str(store)}).stdout)) == 1


@pytest.mark.slow  # records runs, then draws with rich
def test_list_and_trend_draw_tables_on_a_terminal(tmp_path):
    """On a terminal (a real pseudo-terminal here) the tables are drawn, each run on one line."""
    import os
    import subprocess
    import sys

    from tests.cli import REPO

    store = str(tmp_path / "h.db")
    _two_scans(tmp_path, store)
    for args in (["history", "list"], ["history", "trend", "--by", "family", "--since", SINCE]):
        primary, secondary = os.openpty()
        proc = subprocess.run([sys.executable, "-m", "auditor.cli", *args, "--store", store], stdout=secondary,
                              stderr=subprocess.PIPE, cwd=REPO, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "160", "TERM": "xterm"})
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(primary)
        screen = b"".join(chunks).decode("utf-8", "replace")
        assert proc.returncode == 0, proc.stderr
        assert "┏" in screen and "┃" in screen, screen
        if args[1] == "list":
            rows = [line for line in screen.splitlines() if "web01.example.test" in line]
            assert len(rows) == 2 and all("corp-baseline" in row for row in rows)  # one line per run
        else:
            assert any("SC" in line and "│" in line for line in screen.splitlines())


def test_reading_commands_leave_an_empty_database_empty(tmp_path, store_url):
    # before: an existing but empty database (an empty SQLite file, a fresh PostgreSQL database)
    # was given a schema by `history verify`, which then said the (empty) history held, exit 0
    if "://" not in store_url:
        (tmp_path / "state").mkdir()
        open(store_url, "w").close()
    for command in (("verify",), ("verify", "--json"), ("list",), ("trend",)):
        result = run_cli("history", *command, "--store", store_url)
        assert result.returncode == 2 and "no history store here (the database is empty" in result.stderr, command
        assert "Traceback" not in result.stderr
    engine = sa.create_engine(store_url if "://" in store_url else f"sqlite:///{store_url}")
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
    record_scan(tmp_path, store_url, "first", wildcard_redis=False)  # a recording command creates it
    assert run_cli("history", "verify", "--store", store_url).returncode == 0
