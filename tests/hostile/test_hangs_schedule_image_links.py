"""``schedule install --root IMAGE`` resolves the image's links inside the image, as its host will.

The paths it checks and writes were ``IMAGE`` joined with the path and handed to this host's kernel,
so an absolute link in the image led out of it: a policy in the image that is a link to
``/etc/shadow`` was this host's /etc/shadow, read and judged ("none of its 25 top-level keys");
one to a policy of this host validated that file instead of the image's, and the image was
scheduled with a policy it does not hold; and an image whose ``etc/systemd`` is a link to
``/etc/systemd`` had the units written into this host's /etc/systemd/system.  Now every path is
resolved inside the image (``auditor.collect.rootfs``, as the collectors read an image): the
image's own file or nothing.
"""

from __future__ import annotations

import shutil

from tests.cli import run_cli
from tests.schedule.conftest import POLICY, REPO, install_into_image, make_image_root, tree


def test_a_policy_linked_to_a_file_of_this_host_is_not_that_file(tmp_path):
    host_policy = tmp_path / "host" / "corp.yaml"
    host_policy.parent.mkdir()
    shutil.copy(REPO / "policies" / "corp.yaml", host_policy)
    root = make_image_root(tmp_path)
    (root / "etc/lbaudit/linked.yaml").symlink_to(host_policy)  # absolute: the image's own path of that name
    before = tree(root)
    result = run_cli("schedule", "install", "--backend", "systemd", "--root", root, "--executable",
                     "/usr/local/bin/lbaudit", "--policy", "/etc/lbaudit/linked.yaml", "--dry-run")
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    # the image's own file of that path, which it does not hold
    assert f"image{host_policy}: cannot read policy: No such file or directory" in result.stderr
    assert tree(root) == before


def test_a_policy_linked_to_the_images_own_file_is_read(tmp_path):
    """Control: an absolute link inside the image to the image's own policy is that policy."""
    root = make_image_root(tmp_path)
    (root / "etc/lbaudit/linked.yaml").symlink_to(POLICY)  # /etc/lbaudit/corp.yaml, as the image's host sees it
    result = run_cli("schedule", "install", "--backend", "systemd", "--root", root, "--executable",
                     "/usr/local/bin/lbaudit", "--policy", "/etc/lbaudit/linked.yaml", "--dry-run")
    assert result.returncode == 0, result.stderr


def test_units_are_never_written_through_a_link_out_of_the_image(tmp_path):
    """The image's /etc/systemd is a link to an absolute path; this host has a directory there (a
    stand-in for /etc/systemd: the test writes nothing outside its own directory)."""
    host_systemd = tmp_path / "host-etc-systemd"
    (host_systemd / "system").mkdir(parents=True)
    root = make_image_root(tmp_path)
    shutil.rmtree(root / "etc/systemd")
    (root / "etc/systemd").symlink_to(host_systemd)
    result = install_into_image(root)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "directory does not exist (is systemd installed there?)" in result.stderr
    assert sorted(p.name for p in (host_systemd / "system").iterdir()) == []


def _child(root, extends: str) -> str:
    """A policy in the image that extends ``extends``; its path as the image's host sees it."""
    (root / "etc/lbaudit/child.yaml").write_text(f"id: child\nversion: '1'\nowner: o\nextends: {extends}\nrules: []\n")
    return "/etc/lbaudit/child.yaml"


def _dry_run(root, policy: str):
    return run_cli("schedule", "install", "--backend", "systemd", "--root", root, "--executable",
                   "/usr/local/bin/lbaudit", "--policy", policy, "--dry-run")


def test_extends_cannot_climb_out_of_the_image_to_a_policy_of_this_host(tmp_path):
    """``..`` enough times from /etc/lbaudit led to this host's root, and the policy there was read
    as the parent of the image's policy."""
    host_policy = tmp_path / "host" / "corp.yaml"
    host_policy.parent.mkdir()
    shutil.copy(REPO / "policies" / "corp.yaml", host_policy)
    root = make_image_root(tmp_path)
    result = _dry_run(root, _child(root, "../" * 12 + str(host_policy).lstrip("/")))
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert f"is not a file (resolved to {root}{host_policy})" in result.stderr


def test_an_absolute_extends_in_the_image_is_the_images_file(tmp_path):
    """``extends: /etc/lbaudit/corp.yaml`` is the image's corporate policy, not this host's."""
    root = make_image_root(tmp_path)
    result = _dry_run(root, _child(root, POLICY))
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
