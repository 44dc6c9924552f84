"""``keygen`` where something that is not a key file is at a key's path.

Without ``--force`` keygen refused any name already there with "a key already exists; refusing to
overwrite it (use --force)": a directory, a FIFO or a symbolic link at ``keys/lbaudit.key`` was
called a key, and the advice was wrong, since ``--force`` refuses each of them too (a key is never
written through a link, only a regular file is ever replaced).  Now each is named for what it is,
with or without ``--force``, exit 2, and nothing is written.  The private key is 0600 whatever the
umask, from its creation on.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

USAGE = 2


def entries(directory: Path) -> dict[str, str]:
    return {p.name: (f"link {os.readlink(p)}" if p.is_symlink() else stat.filemode(p.lstat().st_mode))
            for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
@pytest.mark.parametrize(("kind", "said"), [
    ("directory", "it is a directory, not a regular file"),
    ("fifo", "it is a FIFO, not a regular file"),
    ("symlink", "is a symbolic link; a key is written only to a plain path"),
])
@pytest.mark.parametrize("name", ["lbaudit.key", "lbaudit.pub"])
def test_what_is_not_a_key_file_is_named_for_what_it_is(tmp_path, name, kind, said, force):
    keys = tmp_path / "keys"
    keys.mkdir()
    (tmp_path / "notes.txt").write_bytes(b"the user's notes\n")
    if kind == "directory":
        (keys / name).mkdir()
    elif kind == "fifo":
        os.mkfifo(keys / name)
    else:
        os.symlink(tmp_path / "notes.txt", keys / name)
    before = entries(keys)
    result = run_cli("keygen", "--out", keys, "-q", *(["--force"] if force else []))
    assert (result.returncode, result.stdout) == (USAGE, ""), result.stderr
    assert f"{keys / name}: " in result.stderr and said in result.stderr, result.stderr
    assert "a key already exists" not in result.stderr
    assert entries(keys) == before
    assert (tmp_path / "notes.txt").read_bytes() == b"the user's notes\n"


def test_control_case_an_existing_key_is_refused_without_force(tmp_path):
    assert run_cli("keygen", "--out", tmp_path / "keys", "-q").returncode == 0
    result = run_cli("keygen", "--out", tmp_path / "keys", "-q")
    assert result.returncode == USAGE
    assert "a key already exists; refusing to overwrite it (use --force)" in result.stderr


@pytest.mark.parametrize("force", [False, True], ids=["new", "force"])
def test_the_private_key_is_0600_under_umask_000(tmp_path, force):
    if force:
        assert run_cli("keygen", "--out", tmp_path / "keys", "-q").returncode == 0
    result = run_cli("keygen", "--out", tmp_path / "keys", "-q", *(["--force"] if force else []), umask=0)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((tmp_path / "keys" / "lbaudit.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys" / "lbaudit.pub").stat().st_mode) & 0o002 == 0


def test_force_over_a_public_key_any_user_may_write_makes_one_they_cannot(tmp_path):
    # A replaced file keeps its mode, and so did the public key: keygen --force over a .pub of mode
    # 0666 (made under umask 0 by an lbaudit before 0664 was the most a new file got) wrote the new
    # key 0666, which every verify then refused as anyone's to replace (exit 2).
    keys = tmp_path / "keys"
    assert run_cli("keygen", "--out", keys, "-q").returncode == 0
    os.chmod(keys / "lbaudit.pub", 0o666)
    assert run_cli("keygen", "--out", keys, "--force", "-q", umask=0o022).returncode == 0
    assert stat.S_IMODE((keys / "lbaudit.pub").stat().st_mode) == 0o644  # a new file's mode under umask 022
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)]), tmp_path / "snap.json")
    made = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", "e.json",
                   "--sign-key", keys / "lbaudit.key", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    verified = run_cli("verify", "e.json", "--pubkey", keys / "lbaudit.pub", "-q", cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr  # before: exit 2, "permissions 0666 let any user replace"
