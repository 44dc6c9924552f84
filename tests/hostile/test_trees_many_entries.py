"""Hostile offline images: configuration directories holding very many names.

Every name in sysctl.d or a systemd unit directory cost three to five walks from the image's root,
and each file read one more: an image with 30,000 empty ``*.conf`` files in /etc/sysctl.d held
``evaluate --root`` for minutes (a hang to a pipeline), and only then passed.  Now a plain entry is
taken as the directory lists it (no walk), and past ``rootfs.MAX_CONFIG_FILES`` files a collector
reads none and says so: the section is ``not_reviewed`` naming the directory, never a pass on what
a partial read happened to see.

Each case builds the image under tmp_path and runs in this process under an alarm (tests/cli.py
``run_cli(timeout=)``), so a slow read fails the test instead of holding CI.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.collect import rootfs
from tests.hostile.test_offline_images import ETC_UNITS, evaluate, listener_statuses, status, write
from tests.hostile.test_offline_images import image as image  # noqa: F401 - the fixture, used by name

MANY = 30_000  # above the bound, below rootfs.MAX_DIR_ENTRIES: listed, never read one by one


def _empty_files(directory: Path, names: list[str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        os.close(os.open(directory / name, os.O_WRONLY | os.O_CREAT, 0o644))


@pytest.mark.slow  # 30,000 files made and listed
def test_sysctl_d_with_more_files_than_lbaudit_reads_is_not_reviewed_at_once(image: Path) -> None:
    _empty_files(image / "etc/sysctl.d", [f"50-x{i}.conf" for i in range(MANY)])
    code, findings = evaluate(image)
    pool = findings[("pool", "ephemeral port pool")]
    assert pool["status"] == "not_reviewed"
    assert f"/etc/sysctl.d: more than {rootfs.MAX_CONFIG_FILES} files" in pool["reason"]
    assert status(findings, "pool", "ephemeral port range bounds") == "not_reviewed"
    # the rest is still judged: whether route_localnet puts the loopback listener on the links is
    # not known either (before route_localnet was judged offline, it passed)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "not_reviewed"}
    assert code == 3


@pytest.mark.slow  # 30,000 files made and listed
def test_unit_directory_with_more_files_than_lbaudit_reads_is_not_reviewed_at_once(image: Path) -> None:
    _empty_files(image / ETC_UNITS, [f"x{i}.service" for i in range(MANY)])
    code, findings = evaluate(image)
    collection = findings[("listeners", "listeners (collection)")]
    assert collection["status"] == "not_reviewed"
    assert f"more than {rootfs.MAX_CONFIG_FILES} files" in collection["reason"]
    # the socket units not read may declare TCP listeners inside the range, whose ports the pool would
    # lose: its pass is not known (pool21, tests/hostile/test_pool21_pool_unseen_listeners.py)
    pool = findings[("pool", "ephemeral port pool")]
    assert pool["status"] == "not_reviewed" and f"more than {rootfs.MAX_CONFIG_FILES} files" in pool["reason"]
    assert code == 3


@pytest.mark.slow  # 30,000 files made and listed
def test_rules_d_with_more_files_than_lbaudit_reads_is_not_reviewed_at_once(image: Path) -> None:
    _empty_files(image / "etc/audit/rules.d", [f"50-x{i}.rules" for i in range(MANY)])
    code, findings = evaluate(image)
    for arch in ("b64", "b32"):
        persistent = findings[("audit", f"persistent rules {arch}")]
        assert persistent["status"] == "not_reviewed"
        assert f"/etc/audit/rules.d: more than {rootfs.MAX_CONFIG_FILES} rules files" in persistent["reason"]
    assert code == 3


def test_control_case_many_files_within_the_bound_are_all_read(image: Path) -> None:
    """Below the bound every file counts: the last of 2,000 files narrows the range, and fails it."""
    _empty_files(image / "etc/sysctl.d", [f"50-x{i:04}.conf" for i in range(2_000)])
    write(image, "etc/sysctl.d/50-x1999.conf", "net.ipv4.ip_local_port_range = 60000 60100\n")
    _empty_files(image / ETC_UNITS, [f"x{i}.service" for i in range(2_000)])
    code, findings = evaluate(image)
    assert status(findings, "pool", "ephemeral port pool") == "fail"  # 101 ports
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass"}
    assert code == 1
