"""Hostile judging, sysctl precedence: the configured value is what the boot's own tool applies.

systemd-sysctl, which applies sysctl.d at boot on systemd hosts (Debian ships ``procps.service``
as a link to ``systemd-sysctl.service``), reads only the ``*.conf`` files of the sysctl.d
directories; it stopped reading ``/etc/sysctl.conf`` itself in systemd 207 (NEWS: "should be
symlinked from /etc/sysctl.d/99-sysctl.conf"), and ``systemd-sysctl --cat-config`` lists no
``/etc/sysctl.conf``.  procps' ``sysctl --system`` reads the same files and then ``/etc/sysctl.conf``
once more, last.  lbaudit read every image the procps way, so on a systemd host:

* ``/etc/sysctl.conf`` linked as ``99-sysctl.conf`` won over a later ``99-tuning.conf`` that the boot
  really applies last (a false pass for a value the booted host does not have);
* a ``/etc/sysctl.conf`` with no ``99-sysctl.conf`` link (Arch, Debian 13) set values the boot never
  applies at all.

``test_lbaudit_reads_the_image_as_systemd_sysctl_applies_it`` runs systemd-sysctl itself in a private
mount and network namespace over the same files and compares.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from auditor.checks.drift_sysctl import DriftSysctlParams, drift_sysctl
from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.collect.rootdir import collect_root
from auditor.collect.sysctl_d import read_persistent_sysctls
from auditor.domain.sysctl import configured_setting
from auditor.model.facts import HostSnapshot, SysctlFacts, SysctlSetting
from auditor.model.result import Status
from tests.factories import LINUX_DEFAULT_SYSCTLS, install_procps_boot, snapshot
from tests.netns_env import systemd_sysctl_or_skip

TW_REUSE = "net.ipv4.tcp_tw_reuse"
SUBJECT = f"sysctl {TW_REUSE}"
SYSTEMD_SYSCTL = "usr/lib/systemd/systemd-sysctl"


def image(tmp_path: Path, *, systemd: bool, link: bool = True, tuning: str | None = "1") -> Path:
    """/etc/sysctl.conf sets tw_reuse 0; ``link``: /etc/sysctl.d/99-sysctl.conf links to it (as
    Debian 12 and RHEL ship it); ``tuning``: /etc/sysctl.d/99-tuning.conf sets it, after that link."""
    root = tmp_path / ("systemd" if systemd else "sysvinit")
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "etc" / "sysctl.conf").write_text(f"# tuned by hand\n{TW_REUSE} = 0\n")
    if link:
        (root / "etc" / "sysctl.d" / "99-sysctl.conf").symlink_to("../sysctl.conf")
    if tuning is not None:
        (root / "etc" / "sysctl.d" / "99-tuning.conf").write_text(f"{TW_REUSE} = {tuning}\n")
    if systemd:
        (root / SYSTEMD_SYSCTL).parent.mkdir(parents=True)
        (root / SYSTEMD_SYSCTL).write_bytes(b"\x7fELF")
        # Debian 12's systemd 252: its version says it never reads /etc/sysctl.conf (RHEL 7's 219,
        # which reads it last, is tests/hostile/test_rules12_sysctl_conf_old_systemd.py)
        (root / SYSTEMD_SYSCTL).with_name("libsystemd-shared-252.so").write_bytes(b"\x7fELF")
        (root / "lib").symlink_to("usr/lib")  # merged /usr, as Debian 12 is
    return root


def offline_tw_reuse(root: Path) -> tuple[Status, str | None]:
    snap = collect_root(root, frozenset({"sysctl", "sockets"}))
    outcome = next(o for o in net_time_wait.run(snap, TimeWaitParams(allowed_tw_reuse=[0])) if o.subject == SUBJECT)
    return outcome.status, outcome.reason


def drift(root: Path, running: str) -> Status:
    """drift.sysctl of a live host running ``running`` whose configuration is the image's."""
    persistent, gaps = read_persistent_sysctls(root)
    assert gaps == []
    runtime = {k: SysctlSetting(value=v, origin="/proc/sys/" + k.replace(".", "/"))
               for k, v in {**LINUX_DEFAULT_SYSCTLS, TW_REUSE: running}.items()}
    snap: HostSnapshot = snapshot(sysctl=SysctlFacts(runtime=runtime, persistent=persistent))
    outcome = next(o for o in drift_sysctl.run(snap, DriftSysctlParams()) if o.subject == SUBJECT)
    return outcome.status


def test_systemd_image_a_later_sysctl_d_file_beats_the_linked_sysctl_conf(tmp_path):
    # the boot applies 99-sysctl.conf (0), then 99-tuning.conf (1): the host runs with 1
    assert offline_tw_reuse(image(tmp_path, systemd=True))[0] == Status.FAIL


def test_systemd_image_an_unlinked_sysctl_conf_is_not_applied_at_boot(tmp_path):
    # no file the boot reads sets tw_reuse: the kernel default applies, which lbaudit does not assume
    status, reason = offline_tw_reuse(image(tmp_path, systemd=True, link=False, tuning=None))
    assert status == Status.NOT_REVIEWED
    assert reason is not None and reason.startswith(f"{TW_REUSE} is not set in any sysctl configuration file")


def test_drift_sysctl_p_of_sysctl_conf_is_undone_by_the_next_boot(tmp_path):
    # `sysctl -p` (or `sysctl --system`) left 0 running; systemd-sysctl sets 1 at the next boot
    assert drift(image(tmp_path, systemd=True), running="0") == Status.FAIL
    assert drift(image(tmp_path / "b", systemd=True), running="1") == Status.PASS


def test_an_image_whose_usr_is_a_link_to_nothing_does_not_say_which_tool_boots_it(tmp_path):
    # /usr (with systemd-sysctl) on a mount the image does not carry, / as a link to it: the tool
    # that applies sysctl.d at boot cannot be told, so neither can whether /etc/sysctl.conf counts
    # (before: read as "no systemd-sysctl", sysctl.conf applied last, 0 passed)
    root = image(tmp_path, systemd=False)
    (root / "usr").symlink_to("/nonexistent-usr-mount")
    (root / "lib").symlink_to("usr/lib")
    persistent, gaps = read_persistent_sysctls(root)
    assert persistent is None and len(gaps) == 1
    assert "systemd-sysctl: not found, through a symbolic link to nothing" in gaps[0].reason
    assert offline_tw_reuse(root)[0] == Status.NOT_REVIEWED


def test_control_case_without_systemd_sysctl_conf_is_applied_last(tmp_path):
    # sysvinit's /etc/init.d/procps runs `sysctl --system`: /etc/sysctl.conf last, 0 wins
    assert offline_tw_reuse(image(tmp_path, systemd=False)) == (Status.PASS, None)
    assert drift(image(tmp_path / "b", systemd=False), running="0") == Status.PASS


@pytest.mark.live
def test_lbaudit_reads_the_image_as_systemd_sysctl_applies_it(tmp_path):
    """systemd-sysctl applies the image's sysctl.d in a private mount and network namespace (the
    key is per network namespace; ``--prefix`` keeps it to that key, and every sysctl.d directory
    and /etc/sysctl.conf of this host are covered by the image's), then the value is read back."""
    tool = systemd_sysctl_or_skip()
    for link, tuning in ((True, "1"), (False, "1"), (True, None)):
        root = image(tmp_path / f"{link}-{tuning}", systemd=True, link=link, tuning=tuning)
        empty = tmp_path / f"{link}-{tuning}-empty"
        empty.mkdir()
        binds = [f"mount --bind {root}/etc/sysctl.d /etc/sysctl.d", f"mount --bind {root}/etc/sysctl.conf /etc/sysctl.conf"]
        binds += [f"[ ! -d {d} ] || mount --bind {empty} {d}"
                  for d in ("/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d")]
        # a new network namespace starts from the kernel default, 2
        script = "; ".join([*binds, f"{tool} --prefix=/net/ipv4/tcp_tw_reuse", "cat /proc/sys/net/ipv4/tcp_tw_reuse"])
        booted = subprocess.run(["unshare", "--mount", "--net", "sh", "-ec", script], capture_output=True, text=True,
                                timeout=30, check=True).stdout.strip()
        persistent, gaps = read_persistent_sysctls(root)
        configured = configured_setting(persistent or {}, TW_REUSE)
        # kernel default 2 when no file the boot reads sets it
        assert (configured.value if configured else "2") == booted, (link, tuning, configured)
