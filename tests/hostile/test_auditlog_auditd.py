"""Hostile corpus: rules that select every bind and connect, auditing on, and still no record written.

The kernel hands each record to the audit daemon registered with it; with none (``auditctl -s``
pid 0) it prints them to its own log, rate-limited, or drops them past the backlog.  auditd then
writes them unless /etc/audit/auditd.conf says ``write_logs = no`` (or the deprecated ``log_format
= NOLOG``), ``local_events = no`` (an aggregator that never takes this kernel's records), or holds a
line auditd refuses (it then does not start).  ``audit.socket_logging`` 1.5.0 judges this as the
"audit records written" finding; each case builds an offline image (rules.d that pass, an
auditd.conf) and asserts that finding's exact status, or judges a snapshot with the auditd pid.
How auditd reads the file is src/auditd-config.c of audit-userspace (split at single spaces, a
last line without a newline skipped, the first refused line stops auditd).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect import CollectContext
from auditor.collect.live import collect_snapshot
from auditor.collect.rootdir import collect_root
from auditor.domain.audit_rules import parse_rules_text
from auditor.model.facts import AuditFacts, HostSnapshot
from auditor.model.result import Status
from tests.audit_kernel import auditctl_status_of_this_kernel
from tests.factories import (
    BOOT_BACKLOG_RULES,
    ELF_X86_64,
    SOCKET_AUDIT_RULES,
    X32_OFF,
    install_kernel_without_x32,
    running_auditd,
    snapshot,
)
from tests.privileges import require_root

PASS, FAIL, NOT_REVIEWED, NOT_APPLICABLE = Status.PASS, Status.FAIL, Status.NOT_REVIEWED, Status.NOT_APPLICABLE
SUBJECT = "audit records written"
NET = SOCKET_AUDIT_RULES  # every way of making the calls, so that the rules pass


def image(tmp_path: Path, auditd_conf: str | bytes | None) -> HostSnapshot:
    """An image whose rules.d covers every socket call, with this auditd.conf (None: none)."""
    root = tmp_path / "image"
    rules_d = root / "etc" / "audit" / "rules.d"
    rules_d.mkdir(parents=True)
    (rules_d / "30-net.rules").write_text(NET)
    (rules_d / "10-backlog.rules").write_text(BOOT_BACKLOG_RULES)  # a compliant host sets -b
    if auditd_conf is not None:
        data = auditd_conf if isinstance(auditd_conf, bytes) else auditd_conf.encode()
        (root / "etc" / "audit" / "auditd.conf").write_bytes(data)
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "usr" / "sbin" / "auditctl").write_bytes(ELF_X86_64)
    install_kernel_without_x32(root)  # offline, x32 is read from the image's kernels
    (root / "usr" / "sbin" / "auditd").write_bytes(ELF_X86_64)
    return collect_root(root, frozenset({"audit"}))


def judged(snap: HostSnapshot, **params) -> tuple[Status, str]:
    outcomes = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams(**params))}
    persistent = (outcomes["persistent rules b64"].status, outcomes["persistent rules b32"].status)
    assert persistent == (PASS, PASS)  # the rules are not what is judged here
    return outcomes[SUBJECT].status, outcomes[SUBJECT].message


def test_control_case_stock_debian_auditd_conf_passes(tmp_path):
    debian = ("local_events = yes\nwrite_logs = yes\nlog_file = /var/log/audit/audit.log\nlog_format = ENRICHED\n"
              "max_log_file_action = ROTATE\nspace_left_action = SYSLOG\nadmin_space_left_action = SUSPEND\n"
              "disk_full_action = SUSPEND\ndisk_error_action = SUSPEND\n")
    status, message = judged(image(tmp_path, debian))
    assert status == PASS
    assert "not judged: refuse_lossy_log_actions is false" in message


def test_no_auditd_conf_runs_on_defaults_and_passes(tmp_path):
    assert judged(image(tmp_path, None))[0] == PASS


def test_write_logs_no_writes_nothing(tmp_path):
    status, message = judged(image(tmp_path, "write_logs = no\n"))
    assert status == FAIL and "write_logs = no" in message


def test_write_logs_no_in_capitals_is_the_same(tmp_path):
    assert judged(image(tmp_path, "WRITE_LOGS = NO\n"))[0] == FAIL


def test_deprecated_log_format_nolog_turns_write_logs_off(tmp_path):
    status, message = judged(image(tmp_path, "write_logs = yes\nlog_format = NOLOG\n"))
    assert status == FAIL and "log_format = NOLOG" in message


def test_the_last_write_logs_wins(tmp_path):
    assert judged(image(tmp_path, "log_format = nolog\nwrite_logs = yes\n"))[0] == PASS
    assert judged(image(tmp_path / "2", "write_logs = yes\nwrite_logs = no\n"))[0] == FAIL


def test_local_events_no_never_takes_the_kernels_records(tmp_path):
    status, message = judged(image(tmp_path, "local_events = no\nwrite_logs = yes\n"))
    assert status == FAIL and "local_events = no" in message


def test_commented_write_logs_no_is_not_read(tmp_path):
    assert judged(image(tmp_path, "# write_logs = no\n   #write_logs = no\n"))[0] == PASS


def test_last_line_without_newline_is_skipped_by_auditd(tmp_path):
    # get_line() treats a line without its newline as too long and skips it
    assert judged(image(tmp_path, "write_logs = no"))[0] == PASS


@pytest.mark.parametrize("text", [
    "write_logs=no\n",  # no spaces around '=': one word, "Missing equal sign", not processed
    "write_logs\t=\tno\n",  # a tab is not a separator to audit_strsplit
    "write_logs = no\r\n",  # the value is "no\r"
    "write_logs = maybe\n",
    "num_logs = 5\nlog_rotate = yes\n",  # unknown keyword
    "write_logs = yes please\n",  # an option where the keyword takes none
    "disk_full_action = panic\n",
    "disk_full_action = email\n",  # disk_full_action_parser: "Illegal option"
    "disk_error_action = rotate\n",
    "space_left_action = halt\n",  # deprecated, refused
    "max_log_file_action = exec /usr/local/sbin/rotate\n",  # takes no option, and exec needs one
    "admin_space_left_action = exec\n",
    "admin_space_left_action = exec relative/path\n",
])
def test_a_line_auditd_refuses_stops_auditd(tmp_path, text):
    status, message = judged(image(tmp_path, text))
    assert status == FAIL and "does not start" in message


def test_action_with_an_option_is_accepted(tmp_path):
    assert judged(image(tmp_path, "disk_full_action = exec /usr/local/sbin/free-space\n"))[0] == PASS


def test_lossy_actions_fail_when_the_policy_refuses_them(tmp_path):
    snap = image(tmp_path, "disk_full_action = SUSPEND\nmax_log_file_action = keep_logs\n")
    assert judged(snap)[0] == PASS
    status, message = judged(snap, refuse_lossy_log_actions=True)
    assert status == FAIL and "disk_full_action = SUSPEND" in message and "max_log_file_action" not in message
    # auditd's own default for disk_full_action is IGNORE: nothing written on a full disk
    assert judged(image(tmp_path / "2", None), refuse_lossy_log_actions=True)[0] == FAIL
    safe = "disk_full_action = HALT\ndisk_error_action = single\nadmin_space_left_action = halt\n"
    assert judged(image(tmp_path / "3", safe), refuse_lossy_log_actions=True)[0] == PASS


def test_auditd_conf_that_is_a_directory_is_not_reviewed(tmp_path):
    root = tmp_path / "image"
    (root / "etc" / "audit" / "auditd.conf").mkdir(parents=True)
    status, message = judged(image(tmp_path, None))
    assert status == NOT_REVIEWED and "auditd.conf" in message


def test_not_required_is_not_applicable(tmp_path):
    assert judged(image(tmp_path, "write_logs = no\n"), require_auditd=False)[0] == NOT_APPLICABLE


# ---------------------------------------------------------------- the daemon registered with the kernel


def live_facts(pid: int | None) -> AuditFacts:
    rules = parse_rules_text(SOCKET_AUDIT_RULES, "/etc/audit/rules.d/30-net.rules", "x86_64").rules
    boot = parse_rules_text(BOOT_BACKLOG_RULES + SOCKET_AUDIT_RULES, "/etc/audit/rules.d/30-net.rules", "x86_64").rules
    return AuditFacts(x32=X32_OFF, enabled=1, rate_limit=0, loaded_rules=rules, persistent_rules=boot,
                      persistent_source="/etc/audit/rules.d (augenrules)", runtime_source="auditctl",
                      config_dir_exists=True, **running_auditd(pid))


def test_no_auditd_registered_with_the_kernel_fails():
    status, message = judged(snapshot(audit=live_facts(0), arch="x86_64"))
    assert status == FAIL and "auditctl -s pid 0" in message


def test_no_auditd_registered_fails_with_auditing_off_too():
    # auditing off and no daemon (this VM: enabled 0, pid 0) passed "audit records written",
    # saying "whether auditd runs is not visible in an offline root directory" of a live host
    facts = live_facts(0).model_copy(update={"enabled": 0})
    status, message = judged(snapshot(audit=facts, arch="x86_64"))
    assert status == FAIL and "auditctl -s pid 0" in message and "offline" not in message


def test_auditd_registered_with_the_kernel_passes():
    status, message = judged(snapshot(audit=live_facts(612), arch="x86_64"))
    assert status == PASS and "pid 612" in message


def test_live_snapshot_without_the_pid_is_not_reviewed():
    # a snapshot taken before lbaudit recorded it: whether anything receives the records is not known
    assert judged(snapshot(audit=live_facts(None), arch="x86_64"))[0] == NOT_REVIEWED


@pytest.mark.live
def test_live_host_pid_is_recorded_and_judged(tmp_path):
    require_root()
    pid = int(auditctl_status_of_this_kernel()["pid"])
    taken = collect_snapshot(CollectContext(sections=frozenset({"audit"})))
    assert taken.facts.audit.auditd_pid == pid
    found = {o.subject: o for o in audit_socket_logging.run(taken, SocketLoggingParams())}[SUBJECT]
    assert found.observed["auditd_pid"] == pid
    if pid == 0:  # with auditing on or off: nothing keeps the records
        assert found.status == FAIL and "auditctl -s pid 0" in found.message
    else:
        assert "auditctl -s pid 0" not in found.message and f"pid {pid}" in found.message


def test_log_file_in_a_too_short_directory_stops_auditd(tmp_path):
    status, message = judged(image(tmp_path, "log_file = /x/audit.log\n"))
    assert status == FAIL and "too short" in message


def test_log_file_that_is_not_a_regular_file_stops_auditd(tmp_path):
    # log_file_parser refuses what is not a regular file (/dev/null, a FIFO): auditd does not start
    (tmp_path / "image" / "dev").mkdir(parents=True)
    os.mkfifo(tmp_path / "image" / "dev" / "audit-fifo")
    status, message = judged(image(tmp_path, "log_file = /dev/audit-fifo\n"))
    assert status == FAIL and "not a regular file" in message


def test_image_without_the_auditd_program_but_with_auditd_conf_writes_nothing(tmp_path):
    image(tmp_path, "write_logs = yes\n")
    (tmp_path / "image" / "usr" / "sbin" / "auditd").unlink()
    status, message = judged(collect_root(tmp_path / "image", frozenset({"audit"})))
    assert status == FAIL and "auditd is not installed" in message


def test_container_like_image_without_auditd_or_systemd_is_not_applicable(tmp_path):
    snap = image(tmp_path, None)
    (tmp_path / "image" / "usr" / "sbin" / "auditd").unlink()
    snap = collect_root(tmp_path / "image", frozenset({"audit"}))
    status, message = judged(snap)
    assert status == NOT_APPLICABLE and "holds no audit daemon" in message
