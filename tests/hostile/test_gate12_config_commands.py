"""The configuration file and the LBAUDIT_* variables fill an option of every command that has it,
subcommands of a group included, and only an option that takes what the setting is.

Two mistakes in one table (auditor/config.py):

* the file reached no subcommand of a group (click hands a subcommand the ``default_map`` entry of
  its name, and the group's map had none): ``store:`` was not the store of ``history verify`` or
  ``fleet evaluate --record`` (the default one was used), nor ``sign_key:`` the key of
  ``fleet evaluate``, whose hosts' evidence was written unsigned while ``evaluate`` signed;
* ``LBAUDIT_POLICY``, a policy *file*, filled ``--policy`` of the history commands and ``fleet
  report``, where it is a policy *id*: with the variable set for the scan (a CI job, a unit's
  Environment=), ``history head`` printed no head at all (exit 0; the head meant to be pinned
  outside the store was never taken) and ``history list`` and ``diff`` found no run.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, snapshot

POLICY = REPO / "policies" / "corp.yaml"


def _recorded(tmp_path: Path) -> tuple[Path, str]:
    store = tmp_path / "history.db"
    snap = tmp_path / "s.json"
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)]), snap)
    for name in ("e1.json", "e2.json"):
        run = run_cli("evaluate", "--policy", POLICY, "--snapshot", snap, "-o", tmp_path / name, "-q", "--record",
                      "--store", store, env={"LBAUDIT_CONFIG": ""})
        assert run.returncode in (0, 1, 3), run.stderr
    digest = json.loads(run_cli("history", "list", "--json", "--store", store,
                                env={"LBAUDIT_CONFIG": ""}).stdout)[0]["evidence_sha256"]
    return store, digest


def test_the_scans_policy_file_variable_does_not_filter_the_history_by_id(tmp_path: Path):
    store, newest = _recorded(tmp_path)
    env = {"LBAUDIT_CONFIG": "", "LBAUDIT_POLICY": str(POLICY)}
    heads = run_cli("history", "head", "--json", "--store", store, env=env)
    assert heads.returncode == 0, heads.stderr
    assert [head["evidence_sha256"] for head in json.loads(heads.stdout)["heads"]] == [newest]  # on main: []
    listed = run_cli("history", "list", "--json", "--store", store, env=env)
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 2
    diffed = run_cli("history", "diff", "--store", store, env=env)
    assert diffed.returncode == 0, diffed.stderr


def test_control_case_the_policy_file_variable_still_names_the_policy_evaluated(tmp_path: Path):
    snap = tmp_path / "s.json"
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)]), snap)
    run = run_cli("evaluate", "--snapshot", snap, "-o", tmp_path / "e.json", "-q",
                  env={"LBAUDIT_CONFIG": "", "LBAUDIT_POLICY": str(POLICY)})
    assert run.returncode in (0, 1, 3), run.stderr
    assert json.loads((tmp_path / "e.json").read_bytes())["policy"]["id"] == "corp-baseline"


def test_the_configurations_store_is_the_store_of_the_history_commands(tmp_path: Path):
    store, newest = _recorded(tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text(f"store: {store}\n", encoding="utf-8")
    env = {"LBAUDIT_CONFIG": str(config), "LBAUDIT_STORE": None}
    listed = run_cli("history", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)[0]["evidence_sha256"] == newest
    verified = run_cli("history", "verify", "--expect-head", newest, env=env)
    assert verified.returncode == 0, verified.stderr


def test_the_configurations_key_signs_what_fleet_evaluate_writes(tmp_path: Path):
    keys = tmp_path / "keys"
    assert run_cli("keygen", "--out", keys).returncode == 0
    fetch = tmp_path / "fetch"
    (fetch / "db01").mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 5432)], hostname="db01"),
                   fetch / "db01" / "lbaudit.snapshot.json")
    config = tmp_path / "config.yaml"
    config.write_text(f"sign_key: {keys / 'lbaudit.key'}\n", encoding="utf-8")
    out = tmp_path / "out"
    run = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out,
                  env={"LBAUDIT_CONFIG": str(config), "LBAUDIT_SIGN_KEY": None})
    assert run.returncode in (0, 1, 3), run.stderr
    assert (out / "db01.evidence.json.sig").is_file()  # on main: written unsigned
    assert run_cli("verify", out / "db01.evidence.json", "--pubkey", keys / "lbaudit.pub").returncode == 0
