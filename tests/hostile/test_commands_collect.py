"""``lbaudit collect -o`` over a key, and ``--sign-key`` given the public key.

Before: ``collect -o keys/lbaudit.pub`` replaced the public key, the one verifiers trust, with a
snapshot (only a private key was protected), and ``--sign-key keys/lbaudit.pub`` answered
"permissions 0644 are too open ... (chmod 600 keys/lbaudit.pub)", sending the user to hide a public
key, after which it still was not a private key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli import run_cli

ENV = {"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "LBAUDIT_CONFIG": ""}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "root" / "etc").mkdir(parents=True)
    assert run_cli("keygen", "--out", tmp_path / "keys", "-q", env=ENV).returncode == 0
    return tmp_path


def test_collect_does_not_replace_a_public_key(work):
    public = work / "keys" / "lbaudit.pub"
    before = public.read_bytes()
    run = run_cli("collect", "--root", "root", "-o", "keys/lbaudit.pub", cwd=work, env=ENV)
    assert run.returncode == 2
    assert run.stderr == ("lbaudit: keys/lbaudit.pub: cannot write snapshot: it holds a public key, which lbaudit "
                          "replaces only with keygen --force\n")
    assert public.read_bytes() == before
    assert sorted(os.listdir(work / "keys")) == ["lbaudit.key", "lbaudit.pub"]


def test_collect_does_not_replace_a_public_key_through_a_symlink(work):
    public = work / "keys" / "lbaudit.pub"
    before = public.read_bytes()
    (work / "snap.json").symlink_to(public)
    run = run_cli("collect", "--root", "root", "-o", "snap.json", cwd=work, env=ENV)
    assert run.returncode == 2
    assert run.stderr == ("lbaudit: snap.json: cannot write snapshot: it holds a public key, which lbaudit "
                          "replaces only with keygen --force\n")
    assert public.read_bytes() == before


def test_a_signature_beside_the_snapshot_does_not_replace_a_public_key(work):
    public = work / "keys" / "lbaudit.pub"
    before = public.read_bytes()
    (work / "snap.json.sig").symlink_to(public)
    run = run_cli("collect", "--root", "root", "-o", "snap.json", "--sign-key", "keys/lbaudit.key", cwd=work, env=ENV)
    assert run.returncode == 2
    assert run.stderr == ("lbaudit: snap.json.sig: cannot write snapshot signature: it holds a public key, which "
                          "lbaudit replaces only with keygen --force\n")
    assert public.read_bytes() == before
    assert not (work / "snap.json").exists()


def test_keygen_force_still_replaces_its_key_pair(work):
    before = (work / "keys" / "lbaudit.pub").read_bytes()
    run = run_cli("keygen", "--out", work / "keys", "--force", "-q", env=ENV)
    assert run.returncode == 0, run.stderr
    assert (work / "keys" / "lbaudit.pub").read_bytes() != before


@pytest.mark.parametrize("mode", [0o644, 0o600])
def test_the_public_key_as_sign_key_is_named_for_what_it_is(work, mode):
    public = work / "keys" / "lbaudit.pub"
    public.chmod(mode)
    run = run_cli("collect", "--root", "root", "-o", "snap.json", "--sign-key", public, cwd=work, env=ENV)
    assert run.returncode == 2
    assert run.stderr == (f"lbaudit: {public}: is a public key; signing takes the private key (lbaudit keygen writes "
                          "it as NAME.key beside NAME.pub)\n")
    assert not (work / "snap.json").exists()


def test_an_ssh_public_key_as_sign_key_is_named_for_what_it_is(work):
    ssh = work / "id_ed25519.pub"
    ssh.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAbcdefghijklmnopqrstuvwxyz0123456789ABCDEFG me@host\n")
    ssh.chmod(0o600)
    run = run_cli("collect", "--root", "root", "-o", "snap.json", "--sign-key", ssh, cwd=work, env=ENV)
    assert run.returncode == 2
    assert run.stderr == (f"lbaudit: {ssh}: is a public key; signing takes the private key (lbaudit keygen writes "
                          "it as NAME.key beside NAME.pub)\n")
