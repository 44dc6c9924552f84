"""A signature covers the bytes lbaudit wrote, never the file read back from disk afterwards.

``lbaudit collect --sign-key`` (and ``evaluate --sign-key``) wrote the document, then loaded the
key again and read the file back to sign it: whoever could replace the file in that moment (a
target's snapshot directory, an out dir shared with a CI job) had their file signed with the
controller's key, and ``--snapshot-pubkey`` then vouched for it.

The race is made deterministic with fanotify (root): the key file is marked for open permission
events, and when the lbaudit process opens it a second time (to sign, after writing), the test
replaces the written file before letting the open go on.  A fixed lbaudit signs what it wrote (it
may not open the key again at all); the file is replaced then, once lbaudit has exited.
"""

from __future__ import annotations

import ctypes
import os
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, snapshot

POLICY = REPO / "policies" / "corp.yaml"
FAN_CLASS_CONTENT, FAN_CLOEXEC, FAN_OPEN_PERM, FAN_MARK_ADD, FAN_ALLOW = 0x04, 0x01, 0x10000, 0x01, 0x01
EVENT = struct.Struct("=IBBHQii")  # struct fanotify_event_metadata


def _lbaudit(*args: object, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditor.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})


class KeyOpens:
    """Opens of one file, held by fanotify until ``on_open`` (given the opener's pid and the count of
    opens so far) has run."""

    def __init__(self, path: Path, on_open) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, os.O_RDONLY)
        if self.fd < 0:
            pytest.skip(f"fanotify: {os.strerror(ctypes.get_errno())} (needs root)")
        if libc.fanotify_mark(self.fd, FAN_MARK_ADD, ctypes.c_uint64(FAN_OPEN_PERM), -100, os.fsencode(path)) != 0:
            os.close(self.fd)
            pytest.skip(f"fanotify_mark: {os.strerror(ctypes.get_errno())}")
        self.on_open, self.opens = on_open, 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 4096)
            except OSError:
                return
            for offset in range(0, len(data), EVENT.size):
                _, _, _, _, _, fd, pid = EVENT.unpack_from(data, offset)
                self.opens += 1
                try:
                    self.on_open(pid, self.opens)
                finally:
                    os.write(self.fd, struct.pack("=iI", fd, FAN_ALLOW))
                    os.close(fd)

    def close(self) -> None:
        os.close(self.fd)


def _keys(tmp_path: Path) -> tuple[Path, Path]:
    assert run_cli("keygen", "--out", tmp_path / "keys").returncode == 0
    return tmp_path / "keys" / "lbaudit.key", tmp_path / "keys" / "lbaudit.pub"


def test_collect_signs_the_snapshot_it_wrote_not_a_file_put_in_its_place(tmp_path: Path):
    key, pub = _keys(tmp_path)
    out, kept, forged = tmp_path / "out" / "web01.snapshot.json", tmp_path / "collected.json", tmp_path / "forged.json"
    out.parent.mkdir()
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="forged", machine_id="f" * 32), forged)
    swapped = threading.Event()

    def swap() -> None:  # renames only: opening a file here would wait on this very thread
        os.rename(out, kept)
        os.rename(forged, out)
        swapped.set()

    watch = KeyOpens(key, lambda pid, opens: swap() if opens == 2 and out.exists() and not swapped.is_set() else None)
    try:
        result = _lbaudit("collect", "--section", "sysctl", "--output", out, "--sign-key", key, "-q")
    finally:
        watch.close()
    assert result.returncode == 0, result.stderr
    if not swapped.is_set():
        swap()  # lbaudit signed without opening the key again: the file is replaced after it exited
    forged_run = _lbaudit("evaluate", "--snapshot", out, "--snapshot-pubkey", pub, "--policy", POLICY,
                          "--output", tmp_path / "e1.json", "-q")
    assert forged_run.returncode == 10, forged_run.stdout + forged_run.stderr
    assert "web01.snapshot.json" in forged_run.stderr
    os.rename(out, forged)
    os.rename(kept, out)  # what lbaudit wrote, back beside its signature
    collected_run = _lbaudit("evaluate", "--snapshot", out, "--snapshot-pubkey", pub, "--policy", POLICY,
                             "--output", tmp_path / "e2.json", "-q")
    assert collected_run.returncode in (0, 1, 3), collected_run.stdout + collected_run.stderr


def test_evaluate_signs_the_evidence_it_wrote_not_a_file_put_in_its_place(tmp_path: Path):
    key, pub = _keys(tmp_path)
    facts = tmp_path / "web01.snapshot.json"
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="web01", machine_id="1" * 32), facts)
    other = tmp_path / "other.snapshot.json"
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 23)], hostname="web01", machine_id="1" * 32), other)
    out, kept, forged = tmp_path / "out" / "e.json", tmp_path / "written.json", tmp_path / "forged.json"
    out.parent.mkdir()
    assert _lbaudit("evaluate", "--snapshot", other, "--policy", POLICY, "--output", forged, "-q").returncode in (0, 1, 3)
    swapped = threading.Event()

    def swap() -> None:
        os.rename(out, kept)
        os.rename(forged, out)
        swapped.set()

    watch = KeyOpens(key, lambda pid, opens: swap() if opens == 2 and out.exists() and not swapped.is_set() else None)
    try:
        result = _lbaudit("evaluate", "--snapshot", facts, "--policy", POLICY, "--output", out, "--sign-key", key, "-q")
    finally:
        watch.close()
    assert result.returncode in (0, 1, 3), result.stderr
    if not swapped.is_set():
        swap()
    forged_check = _lbaudit("verify", out, "--pubkey", pub)
    assert forged_check.returncode == 10, forged_check.stdout + forged_check.stderr
    os.rename(out, forged)
    os.rename(kept, out)
    assert _lbaudit("verify", out, "--pubkey", pub).returncode == 0
