"""Hostile boot configuration: a sysctl.d glob key sets the keys the checks judge.

systemd-sysctl (since 240; src/sysctl/sysctl.c apply_glob_option) writes ``net.ipv4.tcp_tw_re* = 1``
or ``kernel.io_uring_* = 2`` to every /proc/sys key the pattern matches, except a key the
configuration names itself: assigned, or excluded with ``-key`` (no ``=``).  drift.sysctl expanded
globs, but three other readers of the boot configuration looked the key up by its name alone:

* an offline image's sysctls (``_sysctl.lookup``: net.time_wait, the ephemeral pool) were "not set
  in any sysctl configuration file", so a tw_reuse the boot sets to 1 was not_reviewed, not failed;
* kernel.io_uring_disabled at boot (audit.socket_logging's persistent scope) was "not set, the
  kernel default 0 applies", so an image whose glob disables io_uring failed for io_uring rules;
* BindIPv6Only=default of an image's socket units followed a net.ipv6.bindv6only set by name only.

``test_systemd_sysctl_writes_the_glob_as_lbaudit_reads_it`` lets systemd-sysctl apply the glob in a
network namespace of its own and compares with lbaudit's reading.
"""

from __future__ import annotations

from pathlib import Path

from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.collect.rootdir import collect_root
from auditor.domain.sysctl import configured_setting
from auditor.model.result import Status
from tests.netns_env import boot_one_sysctl, systemd_sysctl_or_skip

TW_REUSE = "net.ipv4.tcp_tw_reuse"


def image(tmp_path: Path, *lines: str) -> Path:
    """An image whose /etc/sysctl.d/60-boot.conf holds ``lines``, applied by systemd-sysctl."""
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    (root / "etc" / "sysctl.d" / "60-boot.conf").write_text("".join(f"{line}\n" for line in lines))
    (root / "usr" / "lib" / "systemd").mkdir(parents=True)
    (root / "usr" / "lib" / "systemd" / "systemd-sysctl").write_bytes(b"\x7fELF")
    # a systemd that tells its version (252): one of unknown version may read the files as
    # one before 245 does (tests/hostile/test_rules12_sysctl_conf_old_systemd.py)
    (root / "usr" / "lib" / "systemd" / "libsystemd-shared-252.so").write_bytes(b"\x7fELF")
    return root


def time_wait_tw_reuse(root: Path):
    snap = collect_root(root, frozenset({"sysctl", "sockets"}))
    [outcome] = [o for o in net_time_wait.run(snap, TimeWaitParams(allowed_tw_reuse=[0]))
                 if o.subject == f"sysctl {TW_REUSE}"]
    return outcome


def test_an_image_whose_glob_sets_tw_reuse_is_judged_on_it(tmp_path):
    outcome = time_wait_tw_reuse(image(tmp_path, "net.ipv4.tcp_tw_re* = 1"))
    assert outcome.status == Status.FAIL
    assert outcome.evidence == ["/facts/sysctl/persistent/net.ipv4.tcp_tw_re*"]


def test_an_excluded_key_is_not_set_by_the_glob(tmp_path):
    outcome = time_wait_tw_reuse(image(tmp_path, "-net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_tw_re* = 1"))
    assert outcome.status == Status.NOT_REVIEWED
    assert outcome.reason.startswith(f"{TW_REUSE} is not set in any sysctl configuration file")


def test_a_glob_that_disables_io_uring_is_the_boot_value(tmp_path):
    root = image(tmp_path, "kernel.io_uring_* = 2")
    boot = collect_root(root, frozenset({"audit"})).facts.audit.io_uring_boot
    assert (boot.value, boot.origin) == ("2", "/etc/sysctl.d/60-boot.conf:1")


def test_an_io_uring_disabled_excluded_from_the_glob_is_left_at_the_default(tmp_path):
    root = image(tmp_path, "-kernel.io_uring_disabled", "kernel.io_uring_* = 2")
    boot = collect_root(root, frozenset({"audit"})).facts.audit.io_uring_boot
    assert (boot.value, boot.origin) == (None, None)


def test_a_glob_that_sets_bindv6only_makes_a_socket_unit_v6_only(tmp_path):
    root = image(tmp_path, "net.ipv6.bindv6onl? = 1")
    units = root / "usr" / "lib" / "systemd" / "system"
    units.mkdir(parents=True)
    (units / "app.socket").write_text("[Socket]\nListenStream=[::]:8443\n")
    [listener] = collect_root(root, frozenset({"sockets"})).facts.sockets.listeners
    assert (listener.address, listener.port, listener.v6only) == ("::", 8443, True)


def test_systemd_sysctl_writes_the_glob_as_lbaudit_reads_it(tmp_path):
    tool = systemd_sysctl_or_skip()
    for written, value in (("net.ipv4.tcp_tw_re*", "0"), ("net.ipv4.tcp_tw_reus[a-f]", "1")):
        conf, before, booted = boot_one_sysctl(tool, tmp_path / written.replace("*", "S").replace("[", "B"),
                                               TW_REUSE, value, written=written)
        persistent = collect_root(image(tmp_path / f"i{value}", f"{written} = {value}"),
                                  frozenset({"sysctl"})).facts.sysctl.persistent
        setting = configured_setting(persistent, TW_REUSE)
        assert before == "2" and booted == value and setting is not None and setting.value == booted, conf
