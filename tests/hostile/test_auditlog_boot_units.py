"""Hostile corpus: rules.d that covers every socket call, and nothing that loads it at boot.

The persistent rules reach the kernel only when something runs ``augenrules --load`` at boot:
auditd.service (ExecStartPost in audit 3, Wants=audit-rules.service in audit 4) or an enabled
audit-rules.service.  A disabled or masked auditd.service also leaves no audit daemon to write the
records.  Each case builds a systemd image (the systemd program, the units as Debian and audit 4
install them, enablement links) and asserts the exact status of the persistent findings and of
"audit records written" (``audit.socket_logging`` 1.5.0).
"""

from __future__ import annotations

from pathlib import Path

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect.rootdir import collect_root
from auditor.model.result import Status
from tests.factories import BOOT_BACKLOG_RULES, ELF_X86_64, SOCKET_AUDIT_RULES, install_kernel_without_x32

PASS, FAIL, NOT_REVIEWED = Status.PASS, Status.FAIL, Status.NOT_REVIEWED
NET = SOCKET_AUDIT_RULES  # every way of making the calls: the rules are not what is judged here
AUDITD_3 = ("[Unit]\nDescription=Security Auditing Service\nDefaultDependencies=no\n[Service]\nType=forking\n"
            "ExecStart=/sbin/auditd\nExecStartPost=-/sbin/augenrules --load\n[Install]\nWantedBy=multi-user.target\n")
AUDITD_4 = ("[Unit]\nDescription=Security Audit Logging Service\nWants=audit-rules.service\n[Service]\nType=forking\n"
            "ExecStart=/usr/sbin/auditd\n[Install]\nWantedBy=multi-user.target\n")
AUDIT_RULES_4 = ("[Unit]\nDescription=Load Audit Rules\n[Service]\nType=oneshot\nExecStart=/usr/sbin/augenrules --load\n"
                 "[Install]\nWantedBy=multi-user.target\n")


def image(tmp_path: Path, units: dict[str, str], enabled: tuple[str, ...] = (), masked: tuple[str, ...] = (),
          systemd: bool = True, first_boot: bool = False, presets: str | None = None) -> dict[str, Status]:
    root = tmp_path / "image"
    rules_d = root / "etc" / "audit" / "rules.d"
    rules_d.mkdir(parents=True)
    if not first_boot:  # an image that has booted: its first boot's presets are behind it
        (root / "etc" / "machine-id").write_text("4c4c4544004d3510804bb4c04f333333\n")
    if presets is not None:
        (root / "etc" / "systemd" / "system-preset").mkdir(parents=True)
        (root / "etc" / "systemd" / "system-preset" / "90-site.preset").write_text(presets)
    (rules_d / "30-net.rules").write_text(NET)
    (rules_d / "10-backlog.rules").write_text(BOOT_BACKLOG_RULES)  # a compliant host sets -b
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "usr" / "sbin" / "auditctl").write_bytes(ELF_X86_64)
    install_kernel_without_x32(root)  # offline, x32 is read from the image's kernels
    (root / "usr" / "sbin" / "auditd").write_bytes(ELF_X86_64)
    vendor = root / "usr" / "lib" / "systemd" / "system"
    vendor.mkdir(parents=True)
    if systemd:
        (root / "usr" / "lib" / "systemd" / "systemd").write_bytes(ELF_X86_64)
    for name, text in units.items():
        (vendor / name).write_text(text)
    local = root / "etc" / "systemd" / "system"
    (local / "multi-user.target.wants").mkdir(parents=True)
    for name in enabled:
        (local / "multi-user.target.wants" / name).symlink_to(f"/usr/lib/systemd/system/{name}")
    for name in masked:
        (local / name).symlink_to("/dev/null")
    snap = collect_root(root, frozenset({"audit"}))
    outcomes = audit_socket_logging.run(snap, SocketLoggingParams())
    return {o.subject: o.status for o in outcomes
            if o.subject in ("persistent rules b64", "persistent rules b32", "audit records written")}


def expect(persistent: Status, written: Status) -> dict[str, Status]:
    return {"persistent rules b64": persistent, "persistent rules b32": persistent, "audit records written": written}


def test_control_case_enabled_auditd_loads_the_rules(tmp_path):
    assert image(tmp_path, {"auditd.service": AUDITD_3}, enabled=("auditd.service",)) == expect(PASS, PASS)


def test_disabled_auditd_loads_nothing_and_writes_nothing(tmp_path):
    assert image(tmp_path, {"auditd.service": AUDITD_3}) == expect(FAIL, FAIL)


def test_disabled_auditd_of_an_image_not_booted_yet_is_enabled_by_its_first_boot(tmp_path):
    """No /etc/machine-id: the first boot applies the presets, and no preset line disables auditd."""
    assert image(tmp_path, {"auditd.service": AUDITD_3}, first_boot=True) == expect(PASS, PASS)


def test_a_preset_that_disables_auditd_keeps_it_off_at_first_boot(tmp_path):
    found = image(tmp_path, {"auditd.service": AUDITD_3}, first_boot=True, presets="disable auditd.service\n")
    assert found == expect(FAIL, FAIL)


def test_masked_auditd_even_with_its_enablement_link(tmp_path):
    found = image(tmp_path, {"auditd.service": AUDITD_3}, enabled=("auditd.service",), masked=("auditd.service",))
    assert found == expect(FAIL, FAIL)


def test_auditd_not_installed_on_a_systemd_host(tmp_path):
    assert image(tmp_path, {}) == expect(FAIL, FAIL)


def test_audit_4_auditd_pulls_in_audit_rules(tmp_path):
    units = {"auditd.service": AUDITD_4, "audit-rules.service": AUDIT_RULES_4}
    assert image(tmp_path, units, enabled=("auditd.service",)) == expect(PASS, PASS)


def test_audit_4_masked_audit_rules_loads_nothing(tmp_path):
    units = {"auditd.service": AUDITD_4, "audit-rules.service": AUDIT_RULES_4}
    found = image(tmp_path, units, enabled=("auditd.service",), masked=("audit-rules.service",))
    assert found == expect(FAIL, PASS)


def test_audit_rules_enabled_alone_loads_the_rules_but_no_daemon_writes(tmp_path):
    units = {"auditd.service": AUDITD_4, "audit-rules.service": AUDIT_RULES_4}
    assert image(tmp_path, units, enabled=("audit-rules.service",)) == expect(PASS, FAIL)


def test_without_systemd_the_boot_is_not_judged(tmp_path):
    # sysvinit and OpenRC start auditd their own way; lbaudit does not read them (documented)
    assert image(tmp_path, {"auditd.service": AUDITD_3}, systemd=False) == expect(PASS, PASS)
