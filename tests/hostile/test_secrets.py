"""Hostile secrets (issue 8, class 6): credentials in a process's arguments stay out of evidence.

A real listener (one on 0.0.0.0, one on 127.0.0.1) runs with ``--db-url=postgres://app:<secret>@db/x``
in its argv.  Without ``--record-cmdline`` the secret must appear in no file lbaudit writes (snapshot,
evidence, signature, every report, every decoded stream and attachment of the PDF) and not on
stdout or stderr; with it, the snapshot and the evidence hold the arguments and say so.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import Result, run_cli

REPO = Path(__file__).resolve().parents[2]
SECRET = f"S3CRET-{secrets.token_hex(8)}"
DB_URL = f"--db-url=postgres://app:{SECRET}@db/x"

POLICY = """\
id: secrets-test
version: "1"
owner: Tests <tests@example.test>
description: listeners on loopback only
rules:
  - id: loopback-only
    check: net.bind_addresses
    params:
      allow: [loopback]
      protocols: [tcp]
"""
FORMATS = "json,oscal,sarif,junit,text"
NON_COMPLIANT = 1  # the 0.0.0.0 listener fails the rule

LISTENER = """\
import socket, sys
sockets = []
for address in ("0.0.0.0", "127.0.0.1"):
    s = socket.socket()
    s.bind((address, 0))
    s.listen()
    sockets.append(s)
print(" ".join(str(s.getsockname()[1]) for s in sockets), flush=True)
sys.stdin.read()
"""


def lbaudit(*args: object, cwd: Path) -> Result:
    return run_cli(*args, cwd=cwd)


@pytest.fixture(scope="module")
def server():
    """(pid, wildcard port, loopback port, bytes of /proc/PID/cmdline) of a listener with a secret in argv."""
    child = subprocess.Popen([sys.executable, "-c", LISTENER, DB_URL], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    try:
        wildcard, loopback = map(int, child.stdout.readline().split())
        with open(f"/proc/{child.pid}/cmdline", "rb") as handle:
            raw = handle.read()
        assert SECRET.encode() in raw
        yield child.pid, wildcard, loopback, raw
    finally:
        child.kill()
        child.wait()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "out").mkdir()
    return tmp_path


def pdf_plain(path: Path) -> bytes:
    """Every byte a PDF can show or carry, decoded: raw file, page text, attachments, each stream."""
    from pypdf import PdfReader
    from pypdf.generic import StreamObject

    reader = PdfReader(path)
    parts = [path.read_bytes()]
    parts += [page.extract_text().encode() for page in reader.pages]
    parts += [content for contents in reader.attachments.values() for content in contents]
    for number in range(1, int(reader.trailer["/Size"])):
        try:
            obj = reader.get_object(number)
        except Exception:  # noqa: BLE001 - free entries in the xref table
            continue
        if isinstance(obj, StreamObject):
            parts.append(obj.get_data())
    return b"\n".join(parts)


def everything_written(directory: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        files[str(path.relative_to(directory))] = pdf_plain(path) if path.suffix == ".pdf" else path.read_bytes()
    return files


def assert_no_secret(result: subprocess.CompletedProcess, directory: Path) -> dict[str, bytes]:
    assert SECRET not in result.stdout and SECRET not in result.stderr
    files = everything_written(directory)
    leaking = [name for name, data in files.items() if SECRET.encode() in data]
    assert leaking == []
    return files


def our_processes(document: dict, ports: tuple[int, int]) -> list[dict]:
    listeners = document["facts"]["sockets"]["listeners"]
    return [p for l in listeners if l["port"] in ports for p in l["processes"]]


def evidence_snapshot(path: Path) -> dict:
    return json.loads(path.read_text())["snapshot"]


# ------------------------------------------------------------------ collect

@pytest.mark.live
def test_collect_records_argv0_and_the_digest_not_the_arguments(server, work):
    pid, wildcard, loopback, raw = server
    result = lbaudit("collect", "-o", "out/s.json", "--section", "sockets", cwd=work)
    assert result.returncode == 0, result.stderr
    assert_no_secret(result, work / "out")
    document = json.loads((work / "out" / "s.json").read_text())
    assert document["provenance"]["cmdline_recorded"] is False
    processes = our_processes(document, (wildcard, loopback))
    assert [p["pid"] for p in processes] == [pid, pid]
    for process in processes:
        assert process["cmdline"] is None
        assert process["argv0"] == sys.executable
        assert process["cmdline_sha256"] == hashlib.sha256(raw).hexdigest()  # = sha256sum /proc/PID/cmdline


@pytest.mark.live
def test_collect_with_record_cmdline_keeps_the_arguments_and_says_so(server, work):
    _, wildcard, loopback, _ = server
    result = lbaudit("collect", "-o", "out/s.json", "--section", "sockets", "--record-cmdline", cwd=work)
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout
    document = json.loads((work / "out" / "s.json").read_text())
    assert document["provenance"]["cmdline_recorded"] is True
    assert all(DB_URL in p["cmdline"] for p in our_processes(document, (wildcard, loopback)))


# ------------------------------------------------------------------ evaluate, every format

@pytest.mark.live
def test_evaluate_writes_the_secret_into_no_output_of_any_format(server, work):
    _, wildcard, loopback, _ = server
    from auditor.attest.signing import generate_keypair

    private, _ = generate_keypair(work / "keys")
    result = lbaudit("evaluate", "--policy", "policy.yaml", "--format", FORMATS, "--out-dir", "out",
                     "--pdf", "out/a.pdf", "--sign-key", private, cwd=work)
    assert result.returncode == NON_COMPLIANT, result.stderr
    files = assert_no_secret(result, work / "out")
    assert sorted(files) == ["a.pdf", "secrets-test.evidence.json", "secrets-test.evidence.json.sig",
                             "secrets-test.junit.xml", "secrets-test.oscal.json", "secrets-test.sarif",
                             "secrets-test.txt"]
    evidence = json.loads(files["secrets-test.evidence.json"])
    assert evidence["snapshot"]["provenance"]["cmdline_recorded"] is False
    failing = [f for f in evidence["result"]["findings"] if f["status"] == "fail"]
    assert any(f"0.0.0.0:{wildcard} " in f["subject"] for f in failing)  # the listener was judged


@pytest.mark.live
def test_evaluate_with_record_cmdline_puts_the_arguments_in_the_evidence(server, work):
    _, wildcard, loopback, _ = server
    result = lbaudit("evaluate", "--policy", "policy.yaml", "--format", FORMATS, "--out-dir", "out",
                     "--pdf", "out/a.pdf", "--record-cmdline", cwd=work)
    assert result.returncode == NON_COMPLIANT, result.stderr
    assert SECRET not in result.stdout and SECRET not in result.stderr
    snapshot = evidence_snapshot(work / "out" / "secrets-test.evidence.json")
    assert snapshot["provenance"]["cmdline_recorded"] is True
    assert all(DB_URL in p["cmdline"] for p in our_processes(snapshot, (wildcard, loopback)))
    assert SECRET.encode() in pdf_plain(work / "out" / "a.pdf")  # the PDF embeds the evidence it attests
    # the reports other than the evidence (and the PDF, which embeds it) never show arguments
    for name in ("secrets-test.junit.xml", "secrets-test.oscal.json", "secrets-test.sarif", "secrets-test.txt"):
        assert SECRET.encode() not in (work / "out" / name).read_bytes(), name


# ------------------------------------------------------------------ snapshots that hold arguments

@pytest.fixture
def recorded_snapshot(server, work) -> Path:
    result = lbaudit("collect", "-o", "s.json", "--section", "sockets", "--record-cmdline", cwd=work)
    assert result.returncode == 0, result.stderr
    return work / "s.json"


@pytest.mark.live
def test_a_snapshot_with_arguments_evaluated_without_the_flag_loses_them(server, work, recorded_snapshot):
    _, wildcard, loopback, raw = server
    result = lbaudit("evaluate", "--policy", "policy.yaml", "--snapshot", recorded_snapshot, "--format", FORMATS,
                     "--out-dir", "out", "--pdf", "out/a.pdf", cwd=work)
    assert result.returncode == NON_COMPLIANT, result.stderr
    assert_no_secret(result, work / "out")
    snapshot = evidence_snapshot(work / "out" / "secrets-test.evidence.json")
    assert snapshot["provenance"]["cmdline_recorded"] is False
    processes = our_processes(snapshot, (wildcard, loopback))
    assert processes and all(p["cmdline"] is None and p["cmdline_sha256"] == hashlib.sha256(raw).hexdigest()
                             for p in processes)


@pytest.mark.live
def test_a_snapshot_from_before_the_digest_loses_its_arguments_too(server, work, recorded_snapshot):
    _, wildcard, loopback, raw = server
    document = json.loads(recorded_snapshot.read_text())  # as an older lbaudit wrote it: arguments only
    del document["provenance"]["cmdline_recorded"]
    for listener in document["facts"]["sockets"]["listeners"]:
        for process in listener["processes"]:
            process.pop("argv0")
            process.pop("cmdline_sha256")
    recorded_snapshot.write_text(json.dumps(document))
    result = lbaudit("evaluate", "--policy", "policy.yaml", "--snapshot", recorded_snapshot, "-o", "out/e.json",
                     "--format", "sarif", "--pdf", "out/a.pdf", cwd=work)
    assert result.returncode == NON_COMPLIANT, result.stderr
    assert_no_secret(result, work / "out")
    processes = our_processes(evidence_snapshot(work / "out" / "e.json"), (wildcard, loopback))
    assert processes and all((p["argv0"], p["cmdline_sha256"]) == (sys.executable, hashlib.sha256(raw).hexdigest())
                             for p in processes)


@pytest.mark.live
def test_a_snapshot_with_arguments_evaluated_with_the_flag_keeps_them(server, work, recorded_snapshot):
    _, wildcard, loopback, _ = server
    result = lbaudit("evaluate", "--policy", "policy.yaml", "--snapshot", recorded_snapshot, "-o", "out/e.json",
                     "--record-cmdline", "-q", cwd=work)
    assert result.returncode == NON_COMPLIANT, result.stderr
    snapshot = evidence_snapshot(work / "out" / "e.json")
    assert snapshot["provenance"]["cmdline_recorded"] is True
    assert all(DB_URL in p["cmdline"] for p in our_processes(snapshot, (wildcard, loopback)))


@pytest.mark.live
def test_arguments_never_collected_are_not_claimed_as_recorded(server, work):
    assert lbaudit("collect", "-o", "s.json", "--section", "sockets", cwd=work).returncode == 0
    result = lbaudit("evaluate", "--policy", "policy.yaml", "--snapshot", "s.json", "-o", "out/e.json",
                     "--record-cmdline", "-q", cwd=work)
    assert result.returncode == NON_COMPLIANT, result.stderr
    assert_no_secret(result, work / "out")
    assert evidence_snapshot(work / "out" / "e.json")["provenance"]["cmdline_recorded"] is False
