"""Hostile boot configuration: sysctls set on the kernel command line.

Since Linux 5.8 the kernel writes every ``sysctl.<name>=<value>`` of its command line to /proc/sys
before it starts init (fs/proc/proc_sysctl.c, do_sysctl_args); systemd-sysctl writes the sysctl.d
files after it, knowing nothing of the command line.  lbaudit read only the files, so:

* a key only the command line sets (``sysctl.net.ipv4.tcp_tw_reuse=0``) changed later with
  ``sysctl -w`` was no drift ("no configuration file sets this key"): the next boot resets it;
* ``sysctl.kernel.io_uring_disabled=2`` was read as "the kernel's default, 0, applies" at boot.

The command line is read as the kernel reads it (quotes, ``--`` ending the kernel's part), a file
assigning the key wins over it, and a file glob overrides it unless a ``-key`` exclusion stops it.
The host is a LocalHost whose root and /proc are fixture directories (its kernel is this one).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.checks.drift_sysctl import DriftSysctlParams, drift_sysctl
from auditor.collect import CollectContext
from auditor.collect.audit import collect_audit
from auditor.collect.sysctl import SYSCTL_KEYS, collect_sysctl
from auditor.collect.targets import LocalHost
from auditor.domain.kernel_cmdline import kernel_parameters
from auditor.domain.sysctl import cmdline_sysctls
from auditor.model.result import Status
from tests.factories import LINUX_DEFAULT_SYSCTLS, snapshot

TW_REUSE = "net.ipv4.tcp_tw_reuse"


def host(tmp_path: Path, cmdline: str, *sysctl_d: str, running: dict[str, str] | None = None) -> LocalHost:
    """A running host (in its initial network namespace): /proc/cmdline, /proc/sys with the kernel
    defaults (``running`` changed),
    /etc/sysctl.d/60-boot.conf holding ``sysctl_d``, applied by systemd-sysctl."""
    root = tmp_path / "host"
    proc = root / "proc"
    proc.mkdir(parents=True)
    (proc / "cmdline").write_text(cmdline + "\n")
    for key in SYSCTL_KEYS:
        path = proc / "sys" / key.replace(".", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text({**LINUX_DEFAULT_SYSCTLS, "net.ipv4.tcp_timestamps": "1", **(running or {})}[key].replace(" ", "\t") + "\n")
    # the initial network namespace, where the boot writes: it alone shows net.core.netdev_max_backlog
    (proc / "sys" / "net" / "core").mkdir(parents=True)
    (proc / "sys" / "net" / "core" / "netdev_max_backlog").write_text("1000\n")
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    (root / "etc" / "sysctl.d" / "60-boot.conf").write_text("".join(f"{line}\n" for line in sysctl_d))
    (root / "usr" / "lib" / "systemd").mkdir(parents=True)
    (root / "usr" / "lib" / "systemd" / "systemd-sysctl").write_bytes(b"\x7fELF")
    # a systemd that tells its version (252): one of unknown version may read the files as
    # one before 245 does (tests/hostile/test_rules12_sysctl_conf_old_systemd.py)
    (root / "usr" / "lib" / "systemd" / "libsystemd-shared-252.so").write_bytes(b"\x7fELF")
    return LocalHost(root=root, proc=str(proc), program_path=(str(tmp_path / "no-programs"),))


def drift_of(target: LocalHost, key: str = TW_REUSE):
    facts, gaps = collect_sysctl(CollectContext(target=target))
    assert gaps == []
    found = [o for o in drift_sysctl.run(snapshot(sysctl=facts), DriftSysctlParams()) if o.subject == f"sysctl {key}"]
    return facts, found


@pytest.fixture(autouse=True)
def _kernel_applies_cmdline_sysctls():
    release = tuple(int(part) for part in os.uname().release.split(".")[:2])
    if release < (5, 8):
        pytest.skip("this kernel is older than 5.8: it applies no sysctl.* of its command line")


def test_a_key_only_the_command_line_sets_drifts_when_changed_by_hand(tmp_path):
    target = host(tmp_path, "BOOT_IMAGE=/vmlinuz root=/dev/vda1 sysctl.net.ipv4.tcp_tw_reuse=0 quiet",
                  running={TW_REUSE: "1"})
    facts, [outcome] = drift_of(target)
    assert facts.persistent[TW_REUSE].model_dump() == {"value": "0", "origin": "/proc/cmdline"}
    assert outcome.status == Status.FAIL
    assert outcome.message == ("running value '1' differs from '0' set at /proc/cmdline; the configured value "
                              "returns at the next boot")


def test_the_kernel_reads_quotes_slashes_and_stops_at_the_double_dash(tmp_path):
    line = ('"sysctl.net.ipv4.tcp_fin_timeout=30" sysctl/net/ipv4/tcp_max_tw_buckets="5000" '
            "sysctl.net.ipv4.tcp_tw_reuse= sysctlx.net.ipv4.tcp_timestamps=0 sysctl.net.ipv4.tcp_fin_timeout=31 "
            "-- sysctl.net.ipv6.bindv6only=1")
    assert kernel_parameters(line)[-1] == ("sysctl.net.ipv4.tcp_fin_timeout", "31")
    assert [(s.key, s.value) for s in cmdline_sysctls(line)] == [
        ("net.ipv4.tcp_fin_timeout", "30"), ("net.ipv4.tcp_max_tw_buckets", "5000"), ("net.ipv4.tcp_fin_timeout", "31")]
    facts, _ = drift_of(host(tmp_path, line))
    assert {k: s.value for k, s in facts.persistent.items()} == {
        "net.ipv4.tcp_fin_timeout": "31", "net.ipv4.tcp_max_tw_buckets": "5000"}


def test_a_file_assignment_wins_over_the_command_line(tmp_path):
    target = host(tmp_path, "sysctl.net.ipv4.tcp_tw_reuse=0", f"{TW_REUSE} = 1", running={TW_REUSE: "1"})
    facts, [outcome] = drift_of(target)
    assert outcome.status == Status.PASS
    assert facts.persistent[TW_REUSE].origin.endswith("/etc/sysctl.d/60-boot.conf:1")


def test_a_file_glob_overrides_the_command_line_unless_the_key_is_excluded(tmp_path):
    _, [overridden] = drift_of(host(tmp_path / "a", "sysctl.net.ipv4.tcp_tw_reuse=0", "net.ipv4.tcp_tw_re* = 1",
                                    running={TW_REUSE: "1"}))
    assert overridden.status == Status.PASS
    _, [kept] = drift_of(host(tmp_path / "b", "sysctl.net.ipv4.tcp_tw_reuse=0",
                              f"{TW_REUSE} = 1", f"-{TW_REUSE}", "net.ipv4.tcp_tw_re* = 1", running={TW_REUSE: "1"}))
    # the file's own assignment is taken back by the exclusion: systemd-sysctl writes nothing to it
    assert kept.status == Status.FAIL
    assert "'0' set at /proc/cmdline" in kept.message


@pytest.mark.live  # the collector also asks this kernel's audit status over netlink
def test_io_uring_disabled_on_the_command_line_is_the_boot_value(tmp_path):
    target = host(tmp_path, "sysctl.kernel.io_uring_disabled=2")
    facts, _ = collect_audit(CollectContext(target=target, sections=frozenset({"audit"})))
    assert (facts.io_uring_boot.value, facts.io_uring_boot.origin) == ("2", "/proc/cmdline")


def test_an_unreadable_command_line_leaves_the_boot_configuration_unknown(tmp_path):
    target = host(tmp_path, "quiet")
    (Path(target.root) / "proc" / "cmdline").unlink()
    (Path(target.root) / "proc" / "cmdline").mkdir()
    facts, gaps = collect_sysctl(CollectContext(target=target))
    assert facts.persistent is None
    assert [g.reason for g in gaps if g.field == "persistent"] == [
        "the boot's sysctl configuration could not be read completely: /proc/cmdline: is a directory "
        "(the kernel command line may set sysctls)"]
