"""``lbaudit diff`` of two scans neither of which names its host.

Before: two scans were "the same host" when their host names and machine ids were equal, and an
offline root directory without /etc/hostname and /etc/machine-id (most container images), like a
captured bundle without hostname.txt, records the host name "unknown" and no machine id.  So two
different images compared as one host: the web image's failing listeners, absent from the db image,
read as improvements ("fail -> gone"), exit 0, and no word that the two scans might be of two hosts.
Now a scan with no host name and no machine id is not known to be of the host of any other: the
diff says the host is unknown and exits 1 unless --allow-host-change says the comparison is intended.
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
WEB_SOCKET = "[Socket]\nListenStream=0.0.0.0:8080\n"
DB_SOCKET = "[Socket]\nListenStream=127.0.0.1:5432\n"


def image(root: Path, hostname: str | None = None, machine_id: str | None = None, listens: bool = False) -> Path:
    """An image with a database on loopback (passes) and, when ``listens``, a web server on every address (fails)."""
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    # the systemd that starts its socket units applies its (empty) sysctl.d: route_localnet stays off
    (root / "usr" / "lib" / "systemd").mkdir(parents=True)
    (root / "usr" / "lib" / "systemd" / "systemd-sysctl").write_bytes(b"")
    if hostname is not None:
        (root / "etc" / "hostname").write_text(hostname + "\n")
    if machine_id is not None:
        (root / "etc" / "machine-id").write_text(machine_id + "\n")
    (root / "etc" / "systemd" / "system" / "db.socket").write_text(DB_SOCKET)
    if listens:
        (root / "etc" / "systemd" / "system" / "web.socket").write_text(WEB_SOCKET)
    return root


def evaluate(tmp_path: Path, name: str, root: Path) -> Path:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    evidence = tmp_path / f"{name}.json"
    run = run_cli("evaluate", "--policy", policy, "--root", root, "--output", evidence, "-q")
    assert evidence.exists(), run.stderr
    return evidence


def test_two_images_without_a_host_name_are_not_taken_for_one_host(tmp_path: Path) -> None:
    web = evaluate(tmp_path, "web", image(tmp_path / "web", listens=True))
    db = evaluate(tmp_path, "db", image(tmp_path / "db"))
    assert json.loads(web.read_text())["snapshot"]["provenance"]["hostname"] == "unknown"
    assert json.loads(db.read_text())["result"]["verdict"] == "compliant"

    result = run_cli("diff", web, db, "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["same_host"] is False and document["host_identified"] is False
    assert document["exit_code"] == 1
    assert [c["after"] for c in document["improvements"]] == [None]  # still listed: the comparison is shown

    text = run_cli("diff", web, db)
    assert text.returncode == 1
    assert ("host unknown: unknown (machine id unknown) -> unknown (machine id unknown) (a scan that names neither "
            "its host nor its machine id may be of another host): not drift; exit 1 unless --allow-host-change\n"
            ) in text.stdout, text.stdout
    allowed = run_cli("diff", web, db, "--allow-host-change")
    assert allowed.returncode == 0 and "(allowed by --allow-host-change)" in allowed.stdout, allowed.stdout


@pytest.mark.parametrize("identity", [
    {"machine_id": "uninitialized"},  # systemd's first-boot marker, as images ship /etc/machine-id (machine-id(5))
    {"hostname": "localhost", "machine_id": "uninitialized"},
    {"hostname": "localhost.localdomain"},
])
def test_images_naming_no_host_of_their_own_are_not_one_host(tmp_path: Path, identity: dict[str, str]) -> None:
    """The word every unbooted image holds for its machine id, or the name every unnamed host has,
    names no host: "localhost (machine id uninitialized)" on both sides compared as one host."""
    web = evaluate(tmp_path, "web", image(tmp_path / "web", listens=True, **identity))
    db = evaluate(tmp_path, "db", image(tmp_path / "db", **identity))
    result = run_cli("diff", web, db, "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["same_host"] is False and document["host_identified"] is False


def test_one_side_named_is_a_host_change(tmp_path: Path) -> None:
    before = evaluate(tmp_path, "before", image(tmp_path / "a", listens=True))
    after = evaluate(tmp_path, "after", image(tmp_path / "b", hostname="db01"))
    result = run_cli("diff", before, after, "--json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["same_host"] is False and document["host_identified"] is False


def test_an_image_that_names_its_host_still_diffs_against_itself(tmp_path: Path) -> None:
    for identity in ({"hostname": "web01"}, {"machine_id": "0123456789abcdef0123456789abcdef"},
                     {"hostname": "localhost", "machine_id": "0123456789abcdef0123456789abcdef"}):
        case = tmp_path / "-".join(identity.values())
        case.mkdir()
        root = image(case / "root", listens=True, **identity)
        before, after = evaluate(case, "before", root), evaluate(case, "after", root)
        result = run_cli("diff", before, after, "--json")
        assert result.returncode == 0, result.stdout
        document = json.loads(result.stdout)
        assert document["same_host"] is True and document["host_identified"] is True
