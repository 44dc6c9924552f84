"""Hostile input to `lbaudit schedule`: every refusal is exit 2 with the reason, and nothing written
(or removed)."""

from __future__ import annotations

import os

import pytest

from auditor import schedule as sched
from tests.cli import run_cli
from tests.schedule.conftest import POLICY, make_image_root, tree

EXECUTABLE = "/usr/local/bin/lbaudit"
KEY = "/etc/lbaudit/lbaudit.key"


@pytest.fixture
def image_root(tmp_path):
    return make_image_root(tmp_path)


def install(root, *extra, backend="systemd"):
    return run_cli("schedule", "install", "--backend", backend, "--root", root, "--executable", EXECUTABLE, *extra)


def _refused(root, result, before, *words):
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    assert tree(root) == before


@pytest.mark.parametrize("backend", ["systemd", "cron"])
def test_missing_policy(image_root, backend):
    before = tree(image_root)
    _refused(image_root, install(image_root, "--policy", "/etc/lbaudit/missing.yaml", backend=backend), before,
             "missing.yaml")


def test_invalid_policy(image_root):
    (image_root / "etc/lbaudit/broken.yaml").write_text("id: x\nrules: [\n", encoding="utf-8")
    before = tree(image_root)
    _refused(image_root, install(image_root, "--policy", "/etc/lbaudit/broken.yaml"), before, "broken.yaml")


def test_policy_with_an_unknown_check(image_root):
    (image_root / "etc/lbaudit/unknown.yaml").write_text(
        'id: x\nversion: "1"\nowner: o <o@example.test>\nrules:\n  - id: r\n    check: no.such_check\n    severity: low\n',
        encoding="utf-8")
    before = tree(image_root)
    _refused(image_root, install(image_root, "--policy", "/etc/lbaudit/unknown.yaml"), before, "no.such_check")


def _key(root, mode):
    assert run_cli("keygen", "--out", root / "etc/lbaudit").returncode == 0
    os.chmod(root / KEY.lstrip("/"), mode)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
@pytest.mark.parametrize("backend", ["systemd", "cron"])
def test_group_or_world_readable_key(image_root, mode, backend):
    _key(image_root, mode)
    before = tree(image_root)
    _refused(image_root, install(image_root, "--policy", POLICY, "--sign-key", KEY, backend=backend), before,
             "too open", "chmod 600")


@pytest.mark.root
def test_key_owned_by_another_user(image_root):
    _key(image_root, 0o600)
    os.chown(image_root / KEY.lstrip("/"), 65534, 65534)
    before = tree(image_root)
    _refused(image_root, install(image_root, "--policy", POLICY, "--sign-key", KEY), before, "uid 65534", "chown root")


def test_key_that_is_not_a_key(image_root):
    (image_root / KEY.lstrip("/")).write_text("not a key\n", encoding="utf-8")
    os.chmod(image_root / KEY.lstrip("/"), 0o600)
    before = tree(image_root)
    _refused(image_root, install(image_root, "--policy", POLICY, "--sign-key", KEY), before, "PEM private key")


def test_missing_key(image_root):
    before = tree(image_root)
    _refused(image_root, install(image_root, "--policy", POLICY, "--sign-key", KEY), before, "lbaudit.key")


@pytest.mark.parametrize("name", [sched.SERVICE, sched.TIMER])
def test_existing_foreign_unit_file(image_root, name):
    foreign = image_root / "etc/systemd/system" / name
    foreign.write_text("[Service]\nExecStart=/bin/true\n", encoding="utf-8")
    before = tree(image_root)
    _refused(image_root, install(image_root, "--policy", POLICY), before, "not written by lbaudit")
    _refused(image_root, run_cli("schedule", "remove", "--root", image_root), before, "not written by lbaudit")


def test_existing_foreign_cron_file(image_root):
    (image_root / "etc/cron.d/lbaudit").write_text("0 0 * * * root /bin/true\n", encoding="utf-8")
    before = tree(image_root)
    _refused(image_root, install(image_root, "--policy", POLICY, backend="cron"), before, "not written by lbaudit")
    _refused(image_root, run_cli("schedule", "remove", "--root", image_root), before, "not written by lbaudit")


def test_foreign_wants_link(image_root):
    wants = image_root / "etc/systemd/system/timers.target.wants"
    wants.mkdir()
    (wants / sched.TIMER).symlink_to("/srv/other/lbaudit-scan.timer")
    before = tree(image_root)
    _refused(image_root, install(image_root, "--policy", POLICY), before, "not written by lbaudit")


def test_unit_file_that_is_a_directory(image_root):
    (image_root / "etc/systemd/system" / sched.SERVICE).mkdir()
    before = tree(image_root)
    _refused(image_root, install(image_root, "--policy", POLICY), before, "not written by lbaudit")


def test_an_image_without_systemd(image_root):
    (image_root / "etc/systemd/system").rmdir()
    before = tree(image_root)
    _refused(image_root, install(image_root, "--policy", POLICY), before, "does not exist")


def test_missing_textfile_dir(image_root):
    before = tree(image_root)
    _refused(image_root, install(image_root, "--policy", POLICY, "--textfile-dir", "/var/lib/prometheus/nope"),
             before, "nope")


@pytest.mark.parametrize("option, value", [
    ("--policy", "/etc/lbaudit/corp.yaml\n0 * * * * root rm -rf /"),
    ("--on-calendar", "daily\nExecStartPre=/bin/sh"),
    ("--randomized-delay", "1h\nUser=nobody"),
    ("--store", "sqlite:////tmp/x\n* * * * * root id"),
])
def test_line_breaks_cannot_inject_directives_or_jobs(image_root, option, value):
    before = tree(image_root)
    extra = [option, value] if option == "--policy" else ["--policy", POLICY, option, value]
    _refused(image_root, install(image_root, *extra), before)
    _refused(image_root, install(image_root, *extra, backend="cron"), before)


@pytest.mark.parametrize("value", ["every night", "61 * * * *", "* 24 * * *", "0 0 0 * *", "*/0 * * * *", "1-2-x * * * *", "* * * *"])
def test_cron_schedule_it_cannot_express(image_root, value):
    before = tree(image_root)
    _refused(image_root, install(image_root, "--policy", POLICY, "--on-calendar", value, backend="cron"), before,
             "--on-calendar")


def test_relative_executable_cannot_reach_cron(image_root):
    """cron's PATH knows no venv: whatever is given, the line names an absolute path."""
    result = run_cli("schedule", "install", "--backend", "cron", "--root", image_root, "--policy", POLICY,
                     "--executable", "bin/lbaudit", cwd=image_root)
    assert result.returncode == 0, result.stderr
    line = (image_root / "etc/cron.d/lbaudit").read_text().splitlines()[-1]
    assert f" {image_root}/bin/lbaudit evaluate " in line


def test_systemd_refuses_a_writable_path_that_does_not_exist(image_root):
    """ProtectSystem=strict + ReadWritePaths= of a missing directory: the unit would fail every night."""
    before = tree(image_root)
    _refused(image_root, install(image_root, "--policy", POLICY, "--out-dir", "/var/lib/evidence"), before,
             "/var/lib/evidence", "does not exist")
    _refused(image_root, install(image_root, "--policy", POLICY, "--store", "/srv/history/h.db"), before,
             "/srv/history", "does not exist")
    # cron needs no ReadWritePaths: evaluate creates the --out-dir itself (one level)
    assert install(image_root, "--policy", POLICY, "--out-dir", "/var/lib/evidence", backend="cron").returncode == 0
