"""A snapshot of an offline root directory (``lbaudit collect --root IMG``) judged later.

Loading a snapshot replaced its recorded source with "snapshot", so its evidence, terminal summary
and PDF said "unverified snapshot" like any host's, and nothing told that its facts were an image's
files: no running socket, sysctl or audit rule.  In a fleet such a file under a host's directory made
that host COMPLIANT (its runtime findings not_applicable, the image's configuration passing) although
nothing of the running host was seen.  Now the evidence keeps what the file was collected from
(``provenance.collected_from``), says so in its facts line, and a fleet fails that host with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import install_procps_boot, listener, snapshot

POLICY = """\
id: pool-only
version: "1"
owner: Security <sec@example.test>
description: the ephemeral pool only, which an image's sysctl.d can satisfy
rules:
  - id: ephemeral-pool
    check: net.ephemeral_port_range
"""


def _image(tmp_path: Path) -> Path:
    """A root directory whose configuration alone passes the policy."""
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "etc" / "hostname").write_text("web01\n")
    (root / "etc" / "sysctl.d" / "50-range.conf").write_text("net.ipv4.ip_local_port_range = 32768 60999\n")
    return root


def _policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


def test_a_snapshot_of_an_image_says_so_in_its_evidence(tmp_path):
    policy, image = _policy(tmp_path), _image(tmp_path)
    snap = tmp_path / "image.snapshot.json"
    assert run_cli("collect", "--root", image, "--output", snap).returncode == 0
    result = run_cli("evaluate", "--policy", policy, "--snapshot", snap, "--output", tmp_path / "ev.json")
    assert result.returncode == 0  # the image itself is judged, as asked
    provenance = json.loads((tmp_path / "ev.json").read_text())["snapshot"]["provenance"]
    assert (provenance["source"], provenance["target_kind"], provenance["collected_from"]) == ("snapshot", "snapshot", "root")
    assert "facts: unverified snapshot of an offline root directory (an image, not a running host) (SHA-256 " \
        in result.stdout


def test_a_snapshot_of_a_running_host_records_that_too(tmp_path):
    snap = tmp_path / "host.snapshot.json"
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)]), snap)
    result = run_cli("evaluate", "--policy", _policy(tmp_path), "--snapshot", snap, "--output", tmp_path / "ev.json")
    assert result.returncode == 0
    provenance = json.loads((tmp_path / "ev.json").read_text())["snapshot"]["provenance"]
    assert provenance["collected_from"] == "live"
    assert "facts: unverified snapshot (SHA-256 " in result.stdout


def test_an_image_snapshot_under_a_fleet_host_fails_that_host_not_compliant(tmp_path):
    policy, image = _policy(tmp_path), _image(tmp_path)
    fetch = tmp_path / "fetch"
    (fetch / "web01").mkdir(parents=True)
    (fetch / "web02").mkdir()
    assert run_cli("collect", "--root", image, "--output", fetch / "web01" / "lbaudit.snapshot.json").returncode == 0
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="web02"),
                   fetch / "web02" / "lbaudit.snapshot.json")
    out = tmp_path / "out"
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", policy, "--out-dir", out, timeout=120)
    assert result.returncode == 2
    hosts = {h["host"]: h for h in json.loads((out / "fleet-summary.json").read_text())["hosts"]}
    assert (hosts["web01"]["exit_code"], hosts["web01"]["verdict"]) == (2, None)
    assert "collected from an offline root directory (lbaudit collect --root), not from a running host" \
        in hosts["web01"]["error"]
    assert not (out / "web01.evidence.json").exists()
    assert (hosts["web02"]["exit_code"], hosts["web02"]["verdict"]) == (0, "compliant")


def test_the_report_scope_names_the_image_a_snapshot_was_collected_from(tmp_path):
    from auditor.report.view import _scope
    from auditor.storage.evidence import load_evidence

    snap = tmp_path / "image.snapshot.json"
    assert run_cli("collect", "--root", _image(tmp_path), "--output", snap).returncode == 0
    assert run_cli("evaluate", "--policy", _policy(tmp_path), "--snapshot", snap, "--output", tmp_path / "ev.json").returncode == 0
    evidence, _ = load_evidence(tmp_path / "ev.json")
    assert _scope(evidence).target == f"saved snapshot web01 (collected from an offline root directory) ({snap})"


# ---------------------------------------------------------------- what an image cannot show

BIND_POLICY = """\
id: bind-only
version: "1"
owner: Security <sec@example.test>
description: listeners on loopback only
rules:
  - id: bind
    check: net.bind_addresses
    params: {allow: [loopback]}
"""


def _findings(path: Path) -> list[tuple[str, str, str]]:
    return sorted((f["rule_id"], f["status"], f["subject"]) for f in json.loads(path.read_text())["result"]["findings"])


def test_an_image_that_declares_no_listener_is_not_passed_as_having_none(tmp_path):
    # "no listeners were found" in an image means no socket unit declares one: the services it
    # starts open theirs at run time, which no file shows.  It passed (and CM-7, SC-7 with it).
    root = _image(tmp_path)
    policy = tmp_path / "bind.yaml"
    policy.write_text(BIND_POLICY)
    result = run_cli("evaluate", "--policy", policy, "--root", root, "--output", tmp_path / "ev.json")
    assert result.returncode == 3
    assert _findings(tmp_path / "ev.json") == [
        ("bind", "not_applicable", "listeners (collection)"),
        ("bind", "not_applicable", "listeners in other network namespaces")]


def test_an_image_whose_units_declare_no_listener_in_the_range_passes_only_the_pool(tmp_path):
    root = _image(tmp_path)
    result = run_cli("evaluate", "--policy", _policy(tmp_path), "--root", root, "--output", tmp_path / "ev.json")
    assert result.returncode == 0
    assert _findings(tmp_path / "ev.json") == [
        ("ephemeral-pool", "not_applicable", "listeners in the ephemeral port range (collection)"),
        ("ephemeral-pool", "not_applicable", "settings of other network namespaces"),
        ("ephemeral-pool", "pass", "ephemeral port pool"),
        ("ephemeral-pool", "pass", "ephemeral port range bounds")]


def test_a_unit_declared_listener_in_an_image_is_still_judged(tmp_path):
    root = _image(tmp_path)
    units = root / "etc" / "systemd" / "system"
    (units / "sockets.target.wants").mkdir(parents=True)
    (units / "admin.socket").write_text("[Socket]\nListenStream=0.0.0.0:9000\n\n[Install]\nWantedBy=sockets.target\n")
    (units / "sockets.target.wants" / "admin.socket").symlink_to("/etc/systemd/system/admin.socket")
    policy = tmp_path / "bind.yaml"
    policy.write_text(BIND_POLICY)
    result = run_cli("evaluate", "--policy", policy, "--root", root, "--output", tmp_path / "ev.json")
    assert result.returncode == 1
    assert _findings(tmp_path / "ev.json") == [
        ("bind", "fail", "tcp 0.0.0.0:9000 declared by /etc/systemd/system/admin.socket"),
        ("bind", "not_applicable", "listeners (collection)"),
        ("bind", "not_applicable", "listeners in other network namespaces")]
