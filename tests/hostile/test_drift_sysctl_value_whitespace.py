"""Hostile drift.sysctl and pool: white space inside a configured value that the kernel refuses.

lbaudit read a sysctl.d value with every run of Python white space collapsed to one space
(``" ".join(value.split())``), and parsed numbers by ``str.split()``.  The kernel is stricter
(kernel/sysctl.c): before a number it skips isspace() (space, \\t, \\n, \\v, \\f, \\r), but after a
number proc_get_long() takes only a space, a tab or a newline; systemd-sysctl strips only " \\t\\n\\r"
from the ends of a value and writes the rest as it stands.  So ``tcp_fin_timeout = 30\\v60``,
``30\\f`` at the end of a line, ``32768\\v60999`` or a U+00A0 between the numbers are refused at
boot (EINVAL, the default stays), while lbaudit read 30 (or 32768-60999): drift.sysctl passed a
running 30 set by hand (the next boot leaves 60) and an image's pool was judged on a range the boot
refuses.  Each verdict here is what Linux 6.18 does with the write (checked in a network namespace;
``test_lbaudit_reads_each_value_as_systemd_sysctl_writes_it`` lets systemd-sysctl write them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks import _sysctl
from auditor.checks.drift_sysctl import DriftSysctlParams, drift_sysctl, kernel_reading
from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.collect.rootdir import collect_root
from auditor.collect.sysctl import normalise_value
from auditor.domain.sysctl import parse_sysctl_conf
from auditor.model.facts import SysctlFacts, SysctlSetting
from auditor.model.result import Status
from tests.factories import LINUX_DEFAULT_SYSCTLS, install_procps_boot, snapshot, sysctl_facts
from tests.netns_env import boot_one_sysctl, systemd_sysctl_or_skip

RANGE = "net.ipv4.ip_local_port_range"
FIN = "net.ipv4.tcp_fin_timeout"
RESERVED = "net.ipv4.ip_local_reserved_ports"

# Characters Python's str.split() takes as white space but the kernel does not take after a number
# (a "\r" ends the line for systemd-sysctl, as "\n" does: its own case below).
REFUSED_BETWEEN = ["\v", "\f", "\xa0", "\x85", "\u2028", "\x1c"]


def image(tmp_path: Path, line: str, systemd: bool = True) -> Path:
    """An image root whose /etc/sysctl.d sets ``line``, applied at boot by systemd-sysctl (present
    in the image), else by procps' sysctl --system."""
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "etc" / "sysctl.d" / "60-net.conf").write_bytes(line.encode() + b"\n")
    if systemd:
        (root / "usr" / "lib" / "systemd").mkdir(parents=True)
        (root / "usr" / "lib" / "systemd" / "systemd-sysctl").write_bytes(b"\x7fELF")
    return root


def drift(tmp_path: Path, key: str, written: str, running: str, systemd: bool = True):
    root = image(tmp_path, f"{key} = {written}", systemd)
    persistent = collect_root(root, frozenset({"sysctl"})).facts.sysctl.persistent
    runtime = sysctl_facts(dict(LINUX_DEFAULT_SYSCTLS, **{key: running})).runtime
    snap = snapshot(sysctl=SysctlFacts(runtime=runtime, persistent=persistent))
    [outcome] = [o for o in drift_sysctl.run(snap, DriftSysctlParams()) if o.subject == f"sysctl {key}"]
    return outcome


@pytest.mark.parametrize("char", REFUSED_BETWEEN, ids=repr)
def test_a_number_followed_by_other_white_space_is_refused_not_judged_as_written(tmp_path, char):
    """``30<char>60`` sets nothing at boot (was pass: read as ``30 60``, which sets 30)."""
    outcome = drift(tmp_path, FIN, f"30{char}60", "30")
    assert outcome.status == Status.FAIL
    assert f"sets {FIN} = {f'30{char}60'!r}, which the kernel refuses" in outcome.message
    assert repr(char)[1:-1] in outcome.message  # the character is named escaped, never raw
    assert char not in outcome.message


@pytest.mark.parametrize("char", ["\v", "\f"], ids=repr)
def test_a_trailing_character_systemd_sysctl_keeps_is_refused(tmp_path, char):
    """systemd-sysctl strips only " \\t\\n\\r": ``30\\v`` at the end of the line is written as it
    stands and refused (was pass: the line was stripped of \\v and \\f too)."""
    outcome = drift(tmp_path, FIN, f"30{char}", "30")
    assert outcome.status == Status.FAIL
    assert "after a number the kernel takes only a space, a tab or a newline (EINVAL)" in outcome.message


@pytest.mark.parametrize("char", ["\v", "\f"], ids=repr)
def test_control_procps_strips_the_trailing_character_with_the_line(tmp_path, char):
    """An image without systemd-sysctl boots with procps' sysctl --system, which strips the line
    with isspace(): ``30\v`` is written as ``30`` (checked with procps-ng 4.0.2)."""
    assert drift(tmp_path, FIN, f"30{char}", "30", systemd=False).status == Status.PASS


def test_a_carriage_return_inside_the_value_is_a_line_end_for_systemd_and_refused_for_procps(tmp_path):
    """systemd's read_line() ends the line at "\r" (``30\r60`` sets 30); procps reads up to "\n"
    and writes ``30\r60``, which the kernel refuses (was: read as ``30 60`` either way)."""
    assert drift(tmp_path / "systemd", FIN, "30\r60", "30").status == Status.PASS
    outcome = drift(tmp_path / "procps", FIN, "30\r60", "30", systemd=False)
    assert outcome.status == Status.FAIL
    assert "= '30\\r60', which the kernel refuses" in outcome.message


@pytest.mark.parametrize("written", ["30 60", "30\t60", "30  \v60", "\v30", "\f30 60", "30\r"], ids=repr)
def test_control_the_kernel_separators_and_leading_white_space_set_30(tmp_path, written):
    """A space or a tab after the number, any isspace() before one, and a CRLF line end (the \\r is
    stripped by systemd-sysctl) all set 30."""
    assert drift(tmp_path, FIN, written, "30").status == Status.PASS


@pytest.mark.parametrize("char", REFUSED_BETWEEN, ids=repr)
def test_a_range_with_other_white_space_between_its_ends_is_refused(tmp_path, char):
    outcome = drift(tmp_path, RANGE, f"32768{char}60999", "32768\t60999")
    assert outcome.status == Status.FAIL
    assert "which the kernel refuses" in outcome.message


@pytest.mark.parametrize("char", REFUSED_BETWEEN, ids=repr)
def test_an_image_whose_range_the_boot_refuses_has_no_pool(tmp_path, char):
    """Offline the pool was judged on 32768-60999 (was pass); the boot keeps the kernel's range,
    which lbaudit does not assume: not_reviewed, naming the value escaped."""
    snap = collect_root(image(tmp_path, f"{RANGE} = 32768{char}60999"), frozenset({"sysctl", "sockets"}))
    lookup = _sysctl.ephemeral_pool(snap)
    assert (lookup.pool, lookup.low, lookup.high) == (None, None, None)
    assert lookup.reason is not None and lookup.reason.startswith(f"malformed value: {RANGE} = {f'32768{char}60999'!r}")
    outcomes = net_ephemeral_port_range.run(snap, EphemeralRangeParams())
    pool = [o for o in outcomes if o.subject == "ephemeral port pool"]
    assert [o.status for o in pool] == [Status.NOT_REVIEWED]


@pytest.mark.parametrize("written", ["32768 60999", "32768\t60999", "32768 \f60999"], ids=repr)
def test_control_an_image_whose_range_the_boot_takes_has_its_pool(tmp_path, written):
    lookup = _sysctl.ephemeral_pool(collect_root(image(tmp_path, f"{RANGE} = {written}"), frozenset({"sysctl"})))
    assert (lookup.low, lookup.high, lookup.reason) == (32768, 60999, None)


@pytest.mark.parametrize("written", ["\v8080", "8080\v", "8080\xa0"], ids=repr)
def test_reserved_ports_with_white_space_around_the_list_are_refused(written):
    """proc_do_large_bitmap skips only a newline around the list (was: any edge white space stripped)."""
    with pytest.raises(_sysctl.SysctlValueError, match="white space in or around the list"):
        _sysctl.parse_port_list(written, RESERVED, configured=True)
    assert _sysctl.parse_port_list("8080\n", RESERVED, configured=True) == ((8080, 8080),)


def test_each_boot_tool_strips_what_it_strips():
    """systemd-sysctl keeps a trailing \\v (refused), procps' sysctl --system strips it with the line
    (isspace), and neither collapses white space inside the value."""
    text = f"{FIN} = 30\v\n{RANGE} = 32768  \t60999\n"
    assert [e.value for e in parse_sysctl_conf(text, "systemd-sysctl")] == ["30\v", "32768  \t60999"]
    assert [e.value for e in parse_sysctl_conf(text, "sysctl --system")] == ["30", "32768  \t60999"]


def test_a_running_value_is_split_only_where_the_kernel_prints_a_separator():
    assert normalise_value("32768\t60999\n") == "32768 60999"
    assert normalise_value("30\v60\n") == "30\v60"
    with pytest.raises(_sysctl.SysctlValueError):
        _sysctl.parse_port_range("32768\v60999")


@pytest.mark.live
def test_lbaudit_reads_each_value_as_systemd_sysctl_writes_it(tmp_path):
    """systemd-sysctl writes each value in a private mount and network namespace (starting from the
    kernel defaults); lbaudit's reading is the value read back, or refused exactly when the default
    stays."""
    tool = systemd_sysctl_or_skip()
    values = {FIN: [f"30{c}60" for c in REFUSED_BETWEEN] + ["30\v", "30\f", "30 \v60", "\v30", "30\t60", "30\r", "30\r60"],
              RANGE: [f"33000{c}60000" for c in REFUSED_BETWEEN] + ["33000 \f60000", "33000\t60000\v", "\f33000 60000"]}
    for key, texts in values.items():
        for index, text in enumerate(texts):
            conf, before, booted = boot_one_sysctl(tool, tmp_path / f"{key}-{index}", key, text)
            [entry] = parse_sysctl_conf(conf.read_text())
            try:
                read = kernel_reading(key, entry.value or "", configured=True)
            except _sysctl.SysctlValueError:
                read = None
            assert (read if read is not None else "refused") == (
                kernel_reading(key, normalise_value(booted), configured=False) if booted != before else "refused"), (key, text)


def test_a_key_compared_as_text_keeps_white_space_the_kernel_does_not_separate_with():
    """A key whose handler lbaudit does not model is compared as text with the kernel's separators
    collapsed; ``4096\\v`` (refused by proc_dointvec at boot) no longer matches a running 4096 (was
    pass: every run of white space was collapsed)."""
    key = "net.core.somaxconn"
    persistent = parse_sysctl_conf(f"{key} = 4096\v\n")
    runtime = sysctl_facts(dict(LINUX_DEFAULT_SYSCTLS, **{key: "4096"})).runtime
    settings = {e.key: SysctlSetting(value=e.value or "", origin=f"/etc/sysctl.d/60-net.conf:{e.line}") for e in persistent}
    snap = snapshot(sysctl=SysctlFacts(runtime=runtime, persistent=settings))
    [outcome] = [o for o in drift_sysctl.run(snap, DriftSysctlParams(keys=[key])) if o.subject == f"sysctl {key}"]
    assert outcome.status == Status.FAIL
    assert "'4096\\x0b'" in outcome.message


@pytest.mark.parametrize("written, off", [("2\v", False), ("2\xa0", False), ("2\f", False),
                                         ("2", True), ("0x2", True), ("\v2", True)], ids=repr)
def test_io_uring_disabled_at_boot_is_read_as_the_kernel_reads_the_write(tmp_path, written, off):
    """audit.socket_logging passes the persistent io_uring scope when the boot sets
    kernel.io_uring_disabled = 2; ``2\\v`` (kept by systemd-sysctl, refused by the kernel) leaves
    io_uring enabled (was pass: the value was compared after str.strip())."""
    from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
    from auditor.model.facts import AuditFacts, IoUringBoot, IoUringState
    from tests.factories import running_auditd

    facts = AuditFacts(enabled=1, rate_limit=0, loaded_rules=[], persistent_rules=[],
                       persistent_source="/etc/audit/rules.d (augenrules)",
                       io_uring=IoUringState(present=True, disabled=0, group=-1, source="/proc/sys/kernel/io_uring_disabled"),
                       io_uring_boot=IoUringBoot(value=written, origin="/etc/sysctl.d/60-io_uring.conf:1"),
                       **running_auditd())
    snap = snapshot(audit=facts)
    snap = snap.model_copy(update={"provenance": snap.provenance.model_copy(update={"kernel": "6.12.0"})})
    [outcome] = [o for o in audit_socket_logging.run(snap, SocketLoggingParams())
                 if o.subject == "persistent rules io_uring"]
    assert (outcome.status == Status.PASS) is off
