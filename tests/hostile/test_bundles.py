"""Hostile captured bundles (issue 14): truncated, garbled, huge, empty and wrongly encoded probe
files, symbolic links and FIFOs in the bundle, and directories that are no bundle at all.

Each case copies a fixture bundle under tmp_path, spoils one file, and runs ``lbaudit evaluate
--target replay:DIR`` in-process under an alarm, asserting the exact status of the findings the
spoiled file feeds (never a pass) or the exit code 2 for a directory that is not a bundle.
"""

from __future__ import annotations

import codecs
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
BUNDLES = REPO / "tests" / "fixtures" / "bundles"
TIMEOUT = 60
POOL_TCP4 = ("ephemeral-pool", "ephemeral port pool (tcp/ipv4 dynamic port range)")
WFP = ("socket-audit", "Windows Filtering Platform connection auditing")
COLLECTION = ("listeners-loopback-only", "listeners (collection)")


def bundle(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(BUNDLES / name, target)
    return target


def evaluate(directory: Path, tmp_path: Path) -> tuple[int, dict, str]:
    out = tmp_path / "e.json"
    result = run_cli("evaluate", "--policy", "policies/corp.yaml", "--target", f"replay:{directory}", "--output", out,
                     "-q", timeout=TIMEOUT)
    findings = {}
    if out.exists():
        for finding in json.loads(out.read_text())["result"]["findings"]:
            findings[(finding["rule_id"], finding["subject"])] = finding
    return result.returncode, findings, result.stderr


def test_truncated_netstat_leaves_the_listener_list_not_reviewed(tmp_path):
    directory = bundle(tmp_path, "windows-default-en")
    data = (directory / "netstat-ano.txt").read_bytes()
    cut = data.index(b"127.0.0.1:8080") + 6  # mid-row: "  TCP    127.0"
    (directory / "netstat-ano.txt").write_bytes(data[:cut])
    code, findings, _ = evaluate(directory, tmp_path)
    assert code == 1
    assert findings[COLLECTION]["status"] == "not_reviewed"
    assert "rows not understood, listeners may be missing" in findings[COLLECTION]["reason"]
    assert ("listeners-loopback-only", "tcp 127.0.0.1:8080 devserver.exe pid 3120") not in findings


def test_garbled_auditpol_backup_is_not_reviewed_never_passed(tmp_path):
    directory = bundle(tmp_path, "windows-audited")  # auditing is on in the real file
    (directory / "auditpol-backup.csv").write_bytes(os.urandom(4096))
    code, findings, _ = evaluate(directory, tmp_path)
    assert findings[WFP]["status"] == "not_reviewed"
    assert "bundle file auditpol-backup.csv" in findings[WFP]["reason"]


def test_an_unparseable_row_beside_auditing_on_is_not_reviewed(tmp_path):
    directory = bundle(tmp_path, "windows-audited")
    with open(directory / "auditpol-backup.csv", "ab") as handle:
        handle.write(b"WIN-SRV01,System,Filtering Platform Connection,{0CCE9226-69AE-11D9-BED3-505054503030},x,,9\r\n")
    _, findings, _ = evaluate(directory, tmp_path)
    assert findings[WFP]["status"] == "not_reviewed"
    assert "Setting Value '9' is not 0-4" in findings[WFP]["reason"]


def test_a_huge_probe_file_is_refused_unread(tmp_path):
    directory = bundle(tmp_path, "windows-default-en")
    with open(directory / "netsh-dynamicport-tcp.txt", "wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # sparse: 64 MiB of NULs
    code, findings, _ = evaluate(directory, tmp_path)
    assert findings[POOL_TCP4]["status"] == "not_reviewed"
    # netsh dynamicport prints a few lines: its bound is 1 MiB (the listings' is 32 MiB)
    assert "larger than 1,048,576 bytes" in findings[POOL_TCP4]["reason"]


def test_a_symlink_in_the_bundle_is_not_followed_even_to_a_passing_file(tmp_path):
    directory = bundle(tmp_path, "windows-audited")
    passing = tmp_path / "elsewhere.csv"
    passing.write_bytes((directory / "auditpol-backup.csv").read_bytes())
    (directory / "auditpol-backup.csv").unlink()
    (directory / "auditpol-backup.csv").symlink_to(passing)
    _, findings, _ = evaluate(directory, tmp_path)
    assert findings[WFP]["status"] == "not_reviewed"
    assert "is a symbolic link: not followed" in findings[WFP]["reason"]


def test_a_fifo_in_the_bundle_does_not_block(tmp_path):
    directory = bundle(tmp_path, "windows-default-en")
    (directory / "netsh-dynamicport-tcp.txt").unlink()
    os.mkfifo(directory / "netsh-dynamicport-tcp.txt")
    _, findings, _ = evaluate(directory, tmp_path)
    assert findings[POOL_TCP4]["status"] == "not_reviewed"
    assert "is a FIFO, not a regular file" in findings[POOL_TCP4]["reason"]


@pytest.mark.parametrize("content, why", [
    (b"", "empty"),
    (b"\r\n\r\n", "empty"),
    (codecs.BOM_UTF16_LE + b"\x00\xd8\x00\xd8", "not valid utf-16-le after its byte-order mark"),
    (b"Le service demand\x82 n'est pas disponible.\r\n", "not understood: expected two 'label : number' lines"),
])
def test_empty_wrongly_encoded_or_foreign_netsh_output_is_a_gap(tmp_path, content, why):
    directory = bundle(tmp_path, "windows-default-en")
    (directory / "netsh-dynamicport-tcp.txt").write_bytes(content)
    _, findings, _ = evaluate(directory, tmp_path)
    assert findings[POOL_TCP4]["status"] == "not_reviewed"
    assert why in findings[POOL_TCP4]["reason"]


def test_a_missing_registry_capture_leaves_time_wait_unknown_not_defaulted(tmp_path):
    directory = bundle(tmp_path, "windows-default-en")
    (directory / "tcpip-parameters.txt").unlink()
    _, findings, _ = evaluate(directory, tmp_path)
    headroom = findings[("time-wait-headroom",
                         "ephemeral pool headroom at the declared peak connection rate (tcp/ipv4 dynamic port range)")]
    assert headroom["status"] == "not_reviewed"
    assert "tcpip-parameters.txt: missing from the bundle" in headroom["reason"]


def test_macos_launchctl_without_an_exit_code_and_an_unreadable_audit_control_are_not_reviewed(tmp_path):
    directory = bundle(tmp_path, "macos-audited")
    (directory / "auditd-launchctl.txt").write_text("system/com.apple.auditd = {\n\tstate = running\n")
    (directory / "audit_control").unlink()
    (directory / "audit_control").symlink_to("/etc/security/audit_control")
    _, findings, _ = evaluate(directory, tmp_path)
    assert findings[("socket-audit", "audit(4) enabled")]["status"] == "not_reviewed"
    assert "the last line is not launchctl's exit code" in findings[("socket-audit", "audit(4) enabled")]["reason"]
    assert findings[("socket-audit", "audit(4) network class")]["status"] == "not_reviewed"


def test_a_macos_bundle_without_lsof_outputs_has_no_listener_pass(tmp_path):
    directory = bundle(tmp_path, "macos-default")
    (directory / "lsof-tcp-listen.txt").unlink()
    (directory / "lsof-udp.txt").write_bytes(b"\xff\xfe\x00")
    code, findings, _ = evaluate(directory, tmp_path)
    listeners = findings[("listeners-loopback-only", "listeners")]
    assert listeners["status"] == "not_reviewed"
    assert "lsof-tcp-listen.txt: missing from the bundle" in listeners["reason"]
    assert not any(f["status"] == "pass" for (rule, _), f in findings.items() if rule == "listeners-loopback-only")


@pytest.mark.parametrize("make, message", [
    (lambda d: None, "no such directory"),
    (lambda d: d.write_text("x"), "not a directory"),
    (lambda d: d.mkdir(), "no probe output of a Windows or macOS capture"),
    (lambda d: (d.mkdir(), (d / "netstat-ano.txt").write_text("x"), (d / "sw_vers.txt").write_text("x")),
     "holds probe outputs of both Windows"),
])
def test_a_directory_that_is_no_bundle_is_exit_2(tmp_path, make, message):
    directory = tmp_path / "bundle"
    make(directory)
    out = tmp_path / "s.json"
    result = run_cli("collect", "--replay", directory, "--output", out, timeout=TIMEOUT)
    assert result.returncode == 2 and message in result.stderr
    assert not out.exists()
