"""The sysctl collector against this kernel's /proc/sys, cross-checked with procps ``sysctl -n``."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from auditor.collect import CollectContext
from auditor.collect.sysctl import SYSCTL_KEYS, collect_sysctl, normalise_value, read_runtime_sysctls, sysctl_path
from auditor.model.facts import GapKind
from tests.factories import install_procps_boot

REQUIRED = {
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_tw_reuse",
    "net.ipv4.tcp_max_tw_buckets",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv6.bindv6only",
    "net.ipv4.tcp_timestamps",
}
SYSCTL_BIN = shutil.which("sysctl", path="/usr/sbin:/usr/bin:/sbin:/bin")


def test_keys_cover_what_the_checks_need():
    assert REQUIRED <= set(SYSCTL_KEYS)


@pytest.mark.skipif(SYSCTL_BIN is None, reason="procps sysctl not installed; nothing independent to compare with")
@pytest.mark.live
def test_runtime_values_match_procps_sysctl():
    facts, gaps = collect_sysctl(CollectContext())
    assert facts.persistent is not None  # sysctl.d, filled by auditor.collect.sysctl_d
    unreadable = {g.field.removeprefix("runtime/") for g in gaps}
    assert set(facts.runtime) | unreadable == set(SYSCTL_KEYS)
    for key, setting in facts.runtime.items():
        out = subprocess.run([SYSCTL_BIN, "-n", key], capture_output=True, text=True, timeout=10, check=True).stdout
        assert setting.value == " ".join(out.split()), key
        assert setting.origin == "/proc/sys/" + key.replace(".", "/")


@pytest.mark.live
def test_port_range_is_two_numbers_separated_by_one_space():
    facts, _ = collect_sysctl(CollectContext())
    low, high = facts.runtime["net.ipv4.ip_local_port_range"].value.split(" ")
    assert 0 < int(low) <= int(high) <= 65535
    with open("/proc/sys/net/ipv4/ip_local_port_range") as handle:
        assert "\t" in handle.read()  # what the normalisation is for


@pytest.mark.live
def test_missing_key_is_a_gap_with_the_reason():
    values, gaps = read_runtime_sysctls(("net.ipv4.tcp_fin_timeout", "net.ipv4.lbaudit_no_such_key"))
    assert set(values) == {"net.ipv4.tcp_fin_timeout"}
    assert [g.field for g in gaps] == ["runtime/net.ipv4.lbaudit_no_such_key"]
    assert "not present" in gaps[0].reason and gaps[0].kind == GapKind.UNREADABLE


@pytest.mark.live
def test_write_only_key_is_a_permission_gap_even_for_root():
    # net.ipv4.route.flush is mode 0200: the kernel refuses reads to everyone, root included.
    values, gaps = read_runtime_sysctls(("net.ipv4.route.flush",))
    assert values == {}
    assert [(g.field, "permission denied" in g.reason) for g in gaps] == [("runtime/net.ipv4.route.flush", True)]


@pytest.mark.parametrize("key", ["../../etc/passwd", "net.ipv4/../../x", "net", "NET.ipv4.x", "net..ipv4"])
def test_keys_that_could_escape_proc_sys_are_refused(key):
    with pytest.raises(ValueError):
        sysctl_path(key)


def test_normalise_value():
    assert normalise_value("32768\t60999\n") == "32768 60999"
    assert normalise_value("\n") == ""
    assert normalise_value(" 1,2-4 \t 5\n") == "1,2-4 5"


def test_offline_root_has_no_running_values(tmp_path):
    # An empty image, not this host's / (whose sysctl.d files are not this test's business).
    facts, gaps = collect_sysctl(CollectContext(root=install_procps_boot(tmp_path), live=False))
    assert facts.runtime is None and facts.persistent is not None  # sysctl.d files are still read
    assert [(g.section, g.field, g.kind) for g in gaps] == [("sysctl", "runtime", GapKind.NOT_APPLICABLE)]
