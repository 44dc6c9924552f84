"""Hostile outputs (issue 8, class 5): an output path never destroys anything.

Each case runs the real command line in a scratch directory, asserts the exact exit code, and
compares the directory before and after (names, kinds, inodes, sizes, mtimes): a refusal touches
nothing, a success touches only the files it names.  Devices, FIFOs and sockets are real ones.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.attest.signing import generate_keypair
from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import write_snapshot
from tests.cli import Result, run_cli
from tests.factories import listener, loopback_only_policy, snapshot

REPO = Path(__file__).resolve().parents[2]

POLICY = loopback_only_policy("outputs-test")

# The snapshot's one listener binds 0.0.0.0: the rule fails, so a run that writes is exit 1.
WRITTEN = 1
REFUSED = 2
# An earlier run's evidence (lbaudit replaces only its own kind of output without --force).
OLD_EVIDENCE = '{"schema": "lbaudit/evidence", "previous": "run"}\n'


def lbaudit(*args: object, cwd: Path, umask: int | None = None, timeout: int | None = None,
            process: bool = False) -> subprocess.CompletedProcess | Result:
    """In this process (tests/cli.py), under an alarm when a ``timeout`` guards an open that could
    block (a FIFO: a hang here would hang the suite); in a real one with ``process``, which gives the
    run a stdout that is a pipe (what ``/dev/stdout`` must be found to be)."""
    if not process:
        return run_cli(*args, cwd=cwd, umask=umask, timeout=timeout)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "auditor.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env=env, umask=-1 if umask is None else umask,
                          stdin=subprocess.DEVNULL)


def tree(directory: Path) -> dict[str, tuple]:
    """``directory`` and everything under it (links not followed): kind, inode, size, mtime, mode,
    link target.  A directory's mtime shows a file created and removed in it (a temporary file)."""
    state = {}
    for root, dirs, files in os.walk(directory):
        for name in [".", *dirs, *files] if root == str(directory) else dirs + files:
            path = Path(root) / name
            st = os.lstat(path)
            target = os.readlink(path) if stat.S_ISLNK(st.st_mode) else None
            state[str(path.relative_to(directory))] = (stat.S_IFMT(st.st_mode), st.st_ino, st.st_size,
                                                       st.st_mtime_ns, stat.S_IMODE(st.st_mode), target)
    return state


def changed(before: dict[str, tuple], after: dict[str, tuple]) -> set[str]:
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A scratch directory with policy.yaml and snap.json (0.0.0.0:5432 held by postgres)."""
    (tmp_path / "policy.yaml").write_text(POLICY)
    facts = snapshot(listeners=[listener("0.0.0.0", 5432, processes=[ProcessInfo(pid=812, name="postgres")])])
    write_snapshot(facts, tmp_path / "snap.json")
    return tmp_path


def evaluate(work: Path, *args: object, **kw) -> subprocess.CompletedProcess | Result:
    return lbaudit("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", *args, cwd=work, **kw)


def refused(result: subprocess.CompletedProcess | Result, *words: str) -> None:
    assert result.returncode == REFUSED, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


# ------------------------------------------------------------------ never replace what is not a regular file

def test_a_character_device_as_output_is_refused_and_stays_a_device(work):
    if os.geteuid() != 0:
        pytest.skip("mknod needs root")
    device = work / "null"
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a private /dev/null
    before = tree(work)
    refused(evaluate(work, "-o", device), "character device", "not a regular file")
    assert changed(before, tree(work)) == set()
    assert stat.S_ISCHR(os.lstat(device).st_mode)


@pytest.mark.slow  # a real process with a pipe as stdout
def test_a_link_to_stdout_is_refused_and_stays_a_symlink(work):
    os.symlink("/proc/self/fd/1", work / "stdout")  # what /dev/stdout is, in a place of our own
    before = tree(work)
    result = evaluate(work, "-o", "stdout", process=True)  # stdout is a pipe here
    refused(result, "stdout", "FIFO")
    assert result.stdout == ""
    assert changed(before, tree(work)) == set()


@pytest.mark.slow  # real processes with a pipe as stdout
def test_dev_null_and_dev_stdout_as_root_stay_what_they_are(work):
    if os.geteuid() != 0:
        pytest.skip("only root could replace /dev/null or /dev/stdout")
    # The code from before this fix replaced both; try private stand-ins first, so that running this
    # test against such code fails here instead of breaking the machine's /dev.
    os.mknod(work / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.symlink("/proc/self/fd/1", work / "stdout")
    refused(evaluate(work, "-o", "null"), "character device")
    refused(evaluate(work, "-o", "stdout", process=True), "FIFO")
    assert stat.S_ISCHR(os.lstat(work / "null").st_mode) and os.path.islink(work / "stdout")

    null_before, stdout_link = os.lstat("/dev/null"), os.readlink("/dev/stdout")
    refused(evaluate(work, "-o", "/dev/null"), "/dev/null", "character device")
    result = evaluate(work, "-o", "/dev/stdout", process=True)  # stdout is a pipe here
    refused(result, "/dev/stdout", "FIFO")
    assert result.stdout == ""
    null_after = os.lstat("/dev/null")
    assert stat.S_ISCHR(null_after.st_mode)
    assert (null_after.st_ino, null_after.st_rdev) == (null_before.st_ino, null_before.st_rdev)
    assert os.path.islink("/dev/stdout") and os.readlink("/dev/stdout") == stdout_link
    assert not [p for p in os.listdir("/dev") if p.endswith(".tmp")]


def test_a_fifo_as_output_is_refused_without_blocking(work):
    fifo = work / "evidence.json"
    os.mkfifo(fifo)
    before = tree(work)
    refused(evaluate(work, "-o", fifo, timeout=30), "FIFO")  # a blocked open would time out
    assert changed(before, tree(work)) == set()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_unix_socket_as_pdf_is_refused(work):
    path = work / "a.pdf"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        before = tree(work)
        refused(evaluate(work, "-o", "e.json", "--pdf", path), "socket")
        assert changed(before, tree(work)) == set()
        assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_a_symlink_to_a_fifo_is_refused_and_stays_a_symlink(work):
    os.mkfifo(work / "pipe")
    os.symlink("pipe", work / "e.json")
    before = tree(work)
    refused(evaluate(work, "-o", "e.json", timeout=30), "FIFO")
    assert changed(before, tree(work)) == set()


def test_output_through_a_symlink_replaces_its_target_and_the_link_stays(work):
    (work / "store").mkdir()
    (work / "store" / "e.json").write_text(OLD_EVIDENCE)  # an earlier run's: lbaudit replaces its own kind
    os.symlink("store/e.json", work / "latest.json")
    before = tree(work)
    assert evaluate(work, "-o", "latest.json").returncode == WRITTEN
    assert os.readlink(work / "latest.json") == "store/e.json"
    assert json.loads((work / "store" / "e.json").read_text())["policy"]["id"] == "outputs-test"
    # the target (and the directory it was renamed into) is all that changed; the link is untouched
    assert changed(before, tree(work)) == {"store", "store/e.json"}


def test_a_dangling_symlink_creates_its_target_and_stays_a_link(work):
    os.symlink("target.json", work / "e.json")
    assert evaluate(work, "-o", "e.json").returncode == WRITTEN
    assert os.path.islink(work / "e.json") and (work / "target.json").is_file()


# ------------------------------------------------------------------ two outputs, or an output and an input, that are one file

def test_output_and_pdf_the_same_path_is_refused_before_any_work(work):
    before = tree(work)
    refused(evaluate(work, "--output", "E", "--pdf", "E"), "same file")
    assert changed(before, tree(work)) == set()  # no evidence written, nothing half-done


def test_evidence_named_like_a_report_in_out_dir_is_refused(work):
    (work / "out").mkdir()
    before = tree(work)
    refused(evaluate(work, "--output", "out/outputs-test.sarif", "--format", "sarif", "--out-dir", "out"), "same file")
    assert changed(before, tree(work)) == set()


def test_pdf_that_is_a_hard_link_of_the_evidence_is_refused(work):
    (work / "e.json").write_text("{}\n")
    os.link(work / "e.json", work / "a.pdf")
    before = tree(work)
    refused(evaluate(work, "-o", "e.json", "--pdf", "a.pdf"), "same file")
    assert changed(before, tree(work)) == set()


def test_output_that_is_the_policy_is_refused_and_the_policy_survives(work):
    before = tree(work)
    refused(evaluate(work, "-o", "./policy.yaml"), "policy", "destroy an input")
    assert changed(before, tree(work)) == set()
    assert (work / "policy.yaml").read_text() == POLICY


def test_output_whose_signature_slot_is_the_policy_is_refused(work):
    # evidence E removes (or writes) E.sig: a policy named E.sig would be deleted
    os.rename(work / "policy.yaml", work / "e.json.sig")
    before = tree(work)
    result = lbaudit("evaluate", "--policy", "e.json.sig", "--snapshot", "snap.json", "-o", "e.json", cwd=work)
    refused(result, "evidence signature", "destroy an input")
    assert changed(before, tree(work)) == set()


def test_output_that_is_the_snapshot_through_a_symlink_is_refused(work):
    os.symlink("snap.json", work / "e.json")
    before = tree(work)
    refused(evaluate(work, "-o", "e.json"), "snapshot", "destroy an input")
    assert changed(before, tree(work)) == set()


def test_output_that_is_the_signing_key_is_refused(work):
    private, _ = generate_keypair(work / "keys")
    before = tree(work)
    refused(evaluate(work, "-o", private, "--sign-key", private), "signing key")
    assert changed(before, tree(work)) == set()


def test_report_pdf_onto_its_own_evidence_is_refused(work):
    assert evaluate(work, "-o", "e.json").returncode == WRITTEN
    before = tree(work)
    refused(lbaudit("report", "e.json", "--pdf", "e.json", cwd=work), "same file as the evidence")
    assert changed(before, tree(work)) == set()


# ------------------------------------------------------------------ directories are not created silently

def test_a_missing_parent_directory_is_named_and_not_created(work):
    before = tree(work)
    refused(evaluate(work, "-o", "no/such/e.json"), "no/such", "does not exist")
    assert changed(before, tree(work)) == set()


def test_out_dir_is_created_one_level_only(work):
    before = tree(work)
    refused(evaluate(work, "--format", "sarif", "--out-dir", "a/b"), "does not exist")
    assert changed(before, tree(work)) == set()
    assert evaluate(work, "--format", "sarif", "--out-dir", "a").returncode == WRITTEN
    assert sorted(p.name for p in (work / "a").iterdir()) == ["outputs-test.evidence.json", "outputs-test.sarif"]


def test_keygen_does_not_create_a_directory_tree(work):
    before = tree(work)
    refused(lbaudit("keygen", "--out", "x/y/keys", cwd=work), "does not exist")
    assert changed(before, tree(work)) == set()


def test_collect_into_a_fifo_or_missing_directory_is_refused_before_collecting(work):
    os.mkfifo(work / "s.json")
    before = tree(work)
    refused(lbaudit("collect", "-o", "s.json", "--section", "sysctl", cwd=work, timeout=30), "FIFO")
    refused(lbaudit("collect", "-o", "nope/s.json", "--section", "sysctl", cwd=work), "does not exist")
    assert changed(before, tree(work)) == set()


# ------------------------------------------------------------------ modes

def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_files_honour_the_umask(work):
    result = evaluate(work, "-o", "e.json", "--format", "sarif,junit", "--pdf", "a.pdf", umask=0o077)
    assert result.returncode == WRITTEN, result.stderr
    assert {name: _mode(work / name) for name in ("e.json", "outputs-test.sarif", "outputs-test.junit.xml", "a.pdf")} \
        == dict.fromkeys(("e.json", "outputs-test.sarif", "outputs-test.junit.xml", "a.pdf"), 0o600)
    assert evaluate(work, "-o", "f.json", umask=0o022).returncode == WRITTEN
    assert _mode(work / "f.json") == 0o644


def test_a_replaced_file_keeps_its_mode(work):
    (work / "e.json").write_text(OLD_EVIDENCE)
    os.chmod(work / "e.json", 0o600)
    assert evaluate(work, "-o", "e.json", umask=0o022).returncode == WRITTEN
    assert _mode(work / "e.json") == 0o600 and (work / "e.json").read_text() != OLD_EVIDENCE


def test_a_private_key_readable_by_others_is_refused_with_the_chmod_hint(work):
    private, _ = generate_keypair(work / "keys")
    os.chmod(private, 0o640)
    before = tree(work)
    refused(evaluate(work, "-o", "e.json", "--sign-key", private), "too open", f"chmod 600 {private}")
    assert changed(before, tree(work)) == set()  # refused before any work: no evidence
    os.chmod(private, 0o600)
    assert evaluate(work, "-o", "e.json", "--sign-key", private).returncode == WRITTEN
    assert (work / "e.json.sig").is_file()


def test_a_pdf_certificate_key_readable_by_others_is_refused_before_any_work(work):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = work / "cert.key"
    key.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key.chmod(0o644)
    (work / "cert.pem").write_text("refused before it is read\n")
    before = tree(work)
    refused(evaluate(work, "-o", "e.json", "--pdf", "a.pdf", "--pdf-cert", "cert.pem", "--pdf-cert-key", key),
            "too open", "chmod 600")
    assert changed(before, tree(work)) == set()
