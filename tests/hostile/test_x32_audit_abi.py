"""Hostile: the x32 syscall ABI makes socket calls no audit rule can match.

The defect: on an x86_64 kernel built with the x32 ABI (CONFIG_X86_X32_ABI, CONFIG_X86_X32 before
Linux 5.18) and not turned off (Debian's CONFIG_X86_X32_DISABLED, or ``syscall.x32=n`` on a
Debian kernel's command line), a program calls bind, connect, accept through the x32 ABI: syscall
numbers carrying bit 0x40000000, audited as arch b64.  The kernel's audit_in_mask()
(kernel/auditsc.c) returns false for a number whose word is past AUDIT_BITMASK_SIZE, so no rule
matches such a call (not -S all, not a rule without -S), and those calls are never recorded; yet
audit.socket_logging passed the b64 scopes on the rules alone.  Now the collector records whether
x32 is usable (live: it asks the kernel with x32 getpid in a child; offline: the image's
/boot/config-* and boot loader command lines), the b64 scopes fail where it is, are not_reviewed
where it is not known (an image without a kernel configuration, a snapshot before format 1.7), and
are untouched on a machine that has no x32 ABI.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect import CollectContext
from auditor.collect.audit import collect_audit
from auditor.collect.rootdir import collect_root
from auditor.domain.audit_rules import parse_rules_text
from auditor.model.facts import AuditFacts, HostSnapshot, IoUringBoot, IoUringState
from auditor.model.result import Status
from tests.factories import (
    BOOT_BACKLOG_RULES,
    ELF_X86_64,
    SOCKET_AUDIT_RULES,
    install_procps_boot,
    running_auditd,
    snapshot,
)

PASS, FAIL, NOT_REVIEWED = Status.PASS, Status.FAIL, Status.NOT_REVIEWED
UPSTREAM_X32 = "CONFIG_X86_64=y\nCONFIG_X86_X32_ABI=y\n"  # Linux 5.18+, without Debian's patch
OLD_X32 = "CONFIG_X86_64=y\nCONFIG_X86_X32=y\n"  # Linux 3.4 to 5.17
DEBIAN_OFF = "CONFIG_X86_64=y\nCONFIG_X86_X32_ABI=y\nCONFIG_X86_X32_DISABLED=y\n"  # Debian's default
DEBIAN_ON = "CONFIG_X86_64=y\nCONFIG_X86_X32_ABI=y\n# CONFIG_X86_X32_DISABLED is not set\n"
NO_X32 = "CONFIG_X86_64=y\n# CONFIG_X86_X32_ABI is not set\n"
REMEDY = "boot with syscall.x32=n (Debian's kernels) or a kernel built without CONFIG_X86_X32_ABI"


def x32_failure(scope: str, source: str) -> str:
    return (f"{scope} rules b64: syscalls audited, but not for x32 programs: the x32 ABI is usable on this kernel "
            f"({source}): x32 programs make bind, connect, accept, accept4, listen as syscalls numbered from "
            "0x40000000 (arch b64), which no audit rule can match (the kernel's audit_in_mask() looks only at "
            f"numbers below 2048, -S all included), so none of their calls is recorded; {REMEDY}")


def x32_doubt(scope: str, reason: str) -> str:
    return (f"not reviewed: {scope} rules b64: whether the x32 ABI is usable on this kernel is not known ({reason}): where it is, "
            "no audit rule records the calls x32 programs make (their syscall numbers carry bit 0x40000000, past "
            f"every rule's bitmask), so the rules alone cannot show these calls audited; {REMEDY} rules it out")


def image(tmp_path: Path, kernels: dict[str, str | None], grub: str | None = None) -> HostSnapshot:
    """An x86_64 image whose rules.d audits every way of making the calls (a compliant -b too, and
    io_uring off at boot), with these /boot/config-RELEASE files (None: a directory where the
    file would be) and, with ``grub``, that /etc/default/grub."""
    root = tmp_path / "image"
    rules_d = root / "etc" / "audit" / "rules.d"
    rules_d.mkdir(parents=True)
    (rules_d / "00-backlog.rules").write_text(BOOT_BACKLOG_RULES)
    (rules_d / "30-net.rules").write_text(SOCKET_AUDIT_RULES)
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "etc" / "sysctl.d" / "60-io_uring.conf").write_text("kernel.io_uring_disabled = 2\n")
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "usr" / "sbin" / "auditctl").write_bytes(ELF_X86_64)
    (root / "boot").mkdir()
    for release, text in kernels.items():
        if text is None:
            (root / "boot" / f"config-{release}").mkdir()
        else:
            (root / "boot" / f"config-{release}").write_text(text)
    if grub is not None:
        (root / "etc" / "default").mkdir()
        (root / "etc" / "default" / "grub").write_text(grub)
    return collect_root(root, frozenset({"audit", "sysctl"}))


def judged(snap: HostSnapshot) -> dict:
    return {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}


@pytest.mark.parametrize("config, why", [
    (UPSTREAM_X32, "CONFIG_X86_X32_ABI=y (a kernel without syscall.x32=)"),
    (OLD_X32, "CONFIG_X86_X32=y (a kernel without syscall.x32=)"),
])
def test_image_whose_kernel_has_x32_fails_b64_whatever_the_rules(tmp_path, config, why):
    found = judged(image(tmp_path, {"6.1.0-amd64": config}))
    b64 = found["persistent rules b64"]
    assert b64.status == FAIL
    assert b64.message == x32_failure("persistent", f"/boot/config-6.1.0-amd64: {why}")
    assert b64.observed["x32"] == {"usable": True, "source": f"/boot/config-6.1.0-amd64: {why}"}
    assert "/facts/audit/x32" in b64.evidence
    # x32 programs are audited as b64: the 32-bit findings and io_uring are not theirs
    assert found["persistent rules b32"].status == PASS
    assert found["persistent rules io_uring"].status == PASS


def test_control_case_a_kernel_without_x32_passes(tmp_path):
    found = judged(image(tmp_path, {"6.1.0-amd64": NO_X32}))
    assert found["persistent rules b64"].status == PASS
    assert found["persistent rules b64"].observed["x32"] == {
        "usable": False, "source": "/boot/config-6.1.0-amd64: CONFIG_X86_X32_ABI is not set"}


def test_one_kernel_of_the_image_with_x32_is_enough_to_fail(tmp_path):
    # offline, which kernel the image boots is not known: either may
    found = judged(image(tmp_path, {"6.1.0-amd64": NO_X32, "6.12.0-amd64": UPSTREAM_X32}))
    assert found["persistent rules b64"].status == FAIL
    assert found["persistent rules b64"].observed["x32"]["source"] == (
        "/boot/config-6.12.0-amd64: CONFIG_X86_X32_ABI=y (a kernel without syscall.x32=)")


def test_debian_kernel_with_x32_off_by_default_passes_and_syscall_x32_y_fails(tmp_path):
    assert judged(image(tmp_path / "off", {"6.1.0-amd64": DEBIAN_OFF}))["persistent rules b64"].status == PASS
    on = judged(image(tmp_path / "on", {"6.1.0-amd64": DEBIAN_OFF}, grub='GRUB_CMDLINE_LINUX="quiet syscall.x32=y"\n'))
    assert on["persistent rules b64"].status == FAIL
    assert on["persistent rules b64"].observed["x32"]["source"] == (
        "/boot/config-6.1.0-amd64: CONFIG_X86_X32_ABI=y, CONFIG_X86_X32_DISABLED=y (off unless syscall.x32=y), and "
        "/etc/default/grub:1 sets syscall.x32=y")


def test_cmdline_syscall_x32_n_turns_x32_off_on_a_kernel_that_has_the_parameter(tmp_path):
    grub = 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX="syscall.x32=n"\n'
    found = judged(image(tmp_path, {"6.1.0-amd64": DEBIAN_ON}, grub=grub))
    assert found["persistent rules b64"].status == PASS
    assert found["persistent rules b64"].observed["x32"]["source"] == (
        "/boot/config-6.1.0-amd64: CONFIG_X86_X32_ABI=y, CONFIG_X86_X32_DISABLED not set (on unless syscall.x32=n); "
        "every boot entry sets syscall.x32=n (/etc/default/grub:2)")


def test_syscall_x32_n_does_nothing_on_a_kernel_without_the_parameter(tmp_path):
    # upstream kernels have no syscall.x32=: the kernel hands the word to init and x32 stays on
    found = judged(image(tmp_path, {"6.1.0-amd64": UPSTREAM_X32}, grub='GRUB_CMDLINE_LINUX="syscall.x32=n"\n'))
    assert found["persistent rules b64"].status == FAIL


def test_syscall_x32_n_only_in_the_default_entries_leaves_the_recovery_entries_open(tmp_path):
    # GRUB_CMDLINE_LINUX_DEFAULT is not on the recovery entries' command line
    grub = 'GRUB_CMDLINE_LINUX_DEFAULT="quiet syscall.x32=n"\n'
    found = judged(image(tmp_path, {"6.1.0-amd64": DEBIAN_ON}, grub=grub))
    assert found["persistent rules b64"].status == FAIL
    assert found["persistent rules b64"].observed["x32"]["source"] == (
        "/boot/config-6.1.0-amd64: CONFIG_X86_X32_ABI=y, CONFIG_X86_X32_DISABLED not set (on unless syscall.x32=n); "
        "no boot entry sets it")


def test_unreadable_kernel_configuration_is_not_reviewed(tmp_path):
    found = judged(image(tmp_path, {"6.1.0-amd64": None}))
    b64 = found["persistent rules b64"]
    assert b64.status == NOT_REVIEWED
    assert b64.message == x32_doubt(
        "persistent", "/boot/config-6.1.0-amd64: is a directory: whether that kernel has the x32 ABI cannot be told")
    assert found["persistent rules b32"].status == PASS


def test_image_without_a_kernel_configuration_is_not_reviewed(tmp_path):
    b64 = judged(image(tmp_path, {}))["persistent rules b64"]
    assert b64.status == NOT_REVIEWED
    assert b64.message == x32_doubt(
        "persistent", "/boot holds no kernel configuration (config-RELEASE): whether the kernel that runs this "
                      "image has the x32 ABI cannot be told (a container image runs on its host's kernel)")


def compliant_snapshot(machine: str = "x86_64", schema_version: str | None = None, **audit) -> HostSnapshot:
    """A live snapshot whose rules audit every way and whose io_uring is off, with these audit facts."""
    rules = parse_rules_text(SOCKET_AUDIT_RULES, "/etc/audit/rules.d/30-net.rules", machine).rules
    backlog = parse_rules_text(BOOT_BACKLOG_RULES, "/etc/audit/rules.d/00-backlog.rules", machine).rules
    facts = AuditFacts.model_validate({
        "enabled": 1, "rate_limit": 0, "loaded_rules": rules, "persistent_rules": backlog + rules,
        "persistent_source": "/etc/audit/rules.d (augenrules)", "machine": machine, "boot_audit": "on",
        "lost": 0, "backlog_limit": 8192, "failure": 1,
        "io_uring": IoUringState(present=True, disabled=2, group=-1, source="/proc/sys/kernel/io_uring_disabled",
                                 holders=[]),
        "io_uring_boot": IoUringBoot(value="2", origin="/etc/sysctl.d/60-io_uring.conf:1"),
        **running_auditd(), **audit})
    snap = snapshot(audit=facts, arch=machine, netns=None)
    return snap if schema_version is None else snap.model_copy(update={"schema_version": schema_version})


def test_snapshot_with_x32_usable_fails_both_b64_scopes_with_perfect_rules():
    probe = "syscall 0x40000027 (x32 getpid) returned a pid"
    found = judged(compliant_snapshot(x32={"usable": True, "source": probe}))
    assert {s: o.status for s, o in found.items() if o.status != PASS} == {
        "loaded rules b64": FAIL, "persistent rules b64": FAIL}
    assert found["loaded rules b64"].message == x32_failure("loaded", probe)
    assert found["persistent rules b64"].message == x32_failure("persistent", probe)


def test_snapshot_before_format_1_7_is_not_reviewed_on_x86_64_and_judged_elsewhere():
    old = judged(compliant_snapshot(schema_version="1.6"))
    assert {s: o.status for s, o in old.items() if o.status != PASS} == {
        "loaded rules b64": NOT_REVIEWED, "persistent rules b64": NOT_REVIEWED}
    assert old["loaded rules b64"].message == x32_doubt(
        "loaded", "a snapshot of format 1.6 does not record it (collect again)")
    # a machine without the x32 ABI does not need the fact: nothing turns not_reviewed there
    arm = judged(compliant_snapshot(machine="aarch64", schema_version="1.6"))
    assert (arm["loaded rules b64"].status, arm["persistent rules b64"].status) == (PASS, PASS)
    assert "x32" not in arm["loaded rules b64"].observed


def test_snapshot_with_x32_off_passes():
    found = judged(compliant_snapshot(x32={"usable": False, "source": "syscall 0x40000027 (x32 getpid) failed with "
                                                                          "ENOSYS"}))
    assert {o.status for o in found.values()} == {PASS}


def _running_kernel_has_x32() -> bool | None:
    """This kernel's CONFIG_X86_X32_ABI from /proc/config.gz; None when that cannot be read."""
    try:
        config = gzip.decompress(Path("/proc/config.gz").read_bytes()).decode()
    except OSError:
        return None
    if "# CONFIG_X86_X32_ABI is not set" in config.splitlines():
        return False
    return True if "CONFIG_X86_X32_ABI=y" in config.splitlines() else None


@pytest.mark.live
def test_live_probe_matches_the_running_kernel():
    import os

    if os.uname().machine != "x86_64":
        facts, _ = collect_audit(CollectContext())
        assert facts is not None and facts.x32 is not None and facts.x32.usable is False
        return
    expected = _running_kernel_has_x32()
    if expected is None:
        pytest.skip("/proc/config.gz does not say whether this kernel has the x32 ABI")
    facts, gaps = collect_audit(CollectContext())
    assert facts is not None
    assert [g for g in gaps if g.path[:1] == ("x32",)] == []
    if expected is False:
        # the ABI is not built: the kernel refuses the x32 call (no seccomp filter on the tests)
        assert facts.x32 is not None and facts.x32.model_dump() == {
            "usable": False, "source": "syscall 0x40000027 (x32 getpid) failed with ENOSYS"}
    else:
        assert facts.x32 is not None
        enabled = Path("/sys/module/syscall/parameters/x32")
        if enabled.exists():  # Debian's kernel tells whether it turned x32 on
            assert facts.x32.usable is (enabled.read_text().strip() == "Y")


# A seccomp filter on lbaudit alone (a systemd unit's SystemCallArchitectures=native) that refuses
# every x32 call with ENOSYS, installed in a child interpreter that then collects the fact.
SECCOMP_COLLECT = r"""
import ctypes, json, struct, sys
from pathlib import Path
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
program = [(0x20, 0, 0, 0),                      # A = seccomp_data.nr
           (0x45, 0, 1, 0x40000000),             # if A & __X32_SYSCALL_BIT
           (0x06, 0, 0, 0x00050000 | 38),        #   return SECCOMP_RET_ERRNO | ENOSYS
           (0x06, 0, 0, 0x7FFF0000)]             # return SECCOMP_RET_ALLOW
code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *op) for op in program))
class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
fprog = SockFprog(len(program), ctypes.cast(code, ctypes.c_void_p))
assert libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
assert libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0, ctypes.get_errno()
from auditor.collect import CollectContext
from auditor.collect.targets import LocalHost
from auditor.collect.x32 import collect_x32
fact, gaps = collect_x32(CollectContext(target=LocalHost(root=Path(sys.argv[2]), proc=sys.argv[1])), "x86_64")
print(json.dumps({"fact": None if fact is None else fact.model_dump(), "gaps": [g.reason for g in gaps]}))
"""


def collect_under_seccomp(proc: str, root: Path) -> dict:
    import json
    import os
    import subprocess
    import sys

    if os.uname().machine != "x86_64":
        pytest.skip("the x32 ABI is x86_64's")
    done = subprocess.run([sys.executable, "-c", SECCOMP_COLLECT, proc, str(root)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


PROBE_UNDER_SECCOMP = ("syscall 0x40000027 (x32 getpid) failed with ENOSYS, and lbaudit runs under seccomp (mode 2), "
                       "which may refuse x32 calls for lbaudit alone")


@pytest.mark.live
@pytest.mark.slow  # a child interpreter
def test_a_refusal_under_lbaudits_own_seccomp_filter_is_checked_against_the_kernel_configuration(tmp_path):
    if _running_kernel_has_x32() is not False:
        pytest.skip("/proc/config.gz does not say that this kernel lacks the x32 ABI")
    found = collect_under_seccomp("/proc", tmp_path)
    assert found == {"fact": {"usable": False, "source": "/proc/config.gz: CONFIG_X86_X32_ABI is not set "
                                                         f"({PROBE_UNDER_SECCOMP})"}, "gaps": []}


@pytest.mark.live
@pytest.mark.slow  # a child interpreter
def test_a_refusal_under_seccomp_with_no_kernel_configuration_to_read_is_a_gap(tmp_path):
    import os

    proc = tmp_path / "proc"  # no config.gz, and the root has no /boot
    proc.mkdir()
    found = collect_under_seccomp(str(proc), tmp_path)
    release = os.uname().release
    assert found == {"fact": None, "gaps": [
        f"{PROBE_UNDER_SECCOMP}; and the kernel configuration could not be read ({proc}/config.gz: not found; "
        f"/boot/config-{release}: not found)"]}


CLI_POLICY = """\
id: hostile-x32
version: "1"
owner: Hostile corpus <tests@example.com>
rules:
  - id: audit
    check: audit.socket_logging
    params:
      require_loaded: false
      require_enabled: false
"""


def evaluate_image(tmp_path: Path, kernels: dict[str, str | None], fifo: bool = False) -> tuple[int, dict]:
    """``lbaudit evaluate --root`` of an image with these kernels (and, with ``fifo``, a FIFO as its
    /boot/config-6.1.0-fifo, which must not block the read): exit code and findings by subject."""
    import json
    import os

    from tests.cli import run_cli

    image(tmp_path, kernels)
    root = tmp_path / "image"
    if fifo:
        os.mkfifo(root / "boot" / "config-6.1.0-fifo")
    policy = tmp_path / "policy.yaml"
    policy.write_text(CLI_POLICY)
    evidence = tmp_path / "evidence.json"
    result = run_cli("evaluate", "--policy", str(policy), "--root", str(root), "--output", str(evidence),
                     cwd=tmp_path, timeout=60)
    findings = json.loads(evidence.read_text())["result"]["findings"]
    return result.returncode, {f["subject"]: f for f in findings}


def test_evaluate_of_an_image_whose_kernel_has_x32_exits_1_naming_it(tmp_path):
    code, findings = evaluate_image(tmp_path, {"6.1.0-amd64": UPSTREAM_X32})
    assert code == 1
    assert findings["persistent rules b64"]["status"] == "fail"
    assert findings["persistent rules b64"]["message"] == x32_failure(
        "persistent", "/boot/config-6.1.0-amd64: CONFIG_X86_X32_ABI=y (a kernel without syscall.x32=)")
    assert findings["persistent rules b32"]["status"] == "pass"


def test_evaluate_of_an_image_whose_kernel_configuration_is_a_fifo_is_incomplete_not_blocked(tmp_path):
    code, findings = evaluate_image(tmp_path, {"6.1.0-amd64": NO_X32}, fifo=True)
    assert code == 3  # not reviewed: the run says it is incomplete
    assert findings["persistent rules b64"]["status"] == "not_reviewed"
    assert findings["persistent rules b64"]["message"] == x32_doubt(
        "persistent", "/boot/config-6.1.0-fifo: is a FIFO, not a regular file: whether that kernel has the x32 ABI "
                      "cannot be told")
    assert findings["persistent rules b32"]["status"] == "pass"


@pytest.mark.live
@pytest.mark.slow  # a child interpreter
def test_a_kernel_configuration_that_inflates_without_bound_is_not_read_whole(tmp_path):
    """The x32 collector inflated /proc/config.gz with gzip.decompress, unbounded: 64 KB of gzip can
    hold 64 MB of text (and more), all held at once.  It now reads it as the HZ collector does
    (auditor.collect.kernel_config), inflated at most CONFIG_LIMIT."""
    import gzip
    import os

    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "config.gz").write_bytes(gzip.compress(b"#\n" * (32 * 1024 * 1024)))  # 64 MB inflated
    assert (proc / "config.gz").stat().st_size < 256 * 1024
    found = collect_under_seccomp(str(proc), tmp_path)
    release = os.uname().release
    assert found == {"fact": None, "gaps": [
        f"{PROBE_UNDER_SECCOMP}; and the kernel configuration could not be read ({proc}/config.gz: inflates to "
        f"more than 4,194,304 bytes; /boot/config-{release}: not found)"]}
