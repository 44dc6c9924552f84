"""Hostile Windows bundles put together from more than one host.

``auditpol /backup`` names the machine it was taken on in its first column (Machine Name, the
NetBIOS name).  A bundle whose ``auditpol-backup.csv`` was copied from another host (a golden
image's backup, a colleague's capture, a support case mixed up) showed that host's "Filtering
Platform Connection: Success" as this host's, and the socket-logging rule passed for a host whose
own policy was never read.  The audit policy of a bundle is this host's only when every row names
the host the bundle's ``hostname.txt`` names: otherwise the finding is not reviewed, with both names.

Each case copies a fixture bundle, edits one file, and replays it with ``lbaudit evaluate --target
replay:DIR`` in-process, asserting the exact status and exit code.
"""

from __future__ import annotations

from pathlib import Path

from tests.bundles import replay_edited

AUDIT_ONLY = """\
id: audit-only
version: "1"
owner: Security Engineering
rules:
  - id: socket-audit
    check: audit.socket_logging
"""
WFP = ("socket-audit", "Windows Filtering Platform connection auditing")


def _rename_machine(directory: Path, old: bytes, new: bytes) -> None:
    path = directory / "auditpol-backup.csv"
    path.write_bytes(path.read_bytes().replace(old, new))


def test_control_case_the_hosts_own_audit_policy_passes(tmp_path):
    code, found, _ = replay_edited(tmp_path, "windows-audited", lambda d: None, AUDIT_ONLY)
    assert (code, found[WFP]["status"]) == (0, "pass")


def test_an_audit_policy_backup_of_another_host_is_not_this_hosts(tmp_path):
    code, found, _ = replay_edited(
        tmp_path, "windows-audited", lambda d: _rename_machine(d, b"WIN-SRV01,", b"GOLDEN-IMAGE,"), AUDIT_ONLY)
    assert code == 3  # was 0: GOLDEN-IMAGE's "Success" passed for WIN-SRV01
    assert found[WFP]["status"] == "not_reviewed"
    assert ("bundle file auditpol-backup.csv: taken on GOLDEN-IMAGE, not on WIN-SRV01 (bundle file hostname.txt): "
            "the audit policy of another host") in found[WFP]["message"]


def test_a_backup_holding_rows_of_two_machines_is_not_one_hosts(tmp_path):
    def edit(directory: Path) -> None:
        path = directory / "auditpol-backup.csv"
        lines = path.read_bytes().split(b"\r\n")
        lines[1] = lines[1].replace(b"WIN-SRV01,", b"OTHER,")
        path.write_bytes(b"\r\n".join(lines))
    code, found, _ = replay_edited(tmp_path, "windows-audited", edit, AUDIT_ONLY)
    assert code == 3  # was 0
    assert found[WFP]["status"] == "not_reviewed"
    assert "bundle file auditpol-backup.csv: rows of more than one machine (OTHER, WIN-SRV01)" in found[WFP]["message"]


def test_the_netbios_name_is_the_host_name_cut_to_15_characters_in_capitals(tmp_path):
    # hostname.exe prints the DNS host name; auditpol the NetBIOS name: its first 15 characters, upper case
    def edit(directory: Path) -> None:
        (directory / "hostname.txt").write_bytes(b"win-srv01-frankfurt-db\r\n")
        _rename_machine(directory, b"WIN-SRV01,", b"WIN-SRV01-FRANK,")
    code, found, _ = replay_edited(tmp_path, "windows-audited", edit, AUDIT_ONLY)
    assert (code, found[WFP]["status"]) == (0, "pass")


def test_a_group_policy_audit_csv_without_machine_names_is_not_the_hosts_backup(tmp_path):
    # A GPO's Audit.csv (MS-GPAC) has the same columns and an empty Machine Name: what is configured
    # somewhere, not what this host runs.
    code, found, _ = replay_edited(
        tmp_path, "windows-audited", lambda d: _rename_machine(d, b"WIN-SRV01,", b","), AUDIT_ONLY)
    assert code == 3  # was 0
    assert found[WFP]["status"] == "not_reviewed"
    assert "bundle file auditpol-backup.csv: its rows name no machine (a Group Policy audit.csv" in found[WFP]["message"]


def test_a_backup_is_not_this_hosts_when_the_bundle_does_not_name_the_host(tmp_path):
    # hostname.txt missing (or cut off, or not a host name): GOLDEN-IMAGE's policy was taken as this host's
    def edit(directory: Path) -> None:
        _rename_machine(directory, b"WIN-SRV01,", b"GOLDEN-IMAGE,")
        (directory / "hostname.txt").unlink()
    code, found, _ = replay_edited(tmp_path, "windows-audited", edit, AUDIT_ONLY)
    assert code == 3  # was 0: pass
    assert found[WFP]["status"] == "not_reviewed"
    assert ("bundle file auditpol-backup.csv: taken on GOLDEN-IMAGE, and whether that is this host cannot be told: "
            "bundle file hostname.txt: missing from the bundle") in found[WFP]["message"]


def test_a_cut_off_host_name_is_not_the_hosts_name(tmp_path):
    def edit(directory: Path) -> None:
        (directory / "hostname.txt").write_bytes(b"WIN-SRV")  # of WIN-SRV01, no line end
    code, found, _ = replay_edited(tmp_path, "windows-audited", edit, AUDIT_ONLY)
    assert code == 3
    assert found[WFP]["status"] == "not_reviewed"
    assert ("whether that is this host cannot be told: bundle file hostname.txt: not understood: the output ends "
            "mid-line ('WIN-SRV' has no line end)") in found[WFP]["message"]
