"""collect_root: every section read under the root, nothing outside it, runtime facts not applicable."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from auditor.collect.rootdir import collect_root
from auditor.errors import InputError
from auditor.model.facts import SECTIONS, GapKind
from auditor.storage.snapshot import snapshot_bytes

ROOTS = Path(__file__).resolve().parent.parent / "fixtures" / "roots"
MARKER = "lbaudit-outside-marker"


def test_escaping_links_in_every_section_never_read_outside_the_root(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "hostname").write_text(f"{MARKER}-host\n")
    (outside / "99-out.rules").write_text(f"-a always,exit -F arch=b64 -S bind -k {MARKER}\n")
    (outside / "out.socket").write_text("[Socket]\nListenStream=0.0.0.0:31999\n")
    (outside / "sysctl.d").mkdir()
    (outside / "sysctl.d" / "99-out.conf").write_text(f"net.{MARKER.replace('-', '_')} = 1\n")

    root = tmp_path / "image"
    for name in ("sysctl-precedence", "socket-units", "audit-rules"):
        shutil.copytree(ROOTS / name, root, symlinks=True, dirs_exist_ok=True)
    os.symlink(str(outside / "hostname"), root / "etc/hostname")  # absolute
    os.symlink("../../../" * 10 + str(outside / "99-out.rules").lstrip("/"), root / "etc/audit/rules.d/99-out.rules")  # ..
    os.symlink(str(outside / "out.socket"), root / "etc/systemd/system/out.socket")
    # a whole directory (the image's /run is not read: a tmpfs covers it at boot)
    shutil.rmtree(root / "usr/local/lib/sysctl.d")
    os.symlink(str(outside / "sysctl.d"), root / "usr/local/lib/sysctl.d")

    snap = collect_root(root, frozenset(SECTIONS))
    text = snapshot_bytes(snap).decode()
    assert MARKER not in text and "31999" not in text
    assert snap.provenance.hostname == "unknown"  # the image has no hostname of its own
    assert snap.provenance.source == "root" and snap.provenance.source_detail == str(root.resolve())
    # Inside the image the links lead nowhere.  A sysctl.d directory, rules file or unit file absent
    # only because its link leads nowhere (perhaps a mount the image lacks) fails closed: a gap names it.
    unreadable = {(g.section, g.field): g.reason for g in snap.gaps if g.kind == GapKind.UNREADABLE}
    assert snap.facts.sysctl.persistent is None
    assert ("/usr/local/lib/sysctl.d: not found, through a symbolic link to nothing "
            f"(/usr/local/lib/sysctl.d -> {outside / 'sysctl.d'})") \
        in unreadable[("sysctl", "persistent")]
    assert snap.facts.audit.persistent_rules is None
    assert "/etc/audit/rules.d/99-out.rules: not found" in unreadable[("audit", "persistent_rules")]
    # the other units are still read; the dangling one is named, so no listener list is claimed complete
    assert snap.facts.sockets.listeners is not None
    assert "/etc/systemd/system/out.socket: not found" in unreadable[("sockets", "listeners")]


def test_runtime_facts_are_not_applicable_with_the_reason():
    snap = collect_root(ROOTS / "sysctl-precedence", frozenset(SECTIONS))
    not_applicable = {(g.section, g.field): g.reason for g in snap.gaps if g.kind == GapKind.NOT_APPLICABLE}
    assert set(not_applicable) == {("sockets", "listeners"), ("sockets", "counts"), ("sysctl", "runtime"),
                                   ("audit", "enabled"), ("audit", "loaded_rules"), ("audit", "io_uring"), ("netns", "")}
    assert all("offline root directory" in reason for reason in not_applicable.values())
    assert snap.facts.sysctl.runtime is None and snap.facts.sockets.counts is None
    assert snap.provenance.kernel is None and snap.provenance.arch is None


def test_only_the_requested_sections_are_collected():
    snap = collect_root(ROOTS / "sysctl-precedence", frozenset({"sysctl"}))
    assert snap.facts.sockets is None and snap.facts.audit is None and snap.facts.sysctl is not None
    assert set(snap.provenance.methods) == {"sysctl"}


@pytest.mark.parametrize("bad", ["missing", "file"])
def test_a_root_that_is_not_a_directory_is_an_input_error(tmp_path: Path, bad: str):
    path = tmp_path / bad
    if bad == "file":
        path.write_text("not a directory")
    with pytest.raises(InputError):
        collect_root(path, frozenset(SECTIONS))


def test_unknown_section_is_an_input_error(tmp_path: Path):
    with pytest.raises(InputError, match="unknown fact sections: bogus"):
        collect_root(tmp_path, frozenset({"bogus"}))


# ---------------------------------------------------------------- rootfs: files that would block or never end

from auditor.collect import rootfs  # noqa: E402 - grouped with the tests that use it


def _hostile_entries(root: Path) -> dict[str, str]:
    """name -> the reason rootfs gives; each made in ``root/etc``."""
    etc = root / "etc"
    etc.mkdir(parents=True)
    os.mkfifo(etc / "fifo.conf")
    os.symlink("loop.conf", etc / "loop.conf")
    with open(etc / "sparse.conf", "wb") as handle:
        handle.truncate(100 * 1024 * 1024)
    (etc / "dir.conf").mkdir()
    expected = {"fifo.conf": "is a FIFO, not a regular file", "loop.conf": "too many levels of symbolic links",
                "sparse.conf": f"larger than {rootfs.MAX_CONFIG_BYTES} bytes", "dir.conf": "is a directory"}
    if os.geteuid() == 0:
        os.mknod(etc / "zero.conf", 0o020644, os.makedev(1, 5))
        (root / "dev").mkdir()
        os.mknod(root / "dev/zero", 0o020644, os.makedev(1, 5))
        os.symlink("/dev/zero", etc / "zero-link.conf")  # resolved inside the root: the image's node
        expected |= {"zero.conf": "is a character device, not a regular file",
                     "zero-link.conf": "is a character device, not a regular file"}
    return expected


def test_read_text_refuses_what_is_not_a_bounded_regular_file_without_blocking(tmp_path: Path):
    expected = _hostile_entries(tmp_path)
    for name, reason in expected.items():
        with pytest.raises(OSError) as raised:
            rootfs.read_text(tmp_path, f"/etc/{name}")
        assert rootfs.describe_os_error(raised.value) == reason, name
    with pytest.raises(IsADirectoryError):
        rootfs.read_text(tmp_path, "/etc/dir.conf")  # augenrules skips a directory: callers tell it apart


def test_list_dir_of_a_fifo_or_a_loop_does_not_block(tmp_path: Path):
    _hostile_entries(tmp_path)
    with pytest.raises(NotADirectoryError):
        rootfs.list_dir(tmp_path, "/etc/fifo.conf")
    with pytest.raises(OSError, match="too many levels"):
        rootfs.list_dir(tmp_path, "/etc/loop.conf")
    problems: list[str] = []
    assert rootfs.list_config_dir(tmp_path, "/etc/loop.conf/x", problems) == []
    assert problems == ["/etc/loop.conf/x: too many levels of symbolic links"]


def test_what_several_sections_read_is_read_once_a_collection_and_anew_in_the_next(tmp_path):
    """The systemd unit directories (audit's boot units, systemd-sysctl's masking) and the boot's
    sysctls (the sysctl and audit sections) are read once a collection (rootfs.read_once); a unit
    enabled between two collections is seen by the second."""
    from auditor.collect import rootfs
    from auditor.collect.systemd_sockets import unit_boot_state

    units = tmp_path / "etc/systemd/system"
    (units / "multi-user.target.wants").mkdir(parents=True)
    (units / "auditd.service").write_text("[Service]\nExecStart=/sbin/auditd\n[Install]\nWantedBy=multi-user.target\n")
    with rootfs.one_view_of_each_root():
        assert unit_boot_state(tmp_path, "auditd.service")[0] == "disabled"
        (units / "multi-user.target.wants/auditd.service").symlink_to("/etc/systemd/system/auditd.service")
        assert unit_boot_state(tmp_path, "auditd.service")[0] == "disabled"  # the collection's one reading
    with rootfs.one_view_of_each_root():
        assert unit_boot_state(tmp_path, "auditd.service")[0] == "enabled"  # the next collection reads anew
    calls: list[int] = []
    assert rootfs.read_once(("k",), lambda: calls.append(1) or len(calls)) == 1  # outside a collection: each time
    assert rootfs.read_once(("k",), lambda: calls.append(1) or len(calls)) == 2
