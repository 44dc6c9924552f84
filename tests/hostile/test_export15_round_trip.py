"""Moving a history store to another backend (SQLite to PostgreSQL) with `history export
--with-evidence` and `history import` lost what the store had recorded: `history import` took only
evidence files, so every run came back `manual` (its `timer` or `fleet` trigger gone), unattested,
without its inventory name (unless --host was given again, one host at a time), under new ids and
recording times; a retired host came back into `fleet report` as stale, a pruned run's link was gone
(so `history verify` of the copy failed the chain), and nothing read the JSON Lines export wrote.

Now `history import --export FILE` records the export as it was, in one transaction: `history list
--json`, `show --json`, `head`, `trend`, `fleet report` and `verify` of the copy answer exactly as
the original's; a damaged or edited line is exit 2 naming FILE:LINE (a signature that no longer
holds: exit 10), and nothing is recorded."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from auditor.history import open_store
from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import record_scan

USAGE, VERIFY_DIGEST = 2, 10
MACHINE_A, MACHINE_B, MACHINE_C = "a" * 32, "b" * 32, "c" * 32


def _original(tmp_path: Path) -> tuple[str, Path]:
    """A store with three hosts: web01 (signed timer runs, one pruned, one attested), db01 (fleet runs
    under an inventory name, a fleet run that missed it), old01 (retired)."""
    keys = tmp_path / "keys"
    assert run_cli("keygen", "--out", keys).returncode == 0
    sign = ("--sign-key", str(keys / "lbaudit.key"))
    store = str(tmp_path / "original.db")
    record_scan(tmp_path, store, "web-mon", wildcard_redis=False, trigger="timer", extra=sign,
                hostname="web01", machine_id=MACHINE_A)
    record_scan(tmp_path, store, "old-mon", wildcard_redis=False, hostname="old01", machine_id=MACHINE_C)
    scratch = str(tmp_path / "scratch.db")
    for name, redis in (("db-mon", False), ("db-tue", True)):
        evidence, _ = record_scan(tmp_path, scratch, name, wildcard_redis=redis, hostname="db01",
                                  machine_id=MACHINE_B)
        imported = run_cli("history", "import", evidence, "--host", "db01-inventory", "--trigger", "fleet",
                           "--store", store)
        assert imported.returncode == 0, imported.stderr
    web_tue, _ = record_scan(tmp_path, store, "web-tue", wildcard_redis=True, trigger="timer", extra=sign,
                             hostname="web01", machine_id=MACHINE_A)
    with open_store(store) as opened:
        opened.mark_attested(json.loads(run_cli("history", "show", "5", "--json", "--store", store).stdout)
                             ["evidence_sha256"], "pdf", b"%PDF- the report", at=datetime(2026, 1, 2, tzinfo=timezone.utc))
        opened.record_missed("db01-inventory", "corp-baseline", datetime.now(timezone.utc), 2,
                             "no snapshot fetched: connection refused")
    assert run_cli("history", "retire", "old01", "--reason", "decommissioned", "--store", store).returncode == 0
    pruned = run_cli("history", "prune", "--keep-last", "1", "--store", store)
    assert pruned.returncode == 0 and pruned.stdout.startswith("removed 2 runs"), pruned.stdout + pruned.stderr
    return store, keys / "lbaudit.pub"


def _answers(store: str, pub: Path) -> dict[str, object]:
    """What the commands that read a history answer of ``store`` (its location left out)."""
    listed = run_cli("history", "list", "--json", "--store", store)
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    heads = json.loads(run_cli("history", "head", "--json", "--store", store).stdout)
    heads.pop("store")
    fleet = run_cli("fleet", "report", "--json", "--store", store)
    verified = run_cli("history", "verify", "--pubkey", pub, "--json", "--store", store)
    trend = run_cli("history", "trend", "--json", "--since", "2020-01-01", "--store", store)
    return {"list": runs,
            "show": [json.loads(run_cli("history", "show", str(run["id"]), "--json", "--store", store).stdout)
                     for run in runs],
            "heads": heads, "fleet": (fleet.returncode, json.loads(fleet.stdout)),
            "verify": (verified.returncode, json.loads(verified.stdout)), "trend": json.loads(trend.stdout)}


def test_an_exported_store_imported_into_another_answers_as_the_original(tmp_path, store_url):  # noqa: F811
    original, pub = _original(tmp_path)
    exported = run_cli("history", "export", "--with-evidence", "--store", original)
    assert exported.returncode == 0, exported.stderr
    export = tmp_path / "history.jsonl"
    export.write_text(exported.stdout)

    imported = run_cli("history", "import", "--export", export, "--store", store_url)
    assert imported.returncode == 0, imported.stderr  # before: exit 2, "--export" no such option
    assert imported.stdout == (f"{export}: recorded 3 runs, 2 pruned runs' links, 1 retirements and "
                               "1 hosts not scanned\n")
    before, after = _answers(original, pub), _answers(store_url, pub)
    assert [(r["id"], r["trigger"], r["host"]["inventory_name"], r["signature"]["state"], r["attested"])
            for r in before["list"]] == [(5, "timer", None, "signed", True), (4, "fleet", "db01-inventory",
                                                                           "unsigned", False),
                                         (2, "manual", None, "unsigned", False)]
    assert after == before
    assert before["verify"][0] == 0 and before["fleet"][0] == 3  # the fleet run that missed db01
    again = run_cli("history", "export", "--with-evidence", "--store", store_url)
    assert again.stdout == exported.stdout


def _export(tmp_path: Path) -> list[dict]:
    original, _ = _original(tmp_path)
    return [json.loads(line) for line in
            run_cli("history", "export", "--with-evidence", "--store", original).stdout.splitlines()]


def _write(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_an_edited_line_is_refused_by_file_and_line_and_nothing_is_recorded(tmp_path):
    lines = _export(tmp_path)
    assert [line["record"] for line in lines] == ["run", "run", "run", "pruned_run", "pruned_run", "retirement",
                                                  "missed_scan"]
    lines[1]["verdict"] = "compliant"  # db01's failing run made to pass, its evidence untouched
    export = _write(tmp_path / "edited.jsonl", lines)
    target = str(tmp_path / "copy.db")
    result = run_cli("history", "import", "--export", export, "--store", target)
    assert result.returncode == USAGE
    assert result.stderr == (f"lbaudit: {export}:2: run 4's verdict is 'compliant' in the export, but its evidence "
                             "(and signature) record 'non_compliant': the line was edited; nothing was recorded\n")
    assert not Path(target).exists()  # the store it would have created is not left behind


def test_a_damaged_line_is_refused_by_file_and_line(tmp_path):
    export = tmp_path / "damaged.jsonl"
    export.write_text("".join(json.dumps(line) + "\n" for line in _export(tmp_path))[:-40] + "\n")
    result = run_cli("history", "import", "--export", export, "--store", str(tmp_path / "copy.db"))
    assert result.returncode == USAGE
    assert result.stderr.startswith(f"lbaudit: {export}:7: not a line of history export (JSON): ")


def test_a_signature_that_no_longer_holds_is_exit_10(tmp_path):
    lines = _export(tmp_path)
    assert (lines[2]["id"], lines[2]["signature"]["state"]) == (5, "signed")
    lines[2]["evidence"] = lines[2]["evidence"].replace("which is allowed", "which is fine", 1)
    export = _write(tmp_path / "changed.jsonl", lines)
    result = run_cli("history", "import", "--export", export, "--store", str(tmp_path / "copy.db"))
    assert result.returncode == VERIFY_DIGEST, result.stderr
    assert result.stderr.startswith(f"lbaudit: {export}:3: run 5's evidence changed after it was signed")


def test_a_filtered_export_that_leaves_a_chain_open_is_refused(tmp_path):
    lines = _export(tmp_path)
    export = _write(tmp_path / "partial.jsonl", [line for line in lines if line["record"] != "pruned_run"])
    result = run_cli("history", "import", "--export", export, "--store", str(tmp_path / "copy.db"))
    assert result.returncode == USAGE
    assert "an entry of the chain is missing" in result.stderr and f"{export}:" in result.stderr


def test_an_export_without_evidence_is_refused_with_what_to_do(tmp_path):
    original, _ = _original(tmp_path)
    export = tmp_path / "plain.jsonl"
    export.write_text(run_cli("history", "export", "--store", original).stdout)
    result = run_cli("history", "import", "--export", export, "--store", str(tmp_path / "copy.db"))
    assert result.returncode == USAGE
    assert result.stderr == (f"lbaudit: {export}:1: not an entry of history export --with-evidence: its record is "
                             "None, expected one of run, pruned_run, retirement, missed_scan (an export without "
                             "--with-evidence cannot be imported: export again with --with-evidence)\n")


def test_an_export_imported_over_runs_of_its_ids_is_refused_and_the_store_unchanged(tmp_path):
    original, _ = _original(tmp_path)
    export = tmp_path / "history.jsonl"
    export.write_text(run_cli("history", "export", "--with-evidence", "--store", original).stdout)
    listed = run_cli("history", "list", "--json", "--store", original).stdout
    result = run_cli("history", "import", "--export", export, "--store", original)
    assert (result.returncode, result.stderr) == (USAGE, (
        f"lbaudit: {export}:4: run id 1 is not free in {original}, whose runs reach id 6: an export is imported "
        "into a fresh store (or one whose runs all came before it); nothing was recorded\n"))
    assert run_cli("history", "list", "--json", "--store", original).stdout == listed
    again = run_cli("history", "import", "--export", export, "--trigger", "fleet", "--store", original)
    assert again.returncode == USAGE and "give no evidence files, --trigger or --host with it" in again.stderr
