"""Hostile boot configuration: a sysctl.d key written as a path systemd-sysctl simplifies.

systemd-sysctl turns a key into a /proc/sys path and path_simplify()s it (sysctl_normalize() in
src/shared/sysctl-util.c): ``/net/ipv4/tcp_tw_reuse``, ``net..ipv4.tcp_tw_reuse``,
``net/./ipv4/tcp_tw_reuse`` and ``net.ipv4.tcp_tw_reuse.`` all set tcp_tw_reuse.  lbaudit kept
such a key as written (``.net.ipv4.tcp_tw_reuse``), which names no key the checks judge: a
running tcp_tw_reuse changed by hand was no drift ("no configuration file sets this key"; the key
was listed among those without a running value), and an image's tcp_tw_reuse was not_reviewed.
procps' ``sysctl --system`` opens the path as written, which the kernel resolves the same way,
except a trailing separator (ENOTDIR): there ``net.ipv4.tcp_tw_reuse.`` sets nothing.
``test_systemd_sysctl_writes_each_form_to_the_key`` lets systemd-sysctl apply each form in a network
namespace of its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks.drift_sysctl import DriftSysctlParams, drift_sysctl
from auditor.collect.rootdir import collect_root
from auditor.domain.sysctl import configured_setting
from auditor.model.facts import SysctlFacts
from auditor.model.result import Status
from tests.factories import LINUX_DEFAULT_SYSCTLS, install_procps_boot, snapshot, sysctl_facts
from tests.netns_env import boot_one_sysctl, systemd_sysctl_or_skip

TW_REUSE = "net.ipv4.tcp_tw_reuse"
FORMS = ["/net/ipv4/tcp_tw_reuse", "net..ipv4.tcp_tw_reuse", "net/ipv4//tcp_tw_reuse", "net/./ipv4/tcp_tw_reuse",
         "net.ipv4.tcp_tw_reuse.", ".net.ipv4.tcp_tw_reuse", "net/ipv4/tcp_tw_reuse/"]


def persistent_of(tmp_path: Path, line: str, systemd: bool = True):
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "etc" / "sysctl.d" / "60-net.conf").write_text(line + "\n")
    if systemd:
        (root / "usr" / "lib" / "systemd").mkdir(parents=True)
        (root / "usr" / "lib" / "systemd" / "systemd-sysctl").write_bytes(b"\x7fELF")
    return collect_root(root, frozenset({"sysctl"})).facts.sysctl.persistent


@pytest.mark.parametrize("form", FORMS)
def test_a_path_form_of_the_key_is_compared_with_the_running_value(tmp_path, form):
    persistent = persistent_of(tmp_path, f"{form} = 0")
    runtime = sysctl_facts(dict(LINUX_DEFAULT_SYSCTLS, **{TW_REUSE: "1"})).runtime
    outcomes = drift_sysctl.run(snapshot(sysctl=SysctlFacts(runtime=runtime, persistent=persistent)), DriftSysctlParams())
    assert [(o.subject, o.status) for o in outcomes] == [(f"sysctl {TW_REUSE}", Status.FAIL)]


@pytest.mark.parametrize("form, sets", [("/net/ipv4/tcp_tw_reuse", True), ("net..ipv4.tcp_tw_reuse", True),
                                        ("net.ipv4.tcp_tw_reuse.", False), ("net/ipv4/tcp_tw_reuse/", False)])
def test_procps_opens_the_path_as_written(tmp_path, form, sets):
    setting = configured_setting(persistent_of(tmp_path, f"{form} = 0", systemd=False), TW_REUSE)
    assert (setting is not None) == sets


def test_systemd_sysctl_writes_each_form_to_the_key(tmp_path):
    tool = systemd_sysctl_or_skip()
    for number, form in enumerate([*FORMS, "net/ipv4/../ipv4/tcp_tw_reuse"]):
        conf, before, booted = boot_one_sysctl(tool, tmp_path / f"boot{number}", TW_REUSE, "0", written=form)
        setting = configured_setting(persistent_of(tmp_path / f"image{number}", f"{form} = 0"), TW_REUSE)
        assert before == "2", conf
        assert (setting.value if setting is not None else before) == booted, form
