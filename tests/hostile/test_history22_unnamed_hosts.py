"""Runs recorded into one store by ``evaluate --record`` from hosts that do not name themselves.

Before: the store keyed a host by whatever /etc/machine-id held, else by its host name.  Every image
not booted yet holds the word ``uninitialized`` there (machine-id(5)), so two different images, web01
and db01, were one host of the store, "renamed" at each run: ``fleet report`` listed one host,
db01, compliant, exit 0, while web01's latest run failed; ``history list --host web01`` found no such
host, and web01's failing run was listed under db01's name.  Two images with neither a host name nor
a machine id (most container images: host name "unknown") were one host "unknown" likewise.
``lbaudit diff`` already refused to take such scans for one host (test_commands18_diff_unknown_hosts);
the store now agrees: a machine id that is no machine id (not 32 hexadecimal digits, or all zeros)
keys no host, and a run that names no host of its own (no machine id, a host name every unnamed host
has) is refused by ``evaluate --record`` (exit 2, nothing recorded), to be recorded under an
inventory name (``history import --host NAME``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli

POLICY = """id: binds
version: "1"
owner: Security <sec@example.com>
rules:
  - id: loopback-only
    check: net.bind_addresses
    params: {allow: [loopback]}
"""


def image(root: Path, hostname: str | None, machine_id: str | None, listens: bool) -> Path:
    """An image with a database on loopback (passes) and, when ``listens``, a web server on every address (fails)."""
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    (root / "usr" / "lib" / "systemd").mkdir(parents=True)
    (root / "usr" / "lib" / "systemd" / "systemd-sysctl").write_bytes(b"")
    if hostname is not None:
        (root / "etc" / "hostname").write_text(hostname + "\n")
    if machine_id is not None:
        (root / "etc" / "machine-id").write_text(machine_id + "\n")
    (root / "etc" / "systemd" / "system" / "db.socket").write_text("[Socket]\nListenStream=127.0.0.1:5432\n")
    if listens:
        (root / "etc" / "systemd" / "system" / "web.socket").write_text("[Socket]\nListenStream=0.0.0.0:8080\n")
    return root


def record(tmp_path: Path, store: Path, name: str, root: Path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    return run_cli("evaluate", "--policy", policy, "--root", root, "--output", tmp_path / f"{name}.json", "-q",
                   "--record", "--store", store)


@pytest.mark.parametrize("machine_id", ["uninitialized", "0" * 32, "not-a-machine-id"])
def test_two_images_sharing_no_machine_id_are_two_hosts(tmp_path: Path, machine_id: str) -> None:
    store = tmp_path / "history.db"
    web = record(tmp_path, store, "web", image(tmp_path / "web", "web01", machine_id, listens=True))
    assert web.returncode == 1, web.stderr
    db = record(tmp_path, store, "db", image(tmp_path / "db", "db01", machine_id, listens=False))
    assert db.returncode == 0, db.stderr

    listed = run_cli("history", "list", "--store", store, "--json")
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    # each run under the name its own evidence gives (web01's failing run was listed as db01's)
    assert sorted((run["host"]["hostname"], run["verdict"]) for run in runs) == [("db01", "compliant"),
                                                                                ("web01", "non_compliant")]

    report = json.loads(run_cli("fleet", "report", "--store", store, "--json").stdout)
    assert report["hosts_total"] == 2, report
    assert report["hosts_by_verdict"] == {"compliant": ["db01"], "non_compliant": ["web01"]}, report

    # history diff of web01 alone: there is one run of it, not web01 then db01 as one host
    diff = run_cli("history", "diff", "--store", store, "--host", "web01")
    assert diff.returncode == 2 and "only one run" in diff.stderr, diff.stdout + diff.stderr


@pytest.mark.parametrize("identity", [(None, None), ("localhost", "uninitialized"), ("localhost.localdomain", None)])
def test_a_run_naming_no_host_is_refused_by_evaluate_record(tmp_path: Path, identity) -> None:
    hostname, machine_id = identity
    store = tmp_path / "history.db"
    web = record(tmp_path, store, "web", image(tmp_path / "web", hostname, machine_id, listens=True))
    assert web.returncode == 2, web.stdout + web.stderr
    assert "names no host" in web.stderr and "history import" in web.stderr and "--host" in web.stderr, web.stderr
    assert "Traceback" not in web.stderr
    assert not store.exists() and not (tmp_path / "web.json").exists()  # nothing recorded, nothing half-done

    # evaluated without --record and recorded under an inventory name, it is a host of its own, and
    # another such image under another name is another
    policy = tmp_path / "policy.yaml"
    (tmp_path / "db").mkdir()
    for name, listens in (("web", True), ("db", False)):
        root = tmp_path / name if name == "web" else image(tmp_path / "db" / "root", hostname, machine_id, listens)
        run = run_cli("evaluate", "--policy", policy, "--root", root, "--output", tmp_path / f"{name}.json", "-q")
        assert run.returncode == (1 if listens else 0), run.stderr
        imported = run_cli("history", "import", "--store", store, "--host", f"{name}-image", tmp_path / f"{name}.json")
        assert imported.returncode == 0, imported.stderr
    report = json.loads(run_cli("fleet", "report", "--store", store, "--json").stdout)
    assert report["hosts_total"] == 2, report
    assert report["hosts_by_verdict"]["non_compliant"] == ["web-image"], report
    # and history import without --host refuses it as evaluate --record does
    run_cli("evaluate", "--policy", policy, "--root", tmp_path / "web", "--output", tmp_path / "again.json", "-q")
    again = run_cli("history", "import", "--store", store, tmp_path / "again.json")
    assert again.returncode == 2 and "names no host" in again.stderr, again.stderr


def test_verify_compares_the_host_name_of_a_host_keyed_by_it(tmp_path: Path) -> None:
    """A host whose machine id is no id is keyed by its host name, so an edit of that name in the
    store is a break: verify skipped the comparison whenever the row held any machine id at all."""
    import sqlite3

    store = tmp_path / "history.db"
    web = record(tmp_path, store, "web", image(tmp_path / "web", "web01", "uninitialized", listens=True))
    assert web.returncode == 1, web.stderr
    assert run_cli("history", "verify", "--store", store).returncode == 0
    with sqlite3.connect(store) as connection:
        connection.execute("UPDATE hosts SET hostname = 'db01'")
    verified = run_cli("history", "verify", "--store", store, "--json")
    assert verified.returncode == 10, verified.stdout + verified.stderr
    assert "record_mismatch" in verified.stdout and "db01" in verified.stdout, verified.stdout
