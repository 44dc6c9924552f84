"""A public key that the members of a shared group may replace is not a trust anchor.

The defect: ``verify --pubkey`` (and ``--snapshot-pubkey``, fleet's too) refused a public key that
every user may write, or that lies in a directory every user may write, but took one that the
members of a shared group may write: the file itself (mode 0664, group ``staff``), or a directory
above it (``/etc/lbaudit`` 0775 root:staff).  Any member of that group put their own key in its
place (rename the directory's entry, or write the file) and had what they signed verified (exit 0).
The same directory passed for the configuration file, which chooses the key.  OpenSSH refuses
both.  Now group write counts as the owner's alone only when the group is the owner's private one
(root's own group, or a user private group under umask 002), for the file and every directory
above it, and is refused otherwise (exit 2, naming the group and the fix).
"""

from __future__ import annotations

import os

import pytest

from auditor.attest.signing import generate_keypair, sign_evidence_file
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

SHARED_GID = 54321  # a group no user has as a private one (it has no entry at all)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another group takes root")


@pytest.fixture
def signed(tmp_path):
    path, _ = write_evidence_file(tmp_path, make_evidence())
    keys = tmp_path / "keys"
    private, public = generate_keypair(keys)
    sign_evidence_file(path, private)
    return path, keys, public


def test_a_public_key_a_shared_group_may_write_is_refused(signed):
    path, _, public = signed
    os.chown(public, 0, SHARED_GID)
    public.chmod(0o664)
    run = run_cli("verify", path, "--pubkey", public)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"writable by group {SHARED_GID}" in run.stderr and "verified" not in run.stdout


def test_a_public_key_in_a_directory_a_shared_group_may_write_is_refused(signed):
    path, keys, public = signed
    os.chown(keys, 0, SHARED_GID)
    keys.chmod(0o775)
    run = run_cli("verify", path, "--pubkey", public)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"its directory {keys} is writable by group {SHARED_GID}" in run.stderr
    assert "verified" not in run.stdout


def test_a_configuration_file_in_a_directory_a_shared_group_may_write_is_refused(tmp_path):
    directory = tmp_path / "conf"
    directory.mkdir()
    config = directory / "lbaudit.yaml"
    config.write_text("color: never\n")
    os.chown(directory, 0, SHARED_GID)
    directory.chmod(0o775)
    run = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(config)})
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"writable by group {SHARED_GID}" in run.stderr


def test_group_write_of_the_owners_private_group_is_the_owners(signed):
    # root's files in root's own group (gid 0, named root, no other member): keygen's .pub under umask 0
    path, keys, public = signed
    public.chmod(0o664)
    keys.chmod(0o775)
    run = run_cli("verify", path, "--pubkey", public)
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_sticky_directory_a_shared_group_may_write_keeps_each_users_files(signed):
    path, keys, public = signed
    os.chown(keys, 0, SHARED_GID)
    keys.chmod(0o1775)
    run = run_cli("verify", path, "--pubkey", public)
    assert run.returncode == 0, run.stdout + run.stderr
