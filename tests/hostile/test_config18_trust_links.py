"""Hostile corpus, config round 18: a symbolic link another user owns, on the way to the
configuration file (or to a public key that verifies signatures), is refused as the file would be.

safeio.replaceable_by_others judged the file a link leads to (its owner, its mode) and the
directories above the name and above the file, never the links on the way.  In a directory every
user may write with the sticky bit (/tmp, /dev/shm, a shared drop directory), whoever owns an entry
may replace it: ``LBAUDIT_CONFIG=/tmp/lbaudit.yaml``, a link Mallory made to root's own file, was
trusted, and Mallory may point it at any other file at any time, or between the read and the check
(the file read was one, the file judged another).  A link of a directory on the way
(``/tmp/conf/config.yaml``, /tmp/conf Mallory's link to root's directory) was the same.  Now each
link met on the way must be this user's, root's or the file's owner's, as every directory is.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli import run_cli

NOBODY = 65534
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")


def _shared(tmp_path: Path) -> Path:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # as /tmp: every user may write, each replaces only their own entries
    return shared


def _trusted_config(tmp_path: Path) -> Path:
    directory = tmp_path / "conf"
    directory.mkdir()
    path = directory / "config.yaml"
    path.write_text("org_name: Example\n", encoding="utf-8")
    return path


def _link(at: Path, to: Path, owner: int) -> Path:
    os.symlink(to, at)
    os.lchown(at, owner, owner)
    return at


def test_a_link_another_user_owns_to_the_configuration_file_is_refused(tmp_path: Path):
    link = _link(_shared(tmp_path) / "lbaudit.yaml", _trusted_config(tmp_path), NOBODY)
    for command in (["config", "show"], ["list-checks", "--no-plugins"]):
        run = run_cli(*command, env={"LBAUDIT_CONFIG": str(link)}, cwd=tmp_path)
        assert run.returncode == 2, (run.stdout, run.stderr)
        assert f"{link}: not trusted as the configuration file: " in run.stderr, run.stderr
        assert f"symbolic link {link} on the way to it is owned by uid {NOBODY}" in run.stderr, run.stderr
        assert run.stdout == ""


def test_a_link_another_user_owns_to_a_directory_on_the_way_is_refused(tmp_path: Path):
    config = _trusted_config(tmp_path)
    link = _link(_shared(tmp_path) / "conf", config.parent, NOBODY)
    run = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(link / "config.yaml")}, cwd=tmp_path)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert f"symbolic link {link} on the way to it is owned by uid {NOBODY}" in run.stderr, run.stderr


def test_a_link_of_another_user_in_a_chain_of_links_is_refused(tmp_path: Path):
    shared = _shared(tmp_path)
    middle = _link(shared / "middle.yaml", _trusted_config(tmp_path), NOBODY)
    first = _link(tmp_path / "first.yaml", middle, 0)
    run = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(first)}, cwd=tmp_path)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert f"symbolic link {middle} on the way to it is owned by uid {NOBODY}" in run.stderr, run.stderr


def test_control_a_link_of_this_user_in_the_shared_directory_is_followed(tmp_path: Path):
    link = _link(_shared(tmp_path) / "lbaudit.yaml", _trusted_config(tmp_path), os.geteuid())
    run = run_cli("config", "show", "--json", env={"LBAUDIT_CONFIG": str(link)}, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert '"value": "Example"' in run.stdout


def test_a_public_key_through_a_link_another_user_owns_is_refused(tmp_path: Path):
    policy = tmp_path / "p.yaml"
    policy.write_text('id: t\nversion: "1"\nowner: Sec\nrules:\n  - id: bind\n    check: net.bind_addresses\n')
    (tmp_path / "image").mkdir()
    env = {"LBAUDIT_CONFIG": ""}
    assert run_cli("keygen", "--out", tmp_path / "keys", "-q", env=env).returncode == 0
    evidence = tmp_path / "ev.json"
    run = run_cli("evaluate", "--policy", policy, "--root", tmp_path / "image", "-o", evidence, "-q",
                  "--sign-key", tmp_path / "keys" / "lbaudit.key", env=env)
    assert run.returncode in (0, 1, 3), run.stderr
    link = _link(_shared(tmp_path) / "lbaudit.pub", tmp_path / "keys" / "lbaudit.pub", NOBODY)
    run = run_cli("verify", evidence, "--pubkey", link, env=env)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert f"symbolic link {link} on the way to it is owned by uid {NOBODY}" in run.stderr, run.stderr
    assert run_cli("verify", evidence, "--pubkey", tmp_path / "keys" / "lbaudit.pub", env=env).returncode == 0
